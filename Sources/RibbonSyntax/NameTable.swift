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
    /// Hash slots: `id + 1`, or 0 when empty. The count is a power of two.
    var slots: [Int32] = Array(repeating: 0, count: 1024)

    /// Keyword tokens in interning order: ids `0 ..< keywordCount`.
    static let keywords: [(String, TokenKind)] = [
        ("fun", .keywordFun), ("foreign", .keywordForeign), ("use", .keywordUse), ("if", .keywordIf),
        ("else", .keywordElse), ("while", .keywordWhile), ("return", .keywordReturn),
        ("break", .keywordBreak), ("continue", .keywordContinue), ("and", .keywordAnd), ("or", .keywordOr),
        ("not", .keywordNot), ("true", .keywordTrue), ("false", .keywordFalse),
    ]
    static var keywordCount: Int32 { Int32(keywords.count) }

    public init() {
        for (keyword, _) in NameTable.keywords {
            let bytes = Array(keyword.utf8)
            bytes.withUnsafeBufferPointer { _ = intern($0) }
        }
    }

    public var count: Int { texts.count }

    public subscript(name: Name) -> String { texts[Int(name.id)] }

    /// The id of an existing name, if `text` was interned.
    public func lookup(_ text: String) -> Name? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var slot = Int(NameTable.hash(buffer)) & (slots.count - 1)
            while slots[slot] != 0 {
                let id = slots[slot] - 1
                if spelling(of: id, equals: buffer) { return Name(id: id) }
                slot = (slot + 1) & (slots.count - 1)
            }
            return nil
        }
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }

    func spelling(of id: Int32, equals bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = spellingRanges[Int(id)]
        guard range.count == bytes.count else { return false }
        var offset = 0
        while offset < bytes.count {
            if spellingBytes[range.lowerBound + offset] != bytes[offset] { return false }
            offset += 1
        }
        return true
    }

    /// The id of `bytes`, interning it if new.
    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Name {
        let mask = slots.count - 1
        var slot = Int(NameTable.hash(bytes)) & mask
        while slots[slot] != 0 {
            let id = slots[slot] - 1
            if spelling(of: id, equals: bytes) { return Name(id: id) }
            slot = (slot + 1) & mask
        }
        let id = Int32(texts.count)
        texts.append(String(decoding: bytes, as: UTF8.self))
        spellingRanges.append(spellingBytes.count..<(spellingBytes.count + bytes.count))
        spellingBytes.append(contentsOf: bytes)
        slots[slot] = id + 1
        if texts.count * 2 > slots.count { grow() }
        return Name(id: id)
    }

    mutating func grow() {
        slots = Array(repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (id, range) in spellingRanges.enumerated() {
            var slot = spellingBytes.withUnsafeBufferPointer { Int(NameTable.hash(UnsafeBufferPointer(rebasing: $0[range]))) } & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id) + 1
        }
    }
}
