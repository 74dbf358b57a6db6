#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem
import SQLiteSupport

/// What `ribbon cache stats | ls | show` read: counts, counters, sizes and unit summaries,
/// without the payloads (their checked contents are `CacheStore+Payloads.swift`).
///
/// Everything here works on rows as stored: sizes, times, hash checks. Decoding images and
/// machine code needs RibbonBytecode and RibbonJIT, which this module does not depend on; that
/// half is `CacheInspector` in RibbonDriver.
extension CacheStore {
    // MARK: Statistics

    /// The numbers `ribbon cache stats` prints.
    package struct Statistics: Sendable, Equatable {
        package var units = 0
        package var machineCodeBlobs = 0
        /// Units whose `ribbon_build` is not the one asked about (no run of this build reads them).
        package var unitsOfOtherBuilds = 0
        package var sourceDigests = 0
        package var hits: Int64 = 0
        package var misses: Int64 = 0
        /// Parse, compile and JIT time that hits skipped (the `saved_us` counter).
        package var savedMicroseconds: Int64 = 0
        /// What the stored entries cost to make: the sum of `compile_us` and of `jit_us`.
        package var storedCompileMicroseconds: Int64 = 0
        package var storedJITMicroseconds: Int64 = 0
        /// LZ4 frames of images and blobs as stored.
        package var compressedBytes: Int64 = 0
        /// `image_size` plus `blob_size`: the same bytes uncompressed.
        package var uncompressedBytes: Int64 = 0
        package var databaseFileBytes: Int64 = 0
        package var walFileBytes: Int64 = 0

        package init() {}

        package var bytesOnDisk: Int64 { databaseFileBytes + walFileBytes }
        /// Hits over lookups; nil before the first lookup.
        package var hitRate: Double? {
            // In Double: counters saturate at 2⁶³−1, where `hits + misses` would trap.
            let lookups = Double(hits) + Double(misses)
            return lookups > 0 ? Double(hits) / lookups : nil
        }
        /// Uncompressed over compressed bytes; nil for an empty cache.
        package var compressionRatio: Double? {
            compressedBytes > 0 ? Double(uncompressedBytes) / Double(compressedBytes) : nil
        }
    }

    /// Counts, sizes and counters in one snapshot. `currentBuild` is the running executable's
    /// build (`CacheKeys.ribbonBuild`), to count the units no run of it can read.
    package func statistics(currentBuild: String) throws(CacheError) -> Statistics {
        return try CacheError.wrapping {
            var s = Statistics()
            try foldHitLog()
            try reading {
                let units = try integers(
                    """
                    SELECT count(*), coalesce(sum(length(image)), 0), coalesce(sum(image_size), 0),
                        coalesce(sum(compile_us), 0), coalesce(sum(ribbon_build <> ?1), 0)
                    FROM units
                    """, count: 5, bind: { try $0.bind(currentBuild, at: 1) })
                let code = try integers(
                    """
                    SELECT count(*), coalesce(sum(length(blob)), 0), coalesce(sum(blob_size), 0), coalesce(sum(jit_us), 0)
                    FROM machine_code
                    """, count: 4)
                s.units = Int(units[0])
                s.unitsOfOtherBuilds = Int(units[4])
                s.machineCodeBlobs = Int(code[0])
                s.compressedBytes = units[1] + code[1]
                s.uncompressedBytes = units[2] + code[2]
                s.storedCompileMicroseconds = units[3]
                s.storedJITMicroseconds = code[3]
                s.sourceDigests = Int(try integers("SELECT count(*) FROM source_digests", count: 1)[0])
                let counters = try storedCounters()
                s.hits = counters["hits", default: 0]
                s.misses = counters["misses", default: 0]
                s.savedMicroseconds = counters["saved_us", default: 0]
            }
            let files = Self.fileBytes(databasePath: databasePath)
            s.databaseFileBytes = files.database
            s.walFileBytes = files.wal
            return s
        }
    }

    /// The value of every counter (absent ones are 0).
    package func counters() throws(CacheError) -> [String: Int64] {
        return try CacheError.wrapping {
            try writing { try foldHits() }
            return try storedCounters()
        }
    }

