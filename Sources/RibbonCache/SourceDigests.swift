#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem

/// What `stat` says about a source file: enough to tell that it has not changed since its
/// digest was taken (device, inode, size, and modification and status-change times).
package struct FileStat: Sendable, Equatable {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var mtimeNanoseconds: Int64
    package var ctimeNanoseconds: Int64

    package init(device: UInt64, inode: UInt64, size: Int64, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }

    package init(_ st: stat) {
        self.init(
            device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
            mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            ctimeNanoseconds: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// `stat` of `path`, or nil when it fails.
    package static func of(_ path: String) -> FileStat? {
        (try? FileSystem.status(path)).map(FileStat.init)
    }
}

/// Digests of source files, remembered by stat data, so that a warm run of an unchanged file
/// neither reads nor hashes it (a 1.8 MB source costs about 1 ms to hash). The key stays exact:
/// it is always the SHA-256 of the bytes; this only remembers it.
extension CacheStore {
    /// How much older than the recording the file's times must be for the row to be trusted:
    /// file-system timestamps advance in coarse ticks (a second on ext4 with small inodes, two
    /// on FAT), so a file rewritten in the same tick as the recording, with the same size,
    /// would otherwise look unchanged.
    ///
    /// "The recording" is a time read from the file system's own clock (`DigestClock`), never
    /// the process's: a process whose clock ran ahead of the file system's (a skewed client of
    /// a network file system, a container with a clock of its own) once trusted a digest at
    /// once, and after a rewrite in the same second every run printed the old program.
    package static let digestTrustMarginNanoseconds: Int64 = 2_000_000_000

    /// The digest recorded for `path` if the file still has exactly `stat` and the row is
    /// trusted; nil otherwise (the caller reads and hashes the file). A nil also reads the
    /// file system's clock, once per store, before the caller reads the file: see `DigestClock`.
    package func trustedDigest(path: String, stat: FileStat) throws(CacheError) -> SHA256Digest? {
        try CacheError.wrapping { try readTrustedDigest(path: path, stat: stat) }
    }

    private func readTrustedDigest(path: String, stat: FileStat) throws -> SHA256Digest? {
        digestClock.readIfNeeded(directory: directory)
        digestClock.lookedUp.insert(path)
        let query = try db.statement(
            "SELECT device, inode, size, mtime_ns, ctime_ns, digest, recorded_ns FROM source_digests WHERE path = ?1")
        try query.bind(path, at: 1)
        defer { query.reset() }
        guard try query.step() else { return nil }
        let recorded = FileStat(
            device: UInt64(bitPattern: query.int64(0)), inode: UInt64(bitPattern: query.int64(1)),
            size: query.int64(2), mtimeNanoseconds: query.int64(3), ctimeNanoseconds: query.int64(4))
        guard recorded == stat else { return nil }
        // Both from the file system's clock; a file dated in the future is never trusted.
        let newest = max(stat.mtimeNanoseconds, stat.ctimeNanoseconds)
        guard query.int64(6) - newest >= Self.digestTrustMarginNanoseconds else { return nil }
        return SHA256Digest(bytes: query.blob(5))
    }

    /// `trustedDigest` for many files with one query per `digestBatchLimit` of them (a
    /// program's files that one file uses are known together): the digest of each file, in
    /// order, or nil where `trustedDigest` gives nil. The rule is `trustedDigest`'s, exactly,
    /// and so is the reading of the file system's clock (`DigestClock`) that the digests then
    /// recorded for these paths are dated by (tests hold the two to it).
    package func trustedDigests(_ files: [(path: String, stat: FileStat)]) throws(CacheError) -> [SHA256Digest?] {
        try CacheError.wrapping { try readTrustedDigests(files) }
    }

    private func readTrustedDigests(_ files: [(path: String, stat: FileStat)]) throws -> [SHA256Digest?] {
        guard !files.isEmpty else { return [] }
        // As `trustedDigest`: the file system's clock is read before any of these files is, and
        // only the paths looked up may be recorded with that reading.
        digestClock.readIfNeeded(directory: directory)
        for file in files { digestClock.lookedUp.insert(file.path) }
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
            // Both from the file system's clock; a file dated in the future is never trusted.
            guard row.recorded - newest >= Self.digestTrustMarginNanoseconds else { return nil }
            return SHA256Digest(bytes: row.digest)
        }
    }

    /// The most paths `trustedDigests` asks for in one query.
    static let digestBatchLimit = 128

    /// A digest to remember: `recordDigest`'s arguments, kept until the run writes to the cache
    /// (`store(sourceDigests:)`, or `recordUnlessBusy` when it stores nothing).
    package struct SourceDigestRecord: Sendable, Equatable {
        package var path: String
        package var stat: FileStat
        package var digest: SHA256Digest
        /// When the digest was taken by the process's clock (nanoseconds since the epoch). Not
        /// what the trust margin counts from: that is the file system's clock (`DigestClock`).
        package var recordedAt: Int64

        package init(path: String, stat: FileStat, digest: SHA256Digest, recordedAt: Int64) {
            self.path = path
            self.stat = stat
            self.digest = digest
            self.recordedAt = recordedAt
        }
    }

    /// Records with the file system's time read before the file was (`DigestClock`), or 0 —
    /// never trusted, read and hashed again next time — when there is none to compare with.
    func recordDigest(_ record: SourceDigestRecord) throws {
        try recordDigest(
            path: record.path, stat: record.stat, digest: record.digest,
            now: digestClock.time(comparableWith: record, directory: directory))
    }

    /// Remembers `digest` for `path` with `stat`, taken at `now` (nanoseconds since the epoch).
    package func recordDigest(path: String, stat: FileStat, digest: SHA256Digest, now: Int64) throws(CacheError) {
        try CacheError.wrapping { try writeDigest(path: path, stat: stat, digest: digest, now: now) }
    }

    private func writeDigest(path: String, stat: FileStat, digest: SHA256Digest, now: Int64) throws {
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

    /// The wall clock in nanoseconds since the epoch, as this process sees it.
    ///
    /// Test hook: `RIBBON_TEST_CLOCK_OFFSET_SECONDS` (an integer, may be negative) is added,
    /// to stand for a process whose clock is skewed from the file system's. Nothing that
    /// decides whether a digest is trusted reads this clock.
    package static func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec) + clockOffsetNanoseconds
    }

    private static let clockOffsetNanoseconds: Int64 = {
        guard let raw = Environment.value("RIBBON_TEST_CLOCK_OFFSET_SECONDS"), let seconds = Int64(raw) else { return 0 }
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue
    }()
}

