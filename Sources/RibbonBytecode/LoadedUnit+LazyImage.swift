import RibbonCore

/// Reading a lazily loaded unit's image: where its sections are, a function's entry, and
/// `read`, which fetches ranges from the source or falls back to the image compiled afresh.
extension LoadedUnit {
    /// Where the sections of the image are, and how many functions and symbols it has.
    struct Layout {
        var functionCount = 0
        var symbolCount = 0
        var entries = 0..<0
        var symbolIndex = 0..<0
        var symbols = 0..<0
        var functions = 0..<0
        var code = 0..<0
        var strings = 0..<0
        var lines = 0..<0
        var interface = 0..<0
        var kinds = 0..<0
    }

    /// What function `i`'s AddressTable entry says: its Id, frame size, parameter count, and
    /// where its header is in `code` and its signature in `kinds`. Lazily from the entry itself
    /// (the entries stay in the image's mapping); when loaded at once, from its row and header.
    struct FunctionEntry {
        var id: UInt32
        var frameSize: UInt32
        var parameterCount: UInt32
        var headerOffset: Int
        var kindsOffset: Int
    }

    /// Nil if a lazily read entry is not a function entry for row `i` with its header inside
    /// `code` (the function prefix's entries are first read here; the others were checked at
    /// load, and are checked again).
    func entry(ofFunction i: Int) -> FunctionEntry? {
        guard lazySource != nil else {
            let f = rows[i]!
            return FunctionEntry(
                id: f.id, frameSize: f.header.pointee.frameSize, parameterCount: f.header.pointee.parameterCount,
                headerOffset: f.headerOffset, kindsOffset: f.kindsOffset)
        }
        let id = numbering.id(ofRow: i)
        let at = layout.entries.lowerBound + Int(id) * UnitImage.EntryRecord.size
        let code = layout.code
        entriesRead.append(i)
        return read(at..<at + UnitImage.EntryRecord.size) { image -> FunctionEntry? in
            let e = UnitImage.EntryRecord(image, at: at)
            let (frameSize, parameterCount, b) = (e.k, e.p, e.b)
            let headerOffset = Int(b & 0xFFFF_FFFF)
            guard e.kind == AddressTableEntryKind.function.rawValue, e.a == UInt32(i),
                parameterCount <= frameSize, headerOffset % 8 == 0,
                headerOffset <= code.count - functionHeaderWords * 8
            else { return nil }
            return FunctionEntry(
                id: id, frameSize: UInt32(frameSize), parameterCount: UInt32(parameterCount),
                headerOffset: headerOffset, kindsOffset: Int(b >> 32))
        }
    }

    /// `body` applied to the image once `ranges` of it can be read: the lazy image if they
    /// fetch and `body` accepts it (non-nil), else the fallback (then the unit counts as damaged).
    func read<T>(_ ranges: Range<Int>..., body: (UnsafeRawBufferPointer) -> T?) -> T? {
        guard let source = lazySource, ranges.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= source.count }) else {
            return nil
        }
        if ranges.allSatisfy({ (try? source.ensure($0)) != nil }),
            let result = body(UnsafeRawBufferPointer(start: source.base, count: source.count))
        {
            return result
        }
        // No fallback yet (a lookup placing what it expects to run): the caller tries again
        // when the function is needed, by then with one.
        guard fallbackImage != nil else { return nil }
        guard let fallback = fallback() else {
            unavailable = true
            return nil
        }
        let result = fallback.withUnsafeBytes { body($0) }
        if result != nil { damaged = true }
        return result
    }

    /// The fallback image's bytes (compiled once), if it has the lazy image's size (the caller
    /// of `fallbackImage` has checked its hash against the stored one).
    func fallback() -> [UInt8]? {
        if fallbackBytes == nil {
            let bytes = fallbackImage?()?.bytes
            fallbackBytes = .some(bytes.flatMap { $0.count == lazySource?.count ? $0 : nil })
        }
        return fallbackBytes!
    }
}

/// Where a lazily loaded unit's image comes from (`LoadedUnit(lazy:resolver:)`): `count` bytes at
/// `base`, of which only the ranges `ensure` has made valid may be read. `ensure` must check
/// what it fetches (the cache hash-checks each chunk) and throw when it cannot.
public protocol UnitImageSource: AnyObject {
    var count: Int { get }
    var base: UnsafeRawPointer { get }
    func ensure(_ range: Range<Int>) throws
}

