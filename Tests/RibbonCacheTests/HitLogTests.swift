import CacheCodecs
import Foundation
import RibbonSystem
import SQLiteSupport
import Testing

@testable import RibbonCache

/// The hit log when folding it fails half-way (issue 6): a process killed between taking the
/// log and committing it, or a fold whose transaction rolled back, loses no hits; the folded
/// file goes only once its hits are in the database.
@Suite struct HitLogTests {
    static let key = UnitKeyFactors(source: Array("hits".utf8), compilerIdentity: "c", ribbonBuild: "b1").key

    static func store() throws -> CacheStore {
        let store = try CacheStore(directory: CacheStoreTests.temporaryDirectory())
        try store.store(
            key: key, sourcePath: "/src/hits.rib", image: [1, 2, 3], compileMicroseconds: 5, ribbonBuild: "b1",
            jitIdentity: "j", machineCode: [])
        return store
    }

    static func files(_ store: CacheStore) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? [])
            .filter { $0.hasPrefix(HitLog.fileName) }.sorted()
    }

    /// A pid no process has: past the kernel's largest.
    static var deadPID: pid_t {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)) ?? "4194304"
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 + 1 } ?? 4_194_305
    }

    @Test func aLogTakenByAProcessThatDiedIsFoldedLater() throws {
        let store = try Self.store()
        for _ in 0..<3 { try store.recordHit(key: Self.key, savedMicroseconds: 100) }
        // Killed after taking the log, before committing it.
        let taken = store.directory + "/" + HitLog.fileName + HitLog.takenInfix + "\(Self.deadPID)-7"
        #expect(rename(store.directory + "/" + HitLog.fileName, taken) == 0)
        try store.recordHit(key: Self.key, savedMicroseconds: 100)
        #expect(try store.counters()["hits"] == 4)
        #expect(try store.counters()["saved_us"] == 400)
        #expect(Self.files(store).isEmpty, "\(Self.files(store))")
    }

    @Test func aLogTakenByALiveProcessIsLeftToIt() throws {
        let store = try Self.store()
        try store.recordHit(key: Self.key, savedMicroseconds: 100)
        let taken = store.directory + "/" + HitLog.fileName + HitLog.takenInfix + "\(getppid())-1"
        #expect(rename(store.directory + "/" + HitLog.fileName, taken) == 0)
        #expect(try store.counters()["hits", default: 0] == 0)
        #expect(Self.files(store) == [(taken as NSString).lastPathComponent])
    }

    @Test func aFoldThatRollsBackKeepsItsLogForTheNextFold() throws {
        let store = try Self.store()
        for _ in 0..<2 { try store.recordHit(key: Self.key, savedMicroseconds: 50) }
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try store.writing {
                try store.foldHits()
                throw Abort()
            }
        }
        // Still there, under this process's name: folded once this process has ended, or by
        // a fold that claims it now as if it had (the name carries the pid).
        let left = Self.files(store)
        #expect(left.count == 1 && left[0].hasPrefix(HitLog.fileName + HitLog.takenInfix + "\(getpid())-"), "\(left)")
        let orphan = store.directory + "/" + HitLog.fileName + HitLog.takenInfix + "\(Self.deadPID)-1"
        #expect(rename(store.directory + "/" + left[0], orphan) == 0)
        #expect(try store.counters()["hits"] == 2)
        #expect(Self.files(store).isEmpty)
    }
}

/// A hit log with damage in it (issue 12, item 2): a record torn by a full disk, bytes that are
/// no record at all, values no run writes, a folding file a crashed fold left, counters the old
/// code turned into REAL. Each fold must count exactly the whole records, keep every counter an
/// INTEGER, and never trap.
@Suite struct HitLogDamageTests {
    static let key = HitLogTests.key

