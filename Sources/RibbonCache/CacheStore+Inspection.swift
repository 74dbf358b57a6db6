#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem
import SQLiteSupport

/// What `ribbon cache stats | ls | show | verify | gc | clear` read and change.
///
/// Everything here works on rows as stored: sizes, times, hash checks. Decoding images and
/// machine code needs RibbonBytecode and RibbonJIT, which this module does not depend on; that
/// half is `CacheInspector` in RibbonDriver.
extension CacheStore {
    // MARK: Opening without creating

    /// The database file a cache in `directory` uses.
    public static func databasePath(in directory: String) -> String {
        directory + "/" + CacheDirectory.databaseName
    }

    /// Opens the cache in `directory` when it has a database, with the trust checks of `init`;
    /// nil when there is none, so that commands that only read (or that have nothing to
    /// remove) never create a cache. `ribbon cache` commands pass
    /// `maintenanceBusyTimeoutMilliseconds`.
    public static func openExisting(directory: String, busyTimeoutMilliseconds: Int32 = 5000) throws -> CacheStore? {
        // lstat: a symbolic link counts as present, and `init` then refuses it.
        guard FileSystem.exists(databasePath(in: directory)) else { return nil }
        return try CacheStore(directory: directory, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    }

    /// How long `ribbon cache` commands wait for another process's write lock (a minute): a
    /// run waits 5 s and then goes on without the cache, but a `gc` or `clear` has nothing to
    /// go on to, and in a storm of writers 5 s was not always enough for its turn (2 % of
    /// them failed with "database is locked"). No writer holds the lock for long: a store
    /// is one transaction, and no checkpoint waits for readers while holding it.
    public static let maintenanceBusyTimeoutMilliseconds: Int32 = 60_000

    /// Whether `error` says the database file itself is damaged: `SQLITE_CORRUPT` (11) or
    /// `SQLITE_NOTADB` (26), in any extended form. Rows cannot be read, so nothing short of
    /// starting afresh (`removeDatabaseFiles`) mends it.
    public static func isDamagedFile(_ error: Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        return error.primaryCode == 11 || error.primaryCode == 26
    }

    /// Deletes the cache database in `directory` with its write-ahead log, shared-memory index
    /// and hit log (`cache clear` of a file SQLite cannot read; the next run creates a new one).
    /// Returns the bytes the files took.
    @discardableResult
    public static func removeDatabaseFiles(in directory: String) -> Int64 {
        let path = databasePath(in: directory)
        let sizes = fileBytes(databasePath: path)
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        unlink(directory + "/" + HitLog.fileName)
        return sizes.database + sizes.wal
    }

    /// Sizes of the database file and its write-ahead log (0 for a file that does not exist).
    public static func fileBytes(databasePath: String) -> (database: Int64, wal: Int64) {
        (FileSystem.size(databasePath), FileSystem.size(databasePath + "-wal"))
    }

    /// Bytes the cache takes on disk: the database and its write-ahead log.
    public var bytesOnDisk: Int64 {
        let sizes = Self.fileBytes(databasePath: databasePath)
        return sizes.database + sizes.wal
    }

    /// Folds the hit log (hits a warm run records outside the database, see `HitLog`) into the
    /// counters and the units' last use, so that what follows sees every hit. Without a log
    /// this writes nothing; with one, it checkpoints after, so that warm runs do not read the
    /// write back from the WAL.
    public func foldHitLog() throws {
        guard FileSystem.exists(directory + "/" + HitLog.fileName) || !HitLog.staleTaken(directory: directory).isEmpty
        else { return }
        try writing { try foldHits() }
        checkpoint()
    }

    /// Runs `body` in one read transaction (`BEGIN` deferred takes no write lock), so that the
    /// queries in it see one snapshot while other processes write, and SQLite takes its locks
    /// once (a warm run's lookup and decode: a dozen reads).
    public func reading<Result>(_ body: () throws -> Result) throws -> Result {
        try db.reading(body)
    }

    /// Runs a query that yields one row of integers; zeros when it yields none.
    func integers(_ sql: String, count: Int, bind: (Statement) throws -> Void = { _ in }) throws -> [Int64] {
        let query = try db.statement(sql)
        try bind(query)
        defer { query.reset() }
        guard try query.step() else { return Array(repeating: 0, count: count) }
        return (0..<count).map { query.int64(Int32($0)) }
    }

    // MARK: Statistics

    /// The numbers `ribbon cache stats` prints.
    public struct Statistics: Sendable, Equatable {
        public var units = 0
        public var machineCodeBlobs = 0
        /// Units whose `ribbon_build` is not the one asked about (no run of this build reads them).
        public var unitsOfOtherBuilds = 0
        public var sourceDigests = 0
        public var hits: Int64 = 0
        public var misses: Int64 = 0
        /// Parse, compile and JIT time that hits skipped (the `saved_us` counter).
        public var savedMicroseconds: Int64 = 0
        /// What the stored entries cost to make: the sum of `compile_us` and of `jit_us`.
        public var storedCompileMicroseconds: Int64 = 0
        public var storedJITMicroseconds: Int64 = 0
        /// LZ4 frames of images and blobs as stored.
        public var compressedBytes: Int64 = 0
        /// `image_size` plus `blob_size`: the same bytes uncompressed.
        public var uncompressedBytes: Int64 = 0
        public var databaseFileBytes: Int64 = 0
        public var walFileBytes: Int64 = 0

        public init() {}

        public var bytesOnDisk: Int64 { databaseFileBytes + walFileBytes }
        /// Hits over lookups; nil before the first lookup.
        public var hitRate: Double? {
            // In Double: counters saturate at 2⁶³−1, where `hits + misses` would trap.
            let lookups = Double(hits) + Double(misses)
            return lookups > 0 ? Double(hits) / lookups : nil
        }
        /// Uncompressed over compressed bytes; nil for an empty cache.
        public var compressionRatio: Double? {
            compressedBytes > 0 ? Double(uncompressedBytes) / Double(compressedBytes) : nil
        }
    }

    /// Counts, sizes and counters in one snapshot. `currentBuild` is the running executable's
    /// build (`CacheKeys.ribbonBuild`), to count the units no run of it can read.
    public func statistics(currentBuild: String) throws -> Statistics {
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

    // MARK: Units

    /// One unit row with the totals of its machine code, without the payloads.
    public struct UnitSummary: Sendable, Equatable {
        public var key: [UInt8]
        public var sourcePath: String
        public var ribbonBuild: String
        /// "name<TAB>value" lines (`UnitKeyFactors.storedText`); empty for rows stored before
        /// schema 2.
        public var factors: String
        /// The LZ4 frame's length, and the image's uncompressed size.
        public var imageBytes: Int64
        public var imageSize: Int64
        public var machineCodeBlobs: Int
        public var machineCodeBytes: Int64
        public var machineCodeSize: Int64
        public var compileMicroseconds: Int64
        public var jitMicroseconds: Int64
        /// Unix seconds.
        public var createdAt: Int64
        public var lastUsedAt: Int64

        /// What the entry takes in the database: its image and blobs, compressed.
        public var storedBytes: Int64 { imageBytes + machineCodeBytes }
        public var uncompressedBytes: Int64 { imageSize + machineCodeSize }
        public var keyHex: String { Hex.encode(key) }
        /// The first 12 hex digits: what `cache ls` prints and `cache show` accepts.
        public var shortKey: String { String(keyHex.prefix(12)) }
    }

    /// Orders of `cache ls --sort`.
    public enum UnitOrder: String, CaseIterable, Sendable {
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
    public func units(orderedBy order: UnitOrder = .lastUsed) throws -> [UnitSummary] {
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

    /// The unit with this key, if stored.
    public func unit(key: [UInt8]) throws -> UnitSummary? {
        try summaries(where: "WHERE u.key = ?1", bind: { try $0.bind(key, at: 1) }).first
    }

    /// Units whose key starts with `prefix` (hex digits, any case).
    public func units(keyPrefix prefix: String) throws -> [UnitSummary] {
        try summaries(where: "WHERE substr(hex(u.key), 1, ?2) = ?1") {
            try $0.bind(prefix.uppercased(), at: 1)
            try $0.bind(Int64(prefix.utf8.count), at: 2)
        }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    /// Units stored for this source path (absolute, as `run` stores it), the most recently
    /// used first.
    public func units(sourcePath: String) throws -> [UnitSummary] {
        try summaries(where: "WHERE u.source_path = ?1", bind: { try $0.bind(sourcePath, at: 1) })
            .sorted { ($0.lastUsedAt, $0.createdAt) > ($1.lastUsedAt, $1.createdAt) }
    }

    /// Units whose source path ends with `/suffix` (`cache show fib.rib`), the most recently
    /// used first.
    public func units(sourcePathSuffix suffix: String) throws -> [UnitSummary] {
        try summaries(where: "WHERE substr(u.source_path, -?2) = ?1") {
            try $0.bind("/" + suffix, at: 1)
            try $0.bind(Int64(suffix.utf8.count + 1), at: 2)
        }.sorted { ($0.lastUsedAt, $0.createdAt) > ($1.lastUsedAt, $1.createdAt) }
    }

    // MARK: Payloads, checked

    /// An image or blob after decompression and the SHA-256 check.
    public enum Payload: Sendable, Equatable {
        case intact([UInt8])
        /// What failed: the LZ4 error, or the hash.
        case damaged(String)

        public var bytes: [UInt8]? {
            if case .intact(let bytes) = self { return bytes }
            return nil
        }
    }

    /// Decompresses a frame (or, with `chunks`, a unit image's chunk frames: `ImageChunks`) to
    /// exactly `size` bytes and checks their SHA-256.
    static func check(frame: UnsafeRawBufferPointer, size: Int64, hash: [UInt8], chunks: [UInt8]? = nil) -> Payload {
        let bytes: [UInt8]
        do {
            if let chunks {
                let entries = try ImageChunks.decodeIndex(chunks, imageSize: Int(clamping: size), framesSize: frame.count)
                bytes = try ImageChunks.decompressAll(frame, entries: entries, imageSize: Int(clamping: size))
            } else {
                bytes = try LZ4Frame.decompress(frame, expectedSize: Int(clamping: size))
            }
        } catch {
            return .damaged("decompression failed (\(error))")
        }
        guard SHA256.hash(bytes).bytes == hash else {
            return .damaged("SHA-256 of the \(bytes.count) uncompressed bytes does not match the stored hash")
        }
        return .intact(bytes)
    }

    /// The unit's image, decompressed and hash-checked; nil when no unit has this key.
    public func image(key: [UInt8]) throws -> Payload? {
        let query = try db.statement("SELECT image, image_size, image_sha256, image_chunks FROM units WHERE key = ?1")
        try query.bind(key, at: 1)
        defer { query.reset() }
        guard try query.step() else { return nil }
        let hash = query.blob(2)
        let size = query.int64(1)
        let chunks = query.isNull(3) ? nil : query.blob(3)
        return query.withBlob(0) { Self.check(frame: $0, size: size, hash: hash, chunks: chunks) }
    }

    /// One machine-code row: its primary key, what it records, and its checked blob.
    public struct StoredMachineCode: Sendable, Equatable {
        public var unitKey: [UInt8]
        public var functionId: UInt32
        public var jitIdentity: String
        /// The `features` column as stored (comma-separated, sorted; "" for the baseline).
        public var featuresText: String
        public var compressedBytes: Int64
        public var size: Int64
        public var jitMicroseconds: Int64
        public var payload: Payload

        public var features: Set<String> { Set(featuresText.split(separator: ",").map(String.init)) }
    }

    private func machineCodeRows(where condition: String, bind: (Statement) throws -> Void) throws -> [StoredMachineCode] {
        let query = try db.statement(
            """
            SELECT unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us
            FROM machine_code \(condition) ORDER BY unit_key, function_id, jit_identity, features
            """)
        try bind(query)
        defer { query.reset() }
        var rows: [StoredMachineCode] = []
        while try query.step() {
            let size = query.int64(5)
            let hash = query.blob(6)
            rows.append(
                StoredMachineCode(
                    unitKey: query.blob(0), functionId: UInt32(truncatingIfNeeded: query.int64(1)),
                    jitIdentity: query.text(2), featuresText: query.text(3), compressedBytes: Int64(query.withBlob(4) { $0.count }),
                    size: size, jitMicroseconds: query.int64(7),
                    payload: query.withBlob(4) { Self.check(frame: $0, size: size, hash: hash) }))
        }
        return rows
    }

    /// Every machine-code row of a unit (all JIT identities and feature sets), checked.
    public func machineCode(unitKey: [UInt8]) throws -> [StoredMachineCode] {
        try machineCodeRows(where: "WHERE unit_key = ?1", bind: { try $0.bind(unitKey, at: 1) })
    }

    /// Machine code whose unit is not stored (the schema's cascade should make this empty;
    /// `verify` reports any as bad).
    public func orphanedMachineCode() throws -> [StoredMachineCode] {
        try machineCodeRows(where: "WHERE unit_key NOT IN (SELECT key FROM units)", bind: { _ in })
    }

    /// SQLite's own check of the file's structure (`PRAGMA quick_check`: pages, records and
    /// free lists, in time linear in the file, without `integrity_check`'s index cross-check):
    /// empty when sound, else its messages.
    public func integrityProblems() throws -> [String] {
        let query = try db.statement("PRAGMA quick_check")
        defer { query.reset() }
        var lines: [String] = []
        while try query.step() { lines.append(query.text(0)) }
        return lines == ["ok"] ? [] : lines
    }

    // MARK: Deleting

    /// Deletes units with their machine code, in one transaction.
    public func deleteUnits(_ keys: [[UInt8]]) throws {
        guard !keys.isEmpty else { return }
        try db.transaction { try delete(units: keys) }
        checkpoint()
    }

    /// Deletes single machine-code rows (their unit stays), in one transaction.
    public func deleteMachineCode(_ rows: [StoredMachineCode]) throws {
        guard !rows.isEmpty else { return }
        try db.transaction {
            let delete = try db.statement(
                "DELETE FROM machine_code WHERE unit_key = ?1 AND function_id = ?2 AND jit_identity = ?3 AND features = ?4")
            for row in rows {
                try delete.bind(row.unitKey, at: 1)
                try delete.bind(Int64(row.functionId), at: 2)
                try delete.bind(row.jitIdentity, at: 3)
                try delete.bind(row.featuresText, at: 4)
                try delete.run()
            }
        }
        checkpoint()
    }

    /// Gives the file's free pages back: moves the write-ahead log into the database, rebuilds
    /// it without free pages (`VACUUM`), and truncates the log again (VACUUM writes through it).
    /// A reader in another process may keep the log from being truncated; that is not an error.
    public func compact() throws {
        checkpoint()
        // VACUUM copies the whole database into a temporary one: a file, not memory.
        try db.execute("PRAGMA temp_store=FILE")
        defer { try? db.execute("PRAGMA temp_store=MEMORY") }
        try db.execute("VACUUM")
        checkpoint()
    }

    // MARK: Garbage collection

    /// Why `collectGarbage` removed a unit.
    public enum RemovalReason: String, Sendable, Equatable {
        /// Written by another `ribbon` build: no run of this one can read it.
        case otherBuild = "other-build"
        /// Not used within `--older-than`.
        case unused
        /// Least recently used, evicted to fit `--max-size`.
        case size
    }

    public struct GarbageReport: Sendable, Equatable {
        public var removed: [(unit: UnitSummary, reason: RemovalReason)]
        public var bytesBefore: Int64
        public var bytesAfter: Int64

        public static func == (a: GarbageReport, b: GarbageReport) -> Bool {
            a.bytesBefore == b.bytesBefore && a.bytesAfter == b.bytesAfter
                && a.removed.map(\.unit) == b.removed.map(\.unit) && a.removed.map(\.reason) == b.removed.map(\.reason)
        }
    }

    /// `ribbon cache gc`: removes the units of other builds, those not used since
    /// `unusedSince` (Unix seconds), then least recently used ones until the database fits
    /// `maxBytes` (`evict(toFit:)`); then compacts the file if anything went.
    ///
    /// On a full disk: the write-ahead log's space is given back first (a store that failed
    /// may have left it long); if the deletion still cannot be written, the units to keep are
    /// copied into memory and written back into the emptied file (`rebuild(keeping:)`). The
    /// hit log cannot be folded then either: last uses are those folded before.
    public func collectGarbage(currentBuild: String, unusedSince: Int64?, maxBytes: Int64?) throws -> GarbageReport {
        let before = bytesOnDisk
        checkpoint()
        do {
            try foldHitLog()  // last uses decide what goes
        } catch where Self.isDiskFull(error) {
            // The hits stay in the log for a later fold; last uses are a little older.
        }
        let all = try units(orderedBy: .lastUsed).reversed()  // least recently used first
        var removed: [(UnitSummary, RemovalReason)] = all.filter { $0.ribbonBuild != currentBuild }.map { ($0, .otherBuild) }
        if let unusedSince {
            removed += all.filter { $0.ribbonBuild == currentBuild && $0.lastUsedAt < unusedSince }.map { ($0, .unused) }
        }
        do {
            try deleteUnits(removed.map(\.0.key))
            if let maxBytes {
                let remaining = try units(orderedBy: .lastUsed)
                if try evict(toFit: maxBytes) > 0 {
                    let kept = Set(try units(orderedBy: .lastUsed).map(\.key))
                    removed += remaining.reversed().filter { !kept.contains($0.key) }.map { ($0, .size) }
                }
            }
            if !removed.isEmpty { try compact() }
        } catch where Self.isDiskFull(error) {
            // What goes is what the same rules pick, over the units as they were.
            removed = removed.filter { victim in all.contains { $0.key == victim.0.key } }
            let gone = Set(removed.map(\.0.key))
            var keep = all.reversed().filter { !gone.contains($0.key) }  // most recently used first
            func entryBytes(_ unit: UnitSummary) -> Int64 {
                unit.imageBytes + 200 + unit.machineCodeBytes + 100 * Int64(unit.machineCodeBlobs)
            }
            if let maxBytes, keep.reduce(0, { $0 + entryBytes($1) }) > maxBytes {
                // As `evict(toFit:)` counts (`entryBytes`): the most recently used that fit in
                // 90 % of the bound; from the first that does not, all older ones go.
                var budget = maxBytes * 9 / 10
                var fit = 0
                for unit in keep {
                    let bytes = entryBytes(unit)
                    guard budget >= bytes else { break }
                    budget -= bytes
                    fit += 1
                }
                removed += keep[fit...].reversed().map { ($0, .size) }
                keep = Array(keep[..<fit])
            }
            try rebuild(keeping: keep.map(\.key))
        }
        return GarbageReport(removed: removed, bytesBefore: before, bytesAfter: bytesOnDisk)
    }

    /// What `clear` removed.
    public struct ClearReport: Sendable, Equatable {
        public var units = 0
        public var machineCodeBlobs = 0
        public var sourceDigests = 0
        public var bytesBefore: Int64 = 0
        public var bytesAfter: Int64 = 0

        public init() {}
    }

    /// `ribbon cache clear`: every unit, blob, counter and source digest, then compacts.
    ///
    /// On a disk too full for SQLite to write the deletion (or the compacted copy), the files
    /// are emptied in place instead (`Database.truncateToEmpty`, under SQLite's exclusive
    /// lock), with the hit logs; this closes the store.
    public func clear() throws -> ClearReport {
        var report = ClearReport()
        report.bytesBefore = bytesOnDisk
        checkpoint()  // what a failed store left in the log, first
        func count() throws {
            let counts = try integers(
                """
                SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM machine_code),
                    (SELECT count(*) FROM source_digests)
                """, count: 3)
            report.units = Int(counts[0])
            report.machineCodeBlobs = Int(counts[1])
            report.sourceDigests = Int(counts[2])
        }
        do {
            try writing {
                try foldHits()  // consumed here, so no hit of a cleared unit is counted later
                try count()
                try db.execute(
                    "DELETE FROM machine_code; DELETE FROM units; DELETE FROM counters; DELETE FROM source_digests;")
            }
            try compact()
        } catch where Self.isDiskFull(error) {
            if report.units == 0 && report.machineCodeBlobs == 0 { try reading { try count() } }
            try truncateToEmpty()
        }
        report.bytesAfter = bytesOnDisk
        return report
    }

    // MARK: A full disk

    /// Whether `error` is SQLite saying the disk is full (`SQLITE_FULL`).
    public static func isDiskFull(_ error: Error) -> Bool {
        (error as? SQLiteError)?.isFull == true
    }

    /// Empties the database and its log in place (`Database.truncateToEmpty`: waits for every
    /// other connection to close, writes nothing) and removes the hit logs. Closes the store;
    /// the next open creates the schema again.
    func truncateToEmpty(removingHitLogs: Bool = true) throws {
        try db.truncateToEmpty()
        guard removingHitLogs else { return }
        unlink(directory + "/" + HitLog.fileName)
        for name in HitLog.staleTaken(directory: directory) { unlink(directory + "/" + name) }
    }

    /// The most that `rebuild` holds in memory: entries beyond it make a full-disk `gc` fail
    /// (74, "database or disk is full") rather than take that much memory.
    static let rebuildMemoryLimit: Int64 = 256 << 20

    /// `gc` on a disk too full to write the deletion: copies the units `keys` (with their
    /// machine code), every source digest and counter, and any other table, into an in-memory
    /// database; empties the files in place (`truncateToEmpty`), which gives their space
    /// back; creates the schema again and writes the copies back in one transaction. Closes
    /// the store. A kill after the files were emptied loses the kept entries (the next runs
    /// compile them again), never anything else: the cache is then empty or whole.
    func rebuild(keeping keys: [[UInt8]]) throws {
        var keptBytes: Int64 = 0
        for key in keys { keptBytes += try unit(key: key)?.storedBytes ?? 0 }
        guard keptBytes <= Self.rebuildMemoryLimit else {
            throw SQLiteError(code: 13, message: "database or disk is full, and the entries to keep are too large to rebuild it", sql: nil)
        }
        // Closing without SQLite's last-connection cleanup, which deletes the `-shm` index: on
        // a full disk the next process could not create it again, and could not open the cache.
        let memory = try Database(path: ":memory:", busyTimeoutMilliseconds: db.busyTimeoutMilliseconds, checkpointOnClose: false)
        defer { memory.close() }
        func attach() throws {
            let statement = try memory.prepare("ATTACH ?1 AS cache")
            try statement.bind(Database.plainFileName(databasePath), at: 1)
            try statement.run()
        }
        try attach()
        try memory.execute("CREATE TABLE main.kept_keys (key BLOB PRIMARY KEY)")
        let insert = try memory.prepare("INSERT OR IGNORE INTO main.kept_keys VALUES (?1)")
        for key in keys {
            try insert.bind(key, at: 1)
            try insert.run()
            insert.reset()
        }
        var tables: [String] = []
        let names = try memory.prepare(
            "SELECT name FROM cache.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        while try names.step() { tables.append(names.text(0)) }
        names.reset()
        try memory.reading {
            for table in tables {
                let condition = switch table {
                case "units": " WHERE key IN (SELECT key FROM main.kept_keys)"
                case "machine_code": " WHERE unit_key IN (SELECT key FROM main.kept_keys)"
                default: ""
                }
                try memory.execute("CREATE TABLE main.\"kept_\(table)\" AS SELECT * FROM cache.\"\(table)\"\(condition)")
            }
        }
        try memory.execute("DETACH cache")  // its lock would keep `truncateToEmpty` waiting
        // The hit logs stay: they name kept units too, and the next fold counts them.
        try truncateToEmpty(removingHitLogs: false)
        // Each step checkpointed: the log would otherwise hold every migration's pages and the
        // copies at once, on a disk that has only what the emptied files gave back.
        let fresh = try Self.openDatabase(databasePath, db.busyTimeoutMilliseconds)
        _ = try migrate(fresh, CacheSchema.migrations)
        fresh.checkpointWithoutWaiting()
        fresh.close()
        try attach()
        // Rows go back as they were; the machine code's units come with it, in any order.
        try memory.execute("PRAGMA foreign_keys=OFF")
        try memory.transaction {
            for table in tables {
                try memory.execute("INSERT INTO cache.\"\(table)\" SELECT * FROM main.\"kept_\(table)\"")
            }
        }
        memory.withBusyTimeout(milliseconds: 0) { _ = try? memory.execute("PRAGMA cache.wal_checkpoint(TRUNCATE)") }
        try memory.execute("DETACH cache")
    }
}
