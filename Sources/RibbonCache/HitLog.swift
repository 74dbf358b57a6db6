#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs

/// Hits recorded outside the database, so that a warm run writes nothing to SQLite.
///
/// A write to the database leaves a WAL behind, and every later process opening the cache
/// would first read that whole WAL back (SQLite rebuilds its WAL index when no other
/// connection is open) — or each warm run would pay a checkpoint and an `fsync` to avoid it.
/// Instead a hit appends one fixed-size record to `hits.log` (a single `write` with `O_APPEND`,
/// atomic for records this small), and the next store, `cache stats` or `gc` folds the file
/// into the `counters` table and the units' `last_used_at`.
///
/// Record (48 bytes, little-endian): 32-byte unit key, u64 Unix time, u64 microseconds saved.
/// The log only feeds statistics and eviction order; a torn or foreign record is skipped.
enum HitLog {
    static let fileName = "hits.log"
    static let recordSize = 48

    struct Record: Equatable {
        var key: [UInt8]
        var time: Int64
        var savedMicroseconds: Int64
    }

    static func append(_ record: Record, directory: String) throws(CacheTrustError) {
        var bytes = record.key
        withUnsafeBytes(of: record.time.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: record.savedMicroseconds.littleEndian) { bytes.append(contentsOf: $0) }
        let path = directory + "/" + fileName
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CacheTrustError(description: "cannot record a hit in \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw CacheTrustError(description: "cannot record a hit in \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Takes the log away (renamed first, so appends that start meanwhile go to a new file),
    /// together with logs that ended processes took and never committed (`staleTaken`), and
    /// returns their whole records and the files they are now in. The caller deletes the files
    /// once the records are committed (`CacheStore.writing`); after a rollback, or a kill before
    /// the commit, they stay, and a later fold takes them again.
    static func take(directory: String) -> (records: [Record], files: [String]) {
        let path = directory + "/" + fileName
        var files: [String] = []
        func claim(_ from: String) {
            // Unique per fold, also between threads of one process (`build --jobs`).
            let taken = path + takenInfix + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            if rename(from, taken) == 0 { files.append(taken) }
        }
        claim(path)
        for stale in staleTaken(directory: directory) { claim(directory + "/" + stale) }
        return (files.flatMap(records(in:)), files)
    }

    static let takenInfix = ".folding-"

    /// Names of logs taken (`hits.log.folding-PID-N`) by a process that no longer runs.
    static func staleTaken(directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let prefix = fileName + takenInfix
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.count).prefix(while: { $0 != "-" })),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            names.append(name)
        }
        return names
    }

    /// The whole records of one taken log (none if it is not this user's regular file).
    static func records(in path: String) -> [Record] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == getuid(), st.st_size < 64 << 20
        else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return [] }
        var records: [Record] = []
        var at = 0
        while at + recordSize <= count {
            func u64(_ offset: Int) -> Int64 {
                var value: UInt64 = 0
                for i in 0..<8 { value |= UInt64(bytes[at + offset + i]) << (8 * UInt64(i)) }
                return Int64(bitPattern: value)
            }
            records.append(Record(key: Array(bytes[at..<at + 32]), time: u64(32), savedMicroseconds: u64(40)))
            at += recordSize
        }
        return records
    }
}

extension CacheStore {
    /// Records a hit for statistics and least-recently-used eviction, without writing to the
    /// database (see `HitLog`).
    public func recordHit(key: SHA256Digest, savedMicroseconds: Int64) throws {
        try HitLog.append(
            HitLog.Record(key: key.bytes, time: Int64(time(nil)), savedMicroseconds: savedMicroseconds),
            directory: directory)
    }

    /// Folds the hit log into the counters and units' last use (inside the caller's transaction,
    /// which must be `writing`: it deletes the folded logs once they are committed).
    func foldHits() throws {
        let (records, files) = HitLog.take(directory: directory)
        foldedHitLogs += files
        guard !records.isEmpty else { return }
        let touch = try db.statement("UPDATE units SET last_used_at = max(last_used_at, ?2) WHERE key = ?1")
        var saved: Int64 = 0
        for record in records {
            try touch.bind(record.key, at: 1)
            try touch.bind(record.time, at: 2)
            try touch.run()
            saved += max(0, record.savedMicroseconds)
        }
        try addToCounters(["hits": Int64(records.count), "saved_us": saved])
    }
}

extension CacheStore {
    /// `db.transaction`; once it has committed, the hit logs `foldHits` folded into it are
    /// deleted. After a rollback they stay for a later fold (see `HitLog.take`).
    func writing<Result>(_ body: () throws -> Result) throws -> Result {
        defer { foldedHitLogs = [] }
        let result = try db.transaction(body)
        for file in foldedHitLogs { unlink(file) }
        return result
    }
}
