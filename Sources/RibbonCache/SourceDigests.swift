#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs

/// What `stat` says about a source file: enough to tell that it has not changed since its
/// digest was taken (device, inode, size, and modification and status-change times).
public struct FileStat: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var ctimeNanoseconds: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }

    public init(_ st: stat) {
        self.init(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            ctimeNanoseconds: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// `stat` of `path`, or nil when it fails.
    public static func of(_ path: String) -> FileStat? {
        var st = stat()
        return stat(path, &st) == 0 ? FileStat(st) : nil
    }
}

/// Digests of source files, remembered by stat data, so that a warm run of an unchanged file
/// neither reads nor hashes it (a 1.8 MB source costs about 1 ms to hash). The key stays exact:
/// it is always the SHA-256 of the bytes; this only remembers it.
extension CacheStore {
    /// How much older than the recording the file's times must be for the row to be trusted:
    /// file-system timestamps advance in coarse ticks, so a file rewritten in the same tick as
    /// the recording, with the same size, would otherwise look unchanged.
    public static let digestTrustMarginNanoseconds: Int64 = 2_000_000_000

    /// The digest recorded for `path` if the file still has exactly `stat` and the row is
    /// trusted; nil otherwise (the caller reads and hashes the file).
    public func trustedDigest(path: String, stat: FileStat) throws -> SHA256Digest? {
        let query = try db.statement(
            "SELECT device, inode, size, mtime_ns, ctime_ns, digest, recorded_ns FROM source_digests WHERE path = ?1")
        try query.bind(path, at: 1)
        defer { query.reset() }
        guard try query.step() else { return nil }
        let recorded = FileStat(
            device: UInt64(bitPattern: query.int64(0)), inode: UInt64(bitPattern: query.int64(1)),
            size: query.int64(2), mtimeNanoseconds: query.int64(3), ctimeNanoseconds: query.int64(4))
        guard recorded == stat else { return nil }
        let newest = max(stat.mtimeNanoseconds, stat.ctimeNanoseconds)
        guard query.int64(6) - newest >= Self.digestTrustMarginNanoseconds else { return nil }
        return SHA256Digest(bytes: query.blob(5))
    }

    /// `trustedDigest` for many files with one query per `digestBatchLimit` of them (a
    /// program's files that one file uses are known together): the digest of each file, in
    /// order, or nil where `trustedDigest` gives nil. The rule is `trustedDigest`'s, exactly (a
    /// test holds the two to it).
    public func trustedDigests(_ files: [(path: String, stat: FileStat)]) throws -> [SHA256Digest?] {
        var rows: [String: (stat: FileStat, digest: [UInt8], recorded: Int64)] = [:]
        var start = 0
        while start < files.count {
            let batch = files[start..<min(start + Self.digestBatchLimit, files.count)]
            start = batch.endIndex
            // A statement per power of two (a few, all cached): the places a batch does not
            // fill stay NULL, which no path equals. (SQLite sorts an IN list at each run.)
            var places = 1
            while places < batch.count { places *= 2 }
            let query = try db.statement(
                "SELECT path, device, inode, size, mtime_ns, ctime_ns, digest, recorded_ns FROM source_digests "
                    + "WHERE path IN (" + (1...places).map { "?\($0)" }.joined(separator: ", ") + ")")
            for (i, file) in batch.enumerated() { try query.bind(file.path, at: Int32(i + 1)) }
            defer { query.reset() }
            while try query.step() {
                let recorded = FileStat(
                    device: UInt64(bitPattern: query.int64(1)), inode: UInt64(bitPattern: query.int64(2)),
                    size: query.int64(3), mtimeNanoseconds: query.int64(4), ctimeNanoseconds: query.int64(5))
                rows[query.text(0)] = (recorded, query.blob(6), query.int64(7))
            }
        }
        return files.map { file in
            guard let row = rows[file.path], row.stat == file.stat else { return nil }
            let newest = max(file.stat.mtimeNanoseconds, file.stat.ctimeNanoseconds)
            guard row.recorded - newest >= Self.digestTrustMarginNanoseconds else { return nil }
            return SHA256Digest(bytes: row.digest)
        }
    }

    /// The most paths `trustedDigests` asks for in one query.
    static let digestBatchLimit = 128

    /// A digest to remember: `recordDigest`'s arguments, kept until the run writes to the cache
    /// (`store(sourceDigests:)`, or `recordDigestsUnlessBusy` when it stores nothing).
    public struct SourceDigestRecord: Sendable, Equatable {
        public var path: String
        public var stat: FileStat
        public var digest: SHA256Digest
        /// When the digest was taken (nanoseconds since the epoch): what the trust margin counts from.
        public var recordedAt: Int64

        public init(path: String, stat: FileStat, digest: SHA256Digest, recordedAt: Int64) {
            self.path = path
            self.stat = stat
            self.digest = digest
            self.recordedAt = recordedAt
        }
    }

    /// `recordDigest` for each, in one transaction of their own that does not wait for another
    /// process's write lock: the rows only spare the next run reading and hashing the files,
    /// which is not worth stalling a run for the busy timeout. Throws `SQLITE_BUSY` at once when
    /// the lock is taken.
    public func recordDigestsUnlessBusy(_ records: [SourceDigestRecord]) throws {
        try db.withBusyTimeout(milliseconds: 0) {
            try db.transaction { for record in records { try recordDigest(record) } }
        }
    }

    func recordDigest(_ record: SourceDigestRecord) throws {
        try recordDigest(path: record.path, stat: record.stat, digest: record.digest, now: record.recordedAt)
    }

    /// Remembers `digest` for `path` with `stat`, taken at `now` (nanoseconds since the epoch).
    public func recordDigest(path: String, stat: FileStat, digest: SHA256Digest, now: Int64) throws {
        let upsert = try db.statement(
            """
            INSERT OR REPLACE INTO source_digests (path, device, inode, size, mtime_ns, ctime_ns, digest, recorded_ns)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """)
        try upsert.bind(path, at: 1)
        try upsert.bind(Int64(bitPattern: stat.device), at: 2)
        try upsert.bind(Int64(bitPattern: stat.inode), at: 3)
        try upsert.bind(stat.size, at: 4)
        try upsert.bind(stat.mtimeNanoseconds, at: 5)
        try upsert.bind(stat.ctimeNanoseconds, at: 6)
        try upsert.bind(digest.bytes, at: 7)
        try upsert.bind(now, at: 8)
        try upsert.run()
    }

    /// The wall clock in nanoseconds since the epoch.
    public static func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
