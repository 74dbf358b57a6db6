#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import SQLiteSupport

/// Writing to the cache: units and their machine code, counters, and what a run that stored
/// nothing records (digests, warm code).
///
/// A program's units are stored together: a run of a program of many files writes once.
/// Every write transaction costs a commit (`fdatasync` of the WAL) and every store a
/// `wal_checkpoint(TRUNCATE)` (another `fdatasync`, an `ftruncate`); stored one by one, the
/// units of a program of 1,000 files took 3,000 `fdatasync`s and 35 times the uncached run.
extension CacheStore {
    package struct MachineCodeEntry: Sendable {
        package var functionId: UInt32
        package var features: Set<String>
        package var blob: [UInt8]
        package var jitMicroseconds: Int

        package init(functionId: UInt32, features: Set<String>, blob: [UInt8], jitMicroseconds: Int) {
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
    package func store(
        key: SHA256Digest, sourcePath: String, image: [UInt8]?, compileMicroseconds: Int, ribbonBuild: String,
        jitIdentity: String, machineCode: [MachineCodeEntry], factors: String = "", maxBytes: Int64? = nil,
        countMiss: Bool = false, sourceDigests: [SourceDigestRecord] = [], warmRanges: [Range<Int>] = []
    ) throws(CacheError) {
        try CacheError.wrapping {
            let unit = UnitToStore(
                key: key, sourcePath: sourcePath, image: image, compileMicroseconds: compileMicroseconds,
                machineCode: machineCode, factors: factors, countsMiss: countMiss, warmRanges: warmRanges)
            try store(
                units: [unit], ribbonBuild: ribbonBuild, jitIdentity: jitIdentity, maxBytes: maxBytes,
                sourceDigests: sourceDigests)
        }
    }

    /// One unit to store with `store(units:…)`.
    package struct UnitToStore: Sendable {
        package var key: SHA256Digest
        /// Recorded in the row (`cache ls`, `key --explain`): absolute.
        package var sourcePath: String
        /// The image compiled in this run; nil when the unit came from the cache and only
        /// machine code is new (then nothing is stored if the unit has been evicted meanwhile).
        package var image: [UInt8]?
        package var compileMicroseconds: Int
        package var machineCode: [MachineCodeEntry]
        /// `UnitKeyFactors.storedText`.
        package var factors: String
        /// Whether the store counts a miss (`cache stats`).
        package var countsMiss: Bool
        /// What of the image the run used (`ImageChunks.encode`).
        package var warmRanges: [Range<Int>]

        package init(
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
    package func store(
        units: [UnitToStore], ribbonBuild: String, jitIdentity: String, maxBytes: Int64? = nil,
        sourceDigests: [SourceDigestRecord] = []
    ) throws(CacheError) {
        try CacheError.wrapping {
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

    /// Adds to the named counters (`cache stats`: hits, misses, saved_us) in a transaction of
    /// its own.
    package func count(_ increments: [String: Int64]) throws(CacheError) {
        try CacheError.wrapping {
            try db.transaction { try addToCounters(increments) }
        }
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

    /// What a run that stored nothing writes at its end, in one transaction that does not wait
    /// for another process's write lock (throws `SQLITE_BUSY` at once): the source digests it
    /// took, and per unit the Ids of the functions whose machine code warm runs load
    /// (`warm_code`, written only for units still stored). Both only spare later runs work.
    package func recordUnlessBusy(
        digests: [SourceDigestRecord], warmCode: [(key: SHA256Digest, functionIds: [UInt32])], jitIdentity: String
    ) throws(CacheError) {
        try CacheError.wrapping {
            try db.withBusyTimeout(milliseconds: 0) {
                try db.transaction {
                    for record in digests { try recordDigest(record) }
                    for (key, ids) in warmCode { try writeWarmCode(key: key, jitIdentity: jitIdentity, functionIds: ids) }
                }
            }
        }
    }

    private func writeWarmCode(key: SHA256Digest, jitIdentity: String, functionIds: [UInt32]) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(functionIds.count * 4)
        for id in Set(functionIds).sorted() {
            withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
        }
        let upsert = try db.statement(
            """
            INSERT INTO warm_code (unit_key, jit_identity, function_ids)
            SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM units WHERE key = ?1)
            ON CONFLICT (unit_key, jit_identity) DO UPDATE SET function_ids = excluded.function_ids
            """)
        try upsert.bind(key.bytes, at: 1)
        try upsert.bind(jitIdentity, at: 2)
        try upsert.bind(bytes, at: 3)
        try upsert.run()
    }
}
