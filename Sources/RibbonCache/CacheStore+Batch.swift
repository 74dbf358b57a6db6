#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import SQLiteSupport

/// A program's units stored together: a run of a program of many files writes once.
///
/// Every write transaction costs a commit (`fdatasync` of the WAL) and every store a
/// `wal_checkpoint(TRUNCATE)` (another `fdatasync`, an `ftruncate`); stored one by one, the
/// units of a program of 1,000 files took 3,000 `fdatasync`s and 35 times the uncached run.
extension CacheStore {
    /// One unit to store with `store(units:…)`.
    public struct UnitToStore: Sendable {
        public var key: SHA256Digest
        /// Recorded in the row (`cache ls`, `key --explain`): absolute.
        public var sourcePath: String
        /// The image compiled in this run; nil when the unit came from the cache and only
        /// machine code is new (then nothing is stored if the unit has been evicted meanwhile).
        public var image: [UInt8]?
        public var compileMicroseconds: Int
        public var machineCode: [MachineCodeEntry]
        /// `UnitKeyFactors.storedText`.
        public var factors: String
        /// Whether the store counts a miss (`cache stats`).
        public var countsMiss: Bool
        /// What of the image the run used (`ImageChunks.encode`).
        public var warmRanges: [Range<Int>]

        public init(
            key: SHA256Digest, sourcePath: String, image: [UInt8]?, compileMicroseconds: Int,
            machineCode: [MachineCodeEntry], factors: String = "", countsMiss: Bool = false,
            warmRanges: [Range<Int>] = []
        ) {
            self.key = key
            self.sourcePath = sourcePath
            self.image = image
            self.compileMicroseconds = compileMicroseconds
            self.machineCode = machineCode
            self.factors = factors
            self.countsMiss = countsMiss
            self.warmRanges = warmRanges
        }
    }

    /// Stores `units` and their machine code, and remembers `sourceDigests`, in one
    /// transaction: all of them or, if anything fails, none (nothing stored before is lost).
    /// Afterwards, when the cache holds more than `maxBytes`, least recently used units other
    /// than these are evicted (`evict(toFit:keepingAll:)`), then the WAL is emptied once.
    /// Compression and hashing happen before the write lock is taken.
    public func store(
        units: [UnitToStore], ribbonBuild: String, jitIdentity: String, maxBytes: Int64? = nil,
        sourceDigests: [SourceDigestRecord] = []
    ) throws {
        let prepared = try units.map { unit in
            (
                unit: unit,
                frames: try unit.image.map { try ImageChunks.encode($0, warm: unit.warmRanges) },
                hash: unit.image.map { SHA256.hash($0) },
                blobs: try unit.machineCode.map { entry in (entry, try LZ4Frame.compress(entry.blob), SHA256.hash(entry.blob)) }
            )
        }
        let now = Int64(time(nil))
        try writing {
            try foldHits()
            for digest in sourceDigests { try recordDigest(digest) }
            let misses = units.filter(\.countsMiss).count
            if misses > 0 { try addToCounters(["misses": Int64(misses)]) }
            for (unit, frames, hash, blobs) in prepared {
                guard let image = unit.image, let frames, let hash else {
                    let exists = try db.statement("SELECT 1 FROM units WHERE key = ?1")
                    try exists.bind(unit.key.bytes, at: 1)
                    defer { exists.reset() }
                    guard try exists.step() else { continue }
                    try insert(machineCode: blobs, key: unit.key, jitIdentity: jitIdentity)
                    continue
                }
                let row = try db.statement(
                    """
                    INSERT INTO units (key, source_path, image, image_size, image_sha256, ribbon_build, compile_us,
                        created_at, last_used_at, factors, image_chunks)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10)
                    ON CONFLICT (key) DO UPDATE SET source_path = excluded.source_path, image = excluded.image,
                        image_size = excluded.image_size, image_sha256 = excluded.image_sha256,
                        ribbon_build = excluded.ribbon_build, compile_us = excluded.compile_us,
                        last_used_at = excluded.last_used_at, factors = excluded.factors,
                        image_chunks = excluded.image_chunks
                    """)
                try row.bind(unit.key.bytes, at: 1)
                try row.bind(unit.sourcePath, at: 2)
                try row.bind(frames.frames, at: 3)
                try row.bind(Int64(image.count), at: 4)
                try row.bind(hash.bytes, at: 5)
                try row.bind(ribbonBuild, at: 6)
                try row.bind(Int64(unit.compileMicroseconds), at: 7)
                try row.bind(now, at: 8)
                try row.bind(unit.factors, at: 9)
                try row.bind(frames.index, at: 10)
                try row.run()
                try insert(machineCode: blobs, key: unit.key, jitIdentity: jitIdentity)
            }
        }
        if let maxBytes { try evict(toFit: maxBytes, keepingAll: units.map(\.key)) }
        checkpoint()
    }

    /// `evict(toFit:keeping:)` that keeps every unit in `keeping`: the units a run has just
    /// stored are never evicted, whatever their number (the others go, least recently used
    /// first, down to 90% of `maxBytes`). Returns the number of units evicted.
    @discardableResult
    public func evict(toFit maxBytes: Int64, keepingAll keeping: [SHA256Digest]) throws -> Int {
        let used = try entryBytes()
        guard used > maxBytes else { return 0 }
        var excess = used - maxBytes * 9 / 10
        let kept = Set(keeping.map(\.bytes))
        return try db.transaction {
            let oldest = try db.statement(
                """
                SELECT key, length(image) + 200 + coalesce((SELECT sum(length(blob)) + 100 * count(*)
                    FROM machine_code WHERE unit_key = units.key), 0)
                FROM units ORDER BY last_used_at, created_at
                """)
            var victims: [[UInt8]] = []
            while excess > 0, try oldest.step() {
                let key = oldest.blob(0)
                guard !kept.contains(key) else { continue }
                victims.append(key)
                excess -= oldest.int64(1)
            }
            oldest.reset()
            try delete(units: victims)
            return victims.count
        }
    }
}

/// A program's lookups read together: one read transaction for a run of lookups and digest
/// queries, rather than one per query (each takes and drops SQLite's WAL read lock: two `fcntl`
/// calls and an `fstat` of the database, per query).
extension CacheStore {
    /// Opens a read transaction that the reads after it share (`readingShared` inside it
    /// opens none of its own), until `endSharedRead`. Nothing may write meanwhile; keep it
    /// short: an open reader holds back other processes' checkpoints. No-op if one is open.
    public func beginSharedRead() throws {
        guard !db.isInTransaction else { return }
        try db.statement("BEGIN").run()
    }

    /// Ends the transaction `beginSharedRead` opened (if it is still open).
    public func endSharedRead() {
        guard db.isInTransaction else { return }
        if (try? db.statement("COMMIT").run()) == nil, db.isInTransaction {
            _ = try? db.statement("ROLLBACK").run()
        }
    }

    /// `reading(body)`, or `body` alone inside a shared read (`beginSharedRead`).
    public func readingShared<Result>(_ body: () throws -> Result) throws -> Result {
        if db.isInTransaction { return try body() }
        return try reading(body)
    }
}