    /// The bytes of one record per value, as `recordHit` writes them (whatever the format).
    static func recordBytes(_ store: CacheStore, saved: [Int64]) throws -> [[UInt8]] {
        let path = store.directory + "/" + HitLog.fileName
        unlink(path)
        for value in saved { try store.recordHit(key: key, savedMicroseconds: value) }
        let bytes = try #require(FileManager.default.contents(atPath: path)).map { $0 }
        unlink(path)
        let size = bytes.count / saved.count
        #expect(size * saved.count == bytes.count)
        return (0..<saved.count).map { Array(bytes[$0 * size..<($0 + 1) * size]) }
    }

    /// One record with any time, as `recordHit` would write it at that time.
    static func recordBytes(_ store: CacheStore, time: Int64, saved: Int64) throws -> [UInt8] {
        let path = store.directory + "/" + HitLog.fileName
        unlink(path)
        try HitLog.append(HitLog.Record(key: key.bytes, time: time, savedMicroseconds: saved), directory: store.directory)
        defer { unlink(path) }
        return try #require(FileManager.default.contents(atPath: path)).map { $0 }
    }

    static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    }

    static func writeLog(_ store: CacheStore, _ bytes: [UInt8]) {
        write(bytes, to: store.directory + "/" + HitLog.fileName)
    }

    /// Bytes from a fixed generator: the same "garbage" every run.
    static func garbage(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Each counter's SQLite type and value, straight from the table.
    static func storedCounters(_ store: CacheStore) throws -> [String: String] {
        let query = try store.db.prepare("SELECT name, typeof(value), value FROM counters")
        var result: [String: String] = [:]
        while try query.step() { result[query.text(0)] = query.text(1) + " " + query.text(2) }
        return result
    }

    static func lastUsed(_ store: CacheStore) throws -> Int64 {
        let query = try store.db.prepare("SELECT last_used_at FROM units")
        #expect(try query.step())
        return query.int64(0)
    }

    @Test func aTornRecordIsSkippedAndTheRecordsAfterItCount() throws {
        let store = try HitLogTests.store()
        let r = try Self.recordBytes(store, saved: [100, 200, 300, 400])
        // The second record written in part (a full disk), the next ones whole after it, and
        // the last one torn again.
        Self.writeLog(store, r[0] + r[1].prefix(r[1].count / 2) + r[2] + r[3] + r[1].prefix(r[1].count - 1))
        #expect(try store.counters()["hits"] == 3)
        #expect(try store.counters()["saved_us"] == 800)
        #expect(try Self.storedCounters(store)["saved_us"] == "integer 800")
        #expect(HitLogTests.files(store).isEmpty)
    }

    @Test func garbageBetweenRecordsIsSkipped() throws {
        let store = try HitLogTests.store()
        let r = try Self.recordBytes(store, saved: [10, 20, 30])
        let log = Self.garbage(1000, seed: 1) + r[0] + Self.garbage(77, seed: 2) + r[1] + r[2]
            + Self.garbage(4096, seed: 3)
        Self.writeLog(store, log)
        #expect(try store.counters()["hits"] == 3)
        #expect(try store.counters()["saved_us"] == 60)
        #expect(try Self.lastUsed(store) <= TimeText.now())
    }

    @Test func aLogOfGarbageOnlyCountsNothing() throws {
        let store = try HitLogTests.store()
        Self.writeLog(store, Self.garbage(48 * 1000, seed: 4))
        #expect(try store.counters()["hits", default: 0] == 0)
        #expect(try store.counters()["saved_us", default: 0] == 0)
        #expect(HitLogTests.files(store).isEmpty)
    }

    /// 2⁶³−1 µs saved, several times (the old sum trapped), and negative values.
    @Test func hugeAndNegativeSavedTimesSaturate() throws {
        let store = try HitLogTests.store()
        let r = try Self.recordBytes(store, saved: [.max, .max, .max - 1, .min, -1, 5])
        Self.writeLog(store, r.flatMap { $0 })
        let counters = try store.counters()
        #expect(counters["hits"] == 6)
        // Each record counts at most a day (a hit saves a compile, not more); negatives count 0.
        let saved = try #require(counters["saved_us"])
        #expect(saved == 3 * 86_400_000_000 + 5)
        #expect(try Self.storedCounters(store)["saved_us"]?.hasPrefix("integer ") == true)
        // Another fold on top of it stays an integer too.
        Self.writeLog(store, r.flatMap { $0 })
        #expect(try store.counters()["saved_us"] == 2 * saved)
        #expect(try Self.storedCounters(store)["saved_us"]?.hasPrefix("integer ") == true)
        let s = try store.statistics(currentBuild: "b1")
        #expect(s.hits == 12 && s.savedMicroseconds == 2 * saved)
        _ = TimeText.milliseconds(s.savedMicroseconds)  // what `cache stats` prints
    }

    /// A counter one short of the largest integer: SQLite turns an overflowing `+` into a REAL.
    @Test func aCounterSaturatesInsteadOfBecomingReal() throws {
        let store = try HitLogTests.store()
        try store.db.execute("INSERT INTO counters (name, value) VALUES ('saved_us', 9223372036854775800)")
        try store.db.execute("INSERT INTO counters (name, value) VALUES ('hits', 9223372036854775807)")
        let r = try Self.recordBytes(store, saved: [100])
        Self.writeLog(store, r[0])
        #expect(try store.counters()["saved_us"] == .max)
        #expect(try store.counters()["hits"] == .max)
        let stored = try Self.storedCounters(store)
        #expect(stored["saved_us"] == "integer 9223372036854775807")
        #expect(stored["hits"] == "integer 9223372036854775807")
        try store.count(["misses": 1])
        let s = try store.statistics(currentBuild: "b1")
        #expect(s.hitRate.map { $0 > 0.99 && $0 <= 1 } == true)
    }

    /// Counters as the old code left them: a REAL past the largest integer, TEXT, a negative.
    @Test func countersStoredAsRealOrTextAreReadAndRepaired() throws {
        let store = try HitLogTests.store()
        try store.db.execute(
            """
            INSERT INTO counters (name, value) VALUES ('saved_us', 1.8e19), ('hits', 'many'), ('misses', -7);
            """)
        #expect(try Self.storedCounters(store)["saved_us"]?.hasPrefix("real ") == true)
        let before = try store.counters()
        #expect(before["saved_us"] == .max)
        #expect(before["hits"] == 0)
        #expect(before["misses"] == 0)
        let s = try store.statistics(currentBuild: "b1")
        _ = TimeText.milliseconds(s.savedMicroseconds)
        _ = s.hitRate
        let r = try Self.recordBytes(store, saved: [100])
        Self.writeLog(store, r[0])
        try store.count(["misses": 1])
        #expect(try store.counters() == ["saved_us": .max, "hits": 1, "misses": 1])
        let stored = try Self.storedCounters(store)
        #expect(stored["saved_us"] == "integer 9223372036854775807")
        #expect(stored["hits"] == "integer 1")
        #expect(stored["misses"] == "integer 1")
    }

    @Test func absurdTimesDoNotBecomeLastUses() throws {
        let store = try HitLogTests.store()
        let created = try Self.lastUsed(store)
        Self.writeLog(
            store,
            try Self.recordBytes(store, time: .max, saved: 1) + Self.recordBytes(store, time: .min, saved: 1)
                + Self.recordBytes(store, time: -1, saved: 1))
        #expect(try store.counters()["hits"] == 3)
        let used = try Self.lastUsed(store)
        #expect(used >= created && used <= TimeText.now())
        _ = TimeText.relative(used, now: TimeText.now())
    }

    /// A fold that crashed left its taken log behind, with all of the above in it.
    @Test func aStaleFoldingFileWithDamageIsFoldedOnceAndRemoved() throws {
        let store = try HitLogTests.store()
        let r = try Self.recordBytes(store, saved: [.max, 7, .max])
        let stale = store.directory + "/" + HitLog.fileName + HitLog.takenInfix + "\(HitLogTests.deadPID)-3"
        Self.write(Self.garbage(50, seed: 5) + r[0] + r[1].prefix(20) + r[1] + r[2] + Self.garbage(5, seed: 6), to: stale)
        Self.writeLog(store, r[1])
        let counters = try store.counters()
        #expect(counters["hits"] == 4)
        let saved: Int64 = 2 * 86_400_000_000 + 2 * 7  // each record at most a day
        #expect(counters["saved_us"] == saved)
        #expect(try Self.storedCounters(store)["saved_us"]?.hasPrefix("integer ") == true)
        #expect(HitLogTests.files(store).isEmpty, "\(HitLogTests.files(store))")
        #expect(try store.counters() == counters)
    }
}

