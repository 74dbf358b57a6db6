#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem
import SQLiteSupport

/// The compilation cache: one SQLite database per cache directory (DESIGN.md, "Storage").
///
/// Rows hold LZ4 frames of unit images and machine-code blobs, each with the SHA-256 of its
/// uncompressed bytes; a row whose hash or decompression fails is reported as bad, never
/// trusted, and replaced by the next store.
public final class CacheStore {
    public let directory: String
    public let databasePath: String
    let db: Database
    /// One line each, for the warning the driver prints (e.g. a newer database moved aside).
    public private(set) var warnings: [String] = []
    /// Hit logs folded into the open transaction, deleted when it commits (`writing`).
    var foldedHitLogs: [String] = []
    /// The file system's clock, read before the first source this store did not know (see
    /// `SourceDigests.swift`).
    var digestClock = DigestClock()

    /// Opens (creating if needed) the cache in `directory` after the trust checks of
    /// `CacheDirectory`. A database written by a newer `ribbon` is moved aside and recreated.
    /// With `replacingDamaged` (a run), a file that is not a database any more is moved aside
    /// and a new cache started; without (`ribbon cache` commands) it is an error.
    public init(directory: String, busyTimeoutMilliseconds: Int32 = 5000, replacingDamaged: Bool = false) throws {
        self.directory = directory
        databasePath = try CacheDirectory.prepare(directory)
        let path = databasePath
        func moveAside(_ suffix: String) -> String {
            let aside = path + ".\(suffix)-\(time(nil))"
            for part in ["", "-wal", "-shm"] { rename(path + part, aside + part) }
            path.withCString { name in
                let fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
                if fd >= 0 { close(fd) }
            }
            return aside
        }
        var database: Database
        var outcome: MigrationOutcome
        do {
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            outcome = try migrate(database, CacheSchema.migrations)
        } catch let error as SQLiteError where replacingDamaged && (error.primaryCode == 26 || error.primaryCode == 11) {
            // SQLITE_NOTADB, SQLITE_CORRUPT: the file is not a cache any more. It holds nothing
            // that can be used; keep it aside (for a post-mortem) and start a new one.
            let aside = moveAside("damaged")
            warnings.append("cache database was damaged (\(error.message)); moved it to \(aside) and started a new one")
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            outcome = try migrate(database, CacheSchema.migrations)
        }
        if case .newerThanKnown(let version) = outcome {
            database.close()
            let aside = moveAside("newer-v\(version)")
            warnings.append("cache database was written by a newer ribbon (schema \(version)); moved it to \(aside)")
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            _ = try migrate(database, CacheSchema.migrations)
        }
        db = database
    }

    /// Tuned for many short-lived processes: 16 KiB pages (a megabyte-sized image is a chain of
    /// ~100 overflow pages, not ~350), reads through a memory map, and no checkpoint at exit;
    /// a store checkpoints what it wrote (`store`), so warm runs rarely meet a checkpoint.
    ///
    /// Temporary files in memory (`temp_store=MEMORY`): each `INSERT OR REPLACE` and upsert in
    /// a store's transaction keeps a statement journal, which SQLite otherwise spills to a file
    /// in `$SQLITE_TMPDIR`, `/var/tmp` or `/tmp` — about 20 MB of writes for 300 blobs once the
    /// database has free pages, and a store that failed with "database or disk is full" when
    /// that other file system was full, however much room the cache had. Each statement's
    /// journal is a few pages. `compact` switches back to files for its VACUUM, whose
    /// temporary copy is the whole database.
    ///
    /// `journal_size_limit=0`: the first commit after the log starts over cuts the file to
    /// what that commit wrote, so a log that a checkpoint could not truncate (a reader was in
    /// the way) or that a failed transaction left long does not keep its space for good.
    static func openDatabase(_ path: String, _ busyTimeoutMilliseconds: Int32) throws -> Database {
        let db = try Database(
            path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, pageSize: 16384, mmapSize: 1 << 30,
            checkpointOnClose: false)
        try db.execute("PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=0")
        return db
    }

    public struct MachineCodeRow: Sendable, Equatable {
        public var functionId: UInt32
        public var features: Set<String>
        /// The uncompressed, hash-checked blob.
        public var blob: [UInt8]

