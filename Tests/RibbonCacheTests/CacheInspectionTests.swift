import CacheCodecs
import Foundation
import RibbonSystem
import SQLiteSupport
import Testing

@testable import RibbonCache

/// What `ribbon cache stats | ls | show | verify | gc | clear` read and change, on rows stored
/// through `CacheStore.store` (decoding images and blobs is RibbonDriver's; see CacheCommandTests).
@Suite final class CacheInspectionTests {
    /// This test's own directory, removed when it ends (each test gets a new instance).
    let root: String

    init() {
        var template = Array("/tmp/ribbon-cache-inspection-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        chmod(root, 0o700)
        try? FileManager.default.removeItem(atPath: root)
    }

    func temporaryDirectory() -> String {
        var template = Array((root + "/d-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    static func key(_ n: Int) -> SHA256Digest {
        UnitKeyFactors(source: Array("unit \(n)".utf8), compilerIdentity: "c", ribbonBuild: "b1").key
    }

    /// Bytes LZ4 cannot shrink, so sizes on disk follow the sizes stored.
    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func put(
        _ store: CacheStore, _ n: Int, path: String? = nil, build: String = "b1", imageBytes: Int = 1000,
        blobs: [[UInt8]] = [], compileMicroseconds: Int = 100
    ) throws {
        try store.store(
            key: key(n), sourcePath: path ?? "/src/\(n).rib", image: noise(imageBytes, seed: UInt64(n)),
            compileMicroseconds: compileMicroseconds, ribbonBuild: build, jitIdentity: "j",
            machineCode: blobs.enumerated().map {
                .init(functionId: UInt32($0.offset), features: $0.offset == 1 ? ["sse4.1"] : [], blob: $0.element, jitMicroseconds: 10)
            },
            factors: "source\t\(n)\ncompiler\tc\nribbon build\t\(build)")
    }

    /// Sets a unit's times (Unix seconds), as if it had been stored and used then.
    static func setTimes(_ store: CacheStore, _ n: Int, created: Int64, lastUsed: Int64) throws {
        let raw = try Database(path: store.databasePath)
        let update = try raw.statement("UPDATE units SET created_at = ?2, last_used_at = ?3 WHERE key = ?1")
        try update.bind(key(n).bytes, at: 1)
        try update.bind(created, at: 2)
        try update.bind(lastUsed, at: 3)
        try update.run()
    }

    @Test func statisticsCountEntriesBytesAndCounters() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        try Self.put(store, 1, imageBytes: 2000, blobs: [[1, 2, 3], Self.noise(500, seed: 9)], compileMicroseconds: 300)
        try Self.put(store, 2, build: "b0", imageBytes: 700)
        #expect(try store.load(key: Self.key(1), jitIdentity: "j", hostFeatures: ["sse4.1"]) != .miss)
        #expect(try store.load(key: Self.key(3), jitIdentity: "j", hostFeatures: []) == .miss)
        try store.store(  // a miss is counted when the compiled unit is stored
            key: Self.key(3), sourcePath: "/src/3.rib", image: [3], compileMicroseconds: 0, ribbonBuild: "b1",
            jitIdentity: "j", machineCode: [], countMiss: true)
        try store.deleteUnits([Self.key(3).bytes])
        let s = try store.statistics(currentBuild: "b1")
        #expect(s.units == 2)
        #expect(s.machineCodeBlobs == 2)
        #expect(s.unitsOfOtherBuilds == 1)
        #expect(s.hits == 1)
        #expect(s.misses == 1)
        #expect(s.hitRate == 0.5)
        #expect(s.uncompressedBytes == 2000 + 700 + 3 + 500)
        #expect(s.compressedBytes > 2700)  // noise does not compress
        #expect(s.savedMicroseconds == 300 + 10 + 10)  // the unit and both blobs of the hit
        #expect(s.storedCompileMicroseconds == 400)
        #expect(s.storedJITMicroseconds == 20)
        #expect(s.bytesOnDisk >= s.compressedBytes)
        #expect(try CacheStore(directory: store.directory).statistics(currentBuild: "b0").unitsOfOtherBuilds == 1)
    }

    @Test func unitsAreListedInEachOrderWithTheirMachineCode() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        try Self.put(store, 1, path: "/b.rib", imageBytes: 100)
        try Self.put(store, 2, path: "/c.rib", imageBytes: 3000, blobs: [[7, 7], [8]])
        try Self.put(store, 3, path: "/a.rib", imageBytes: 1000)
        try Self.setTimes(store, 1, created: 100, lastUsed: 900)
        try Self.setTimes(store, 2, created: 300, lastUsed: 500)
        try Self.setTimes(store, 3, created: 200, lastUsed: 700)
        func paths(_ order: CacheStore.UnitOrder) throws -> [String] { try store.units(orderedBy: order).map(\.sourcePath) }
        #expect(try paths(.lastUsed) == ["/b.rib", "/a.rib", "/c.rib"])
        #expect(try paths(.created) == ["/c.rib", "/a.rib", "/b.rib"])
        #expect(try paths(.path) == ["/a.rib", "/b.rib", "/c.rib"])
        #expect(try paths(.size) == ["/c.rib", "/a.rib", "/b.rib"])
        let c = try #require(try store.unit(key: Self.key(2).bytes))
        #expect(c.machineCodeBlobs == 2)
        #expect(c.machineCodeSize == 3)
        #expect(c.imageSize == 3000)
        #expect(c.storedBytes == c.imageBytes + c.machineCodeBytes)
        #expect(c.shortKey == String(Self.key(2).hex.prefix(12)))
        #expect(c.factors.hasPrefix("source\t2\n"))
        #expect((c.createdAt, c.lastUsedAt) == (300, 500))
    }

    @Test func entriesAreFoundByKeyPrefixPathAndPathEnding() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        for n in 0..<40 { try Self.put(store, n, path: n < 2 ? "/src/same.rib" : nil, imageBytes: 64) }
        let hex = Self.key(7).hex
        #expect(try store.units(keyPrefix: String(hex.prefix(10))).map(\.key) == [Self.key(7).bytes])
        #expect(try store.units(keyPrefix: String(hex.prefix(10)).uppercased()).count == 1)
        #expect(try store.units(keyPrefix: String(hex.prefix(1))).count > 1)  // 40 keys, 16 digits
        #expect(try store.units(keyPrefix: "not hex").isEmpty)
        try Self.setTimes(store, 0, created: 1, lastUsed: 1)
        try Self.setTimes(store, 1, created: 2, lastUsed: 2)
        #expect(try store.units(sourcePath: "/src/same.rib").map(\.key) == [Self.key(1).bytes, Self.key(0).bytes])
        #expect(try store.units(sourcePathSuffix: "same.rib").count == 2)
        #expect(try store.units(sourcePathSuffix: "ame.rib").isEmpty)  // whole path components only
        #expect(try store.units(sourcePathSuffix: "src/9.rib").map(\.key) == [Self.key(9).bytes])
    }

