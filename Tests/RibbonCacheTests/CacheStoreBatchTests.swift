import CacheCodecs
import Foundation
import SQLiteSupport
import Testing

@testable import RibbonCache

/// What a run of a program of many files asks of the store at once (issue 12, item 4): all its
/// units stored together, and the remembered digests of many files in one query.
@Suite struct CacheStoreBatchTests {
    static func key(_ i: Int) -> SHA256Digest {
        UnitKeyFactors(source: Array("unit \(i)".utf8), compilerIdentity: "test", ribbonBuild: "b1").key
    }

    static func unit(_ i: Int, bytes: Int = 3000) -> CacheStore.UnitToStore {
        CacheStore.UnitToStore(
            key: key(i), sourcePath: "/p/u\(i).rib", image: (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* (i + 7)) },
            compileMicroseconds: 10, machineCode: [], countsMiss: true)
    }

    /// The batched digest query must trust exactly what `trustedDigest` trusts, whatever that
    /// rule becomes: absent rows, changed stat data and recordings too close to the file's
    /// times are all untrusted. More files than one query takes, some asked for twice.
    @Test func theBatchedDigestQueryTrustsExactlyWhatTheSingleOneDoes() throws {
        let store = try CacheStore(directory: CacheStoreTests.temporaryDirectory() + "/cache")
        let now = CacheStore.nowNanoseconds()
        let old: Int64 = now - 60_000_000_000
        var asked: [(path: String, stat: FileStat)] = []
        for i in 0..<300 {
            let path = "/src/f\(i).rib"
            let stat = FileStat(device: 1, inode: UInt64(i), size: 100, mtimeNanoseconds: old, ctimeNanoseconds: old)
            let digest = SHA256.hash(Array(path.utf8))
            switch i % 5 {
            case 0: break  // never recorded
            case 1: try store.recordDigest(path: path, stat: stat, digest: digest, now: now)
            case 2: try store.recordDigest(path: path, stat: stat, digest: digest, now: old + 1)  // too soon after
            default: try store.recordDigest(path: path, stat: stat, digest: digest, now: now)
            }
            var current = stat
            if i % 5 == 3 { current.size += 1 }
            if i % 5 == 4 { current.inode += 1000 }
            asked.append((path, current))
            if i % 7 == 0 { asked.append((path, current)) }
        }
        let batched = try store.trustedDigests(asked)
        let single = try asked.map { try store.trustedDigest(path: $0.path, stat: $0.stat) }
        #expect(batched == single)
        #expect(batched.compactMap { $0 }.count == 60 + 8, "the i % 5 == 1 files, the 8 asked twice counted twice")
        #expect(try store.trustedDigests([]).isEmpty)
    }

    /// A digest taken after the batch found none to trust is recorded with the file system's
    /// clock, as after `trustedDigest` (not 0, never trusted: every warm run would hash every
    /// file again).
    @Test func digestsLookedUpInABatchAreRecordedWithTheFileSystemsClock() throws {
        let root = CacheStoreTests.temporaryDirectory()
        let store = try CacheStore(directory: root + "/cache")
        let paths = ["batched", "single", "never-looked-up"].map { root + "/\($0).rib" }
        for path in paths { try "x := 1\n".write(toFile: path, atomically: false, encoding: .utf8) }
        let stats = try paths.map { try #require(FileStat.of($0)) }
        #expect(try store.trustedDigests([(paths[0], stats[0])]) == [nil])
        #expect(try store.trustedDigest(path: paths[1], stat: stats[1]) == nil)
        for (path, stat) in zip(paths, stats) {
            try store.recordDigest(
                CacheStore.SourceDigestRecord(path: path, stat: stat, digest: SHA256.hash([1]), recordedAt: 0))
        }
        let db = try Database(path: store.databasePath)
        var recorded: [String: Int64] = [:]
        let q = try db.statement("SELECT path, recorded_ns FROM source_digests")
        while try q.step() { recorded[q.text(0)] = q.int64(1) }
        #expect(recorded[paths[0]] == recorded[paths[1]] && (recorded[paths[0]] ?? 0) > 0, "\(recorded)")
        #expect(recorded[paths[2]] == 0, "a path not looked up is never trusted")
    }

    /// A run's hits go to the hit log with one write, and fold as hits recorded one by one.
    @Test func hitsRecordedTogetherFoldLikeHitsRecordedOneByOne() throws {
        let store = try CacheStore(directory: CacheStoreTests.temporaryDirectory() + "/cache")
        try store.store(units: [Self.unit(1), Self.unit(2)], ribbonBuild: "b1", jitIdentity: "j")
        try store.recordHits([])
        #expect(!FileManager.default.fileExists(atPath: store.directory + "/" + HitLog.fileName))
        try store.recordHits([(Self.key(1), 100), (Self.key(2), 20), (Self.key(1), 3)])
        let size = (try FileManager.default.attributesOfItem(atPath: store.directory + "/" + HitLog.fileName)[.size] as? Int)
        #expect(size == 3 * HitLog.recordSize)
        try store.recordHit(key: Self.key(2), savedMicroseconds: 1000)
        let counters = try store.counters()
        #expect(counters["hits"] == 4 && counters["saved_us"] == 1123, "\(counters)")
    }

    /// Beyond the size bound, the units just stored are all kept (not only one), and the others
    /// go least recently used first.
    @Test func aBatchOverTheSizeBoundKeepsEveryUnitItStored() throws {
        let directory = CacheStoreTests.temporaryDirectory() + "/cache"
        let store = try CacheStore(directory: directory)
        try store.store(units: (0..<5).map { Self.unit($0) }, ribbonBuild: "b1", jitIdentity: "j")
        let batch = (5..<25).map { Self.unit($0) }
        try store.store(units: batch, ribbonBuild: "b1", jitIdentity: "j", maxBytes: 1)
        let db = try Database(path: store.databasePath)
        let q = try db.statement("SELECT key FROM units")
        var kept = Set<[UInt8]>()
        while try q.step() { kept.insert(q.blob(0)) }
        #expect(kept == Set(batch.map(\.key.bytes)))
        let misses = try store.counters()["misses"]
        #expect(misses == 25)
    }

    /// A batch stores each unit as `store(key:…)` does: the unit, machine code for a unit
    /// already stored (and none for one that is not), and the source digests.
    @Test func aBatchStoresUnitsMachineCodeAndDigestsTogether() throws {
        let store = try CacheStore(directory: CacheStoreTests.temporaryDirectory() + "/cache")
        try store.store(units: [Self.unit(1)], ribbonBuild: "b1", jitIdentity: "j")
        let code = CacheStore.MachineCodeEntry(functionId: 0, features: ["sse2"], blob: [1, 2, 3, 4], jitMicroseconds: 5)
        let stat = FileStat(device: 1, inode: 2, size: 3, mtimeNanoseconds: 0, ctimeNanoseconds: 0)
        let digest = CacheStore.SourceDigestRecord(
            path: "/p/u2.rib", stat: stat, digest: SHA256.hash([9]), recordedAt: CacheStore.nowNanoseconds())
        try store.store(
            units: [
                CacheStore.UnitToStore(
                    key: Self.key(1), sourcePath: "/p/u1.rib", image: nil, compileMicroseconds: 0, machineCode: [code]),
                CacheStore.UnitToStore(
                    key: Self.key(3), sourcePath: "/p/u3.rib", image: nil, compileMicroseconds: 0, machineCode: [code]),
                Self.unit(2),
            ], ribbonBuild: "b1", jitIdentity: "j", sourceDigests: [digest])
        guard case .hit(_, let machineCode, _) = try store.load(key: Self.key(1), jitIdentity: "j", hostFeatures: ["sse2"])
        else {
            Issue.record("unit 1 is not stored")
            return
        }
        #expect(machineCode.map(\.blob) == [[1, 2, 3, 4]])
        #expect(try store.load(key: Self.key(3), jitIdentity: "j", hostFeatures: ["sse2"]) == .miss)
        guard case .hit(let image, _, _) = try store.load(key: Self.key(2), jitIdentity: "j", hostFeatures: []) else {
            Issue.record("unit 2 is not stored")
            return
        }
        #expect(image == Self.unit(2).image)
        let db = try Database(path: store.databasePath)
        let q = try db.statement("SELECT count(*) FROM source_digests WHERE path = '/p/u2.rib'")
        #expect(try q.step() && q.int64(0) == 1)
        q.reset()
    }
}