    /// A counter's stored value as an integer within 0...2⁶³−1, whatever it was stored as:
    /// a REAL past the largest integer (an overflowing sum of earlier builds) becomes the
    /// largest, TEXT its leading integer or 0, a negative number 0.
    static let counterValueSQL = "max(0, coalesce(CAST(value AS INTEGER), 0))"

    /// Every counter as stored, read with `counterValueSQL` (no fold first).
    func storedCounters() throws -> [String: Int64] {
        let query = try db.statement("SELECT name, \(Self.counterValueSQL) FROM counters")
        defer { query.reset() }
        var result: [String: Int64] = [:]
        while try query.step() { result[query.text(0)] = query.int64(1) }
        return result
    }

    /// Runs a query that yields one row of integers; zeros when it yields none.
    func integers(_ sql: String, count: Int, bind: (Statement) throws -> Void = { _ in }) throws -> [Int64] {
        let query = try db.statement(sql)
        try bind(query)
        defer { query.reset() }
        guard try query.step() else { return Array(repeating: 0, count: count) }
        return (0..<count).map { query.int64(Int32($0)) }
    }

    // MARK: Sizes

    /// Bytes of the database in use: its pages less the free ones.
    package func bytesInUse() throws(CacheError) -> Int64 {
        return try CacheError.wrapping {
            func pragma(_ name: String) throws -> Int64 {
                let q = try db.statement("PRAGMA \(name)")
                defer { q.reset() }
                return try q.step() ? q.int64(0) : 0
            }
            return try (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
        }
    }

    /// Bytes the entries take: every unit image and machine-code blob as stored (compressed),
    /// plus a small allowance per row. What the size bound counts (the database file also
    /// holds indexes and free pages: `bytesInUse`).
    package func entryBytes() throws(CacheError) -> Int64 {
        return try CacheError.wrapping {
            let q = try db.statement(
                """
                SELECT coalesce((SELECT sum(length(image)) + 200 * count(*) FROM units), 0)
                    + coalesce((SELECT sum(length(blob)) + 100 * count(*) FROM machine_code), 0)
                """)
            defer { q.reset() }
            return try q.step() ? q.int64(0) : 0
        }
    }

    /// Sizes of the database file and its write-ahead log (0 for a file that does not exist).
    package static func fileBytes(databasePath: String) -> (database: Int64, wal: Int64) {
        (FileSystem.size(databasePath), FileSystem.size(databasePath + "-wal"))
    }

    /// Bytes the cache takes on disk: the database and its write-ahead log.
    package var bytesOnDisk: Int64 {
        let sizes = Self.fileBytes(databasePath: databasePath)
        return sizes.database + sizes.wal
    }

    // MARK: Units

    /// One unit row with the totals of its machine code, without the payloads.
    package struct UnitSummary: Sendable, Equatable {
        package var key: [UInt8]
        package var sourcePath: String
        package var ribbonBuild: String
        /// "name<TAB>value" lines (`UnitKeyFactors.storedText`); empty for rows stored before
        /// schema 2.
        package var factors: String
        /// The LZ4 frame's length, and the image's uncompressed size.
        package var imageBytes: Int64
        package var imageSize: Int64
        package var machineCodeBlobs: Int
        package var machineCodeBytes: Int64
        package var machineCodeSize: Int64
        package var compileMicroseconds: Int64
        package var jitMicroseconds: Int64
        /// Unix seconds.
        package var createdAt: Int64
        package var lastUsedAt: Int64

        /// What the entry takes in the database: its image and blobs, compressed.
        package var storedBytes: Int64 { imageBytes + machineCodeBytes }
        package var uncompressedBytes: Int64 { imageSize + machineCodeSize }
        package var keyHex: String { Hex.encode(key) }
        /// The first 12 hex digits: what `cache ls` prints and `cache show` accepts.
        package var shortKey: String { String(keyHex.prefix(12)) }
    }

    /// Orders of `cache ls --sort`.
    package enum UnitOrder: String, CaseIterable, Sendable {
        /// Most recently used first.
        case lastUsed = "last-used"
        /// Largest (compressed image and blobs) first.
        case size
        /// By source path, A to Z.
        case path
        /// Newest first.
        case created
    }

    private static let summaryQuery = """
        SELECT u.key, u.source_path, u.ribbon_build, u.factors, length(u.image), u.image_size, u.compile_us,
            u.created_at, u.last_used_at, count(m.unit_key), coalesce(sum(length(m.blob)), 0),
            coalesce(sum(m.blob_size), 0), coalesce(sum(m.jit_us), 0)
        FROM units AS u LEFT JOIN machine_code AS m ON m.unit_key = u.key
        """

    private func summaries(where condition: String, bind: (Statement) throws -> Void = { _ in }) throws -> [UnitSummary] {
        let query = try db.statement(Self.summaryQuery + " " + condition + " GROUP BY u.key")
        try bind(query)
        defer { query.reset() }
        var result: [UnitSummary] = []
        while try query.step() {
            result.append(
                UnitSummary(
                    key: query.blob(0), sourcePath: query.text(1), ribbonBuild: query.text(2), factors: query.text(3),
                    imageBytes: query.int64(4), imageSize: query.int64(5), machineCodeBlobs: Int(query.int64(9)),
                    machineCodeBytes: query.int64(10), machineCodeSize: query.int64(11),
                    compileMicroseconds: query.int64(6), jitMicroseconds: query.int64(12),
                    createdAt: query.int64(7), lastUsedAt: query.int64(8)))
        }
        return result
    }

    /// Every unit, in `order` (ties broken by key, so the listing is stable).
    package func units(orderedBy order: UnitOrder = .lastUsed) throws(CacheError) -> [UnitSummary] {
        return try CacheError.wrapping {
            let all = try summaries(where: "")
            return all.sorted { a, b in
                switch order {
                case .lastUsed where a.lastUsedAt != b.lastUsedAt: return a.lastUsedAt > b.lastUsedAt
                case .size where a.storedBytes != b.storedBytes: return a.storedBytes > b.storedBytes
                case .path where a.sourcePath != b.sourcePath: return a.sourcePath < b.sourcePath
                case .created where a.createdAt != b.createdAt: return a.createdAt > b.createdAt
                default: return a.key.lexicographicallyPrecedes(b.key)
                }
            }
        }
    }

    /// The unit with this key, if stored.
    package func unit(key: [UInt8]) throws(CacheError) -> UnitSummary? {
        return try CacheError.wrapping {
            try summaries(where: "WHERE u.key = ?1", bind: { try $0.bind(key, at: 1) }).first
        }
    }

    /// Units whose key starts with `prefix` (hex digits, any case).
    package func units(keyPrefix prefix: String) throws(CacheError) -> [UnitSummary] {
        return try CacheError.wrapping {
            try summaries(where: "WHERE substr(hex(u.key), 1, ?2) = ?1") {
                try $0.bind(prefix.uppercased(), at: 1)
                try $0.bind(Int64(prefix.utf8.count), at: 2)
            }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        }
    }

    /// Units stored for this source path (absolute, as `run` stores it), the most recently
    /// used first.
    package func units(sourcePath: String) throws(CacheError) -> [UnitSummary] {
        return try CacheError.wrapping {
            try summaries(where: "WHERE u.source_path = ?1", bind: { try $0.bind(sourcePath, at: 1) })
                .sorted { ($0.lastUsedAt, $0.createdAt) > ($1.lastUsedAt, $1.createdAt) }
        }
    }

    /// Units whose source path ends with `/suffix` (`cache show fib.rib`), the most recently
    /// used first.
    package func units(sourcePathSuffix suffix: String) throws(CacheError) -> [UnitSummary] {
        return try CacheError.wrapping {
            try summaries(where: "WHERE substr(u.source_path, -?2) = ?1") {
                try $0.bind("/" + suffix, at: 1)
                try $0.bind(Int64(suffix.utf8.count + 1), at: 2)
            }.sorted { ($0.lastUsedAt, $0.createdAt) > ($1.lastUsedAt, $1.createdAt) }
        }
    }
}