    @Test func damagedImagesBlobsAndOrphansAreReported() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        let image = CacheInspectionTests.noise(1000, seed: 1)
        try Self.put(store, 1, imageBytes: 1000, blobs: [[1, 2, 3, 4], [5, 6]])
        #expect(try store.image(key: Self.key(1).bytes) == .intact(image))
        #expect(try store.image(key: Self.key(2).bytes) == nil)
        let raw = try Database(path: store.databasePath)
        // One flipped bit in the middle of the image's frame; a blob's frame without its last
        // byte (part of the end mark or checksum).
        let flip = try raw.statement("UPDATE units SET image = ?1")
        var frame = try LZ4Frame.compress(image)
        frame[frame.count / 2] ^= 0x10
        try flip.bind(frame, at: 1)
        try flip.run()
        try raw.execute("UPDATE machine_code SET blob = substr(blob, 1, length(blob) - 1) WHERE function_id = 1")
        guard case .damaged(let why) = try store.image(key: Self.key(1).bytes) else {
            Issue.record("a flipped image byte went unnoticed")
            return
        }
        #expect(why.contains("decompression") || why.contains("SHA-256"))
        let rows = try store.machineCode(unitKey: Self.key(1).bytes)
        #expect(rows.map(\.functionId) == [0, 1])
        #expect(rows[0].payload == .intact([1, 2, 3, 4]))
        #expect(rows[1].payload.bytes == nil)
        #expect(rows[1].features == ["sse4.1"])
        // A blob whose unit is gone (only possible with foreign keys off, as an old or damaged
        // file might have it).
        try raw.execute("PRAGMA foreign_keys = OFF")
        try raw.execute("DELETE FROM units")
        let orphans = try store.orphanedMachineCode()
        #expect(orphans.count == 2)
        try store.deleteMachineCode([orphans[0]])
        #expect(try store.orphanedMachineCode().map(\.functionId) == [1])
        #expect(try store.integrityProblems().isEmpty)
    }

    @Test func deletingAUnitTakesItsMachineCode() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        try Self.put(store, 1, blobs: [[1], [2]])
        try Self.put(store, 2, blobs: [[3]])
        try store.deleteUnits([Self.key(1).bytes])
        #expect(try store.units().map(\.key) == [Self.key(2).bytes])
        #expect(try store.machineCode(unitKey: Self.key(1).bytes).isEmpty)
        #expect(try store.statistics(currentBuild: "b1").machineCodeBlobs == 1)
    }

    @Test func garbageCollectionRemovesOtherBuildsUnusedAndLeastRecentlyUsed() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        try Self.put(store, 1, build: "b0", imageBytes: 100_000)
        try Self.put(store, 2, imageBytes: 100_000, blobs: [[1]])
        try Self.put(store, 3, imageBytes: 100_000)
        try Self.put(store, 4, imageBytes: 100_000)
        let now = TimeText.now()
        try Self.setTimes(store, 2, created: now - 100 * 86_400, lastUsed: now - 30 * 86_400)
        try Self.setTimes(store, 3, created: now - 100, lastUsed: now - 60)
        try Self.setTimes(store, 4, created: now - 100, lastUsed: now - 10)

        let first = try store.collectGarbage(currentBuild: "b1", unusedSince: now - 7 * 86_400, maxBytes: nil)
        #expect(first.removed.map(\.unit.key) == [Self.key(1).bytes, Self.key(2).bytes])
        #expect(first.removed.map(\.reason) == [.otherBuild, .unused])
        #expect(first.bytesAfter < first.bytesBefore)
        #expect(try store.units().count == 2)
        #expect(try store.orphanedMachineCode().isEmpty)

        // A bound just under what the entries take evicts the least recently used unit (to 90%
        // of the bound, which one unit of 100 KB more than covers).
        let used = try store.entryBytes()
        let second = try store.collectGarbage(currentBuild: "b1", unusedSince: nil, maxBytes: used - 1000)
        #expect(second.removed.map(\.unit.key) == [Self.key(3).bytes])
        #expect(second.removed.map(\.reason) == [.size])
        #expect(try store.units().map(\.key) == [Self.key(4).bytes])

        let none = try store.collectGarbage(currentBuild: "b1", unusedSince: nil, maxBytes: 1 << 30)
        #expect(none.removed.isEmpty)
        #expect(none.bytesAfter == none.bytesBefore)

        let all = try store.collectGarbage(currentBuild: "b1", unusedSince: nil, maxBytes: 1)
        #expect(all.removed.count == 1)
        #expect(all.bytesAfter < all.bytesBefore)
        #expect(try store.units().isEmpty)
    }

    @Test func clearRemovesEverythingAndShrinksTheFile() throws {
        let store = try CacheStore(directory: temporaryDirectory())
        for n in 0..<5 { try Self.put(store, n, imageBytes: 200_000, blobs: [[UInt8(n)]]) }
        _ = try store.load(key: Self.key(0), jitIdentity: "j", hostFeatures: [])
        try store.recordDigest(
            path: "/src/0.rib", stat: FileStat(device: 1, inode: 2, size: 3, mtimeNanoseconds: 4, ctimeNanoseconds: 5),
            digest: Self.key(0), now: 6)
        let report = try store.clear()
        #expect(report.units == 5)
        #expect(report.machineCodeBlobs == 5)
        #expect(report.sourceDigests == 1)
        #expect(report.bytesAfter < report.bytesBefore / 4)
        let s = try store.statistics(currentBuild: "b1")
        #expect(s.units == 0 && s.machineCodeBlobs == 0 && s.hits == 0 && s.sourceDigests == 0)
        #expect(report.bytesAfter == s.bytesOnDisk)
    }

    @Test func openingForInspectionNeverCreatesACache() throws {
        let root = temporaryDirectory()
        defer { chmod(root, 0o700) }
        #expect(try CacheStore.openExisting(directory: root + "/none") == nil)
        #expect(!FileManager.default.fileExists(atPath: root + "/none"))
        #expect(try CacheStore.openExisting(directory: root) == nil)
        #expect(!FileManager.default.fileExists(atPath: CacheStore.databasePath(in: root)))
        _ = try CacheStore(directory: root)
        #expect(try CacheStore.openExisting(directory: root) != nil)
        chmod(root, 0o777)
        let untrusted1 = #expect(throws: CacheError.self) { _ = try CacheStore.openExisting(directory: root) }
        #expect(untrusted1?.kind == .untrusted)
    }

    @Test func storedFactorsRehashToTheKey() {
        let factors = UnitKeyFactors(
            source: [1, 2], dependencyKeys: [Self.key(1)], compilerIdentity: "c", ribbonBuild: "b", options: "")
        let parsed = UnitKeyFactors.parseStored(factors.storedText)
        #expect(parsed.map(\.factor) == [.source, .dependency(index: 0), .compiler, .ribbonBuild, .options])
        #expect(parsed.map(\.factor.storedName) == ["source", "dependency 0", "compiler", "ribbon build", "options"])
        #expect(UnitKeyFactors.key(of: parsed) == factors.key)
    }

    /// A row written by another ribbon may name factors this build does not know, or spell a
    /// known one otherwise: they read as `unknown` and write back (and hash) as they were.
    @Test func storedFactorsOfUnknownNamesReadBackAsTheyWere() {
        let text = "source\t1\ndependency 01\t2\nflags\t-O\ndependency 2\t3"
        let parsed = UnitKeyFactors.parseStored(text)
        #expect(parsed.map(\.factor) == [.source, .unknown("dependency 01"), .unknown("flags"), .dependency(index: 2)])
        #expect(UnitKeyFactors.storedText(of: parsed) == text)
    }

    @Test(arguments: [
        ("30s", 30), ("30", 30), ("10m", 600), ("10min", 600), ("12h", 43_200), ("7d", 604_800), ("2w", 1_209_600),
        ("7D", 604_800),
    ] as [(String, Int64)])
    func agesParse(_ text: String, _ seconds: Int64) {
        #expect(TimeText.parseSeconds(text) == seconds)
    }

    @Test func badAgesAreRejected() {
        for text in ["", "d", "-1d", "1.5h", "7 d", "3y", "99999999999999999999s", "99999999999999w"] {
            #expect(TimeText.parseSeconds(text) == nil, "\(text)")
        }
    }

    @Test func timesReadAsPeopleWriteThem() {
        let now: Int64 = 1_764_000_000
        #expect(TimeText.relative(now, now: now) == "just now")
        #expect(TimeText.relative(now - 42, now: now) == "42 s ago")
        #expect(TimeText.relative(now - 180, now: now) == "3 min ago")
        #expect(TimeText.relative(now - 5 * 3600, now: now) == "5 h ago")
        #expect(TimeText.relative(now - 12 * 86_400, now: now) == "12 d ago")
        #expect(TimeText.relative(now - 90 * 86_400, now: now) == "2025-08-26")
        #expect(TimeText.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(TimeText.iso8601(1_764_000_000) == "2025-11-24T16:00:00Z")
        #expect(TimeText.milliseconds(0) == "0.0 ms")
        #expect(TimeText.milliseconds(1_234_567) == "1234.6 ms")
    }
}
