/// Interns identifiers: each distinct spelling gets a small integer id, so later passes
/// compare and look up names by id (array indexing) instead of hashing strings.
///
/// The table is an open-addressing hash set keyed by the identifier's bytes (FNV-1a), holding
/// ids; a spelling's `String` is made once, when it is first seen. The keywords are interned
/// first, so an id below `keywordCount` is a keyword.
public struct NameTable: Sendable {
    /// Text of every name, indexed by id.
    public private(set) var texts: [String] = []
    /// UTF-8 bytes of all names, back to back; `spellingRanges[id]` locates one.
    var spellingBytes: [UInt8] = []
    var spellingRanges: [Range<Int>] = []
    /// Hash slots: the spelling's hash in the high 32 bits and `id + 1` in the low ones, or 0
    /// when empty (comparing hashes first skips most spelling comparisons). The count is a
    /// power of two.
    var slots: [UInt64] = Array(repeating: 0, count: 1024)

    /// Keyword tokens in interning order: ids `0 ..< keywordCount`.
    static let keywords: [(String, TokenKind)] = [
        ("fun", .keywordFun), ("foreign", .keywordForeign), ("use", .keywordUse), ("if", .keywordIf),
        ("else", .keywordElse), ("while", .keywordWhile), ("return", .keywordReturn),
        ("break", .keywordBreak), ("continue", .keywordContinue), ("and", .keywordAnd), ("or", .keywordOr),
        ("not", .keywordNot), ("true", .keywordTrue), ("false", .keywordFalse),
    ]
    /// `keywords.count`, as a constant (the lexer compares every identifier with it).
    static var keywordCount: Int32 { 14 }

    public init() {
        assert(
            NameTable.keywords.count == NameTable.keywordCount
                && NameTable.keywords.indices.allSatisfy { NameTable.keywordKind(Int32($0)) == NameTable.keywords[$0].1 })
        for (keyword, _) in NameTable.keywords {
            let bytes = Array(keyword.utf8)
            bytes.withUnsafeBufferPointer { _ = intern($0) }
        }
    }

    public var count: Int { texts.count }

    @inlinable
    public subscript(name: Name) -> String { texts[Int(name.id)] }

    /// Whether `name` is spelled `Array`.
    func isArray(_ name: Name) -> Bool {
        let range = spellingRanges[Int(name.id)]
        guard range.count == 5 else { return false }
        return spellingBytes[range].elementsEqual("Array".utf8)
    }

    /// The id of an existing name, if `text` was interned.
    public func lookup(_ text: String) -> Name? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var slot = Int(NameTable.hash(buffer)) & (slots.count - 1)
            while slots[slot] != 0 {
                let id = Int32(truncatingIfNeeded: slots[slot]) - 1
                if spelling(of: id, equals: buffer) { return Name(id: id) }
                slot = (slot + 1) & (slots.count - 1)
            }
            return nil
        }
    }

    static let hashSeed: UInt32 = 2_166_136_261

    /// One FNV-1a step (the lexer hashes identifiers as it scans them).
    @inline(__always)
    static func hash(_ hash: UInt32, _ byte: UInt8) -> UInt32 {
        (hash ^ UInt32(byte)) &* 16_777_619
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash = hashSeed
        for byte in bytes {
            hash = NameTable.hash(hash, byte)
        }
        return hash
    }

    /// The token of keyword `id` (below `keywordCount`), without touching the `keywords` table.
    @inline(__always)
    static func keywordKind(_ id: Int32) -> TokenKind {
        switch id {
        case 0: .keywordFun
        case 1: .keywordForeign
        case 2: .keywordUse
        case 3: .keywordIf
        case 4: .keywordElse
        case 5: .keywordWhile
        case 6: .keywordReturn
        case 7: .keywordBreak
        case 8: .keywordContinue
        case 9: .keywordAnd
        case 10: .keywordOr
        case 11: .keywordNot
        case 12: .keywordTrue
        default: .keywordFalse
        }
    }

    func spelling(of id: Int32, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = spellingRanges[Int(id)]
        guard range.count == bytes.count else { return false }
        return spellingBytes.withUnsafeBufferPointer { stored in
            var offset = 0
            while offset < bytes.count {
                if stored[range.lowerBound + offset] != bytes[offset] { return false }
                offset += 1
            }
            return true
        }
    }

    /// The id of `bytes`, interning it if new.
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Name {
        intern(bytes, hash: NameTable.hash(bytes))
    }

    /// The id of `bytes`, whose hash is `hash`, interning it if new.
    @inline(__always)
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt32) -> Name {
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        let found: Int32 = slots.withUnsafeBufferPointer { slots in
            spellingRanges.withUnsafeBufferPointer { ranges in
                spellingBytes.withUnsafeBufferPointer { stored in
                    while true {
                        let entry = slots[slot]
                        if entry == 0 { return -1 }
                        if UInt32(truncatingIfNeeded: entry >> 32) == hash {
                            let id = Int32(truncatingIfNeeded: entry) - 1
                            let range = ranges[Int(id)]
                            if range.count == bytes.count {
                                var offset = 0
                                while offset < bytes.count && stored[range.lowerBound + offset] == bytes[offset] {
                                    offset += 1
                                }
                                if offset == bytes.count { return id }
                            }
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
        if found >= 0 { return Name(id: found) }
        return insert(bytes, hash: hash, at: slot)
    }

    /// Adds a new spelling whose probe ended at the empty `slot`.
    mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt32, at slot: Int) -> Name {
        let id = Int32(texts.count)
        texts.append(String(decoding: bytes, as: UTF8.self))
        spellingRanges.append(spellingBytes.count..<(spellingBytes.count + bytes.count))
        spellingBytes.append(contentsOf: bytes)
        slots[slot] = UInt64(hash) << 32 | UInt64(UInt32(id + 1))
        if texts.count * 2 > slots.count { grow() }
        return Name(id: id)
    }

    mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (id, range) in spellingRanges.enumerated() {
            let hash = spellingBytes.withUnsafeBufferPointer { NameTable.hash(UnsafeBufferPointer(rebasing: $0[range])) }
            var slot = Int(hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = UInt64(hash) << 32 | UInt64(UInt32(id + 1))
        }
    }
}
