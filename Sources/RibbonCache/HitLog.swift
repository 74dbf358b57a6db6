#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem

/// Hits recorded outside the database, so that a warm run writes nothing to SQLite.
///
/// A write to the database leaves a WAL behind, and every later process opening the cache
/// would first read that whole WAL back (SQLite rebuilds its WAL index when no other
/// connection is open) — or each warm run would pay a checkpoint and an `fsync` to avoid it.
/// Instead a hit appends one fixed-size record to `hits.log` (a single `write` with `O_APPEND`,
/// atomic for records this small), and the next store, `cache stats` or `gc` folds the file
/// into the `counters` table and the units' `last_used_at`.
///
/// Record (64 bytes; integers little-endian):
///
///     offset  size  field
///          0     4  magic 9E 48 4C 31 ("\x9EHL1")
///          4    32  unit key
///         36     8  Unix time of the hit, seconds (i64)
///         44     8  microseconds the hit saved (i64)
///         52    12  the first 12 bytes of the SHA-256 of bytes 0..<52
///
/// The log only feeds statistics and eviction order, and nothing in it may stop a command. A
/// write on a full disk can leave part of a record, after which every record would be
/// misaligned; so the reader takes a record only where the magic and the checksum match, and
/// otherwise moves on by one byte until they do: a torn record, garbage, or a record of the
/// unframed 48-byte format of earlier builds is skipped, and the records after it count.
/// Values are not trusted either (`Tally`): the sums saturate, a record saves at most
/// `maxSavedMicroseconds`, and times are clamped to the folding process's clock. A log that
/// is not this user's regular file, or is bigger than `maxLogBytes`, is not read; like every
/// folded log it is deleted once the fold commits. Nothing is printed: damage here costs at
/// most some statistics.
enum HitLog {
    static let fileName = "hits.log"
    static let recordSize = 64
    static let magic: [UInt8] = [0x9E, 0x48, 0x4C, 0x31]
    static let checksumOffset = 52
    /// A log bigger than this is not read (and is deleted with the others): at 64 bytes a hit,
    /// a million hits between two folds (under a second to read, release build).
    static let maxLogBytes = 64 << 20
    /// Checksums that may fail in one log before the rest of it is skipped. Damage from a full
    /// disk fails one per torn record; a file crafted with the magic every 4 bytes would
    /// otherwise cost a SHA-256 per 4 bytes (16 million for `maxLogBytes`).
    static let maxFailedChecks = 1 << 16
    /// Beyond this many different keys in one fold, only those of stored units are updated.
    static let manyKeys = 4096
    /// What one hit can have saved: a day of compiling (a real one saves milliseconds).
    static let maxSavedMicroseconds: Int64 = 86_400_000_000

    struct Record: Equatable {
        var key: [UInt8]
        var time: Int64
        var savedMicroseconds: Int64
    }

