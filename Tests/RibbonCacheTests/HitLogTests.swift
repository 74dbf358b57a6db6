import CacheCodecs
import Foundation
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