extension HitLogDamageTests {
    /// Logs written before records were framed (48 bytes: key, time, saved) only fed
    /// statistics; they are skipped, not misread.
    @Test func aLogInTheOld48ByteFormatIsSkipped() throws {
        let store = try HitLogTests.store()
        var log: [UInt8] = []
        for _ in 0..<3 {
            log += Self.key.bytes
            withUnsafeBytes(of: TimeText.now().littleEndian) { log += $0 }
            withUnsafeBytes(of: Int64(100).littleEndian) { log += $0 }
        }
        Self.writeLog(store, log)
        #expect(try store.counters()["hits", default: 0] == 0)
        #expect(HitLogTests.files(store).isEmpty)
    }
}

extension HitLogDamageTests {
    /// What `cache stats` and `cache ls` print from counters and last uses, at the extremes a
    /// damaged log or an old database can hold.
    @Test func timeTextTakesAnyValue() {
        #expect(TimeText.milliseconds(.max) == "9223372036854775.8 ms")
        #expect(TimeText.milliseconds(1234) == "1.2 ms")
        #expect(TimeText.milliseconds(1250) == "1.3 ms")
        _ = TimeText.milliseconds(.min)
        #expect(TimeText.relative(.min, now: TimeText.now()).hasPrefix("-"))
        #expect(TimeText.relative(.max, now: TimeText.now()).hasPrefix("in the future"))
        // A year just past what an Int32 holds once 1900 is added.
        _ = TimeText.iso8601(Int64(Int32.max - 1000) * 31_556_952)
    }
}