    /// The 64 bytes of a record.
    static func encode(_ record: Record) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: recordSize) { buffer, count in
            encode(record, into: UnsafeMutableRawBufferPointer(buffer))
            count = recordSize
        }
    }

    /// Writes `record`'s `recordSize` bytes at the start of `out`, with no allocation (a warm
    /// run of a program of 1,000 files appends 1,000 records).
    static func encode(_ record: Record, into out: UnsafeMutableRawBufferPointer) {
        out.copyBytes(from: magic)
        let key = UnsafeMutableRawBufferPointer(rebasing: out[4..<36])
        key.initializeMemory(as: UInt8.self, repeating: 0)
        key.copyBytes(from: record.key.prefix(32))
        out.storeBytes(of: record.time.littleEndian, toByteOffset: 36, as: Int64.self)
        out.storeBytes(of: record.savedMicroseconds.littleEndian, toByteOffset: 44, as: Int64.self)
        let checksum = SHA256.hash(UnsafeRawBufferPointer(rebasing: out[0..<checksumOffset])).bytes
        UnsafeMutableRawBufferPointer(rebasing: out[checksumOffset..<recordSize])
            .copyBytes(from: checksum.prefix(recordSize - checksumOffset))
    }

    static func append(_ record: Record, directory: String) throws(CacheError) {
        try append([record], directory: directory)
    }

    /// Appends `records` with one `write` (a run of a program of many files has a hit per
    /// file: opening the log for each was a tenth of a warm run of 1,000 files).
    static func append(_ records: [Record], directory: String) throws(CacheError) {
        guard !records.isEmpty else { return }
        let bytes = [UInt8](unsafeUninitializedCapacity: records.count * recordSize) { buffer, count in
            for (i, record) in records.enumerated() {
                encode(record, into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[i * recordSize..<(i + 1) * recordSize]))
            }
            count = records.count * recordSize
        }
        let path = directory + "/" + fileName
        // O_NONBLOCK: a FIFO in its place fails here instead of blocking the run.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            throw CacheError(kind: .fileSystem, message: "cannot record a hit in \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw CacheError(kind: .fileSystem, message: "cannot record a hit in \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Takes the log away (renamed first, so appends that start meanwhile go to a new file),
    /// together with logs that ended processes took and never committed (`staleTaken`), and
    /// returns what their records add up to and the files they are now in. The caller deletes
    /// the files once the tally is committed (`CacheStore.writing`); after a rollback, or a
    /// kill before the commit, they stay, and a later fold takes them again.
    static func take(directory: String, now: Int64, unitKeys: @escaping () -> Set<[UInt8]>) -> (tally: Tally, files: [String]) {
        let path = directory + "/" + fileName
        var files: [String] = []
        func claim(_ from: String) {
            // Unique per fold, also between threads of one process (`build --jobs`).
            let taken = path + takenInfix + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            if rename(from, taken) == 0 { files.append(taken) }
        }
        claim(path)
        for stale in staleTaken(directory: directory) { claim(directory + "/" + stale) }
        var tally = Tally(now: now, unitKeys: unitKeys)
        for file in files { read(file, into: &tally) }
        return (tally, files)
    }

    static let takenInfix = ".folding-"

    /// Names of logs taken (`hits.log.folding-PID-N`) by a process that no longer runs. A name
    /// whose PID does not parse, or is not a process's, was written by no fold of a running
    /// process either: it is taken too, so that nothing under this prefix stays for ever.
    static func staleTaken(directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let prefix = fileName + takenInfix
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix) else { continue }
            if let pid = pid_t(name.dropFirst(prefix.count).prefix(while: { $0 != "-" })), pid > 0,
                kill(pid, 0) == 0 || errno != ESRCH
            {
                continue
            }
            names.append(name)
        }
        return names
    }

    /// Adds the whole records of one taken log to `tally`, reading a megabyte at a time (none
    /// if it is not this user's regular file, or is larger than `maxLogBytes`).
    static func read(_ path: String, into tally: inout Tally) {
        // O_NONBLOCK: opening a FIFO put here must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == getuid(), st.st_size <= maxLogBytes
        else { return }
        var reader = Reader()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while total < maxLogBytes {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            total += n
            reader.feed(chunk[0..<n]) { tally.add($0) }
        }
    }

    /// The records of a byte stream whose magic and checksum match (see the type's comment),
    /// fed in pieces of any size: a record may span two.
    struct Reader {
        /// The bytes after the last whole record or skipped byte, fewer than a record.
        private var pending: [UInt8] = []
        private var failedChecks = 0

        mutating func feed(_ bytes: ArraySlice<UInt8>, _ take: (Record) -> Void) {
            guard failedChecks < HitLog.maxFailedChecks else { return }  // skipping the rest
            let buffer = pending.isEmpty ? bytes : ArraySlice(pending + bytes)
            var at = buffer.startIndex
            let end = buffer.endIndex
            while end - at >= recordSize {
                guard buffer[at] == magic[0], buffer[at + 1] == magic[1], buffer[at + 2] == magic[2],
                    buffer[at + 3] == magic[3]
                else {
                    at += 1
                    continue
                }
                guard let record = decode(buffer[at..<at + recordSize]) else {
                    failedChecks += 1
                    if failedChecks == HitLog.maxFailedChecks { return }
                    at += 1
                    continue
                }
                take(record)
                at += recordSize
            }
            pending = Array(buffer[at...])
        }
    }

    /// The records in `bytes` (tests; a fold reads through `Reader`).
    static func parse(_ bytes: [UInt8]) -> [Record] {
        var reader = Reader()
        var records: [Record] = []
        reader.feed(bytes[...]) { records.append($0) }
        return records
    }

    /// One record from its 64 bytes; nil when its checksum does not match.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Record? {
        let base = bytes.startIndex
        let sum = bytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<checksumOffset])) }
        guard sum.bytes.prefix(recordSize - checksumOffset).elementsEqual(bytes[(base + checksumOffset)...]) else {
            return nil
        }
        func i64(_ offset: Int) -> Int64 {
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[base + offset + i]) << (8 * UInt64(i)) }
            return Int64(bitPattern: value)
        }
        return Record(key: Array(bytes[(base + 4)..<(base + 36)]), time: i64(36), savedMicroseconds: i64(44))
    }

    /// What records add up to, with every value made sane: the latest hit time of each key
    /// (within 0...`now`: a clock that ran ahead, or a damaged time, cannot push a unit's last
    /// use past the present), the number of hits, and the microseconds saved (each record
    /// within 0...`maxSavedMicroseconds`, the sum saturating).
    ///
    /// Past `manyKeys` different keys (more than a real log names: a crafted one), a key is
    /// kept only if a unit has it (`unitKeys`, asked once), so that memory and the UPDATEs
    /// that follow stay bounded by the units there are.
    struct Tally {
        let now: Int64
        var latest: [[UInt8]: Int64] = [:]
        var hits: Int64 = 0
        var savedMicroseconds: Int64 = 0
        let unitKeys: () -> Set<[UInt8]>
        private var known: Set<[UInt8]>?

        init(now: Int64, unitKeys: @escaping () -> Set<[UInt8]> = { [] }) {
            self.now = max(now, 0)
            self.unitKeys = unitKeys
        }

        mutating func add(_ record: Record) {
            let time = min(max(record.time, 0), now)
            if let last = latest[record.key] {
                latest[record.key] = max(last, time)
            } else if latest.count < HitLog.manyKeys || contains(record.key) {
                latest[record.key] = time
            }
            hits = saturatingAdd(hits, 1)
            savedMicroseconds = saturatingAdd(
                savedMicroseconds, min(max(record.savedMicroseconds, 0), maxSavedMicroseconds))
        }

        private mutating func contains(_ key: [UInt8]) -> Bool {
            if known == nil { known = unitKeys() }
            return known!.contains(key)
        }
    }

    static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b < 0 ? .min : .max) : sum
    }
}

