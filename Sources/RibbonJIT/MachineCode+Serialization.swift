/// The bytes the cache stores for one function's machine code (before LZ4).
///
/// Layout, little-endian:
/// ```
///  0  magic "RIBNCODE"
///  8  u32 format version            12  u32 code size
/// 16  u32 entry offset              20  u32 relocation count
/// 24  u32 loop-entry count          28  u32 features length (UTF-8, comma-separated)
/// 32  u32 strings length            36  u32 reserved (0)
/// 40  code bytes, then features, then relocations (16 bytes each: u32 offset, u8 kind,
///     3 pad, u32 a, u32 b), then loop entries (8 bytes each: u32 word, u32 offset), then
///     strings (helper and symbol names, referenced by offset a and length b)
/// ```
/// Relocation kinds: 0 AddressTable, 1 runtime helper (name), 2 function header (a = Id),
/// 3 bytecode word (a = function Id, b = word), 4 foreign symbol (name).
/// Decoding checks every count, offset and kind against the bytes it has, so a damaged row is
/// an error, never a read outside the input or code with a relocation outside itself: the code
/// is not empty, the entry and each loop entry are at one of its bytes, and each relocation's
/// 8 bytes lie inside it without overlapping another's.
extension MachineCode {
    package static let magic: [UInt8] = Array("RIBNCODE".utf8)
    /// Bump on any change to this layout or to what emitted code assumes about the runtime.
    package static let formatVersion: UInt32 = 1

    package enum DecodingError: Error, Equatable, CustomStringConvertible {
        case malformed(String)

        package var description: String {
            switch self {
            case .malformed(let why): "malformed machine-code blob: \(why)"
            }
        }
    }

    /// The serialized form (deterministic: the same code gives the same bytes).
    package func serialized() -> [UInt8] {
        var strings: [UInt8] = []
        func name(_ s: String) -> (UInt32, UInt32) {
            let offset = UInt32(strings.count)
            strings.append(contentsOf: s.utf8)
            return (offset, UInt32(s.utf8.count))
        }
        var relocationBytes: [UInt8] = []
        for r in relocations {
            let kind: UInt8
            var a: UInt32 = 0
            var b: UInt32 = 0
            switch r.target {
            case .addressTable: kind = 0
            case .runtimeHelper(let s):
                kind = 1
                (a, b) = name(s)
            case .functionHeader(let id):
                kind = 2
                a = id
            case .bytecodeWord(let f, let w):
                kind = 3
                (a, b) = (f, w)
            case .foreignSymbol(let s):
                kind = 4
                (a, b) = name(s)
            }
            relocationBytes.appendLittleEndian(UInt32(r.offset))
            relocationBytes.append(kind)
            relocationBytes.append(contentsOf: [0, 0, 0])
            relocationBytes.appendLittleEndian(a)
            relocationBytes.appendLittleEndian(b)
        }
        let featureBytes = Array(features.sorted().joined(separator: ",").utf8)
        var out = MachineCode.magic
        out.appendLittleEndian(MachineCode.formatVersion)
        out.appendLittleEndian(UInt32(bytes.count))
        out.appendLittleEndian(UInt32(entryOffset))
        out.appendLittleEndian(UInt32(relocations.count))
        out.appendLittleEndian(UInt32(loopEntries.count))
        out.appendLittleEndian(UInt32(featureBytes.count))
        out.appendLittleEndian(UInt32(strings.count))
        out.appendLittleEndian(UInt32(0))
        out.append(contentsOf: bytes)
        out.append(contentsOf: featureBytes)
        out.append(contentsOf: relocationBytes)
        for (word, offset) in loopEntries.sorted(by: { $0.key < $1.key }) {
            out.appendLittleEndian(word)
            out.appendLittleEndian(UInt32(offset))
        }
        out.append(contentsOf: strings)
        return out
    }