extension HitLogDamageTests {
    /// A fold reads a megabyte at a time: a record split between two reads counts once, and
    /// damage reads the same whatever the split.
    @Test func recordsSplitBetweenReadsCount() throws {
        let store = try HitLogTests.store()
        let r = try Self.recordBytes(store, saved: [1, 2, 3, 4])
        let log = Self.garbage(70, seed: 7) + r[0] + r[1].prefix(40) + r[1] + Self.garbage(3, seed: 8) + r[2] + r[3]
            + r[0].prefix(63)
        let whole = HitLog.parse(log)
        #expect(whole.map(\.savedMicroseconds) == [1, 2, 3, 4])
        for size in 1...130 {
            var reader = HitLog.Reader()
            var records: [HitLog.Record] = []
            var at = 0
            while at < log.count {
                reader.feed(log[at..<min(at + size, log.count)]) { records.append($0) }
                at += size
            }
            #expect(records == whole, "pieces of \(size) bytes")
        }
    }

    /// A log naming more keys than `HitLog.manyKeys` (no real one does) still updates the
    /// units that exist, without one statement per key.
    @Test func aLogOfManyKeysStillTouchesTheUnitsThereAre() throws {
        let store = try HitLogTests.store()
        try store.db.execute("UPDATE units SET last_used_at = 1000")
        var log: [UInt8] = []
        for i in 0..<(HitLog.manyKeys + 10) {
            let key = SHA256.hash(Array("other \(i)".utf8)).bytes
            log += HitLog.encode(HitLog.Record(key: key, time: 5000, savedMicroseconds: 1))
        }
        log += HitLog.encode(HitLog.Record(key: Self.key.bytes, time: 2000, savedMicroseconds: 1))
        Self.writeLog(store, log)
        #expect(try store.counters()["hits"] == Int64(HitLog.manyKeys + 11))
        #expect(try Self.lastUsed(store) == 2000)
    }
}