extension CacheStore {
    /// Records a hit for statistics and least-recently-used eviction, without writing to the
    /// database (see `HitLog`).
    package func recordHit(key: SHA256Digest, savedMicroseconds: Int64) throws(CacheError) {
        try CacheError.wrapping {
            try HitLog.append(
                HitLog.Record(key: key.bytes, time: Int64(time(nil)), savedMicroseconds: savedMicroseconds),
                directory: directory)
        }
    }

    /// `recordHit` for each hit, with one write to the log.
    package func recordHits(_ hits: [(key: SHA256Digest, savedMicroseconds: Int64)]) throws(CacheError) {
        try CacheError.wrapping {
            let now = Int64(time(nil))
            try HitLog.append(
                hits.map { HitLog.Record(key: $0.key.bytes, time: now, savedMicroseconds: $0.savedMicroseconds) },
                directory: directory)
        }
    }

    /// The bytes `recordHit` appends for a hit at `time` (fuzzing: inputs made of whole
    /// records among damaged ones).
    package static func hitRecord(key: SHA256Digest, time: Int64, savedMicroseconds: Int64) -> [UInt8] {
        HitLog.encode(HitLog.Record(key: key.bytes, time: time, savedMicroseconds: savedMicroseconds))
    }

    /// The hit log's file name in the cache directory.
    package static let hitLogName = HitLog.fileName

    /// The name `hits.log` is taken under while it is folded; one whose process has ended is
    /// folded again by the next fold.
    package static func takenHitLogName(pid: Int32, number: UInt64) -> String {
        HitLog.fileName + HitLog.takenInfix + "\(pid)-\(number)"
    }

    /// Folds the hit log (hits a warm run records outside the database, see `HitLog`) into the
    /// counters and the units' last use, so that what follows sees every hit. Without a log
    /// this writes nothing; with one, it checkpoints after, so that warm runs do not read the
    /// write back from the WAL.
    package func foldHitLog() throws(CacheError) {
        try CacheError.wrapping {
            guard FileSystem.exists(directory + "/" + HitLog.fileName) || !HitLog.staleTaken(directory: directory).isEmpty
            else { return }
            try writing { try foldHits() }
            checkpoint()
        }
    }

    /// Folds the hit log into the counters and units' last use (inside the caller's transaction,
    /// which must be `writing`: it deletes the folded logs once they are committed).
    func foldHits() throws {
        let now = Int64(time(nil))
        let (tally, files) = HitLog.take(directory: directory, now: now) {
            // Asked only for a log of very many keys (`HitLog.Tally`); if this fails, last
            // uses of keys past the first few thousand are not updated.
            var keys = Set<[UInt8]>()
            guard let units = try? self.db.statement("SELECT key FROM units") else { return keys }
            defer { units.reset() }
            while (try? units.step()) == true { keys.insert(units.blob(0)) }
            return keys
        }
        foldedHitLogs += files
        guard tally.hits > 0 else { return }
        // `min(last_used_at, now)`: a last use in the future (left by the unframed log of
        // earlier builds) comes back to the present when the unit is used again.
        let touch = try db.statement("UPDATE units SET last_used_at = max(min(last_used_at, ?3), ?2) WHERE key = ?1")
        for (key, time) in tally.latest {
            try touch.bind(key, at: 1)
            try touch.bind(time, at: 2)
            try touch.bind(now, at: 3)
            try touch.run()
        }
        try addToCounters(["hits": tally.hits, "saved_us": tally.savedMicroseconds])
    }
}

extension CacheStore {
    /// `db.transaction`; once it has committed, the hit logs `foldHits` folded into it are
    /// deleted. After a rollback they stay for a later fold (see `HitLog.take`).
    func writing<Result>(_ body: () throws -> Result) throws -> Result {
        defer { foldedHitLogs = [] }
        let result = try db.transaction(body)
        // (A directory put under a log's name goes too, if it is empty.)
        for file in foldedHitLogs where unlink(file) != 0 && errno == EISDIR { rmdir(file) }
        return result
    }
}