        public init(functionId: UInt32, features: Set<String>, blob: [UInt8]) {
            self.functionId = functionId
            self.features = features
            self.blob = blob
        }
    }

    public enum LoadResult: Equatable {
        case miss
        /// The image, and for each function the best blob whose features the host has.
        case hit(image: [UInt8], machineCode: [MachineCodeRow], badMachineCode: Int)
        /// The unit's row failed its checks (the caller recompiles; the next store replaces it).
        case bad(String)
    }

    /// `load` that also records the hit (tests and tools; a run uses `load(decode:)` and
    /// records the hit off the critical path).
    public func load(key: SHA256Digest, jitIdentity: String, hostFeatures: Set<String>) throws -> LoadResult {
        switch try load(key: key, jitIdentity: jitIdentity, hostFeatures: hostFeatures, decode: { $0 }) {
        case .miss: return .miss
        case .bad(let why): return .bad(why)
        case .hit(let image, let code, let bad, let saved):
            try? recordHit(key: key, savedMicroseconds: saved)
            return .hit(image: image, machineCode: code, badMachineCode: bad)
        }
    }

    public enum Loaded<Unit> {
        case miss
        /// The decoded unit (its image's hash checked), each function's best blob, the number
        /// of blobs that failed their checks, and the compile and JIT time this hit saves.
        case hit(Unit, machineCode: [MachineCodeRow], badMachineCode: Int, savedMicroseconds: Int64)
        case bad(String)
    }

    /// One query brings the unit and every blob of this JIT identity; blobs needing a feature
    /// the host lacks are skipped, and of several that fit, the one needing most is taken.
    ///
    /// The image is decompressed, then `decode` runs on it while its SHA-256 is computed on a
    /// second thread; the decoded value is returned only if the hash matches (`decode` must
    /// therefore be safe on any bytes, as the unit loader is). A hash, decompression or decode
    /// failure is `.bad`. Counters and the unit's last use are not touched: see `recordHit`.
    public func load<Unit>(
        key: SHA256Digest, jitIdentity: String, hostFeatures: Set<String>,
        decode: ([UInt8]) throws -> Unit
    ) throws -> Loaded<Unit> {
        var clock = PhaseClock()
        defer { lastLoadPhases = clock.phases }
        // The image's size first, so that memory for a large one can be prepared before it is
        // read (see `willLoad`).
        let size = try db.statement("SELECT image_size FROM units WHERE key = ?1")
        try size.bind(key.bytes, at: 1)
        guard try size.step() else { return .miss }
        let imageSize = Int(size.int64(0))
        size.reset()
        willLoad(imageSize)
        clock.mark("lookup")
        let query = try db.statement(
            """
            SELECT 0, image, image_size, image_sha256, compile_us, NULL, 0, image_chunks FROM units WHERE key = ?1
            UNION ALL
            SELECT 1, blob, blob_size, blob_sha256, function_id, features, jit_us, NULL FROM machine_code
            WHERE unit_key = ?1 AND jit_identity = ?2
            """)
        try query.bind(key.bytes, at: 1)
        try query.bind(jitIdentity, at: 2)
        var unit: Result<Unit, Error>? = nil
        var unitProblem: String? = nil
        var choice = MachineCodeChoice(hostFeatures: hostFeatures)
        var compileMicroseconds: Int64 = 0
        while try query.step() {
            clock.mark("read")
            let size = Int(query.int64(2))
            let hash = query.blob(3)
            if query.int64(0) == 1 {
                query.withBlob(1) {
                    choice.offer(
                        frame: $0, size: size, sha256: hash, functionId: query.int64(4), features: query.text(5),
                        jitMicroseconds: query.int64(6))
                }
                clock.mark("machine_code")
                continue
            }
            let chunks = query.isNull(7) ? nil : query.blob(7)
            guard let bytes = try? query.withBlob(1, { frames in
                guard let chunks else { return try LZ4Frame.decompress(frames, expectedSize: size) }
                let entries = try ImageChunks.decodeIndex(chunks, imageSize: size, framesSize: frames.count)
                return try ImageChunks.decompressAll(frames, entries: entries, imageSize: size)
            }) else {
                unitProblem = "unit image failed to decompress"
                continue
            }
            clock.mark("decompress")
            do {
                compileMicroseconds = query.int64(4)
                // A large image is hashed on a second thread while it is decoded; a small one
                // costs less than starting a thread.
                let hashing = bytes.count >= Self.parallelHashBytes ? BackgroundTask { SHA256.hash(bytes).bytes == hash } : nil
                let hashMatches = hashing == nil ? SHA256.hash(bytes).bytes == hash : true
                unit = hashMatches ? Result { try decode(bytes) } : nil
                clock.mark("decode")
                defer { clock.mark("hash") }
                if !(hashing?.wait() ?? hashMatches) {
                    unit = nil
                    unitProblem = "unit image failed its hash check"
                }
            }
        }
        if let unitProblem { return .bad(unitProblem) }
        guard let unit else { return .miss }
        let decoded: Unit
        switch unit {
        case .success(let value): decoded = value
        case .failure(let error):
            return .bad("unit image does not load: \(error)")
        }
        return .hit(
            decoded, machineCode: choice.rows, badMachineCode: choice.bad,
            savedMicroseconds: compileMicroseconds + choice.jitMicroseconds)
    }

