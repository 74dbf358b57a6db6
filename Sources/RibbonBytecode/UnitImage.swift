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
///  24  u32 global count              28  u32 source path length (the first string)
///  32  section table: for each of the 8 sections below, u32 offset + u32 length
///  96  sections, each 8-byte aligned:
///      entries    16 bytes each: u8 kind, 3 pad, u32 a, u64 b        (AddressTable, by Id)
///                 function: b = offset of its FunctionHeader in `code`
///                 global:   a = global index
///                 constant: a = length, b = offset in `data`
///                 builtin, foreign, imported: a = name length, b = name offset in `strings`
///      symbols    12 bytes each: u32 name offset, u32 name length, u32 Id (SymbolTable)
///      functions  32 bytes each: u32 Id, u32 name offset, u32 name length, u32 header offset,
///                 u32 code words, u16 frame size, u16 parameter count, u32 first line row,
///                 u32 line rows
///      globals    16 bytes each: u8 kind (0 bits, 1 constant address), 7 pad, u64 value
///      code       per function: a zeroed FunctionHeader (40 bytes; frameSize, parameterCount,
///                 functionId and codeWords filled in) followed by its instruction words
///      data       constant bytes
///      strings    names (UTF-8, not terminated); the first string is the source path
///      lines      8 bytes each: u32 word index within its function, u32 source line
/// ```
/// Nothing in it is an absolute address: loading copies `code` and `data` into fresh memory and
/// builds the AddressTable from `entries` (`LoadedUnit`).
public struct UnitImage: Sendable, Equatable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static let magic: [UInt8] = Array("RIBNUNIT".utf8)
    /// Bump on any change to the layout above or to the ISA's meaning.
    public static let formatVersion: UInt32 = 1

    enum Section: Int, CaseIterable {
        case entries, symbols, functions, globals, code, data, strings, lines
    }

    static let headerSize = 32 + Section.allCases.count * 8
    static let entrySize = 16
    static let symbolSize = 12
    static let functionSize = 32
    static let globalSize = 16
    static let lineSize = 8

    init(encoding unit: UnitBuilder) {
        var strings = ByteWriter()
        var stringOffsets: [String: (UInt32, UInt32)] = [:]
        func intern(_ s: String) -> (offset: UInt32, length: UInt32) {
            if let known = stringOffsets[s] { return known }
            let utf8 = Array(s.utf8)
            let value = (UInt32(strings.bytes.count), UInt32(utf8.count))
            strings.append(utf8)
            stringOffsets[s] = value
            return value
        }
        _ = intern(unit.sourcePath)

        // Code section: header + words per function, remembering where each header sits.
        var code = ByteWriter()
        code.bytes.reserveCapacity(
            unit.functions.reduce(0) { $0 + functionHeaderWords * 8 + ($1.code?.words.count ?? 0) * 8 })
        var lines = ByteWriter()
        var functionRows = ByteWriter()
        var headerOffsets: [Int] = []
        var lineRows: UInt32 = 0
        for function in unit.functions {
            guard let body = function.code else { preconditionFailure("function \(function.name) has no body") }
            let headerOffset = code.bytes.count
            headerOffsets.append(headerOffset)
            code.u64(0)  // addressTable
            code.u64(0)  // unit
            code.u32(UInt32(function.frameSize))
            code.u32(UInt32(function.parameterCount))
            code.u32(function.id)
            code.u32(UInt32(body.words.count))
            code.u64(0)  // hotness
            // One copy per function (words are little-endian in memory on x86-64).
            body.words.withUnsafeBytes { code.bytes.append(contentsOf: $0) }
            let name = intern(function.name)
            functionRows.u32(function.id)
            functionRows.u32(name.offset)
            functionRows.u32(name.length)
            functionRows.u32(UInt32(headerOffset))
            functionRows.u32(UInt32(body.words.count))
            functionRows.u16(UInt16(function.frameSize))
            functionRows.u16(UInt16(function.parameterCount))
            functionRows.u32(lineRows)
            functionRows.u32(UInt32(body.lineTable.count))
            for row in body.lineTable {
                lines.u32(row.word)
                lines.u32(row.line)
            }
            lineRows += UInt32(body.lineTable.count)
        }

        var entries = ByteWriter()
        for entry in unit.entries {
            var kind: AddressTableEntryKind
            var a: UInt32 = 0
            var b: UInt64 = 0
            switch entry {
            case .function(let index):
                kind = .function
                b = UInt64(headerOffsets[index])
            case .global(let index):
                kind = .global
                a = UInt32(index)
            case .constant(let offset, let length):
                kind = .constant
                a = UInt32(length)
                b = UInt64(offset)
            case .builtin(let name), .foreign(let name), .imported(let name):
                switch entry {
                case .builtin: kind = .builtin
                case .foreign: kind = .foreign
                default: kind = .imported
                }
                let s = intern(name)
                a = s.length
                b = UInt64(s.offset)
            }
            entries.u8(kind.rawValue)
            entries.u8(0)
            entries.u16(0)
            entries.u32(a)
            entries.u64(b)
        }

        var symbols = ByteWriter()
        for symbol in unit.symbols {
            let s = intern(symbol.name)
            symbols.u32(s.offset)
            symbols.u32(s.length)
            symbols.u32(symbol.id)
        }

        var globals = ByteWriter()
        for global in unit.globals {
            switch global {
            case .bits(let v):
                globals.u64(0)
                globals.u64(v)
            case .constantAddress(let id):
                globals.u64(1)
                globals.u64(UInt64(id))
            }
        }

        var out = ByteWriter()
        out.append(UnitImage.magic)
        out.u32(UnitImage.formatVersion)
        out.u32(UInt32(unit.entries.count))
        out.u32(UInt32(unit.symbols.count))
        out.u32(UInt32(unit.functions.count))
        out.u32(UInt32(unit.globals.count))
        out.u32(UInt32(unit.sourcePath.utf8.count))
        let tableAt = out.bytes.count
        for _ in Section.allCases { out.u64(0) }
        let sections: [(Section, [UInt8])] = [
            (.entries, entries.bytes), (.symbols, symbols.bytes), (.functions, functionRows.bytes),
            (.globals, globals.bytes), (.code, code.bytes), (.data, unit.data),
            (.strings, strings.bytes), (.lines, lines.bytes),
        ]
        for (section, bytes) in sections {
            out.pad(toMultipleOf: 8)
            out.patchU32(at: tableAt + section.rawValue * 8, UInt32(out.bytes.count))
            out.patchU32(at: tableAt + section.rawValue * 8 + 4, UInt32(bytes.count))
            out.append(bytes)
        }
        self.bytes = out.bytes
    }
}
