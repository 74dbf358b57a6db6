import RibbonCore

/// The byte layout of the unit image's records, in one place: the sizes and field offsets that
/// the encoder writes (`UnitImage.init(encoding:)`) and the loader reads (eagerly in
/// `LoadedUnit+Decoding.swift` and `+Relocation.swift`, lazily in `+LazyImage.swift` and
/// `+Lookup.swift`). The format itself is described on `UnitImage`.
extension UnitImage {
    /// The image header's fields (after the magic).
    enum HeaderField {
        static let version = 8
        static let entryCount = 12
        static let symbolCount = 16
        static let functionCount = 20
        static let globalCount = 24
        /// Zero (format 4 kept the source path here).
        static let reserved = 28
        /// Per `Section`, a u32 offset and a u32 length.
        static let sectionTable = 32
    }

    /// One AddressTable entry (`entries`): u8 kind, u8 k, u8 p, 1 pad, u32 a, u64 b.
    struct EntryRecord {
        static let size = 16
        enum Field {
            static let kind = 0, k = 1, p = 2, a = 4, b = 8
        }
        var kind: UInt8
        /// A function's frame size; what an import names.
        var k: UInt8
        /// A function's parameter count.
        var p: UInt8
        var a: UInt32
        var b: UInt64

        func write(to out: inout RawWriter) {
            let at = out.reserve(Self.size)
            out.put(kind, at: at + Field.kind)
            out.put(k, at: at + Field.k)
            out.put(p, at: at + Field.p)
            out.put(a, at: at + Field.a)
            out.put(b, at: at + Field.b)
        }
    }

    /// One SymbolTable row (`symbols`): u32 name offset, u32 name length, u32 Id.
    enum SymbolRecord {
        static let size = 12
        enum Field {
            static let nameOffset = 0, nameLength = 4, id = 8
        }
    }

    /// One function row (`functions`).
    struct FunctionRecord {
        static let size = 36
        enum Field {
            static let id = 0, nameOffset = 4, nameLength = 8, headerOffset = 12, codeWords = 16
            static let frameSize = 20, parameterCount = 22, firstLine = 24, lineCount = 28, kindsOffset = 32
        }
        var id: UInt32
        var nameOffset: UInt32
        var nameLength: UInt32
        var headerOffset: UInt32
        var codeWords: UInt32
        var frameSize: UInt16
        var parameterCount: UInt16
        var firstLine: UInt32
        var lineCount: UInt32
        var kindsOffset: UInt32

        func write(to out: inout RawWriter) {
            let at = out.reserve(Self.size)
            out.put(id, at: at + Field.id)
            out.put(nameOffset, at: at + Field.nameOffset)
            out.put(nameLength, at: at + Field.nameLength)
            out.put(headerOffset, at: at + Field.headerOffset)
            out.put(codeWords, at: at + Field.codeWords)
            out.put(frameSize, at: at + Field.frameSize)
            out.put(parameterCount, at: at + Field.parameterCount)
            out.put(firstLine, at: at + Field.firstLine)
            out.put(lineCount, at: at + Field.lineCount)
            out.put(kindsOffset, at: at + Field.kindsOffset)
        }
    }

    /// One global's initialiser (`globals`): u8 kind (0 bits, 1 constant address), 7 pad, u64 value.
    enum GlobalRecord {
        static let size = 16
        enum Field {
            static let kind = 0, value = 8
        }
    }

    /// One line row (`lines`): u32 word index within its function, u32 source line.
    enum LineRecord {
        static let size = 8
        enum Field {
            static let word = 0, line = 4
        }
    }
}

extension UnitImage.EntryRecord {
    /// The record at `at`; the caller has checked that `at..<at + size` lies in `image`.
    @inline(__always)
    init(_ image: UnsafeRawBufferPointer, at: Int) {
        kind = image.load(fromByteOffset: at + Field.kind, as: UInt8.self)
        k = image.load(fromByteOffset: at + Field.k, as: UInt8.self)
        p = image.load(fromByteOffset: at + Field.p, as: UInt8.self)
        a = UInt32(littleEndian: image.loadUnaligned(fromByteOffset: at + Field.a, as: UInt32.self))
        b = UInt64(littleEndian: image.loadUnaligned(fromByteOffset: at + Field.b, as: UInt64.self))
    }
}

extension UnitImage.FunctionRecord {
    /// The row at `at`, bounds-checked.
    init(_ r: ByteReader, at: Int) throws(ImageError) {
        _ = try r.range(at, Self.size)
        id = try r.u32(at + Field.id)
        nameOffset = try r.u32(at + Field.nameOffset)
        nameLength = try r.u32(at + Field.nameLength)
        headerOffset = try r.u32(at + Field.headerOffset)
        codeWords = try r.u32(at + Field.codeWords)
        frameSize = try r.u16(at + Field.frameSize)
        parameterCount = try r.u16(at + Field.parameterCount)
        firstLine = try r.u32(at + Field.firstLine)
        lineCount = try r.u32(at + Field.lineCount)
        kindsOffset = try r.u32(at + Field.kindsOffset)
    }
}

extension RawWriter {
    /// Zeroes the next `size` bytes (a record's padding stays zero) and moves past them;
    /// returns where they start, for `put`.
    mutating func reserve(_ size: Int) -> Int {
        (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: size)
        offset += size
        return offset - size
    }

    /// Stores `value` little-endian at byte `at` (inside what `reserve` gave).
    func put<T: FixedWidthInteger>(_ value: T, at: Int) {
        base.storeBytes(of: value.littleEndian, toByteOffset: at, as: T.self)
    }
}