    /// Microseconds of each phase of the last `load` (`--stats` `cache_phases_us`): lookup (the
    /// size query), read (SQLite bringing the row), decompress, decode (verify and relocate),
    /// hash (what the image's SHA-256 took beyond decoding, on the second thread), and
    /// machine_code (blobs: read, decompress, hash).
    public internal(set) var lastLoadPhases: [(name: String, microseconds: Int)] = []

    /// Images at least this big are hashed on a second thread while they are decoded.
    static let parallelHashBytes = 256 << 10

    /// Called with a unit image's size before it is read (a run prepares memory for a large one).
    public var willLoad: (Int) -> Void = { _ in }

    /// Adds to the named counters (`cache stats`: hits, misses, saved_us) in a transaction of
    /// its own.
    public func count(_ increments: [String: Int64]) throws {
        try db.transaction { try addToCounters(increments) }
    }

    /// Counters only grow (a negative increment counts 0) and stay INTEGERs: the sum saturates
    /// at 2⁶³−1 in SQL, because SQLite turns an overflowing integer `+` into a REAL — which
    /// earlier builds stored. A value already stored as a REAL or TEXT is first read as
    /// `counterValueSQL` does, so adding to it repairs it.
    func addToCounters(_ increments: [String: Int64]) throws {
        let old = Self.counterValueSQL
        let add = try db.statement(
            """
            INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value =
                CASE WHEN \(old) > 9223372036854775807 - ?2 THEN 9223372036854775807 ELSE \(old) + ?2 END
            """)
        for (name, value) in increments.sorted(by: { $0.key < $1.key }) {
            try add.bind(name, at: 1)
            try add.bind(max(value, 0), at: 2)
            try add.run()
        }
    }

    /// The value of every counter (absent ones are 0).
    public func counters() throws -> [String: Int64] {
        try writing { try foldHits() }
        return try storedCounters()
    }

    public struct MachineCodeEntry: Sendable {
        public var functionId: UInt32
        public var features: Set<String>
        public var blob: [UInt8]
        public var jitMicroseconds: Int

        public init(functionId: UInt32, features: Set<String>, blob: [UInt8], jitMicroseconds: Int) {
            self.functionId = functionId
            self.features = features
            self.blob = blob
            self.jitMicroseconds = jitMicroseconds
        }
    }

    /// Stores a unit and its machine code in one transaction, replacing what was there for the
    /// same key (a bad row included). With `image` nil only machine code is added, to a unit
    /// already stored (if it has been evicted meanwhile, nothing is stored).
    /// Afterwards, when the cache holds more than `maxBytes`, the least recently used units are
    /// evicted (the unit just stored is kept). `sourceDigests`, the run's source digests to
    /// remember, are written in the same transaction, so that a run waits for the write lock at
    /// most once. `warmRanges`: what of the image the run used, which warm runs then read first
    /// (`ImageChunks.encode`). `store(units:…)` with one unit: a run stores all its units at once.
    public func store(
        key: SHA256Digest, sourcePath: String, image: [UInt8]?, compileMicroseconds: Int, ribbonBuild: String,
        jitIdentity: String, machineCode: [MachineCodeEntry], factors: String = "", maxBytes: Int64? = nil,
        countMiss: Bool = false, sourceDigests: [SourceDigestRecord] = [], warmRanges: [Range<Int>] = []
    ) throws {
        let unit = UnitToStore(
            key: key, sourcePath: sourcePath, image: image, compileMicroseconds: compileMicroseconds,
            machineCode: machineCode, factors: factors, countsMiss: countMiss, warmRanges: warmRanges)
        try store(
            units: [unit], ribbonBuild: ribbonBuild, jitIdentity: jitIdentity, maxBytes: maxBytes,
            sourceDigests: sourceDigests)
    }

