import RibbonCore

#if _endian(big)
#error("unit images are little-endian; the encoder copies instruction words as they are in memory")
#endif

/// The position-independent bytes of one Bytecode unit: what the cache stores.
///
/// Layout (all integers little-endian; offsets are from the start of the image):
/// ```
///   0  magic "RIBNUNIT"
///   8  u32 format version            12  u32 entry count
///  16  u32 symbol count              20  u32 function count
///  24  u32 global count              28  u32 zero (format 4 kept the source path here; an
///      image holds no path since format 5: it must be a function of its cache key alone)
///  32  section table: for each of the 11 sections below, u32 offset + u32 length
/// 120  u32 function prefix: Ids 0 ..< prefix are function entries, Id n of row n (the
///      compiler declares a file's functions first), so a lazy loader makes them callable
///      without reading their entries               124  u32 zero
/// 128  sections, each 8-byte aligned, in `physicalOrder` (kinds, globals, data, entries,
///      symbolIndex, symbols, strings, functions, code, lines, interface):
///      entries    16 bytes each: u8 kind, u8 k, u8 p, 1 pad, u32 a, u64 b  (AddressTable, by Id)
///                 function: k = frame size, p = parameter count, a = index of its row in
///                           `functions`, b = offset of its FunctionHeader in `code` (low 32
///                           bits) and of its signature in `kinds` (high 32): a lazy loader
///                           makes, places and verifies a function from its entry alone
///                 global:   a = global index
///                 constant: a = length, b = offset in `data`
///                 builtin, foreign, imported: a = name length, b = name offset in `strings`
///                 imported: k = what it names, 1 function or 2 global (else 0)
///      symbols    12 bytes each: u32 name offset, u32 name length, u32 Id (SymbolTable)
///      functions  36 bytes each: u32 Id, u32 name offset, u32 name length, u32 header offset,
///                 u32 code words, u16 frame size, u16 parameter count, u32 first line row,
///                 u32 line rows, u32 offset of its signature in `kinds`
///      globals    16 bytes each: u8 kind (0 bits, 1 constant address), 7 pad, u64 value
///      code       per function: a zeroed FunctionHeader (40 bytes; frameSize, parameterCount,
///                 functionId and codeWords filled in) followed by its instruction words
///      data       constant bytes
///      strings    names (UTF-8, not terminated)
///      lines      8 bytes each: u32 word index within its function, u32 source line
///      interface  what files that use this one are checked against (opaque here: the
///                 compiler's `UnitInterface` encoding)
///      kinds      the value kinds the verifier checks each function against (`KindSignature`,
///                 `UnitBuilder.setSignature`): per signature u16 parameter count, u8
///                 result kind, a u8 kind per parameter (`ValueKind`); functions share equal ones
///      symbolIndex  the SymbolTable hashed by name: u32 slot count (a power of two, or 0),
///                 then per slot u32 symbol index + 1 (0: empty); FNV-1a of the name's bytes,
///                 linear probing. `LoadedUnit.symbol(named:)` of a lazily loaded unit reads a
///                 slot, a symbol and a name instead of the whole table.
/// ```
/// Nothing in it is an absolute address: loading copies `code` and `data` into fresh memory and
/// builds the AddressTable from `entries` (`LoadedUnit`). Each record's size and field offsets
/// are named once, in `UnitImage+Records.swift`.
public struct UnitImage: Sendable, Equatable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static let magic: [UInt8] = Array("RIBNUNIT".utf8)
    /// Bump on any change to the layout above or to the ISA's meaning.
    public static let formatVersion: UInt32 = 5

    enum Section: Int, CaseIterable {
        case entries, symbols, functions, globals, code, data, strings, lines, interface, kinds, symbolIndex
    }

    /// Where the function prefix is (after the section table), and the header's size.
    static let functionPrefixOffset = 32 + Section.allCases.count * 8
    static let headerSize = functionPrefixOffset + 8
    /// Where the sections lie, first to last: what a warm run reads (the signatures, globals,
    /// data, the AddressTable's entries, what finding `main` reads, `main`'s row, then the code,
    /// where the functions `main` calls come first) before what it seldom needs. The cache reads
    /// a stored image from its start, following SQLite's chain of overflow pages, so what lies
    /// early costs less to reach.
    static let physicalOrder: [Section] = [
        .kinds, .globals, .data, .entries, .symbolIndex, .symbols, .strings, .functions, .code, .lines, .interface,
    ]

    /// Encodes a unit. Sizes are computed first, so the image is written once, straight into a
    /// buffer of its exact size: no section is built separately and copied again (a large
    /// unit's sections are megabytes, and every fresh copy page-faults).
    init(encoding unit: UnitBuilder) {
        // Strings first (their offsets go into the other sections), interned in a fixed order
        // — function names, entry names, symbol names — so equal units encode equally.
        var strings: [UInt8] = []
        var stringOffsets: [String: (UInt32, UInt32)] = [:]
        stringOffsets.reserveCapacity(unit.functions.count + unit.symbols.count + 16)
        func intern(_ s: String) -> (offset: UInt32, length: UInt32) {
            if let known = stringOffsets[s] { return known }
            let offset = strings.count
            strings.append(contentsOf: s.utf8)
            let value = (UInt32(offset), UInt32(strings.count - offset))
            stringOffsets[s] = value
            return value
        }
        var functionNames: [(offset: UInt32, length: UInt32)] = []
        functionNames.reserveCapacity(unit.functions.count)
        // Where each function's header sits in the code section.
        var headerOffsets: [Int] = []
        headerOffsets.reserveCapacity(unit.functions.count)
        var codeSize = 0
        for function in unit.functions {
            guard function.isDefined else { preconditionFailure("function \(function.name) has no body") }
            functionNames.append(intern(function.name))
            headerOffsets.append(codeSize)
            codeSize += functionHeaderWords * 8 + function.words.count * 8
        }
        var entryNames: [(offset: UInt32, length: UInt32)] = []
        for entry in unit.entries {
            switch entry {
            case .builtin(let name), .foreign(let name), .imported(let name, _): entryNames.append(intern(name))
            default: break
            }
        }
        var symbolNames: [(offset: UInt32, length: UInt32)] = []
        symbolNames.reserveCapacity(unit.symbols.count)
        for symbol in unit.symbols { symbolNames.append(intern(symbol.name)) }

        // Each function's signature for the verifier, as its builder declared it (none: it takes
        // and returns bits), equal ones stored once.
        var kinds: [UInt8] = []
        var kindOffsets: [UInt32] = []
        kindOffsets.reserveCapacity(unit.functions.count)
        var signatureOffsets: [KindSignature: UInt32] = [:]
        for function in unit.functions {
            let s = function.signature ?? .scalars(function.parameterCount)
            if let known = signatureOffsets[s] {
                kindOffsets.append(known)
                continue
            }
            let offset = UInt32(kinds.count)
            let count = UInt16(clamping: s.parameters.count)
            kinds.append(UInt8(truncatingIfNeeded: count))
            kinds.append(UInt8(truncatingIfNeeded: count >> 8))
            kinds.append(s.result.rawValue)
            kinds.append(contentsOf: s.parameters.prefix(Int(count)).map(\.rawValue))
            signatureOffsets[s] = offset
            kindOffsets.append(offset)
        }

        // The symbol index: twice as many slots as symbols, rounded up to a power of two.
        var slotCount = 0
        if !unit.symbols.isEmpty {
            slotCount = 1
            while slotCount < 2 * unit.symbols.count { slotCount *= 2 }
        }
        var slots = [UInt32](repeating: 0, count: slotCount)
        for (index, symbol) in unit.symbols.enumerated() {
            var slot = Int(UnitImage.nameHash(symbol.name.utf8)) & (slotCount - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (slotCount - 1) }
            slots[slot] = UInt32(index + 1)
        }

        let sizes: [Int] = [
            unit.entries.count * UnitImage.EntryRecord.size, unit.symbols.count * UnitImage.SymbolRecord.size,
            unit.functions.count * UnitImage.FunctionRecord.size, unit.globals.count * UnitImage.GlobalRecord.size,
            codeSize, unit.data.count, strings.count, unit.lines.count * UnitImage.LineRecord.size, unit.interface.count, kinds.count, 4 + 4 * slotCount,
        ]
        // How many entries from the first are function entries whose row index is their Id.
        var functionPrefix = 0
        for entry in unit.entries {
            guard case .function(let index) = entry, index == functionPrefix else { break }
            functionPrefix += 1
        }
        var offsets = [Int](repeating: 0, count: sizes.count)
        var total = UnitImage.headerSize
        for section in UnitImage.physicalOrder {
            total = (total + 7) & ~7
            offsets[section.rawValue] = total
            total += sizes[section.rawValue]
        }

        self.bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initializedCount in
            var out = RawWriter(base: UnsafeMutableRawPointer(buffer.baseAddress!))
            out.append(UnitImage.magic)
            out.u32(UnitImage.formatVersion)
            out.u32(UInt32(unit.entries.count))
            out.u32(UInt32(unit.symbols.count))
            out.u32(UInt32(unit.functions.count))
            out.u32(UInt32(unit.globals.count))
            out.u32(0)
            // Section table (slots in `Section` order), then the sections in `physicalOrder`,
            // each at the next multiple of 8.
            for s in Section.allCases {
                out.u32(UInt32(offsets[s.rawValue]))
                out.u32(UInt32(sizes[s.rawValue]))
            }
            out.u32(UInt32(functionPrefix))
            out.u32(0)

            for section in UnitImage.physicalOrder {
                out.pad(toMultipleOf: 8)
                precondition(out.offset == offsets[section.rawValue])
                switch section {
                case .entries:
                    var nameIndex = 0
                    for entry in unit.entries {
                        var kind: AddressTableEntryKind
                        var importedKind: UInt8 = 0  // k; a function's frame size
                        var p: UInt8 = 0
                        var a: UInt32 = 0
                        var b: UInt64 = 0
                        switch entry {
                        case .function(let index):
                            kind = .function
                            importedKind = UInt8(unit.functions[index].frameSize)
                            p = UInt8(unit.functions[index].parameterCount)
                            a = UInt32(index)
                            b = UInt64(headerOffsets[index]) | UInt64(kindOffsets[index]) << 32
                        case .global(let index):
                            kind = .global
                            a = UInt32(index)
                        case .constant(let offset, let length):
                            kind = .constant
                            a = UInt32(length)
                            b = UInt64(offset)
                        case .builtin, .foreign, .imported:
                            switch entry {
                            case .builtin: kind = .builtin
                            case .foreign: kind = .foreign
                            default: kind = .imported
                            }
                            if case .imported(_, let what) = entry { importedKind = what.rawValue }
                            let s = entryNames[nameIndex]
                            nameIndex += 1
                            a = s.length
                            b = UInt64(s.offset)
                        }
                        EntryRecord(kind: kind.rawValue, k: importedKind, p: p, a: a, b: b).write(to: &out)
                    }
                case .symbols:
                    for (symbol, name) in zip(unit.symbols, symbolNames) {
                        out.u32(name.offset)
                        out.u32(name.length)
                        out.u32(symbol.id)
                    }
                case .functions:
                    for (index, function) in unit.functions.enumerated() {
                        FunctionRecord(
                            id: function.id, nameOffset: functionNames[index].offset,
                            nameLength: functionNames[index].length, headerOffset: UInt32(headerOffsets[index]),
                            codeWords: UInt32(function.words.count), frameSize: UInt16(function.frameSize),
                            parameterCount: UInt16(function.parameterCount), firstLine: UInt32(function.lines.lowerBound),
                            lineCount: UInt32(function.lines.count), kindsOffset: kindOffsets[index]
                        ).write(to: &out)
                    }
                case .globals:
                    for global in unit.globals {
                        switch global {
                        case .bits(let v):
                            out.u64(0)
                            out.u64(v)
                        case .constantAddress(let id):
                            out.u64(1)
                            out.u64(UInt64(id))
                        }
                    }
                case .code:
                    // Code: per function a zeroed FunctionHeader with a few fields filled in, then its
                    // words (little-endian in memory on x86-64: one copy each).
                    unit.code.withUnsafeBytes { words in
                        for function in unit.functions {
                            out.u64(0)  // addressTable
                            out.u64(0)  // unit
                            out.u32(UInt32(function.frameSize))
                            out.u32(UInt32(function.parameterCount))
                            out.u32(function.id)
                            out.u32(UInt32(function.words.count))
                            out.u64(0)  // hotness
                            out.append(UnsafeRawBufferPointer(rebasing: words[(function.words.lowerBound * 8)..<(function.words.upperBound * 8)]))
                        }
                    }
                case .data:
                    unit.data.withUnsafeBytes { out.append($0) }
                case .strings:
                    strings.withUnsafeBytes { out.append($0) }
                case .lines:
                    // Rows are already in the image's layout (u32 word, u32 line, little-endian).
                    unit.lines.withUnsafeBytes { out.append($0) }
                case .interface:
                    unit.interface.withUnsafeBytes { out.append($0) }
                case .kinds:
                    out.append(kinds)
                case .symbolIndex:
                    out.u32(UInt32(slotCount))
                    for slot in slots { out.u32(slot) }
                }
            }
            precondition(out.offset == total, "unit image size mismatch")
            initializedCount = total
        }
    }
}

extension UnitImage {
    /// FNV-1a (32-bit) of a name's bytes: the `symbolIndex` section's hash.
    static func nameHash<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}

/// Writes little-endian integers and byte runs into memory of a known size (the caller sized it
/// exactly; see `UnitImage.init(encoding:)`).
struct RawWriter {
    let base: UnsafeMutableRawPointer
    var offset = 0

    mutating func u8(_ v: UInt8) {
        base.storeBytes(of: v, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }
    mutating func u16(_ v: UInt16) {
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }
    mutating func u32(_ v: UInt32) {
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }
    mutating func u64(_ v: UInt64) {
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }
    /// Zero bytes up to the next multiple of `n`.
    mutating func pad(toMultipleOf n: Int) {
        while offset % n != 0 { u8(0) }
    }
}