    /// Decodes and checks a serialized blob.
    package init(serialized data: [UInt8]) throws(DecodingError) {
        var reader = LittleEndianReader(bytes: data)
        guard data.count >= 40, Array(data[0..<8]) == MachineCode.magic else { throw .malformed("bad magic") }
        reader.position = 8
        guard try reader.u32() == MachineCode.formatVersion else { throw .malformed("unsupported version") }
        let codeSize = Int(try reader.u32())
        let entry = Int(try reader.u32())
        let relocationCount = Int(try reader.u32())
        let loopCount = Int(try reader.u32())
        let featuresLength = Int(try reader.u32())
        let stringsLength = Int(try reader.u32())
        _ = try reader.u32()
        let code = try reader.take(codeSize)
        let featureText = String(decoding: try reader.take(featuresLength), as: UTF8.self)
        guard relocationCount <= data.count / 16, loopCount <= data.count / 8 else {
            throw .malformed("counts larger than the blob")
        }
        var raw: [(offset: Int, kind: UInt8, a: UInt32, b: UInt32)] = []
        raw.reserveCapacity(relocationCount)
        for _ in 0..<relocationCount {
            let offset = Int(try reader.u32())
            let kind = try reader.take(4).first!  // then 3 bytes of padding
            raw.append((offset, kind, try reader.u32(), try reader.u32()))
        }
        var loops: [UInt32: Int] = [:]
        for _ in 0..<loopCount {
            let word = try reader.u32()
            let offset = Int(try reader.u32())
            guard offset < codeSize else { throw .malformed("loop entry outside the code") }
            loops[word] = offset
        }
        let strings = Array(try reader.take(stringsLength))
        guard reader.position == data.count else { throw .malformed("trailing bytes") }
        // An entry at a byte of the code: empty code has none (in a batch, an empty blob's entry
        // would be the next blob's first byte).
        guard entry < codeSize else { throw .malformed("entry outside the code") }
        func name(_ a: UInt32, _ b: UInt32) throws(DecodingError) -> String {
            guard Int(a) <= strings.count, Int(b) <= strings.count - Int(a) else {
                throw .malformed("name outside the strings")
            }
            return String(decoding: strings[Int(a)..<Int(a) + Int(b)], as: UTF8.self)
        }
        // Each relocation writes its own 8 bytes: two that overlap would leave neither address
        // whole.
        let offsets = raw.map(\.offset).sorted()
        for (a, b) in zip(offsets, offsets.dropFirst()) where b - a < 8 {
            throw .malformed("relocations at \(a) and \(b) overlap")
        }
        var relocations: [Relocation] = []
        for r in raw {
            guard r.offset <= codeSize - 8 else { throw .malformed("relocation outside the code") }
            let target: RelocationTarget
            switch r.kind {
            case 0: target = .addressTable
            case 1: target = .runtimeHelper(try name(r.a, r.b))
            case 2: target = .functionHeader(r.a)
            case 3: target = .bytecodeWord(function: r.a, word: r.b)
            case 4: target = .foreignSymbol(try name(r.a, r.b))
            default: throw .malformed("unknown relocation kind \(r.kind)")
            }
            relocations.append(Relocation(offset: r.offset, target: target))
        }
        let features = Set(featureText.split(separator: ",").map(String.init))
        self.init(bytes: Array(code), entryOffset: entry, features: features, relocations: relocations, loopEntries: loops)
    }
}

/// Bounds-checked little-endian reads of untrusted bytes.
struct LittleEndianReader {
    let bytes: [UInt8]
    var position = 0

    mutating func take(_ count: Int) throws(MachineCode.DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else { throw .malformed("truncated") }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func u32() throws(MachineCode.DecodingError) -> UInt32 {
        let b = try take(4)
        var v: UInt32 = 0
        for (i, byte) in b.enumerated() { v |= UInt32(byte) << (8 * UInt32(i)) }
        return v
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 24))
    }
}