/// statfs(2), which Glibc's Swift module does not export (`<sys/vfs.h>`).
@_silgen_name("statfs")
private func linuxStatfs(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawPointer) -> Int32

/// The file system's notion of "now", for trusting remembered digests (`trustedDigest`).
///
/// A file's modification and status-change times are set by the clock of the file system that
/// holds it (the kernel's for a local one, the server's for a network one), in its ticks. The
/// time a digest is recorded with must come from that clock too: it is the status-change
/// time of a file in the cache directory (`clock`) just touched (`futimens`), read once per
/// store, at its first digest lookup that found nothing to trust — before the caller reads
/// any file whose digest it then records. A file modified after that reading gets a later
/// time, in the same ticks, so the margin is counted in the file system's own time.
///
/// The reading is used for sources on the cache's file system (same device), and for those
/// on another local one (the same kernel clock; the margin covers coarser ticks). For a
/// source on a network or FUSE file system elsewhere, or when the clock cannot be read (a
/// read-only cache directory), digests are recorded as never trusted: the file is read and
/// hashed at every run, which is exact.
struct DigestClock {
    static let fileName = "clock"

    /// Device and status-change time (ns) of the touched file; nil before, or if it failed.
    var reading: (device: UInt64, nanoseconds: Int64)?
    var read = false
    /// Paths looked up (`trustedDigest`) after the reading: only their records may use it.
    var lookedUp: Set<String> = []
    /// Whether each device seen is a local file system (`isLocal`).
    var local: [UInt64: Bool] = [:]

    mutating func readIfNeeded(directory: String) {
        guard !read else { return }
        read = true
        let fd = open(directory + "/" + Self.fileName, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        // nil times: both set to the file system's "now"; the status-change time follows.
        guard futimens(fd, nil) == 0, fstat(fd, &st) == 0 else { return }
        reading = (UInt64(st.st_dev), Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// The time to record `record` with: the reading, if taken before the file was read and
    /// comparable with the file's times; else 0 (never trusted).
    mutating func time(comparableWith record: CacheStore.SourceDigestRecord, directory: String) -> Int64 {
        guard lookedUp.contains(record.path), let reading else { return 0 }
        if record.stat.device == reading.device { return reading.nanoseconds }
        guard isLocal(record.path, device: record.stat.device), isLocal(directory, device: reading.device) else { return 0 }
        return reading.nanoseconds
    }

    /// Whether the file system holding `path` takes its times from this kernel's clock: a
    /// local one (`statfs` type among those listed); network and FUSE ones do not.
    private mutating func isLocal(_ path: String, device: UInt64) -> Bool {
        if let known = local[device] { return known }
        // struct statfs (Linux, 64-bit): 120 bytes, `f_type` (a long) first.
        var buffer = [Int64](repeating: 0, count: 16)
        let result = buffer.withUnsafeMutableBytes { linuxStatfs(path, $0.baseAddress!) } == 0
            && Self.localTypes.contains(buffer[0])
        local[device] = result
        return result
    }

    /// ext2/3/4, XFS, Btrfs, tmpfs, ramfs, overlayfs, F2FS, ZFS, bcachefs, JFS, ReiserFS.
    static let localTypes: Set<Int64> = [
        0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x8584_58F6, 0x794C_7630, 0xF2F5_2010, 0x2FC1_2FC1,
        0xCA45_1A4E, 0x3153_464A, 0x5265_4973,
    ]
}