    /// Moves what this connection wrote from the WAL into the database file and empties the
    /// WAL: every process that opens the cache first reads the whole WAL back, and warm runs
    /// read pages through the memory map, not the WAL. Best effort and never waiting
    /// (`Database.checkpointWithoutWaiting`): a reader only postpones it to the next writer,
    /// and no writer waits behind it. Returns whether the WAL is now empty.
    @discardableResult
    public func checkpoint() -> Bool {
        db.checkpointWithoutWaiting()
    }

    func insert(
        machineCode blobs: [(MachineCodeEntry, [UInt8], SHA256Digest)], key: SHA256Digest, jitIdentity: String
    ) throws {
            let code = try db.statement(
                """
                INSERT OR REPLACE INTO machine_code (unit_key, function_id, jit_identity, features, blob, blob_size,
                    blob_sha256, jit_us)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            for (entry, frame, hash) in blobs {
                try code.bind(key.bytes, at: 1)
                try code.bind(Int64(entry.functionId), at: 2)
                try code.bind(jitIdentity, at: 3)
                try code.bind(entry.features.sorted().joined(separator: ","), at: 4)
                try code.bind(frame, at: 5)
                try code.bind(Int64(entry.blob.count), at: 6)
                try code.bind(hash.bytes, at: 7)
                try code.bind(Int64(entry.jitMicroseconds), at: 8)
                try code.run()
            }
    }

    /// Default bound on the cache's size (DESIGN.md, "Storage"); `RIBBON_CACHE_MAX_SIZE` overrides.
    public static let defaultMaxBytes: Int64 = 1 << 30

    /// Bytes of the database in use: its pages less the free ones.
    public func bytesInUse() throws -> Int64 {
        func pragma(_ name: String) throws -> Int64 {
            let q = try db.statement("PRAGMA \(name)")
            defer { q.reset() }
            return try q.step() ? q.int64(0) : 0
        }
        return try (pragma("page_count") - pragma("freelist_count")) * pragma("page_size")
    }

    /// Bytes the entries take: every unit image and machine-code blob as stored (compressed),
    /// plus a small allowance per row. What the size bound counts (the database file also
    /// holds indexes and free pages: `bytesInUse`).
    public func entryBytes() throws -> Int64 {
        let q = try db.statement(
            """
            SELECT coalesce((SELECT sum(length(image)) + 200 * count(*) FROM units), 0)
                + coalesce((SELECT sum(length(blob)) + 100 * count(*) FROM machine_code), 0)
            """)
        defer { q.reset() }
        return try q.step() ? q.int64(0) : 0
    }

    /// Deletes least-recently-used units (with their machine code) until the entries take at
    /// most `maxBytes` (`entryBytes`), down to 90% of it so that the stores after do not evict
    /// again at once. The unit `keeping` (the one just stored) is never evicted. Returns the
    /// number of units evicted.
    @discardableResult
    public func evict(toFit maxBytes: Int64, keeping: SHA256Digest? = nil) throws -> Int {
        try evict(toFit: maxBytes, keepingAll: keeping.map { [$0] } ?? [])
    }

    /// Deletes units and their machine code (inside the caller's transaction).
    func delete(units keys: [[UInt8]]) throws {
        let code = try db.statement("DELETE FROM machine_code WHERE unit_key = ?1")
        let unit = try db.statement("DELETE FROM units WHERE key = ?1")
        for key in keys {
            try code.bind(key, at: 1)
            try code.run()
            try unit.bind(key, at: 1)
            try unit.run()
        }
    }
}
