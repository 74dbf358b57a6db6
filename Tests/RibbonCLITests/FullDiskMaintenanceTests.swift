import Foundation
import Testing

/// A full disk does not wedge the cache (issue 12, item 5). On a 4 MiB tmpfs: a store that
/// fails for want of space gives back what its write-ahead log took, and `cache gc` and
/// `cache clear` free space with not one byte free. Before: a cold run with 1.2 MB free left
/// an 853 KB `-wal` and a full file system, and `gc --max-size 100K` and `clear` both exited 74
/// ("database or disk is full in COMMIT").
@Suite struct FullDiskMaintenanceTests {
    static func freeBytes(_ path: String) -> Int {
        var s = statvfs()
        return statvfs(path, &s) == 0 ? Int(s.f_bavail) * Int(s.f_frsize) : -1
    }

    static func size(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// A 4 MiB tmpfs at a new mount point with a cache holding the examples (with machine
    /// code) and `programs` large ones; unmounted by `body`'s end.
    static func withSmallDisk(
        _ name: String, programs seeds: [Int] = [], _ body: (_ point: String, _ cache: String, _ programs: [Faults.Program]) throws -> Void
    ) throws {
        let sources = Faults.temporaryDirectory(name + "-src")
        let point = Faults.temporaryDirectory(name)
        try #require(mount("tmpfs", point, "tmpfs", 0, "size=4m,mode=0700") == 0, "mount: errno \(errno)")
        defer {
            umount2(point, Int32(MNT_DETACH))
            rmdir(point)
            try? FileManager.default.removeItem(atPath: sources)
        }
        let cache = point + "/cache"
        let programs = try seeds.map { try Faults.largeProgram(functions: 150, seed: $0, in: sources) }
        let built = try Faults.ribbon(["build", "--jit"] + (try Faults.examples()).map(\.path) + programs.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        try body(point, cache, programs)
    }

    @Test(.enabled(if: FullDiskTests.canMountTmpfs, "mounting a tmpfs needs root"))
    func aFailedStoreGivesItsLogSpaceBack() throws {
        try Self.withSmallDisk("full-wal") { point, cache, _ in
            let program = try Faults.largeProgram(functions: 300, seed: 33, in: point)
            let before = try Faults.rows(cache)
            var failed = 0
            for slack in [256 << 10, 512 << 10, 768 << 10] {
                try FullDiskTests.fill(point + "/filler", leaving: slack)
                let free = Self.freeBytes(point)
                let r = try Faults.ribbon(["run", "--jit", "eager", program.path], cache: cache)
                #expect(r.stdout == program.stdout && r.status == program.status, "\(r.stderr)")
                guard !(try Faults.storedPaths(cache)).contains(program.path) else { continue }
                failed += 1
                // What the failed store appended to the log is given back: the disk has as much
                // room as before the run (give or take a page of the `-shm` index).
                #expect(Self.size(cache + "/cache.sqlite-wal") == 0, "\(slack >> 10) KiB free: \(r.stderr)")
                #expect(Self.freeBytes(point) >= free - (32 << 10), "\(slack >> 10) KiB free: \(Self.freeBytes(point)) of \(free)")
                #expect(try Faults.rows(cache).filter { before[$0.key] != nil } == before)
            }
            #expect(failed >= 1)
            unlink(point + "/filler")
            try Faults.expectSound(cache, "after the failed stores")
        }
    }

    @Test(.enabled(if: FullDiskTests.canMountTmpfs, "mounting a tmpfs needs root"))
    func gcFreesSpaceWithNoByteFree() throws {
        try Self.withSmallDisk("full-gc", programs: [34, 35]) { point, cache, programs in
            let examples = try Faults.examples()
            // The most recently used entry: what a gc to a small size keeps.
            sleep(1)
            try Faults.expectWarm(examples[2], cache: cache)
            // Its hit folded into the database while there is room (with none, gc cannot).
            #expect(try Faults.ribbon(["cache", "stats"], cache: cache).status == 0)
            try FullDiskTests.fill(point + "/filler", leaving: 0)
            let free = Self.freeBytes(point)
            let gc = try Faults.ribbon(["cache", "gc", "--max-size", "100K", "--json"], cache: cache)
            #expect(gc.status == 0, "\(gc.stderr)")
            // The two large programs took more than 400 KiB.
            #expect(Self.freeBytes(point) > free + (256 << 10), "gc gave back \(Self.freeBytes(point) - free) bytes")
            let kept = try Faults.storedPaths(cache)
            #expect(kept.contains { $0.hasSuffix("/examples/hello.rib") }, "\(kept)")
            #expect(!(kept.contains(programs[0].path) && kept.contains(programs[1].path)), "\(kept)")
            try Faults.expectSound(cache, "after gc on a full disk")
            try Faults.expectWarm(examples[2], cache: cache)
            // Still full: the next gc has nothing to remove, and says so.
            try FullDiskTests.fill(point + "/filler", leaving: 0)
            let again = try Faults.ribbon(["cache", "gc", "--max-size", "100K"], cache: cache)
            #expect(again.status == 0, "\(again.stderr)")
        }
    }

    @Test(.enabled(if: FullDiskTests.canMountTmpfs, "mounting a tmpfs needs root"))
    func clearFreesSpaceWithNoByteFree() throws {
        try Self.withSmallDisk("full-clear", programs: [36]) { point, cache, programs in
            let units = try Faults.storedPaths(cache).count
            let cacheBytes = Self.size(cache + "/cache.sqlite") + Self.size(cache + "/cache.sqlite-wal")
            try FullDiskTests.fill(point + "/filler", leaving: 0)
            let free = Self.freeBytes(point)
            let clear = try Faults.ribbon(["cache", "clear", "--json"], cache: cache)
            #expect(clear.status == 0, "\(clear.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(clear.stdout.utf8)) as? [String: Any]
            #expect(report?["units_removed"] as? Int == units, "\(clear.stdout)")
            #expect(Self.freeBytes(point) >= free + cacheBytes - (64 << 10), "clear gave back \(Self.freeBytes(point) - free) bytes")
            #expect(try Faults.storedPaths(cache).isEmpty)
            try Faults.expectSound(cache, "after clear on a full disk")
            // The cache works again: a run stores, the next is warm.
            unlink(point + "/filler")
            let r = try Faults.ribbon(["run", programs[0].path], cache: cache)
            #expect(r.stdout == programs[0].stdout && r.stderr.isEmpty, "\(r.stderr)")
            try Faults.expectWarm(programs[0], cache: cache)
        }
    }
}
