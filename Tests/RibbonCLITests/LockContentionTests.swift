import CSQLite
import Foundation
import SQLiteSupport
import Testing

/// Two processes wanting the cache's write lock (issue 6). This test process holds
/// `BEGIN IMMEDIATE` on the database while `ribbon run` and `ribbon build` want to store: for
/// less than the busy timeout (5 s) they wait, then store, with no warning; for longer, each
/// prints one warning and its right output, having waited once, and a warm run never waits.
@Suite struct LockContentionTests {
    /// A cache with the examples built into it, and a connection holding its write lock.
    struct LockedCache {
        let directory: String
        let cache: String
        let examples: [Faults.Program]
        let holder: Database

        init(_ name: String) throws {
            directory = Faults.temporaryDirectory(name)
            cache = directory + "/cache"
            examples = try Faults.examples()
            let built = try Faults.ribbon(["build", "--jit", examples[0].path], cache: cache)
            try #require(built.status == 0, "\(built.stderr)")
            holder = try Faults.database(cache)
            try holder.execute("BEGIN IMMEDIATE")
        }

        func release() throws {
            try holder.execute("COMMIT")
            holder.close()
        }
    }

    @Test func writersWaitForTheLockThenStore() throws {
        let locked = try LockedCache("lock-wait")
        defer { try? FileManager.default.removeItem(atPath: locked.directory) }
        let sieve = locked.examples[1]
        let hello = locked.examples[2]
        let run = try Faults.Running(["run", "--stats", sieve.path], cache: locked.cache)
        let build = try Faults.Running(["build", "--jit", hello.path], cache: locked.cache)
        // Neither can finish while the lock is held: each must store before it exits.
        Faults.sleep(1.5)
        #expect(run.process.isRunning && build.process.isRunning)
        let released = Faults.monotonicSeconds()
        try locked.release()

        let r = run.wait()
        #expect(r.stdout == sieve.stdout && r.status == sieve.status)
        #expect(Faults.warnings(r.stderr).isEmpty, "\(r.stderr)")
        let b = build.wait()
        #expect(b.status == 0 && b.stderr.isEmpty, "\(b.stderr)")
        #expect(Faults.monotonicSeconds() - released < 4, "they went on when the lock was released")
        #expect(try Faults.storedPaths(locked.cache).count == 3)
        try Faults.expectSound(locked.cache, "after waiting")
        try Faults.expectWarm(sieve, cache: locked.cache)
        try Faults.expectWarm(hello, cache: locked.cache)
    }

    /// A new cache file still in SQLite's default rollback-journal mode, its write lock held by
    /// another connection: switching it to WAL reads the file, then needs the write lock, and
    /// SQLite does not wait for a lock wanted while reading (it could deadlock). This is how
    /// one of several processes opening a new cache at once used to run uncached ("database is
    /// locked" in `PRAGMA journal_mode=WAL`, 1 round in 30 of 16 parallel builds); now the
    /// switch is retried within the busy timeout.
    @Test func openingANewCacheWhileAnotherWritesItWaits() throws {
        let directory = Faults.temporaryDirectory("lock-new")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        mkdir(cache, 0o700)
        close(open(cache + "/cache.sqlite", O_WRONLY | O_CREAT, 0o600))
        var holder: OpaquePointer?
        try #require(sqlite3_open_v2(cache + "/cache.sqlite", &holder, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(holder) }
        try #require(sqlite3_exec(holder, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        let hello = try Faults.program("examples/hello.rib")
        let run = try Faults.Running(["run", "--stats", hello.path], cache: cache)
        Faults.sleep(1)
        #expect(run.process.isRunning)
        sqlite3_exec(holder, "ROLLBACK", nil, nil, nil)
        let r = run.wait()
        #expect(r.stdout == hello.stdout && r.status == 0)
        #expect(Faults.warnings(r.stderr).isEmpty, "\(r.stderr)")
        #expect((try r.stats())["unit"] as? String == "miss")
        try Faults.expectWarm(hello, cache: cache)
    }

    /// `cache gc` and `cache clear` wait their turn (issue 12, item 9): a run gives up after
    /// the busy timeout (5 s) and goes on uncached, but maintenance has nothing to go on to.
    /// Under a 24-process storm 2 % of them failed with "database is locked" (exit 74). Here
    /// the lock is held for longer than a run would wait; both finish once it is released.
    @Test func maintenanceWaitsLongerThanARun() throws {
        let locked = try LockedCache("lock-maintenance")
        defer { try? FileManager.default.removeItem(atPath: locked.directory) }
        let gc = try Faults.Running(["cache", "gc", "--max-size", "1K"], cache: locked.cache)
        Faults.sleep(6.5)
        #expect(gc.process.isRunning, "gc gave up before the lock was released")
        try locked.release()
        let g = gc.wait()
        #expect(g.status == 0, "\(g.stderr)")
        #expect(try Faults.storedPaths(locked.cache).isEmpty)

        let relocked = try LockedCache("lock-maintenance-clear")
        defer { try? FileManager.default.removeItem(atPath: relocked.directory) }
        let clear = try Faults.Running(["cache", "clear"], cache: relocked.cache)
        Faults.sleep(6.5)
        #expect(clear.process.isRunning, "clear gave up before the lock was released")
        try relocked.release()
        let c = clear.wait()
        #expect(c.status == 0, "\(c.stderr)")
        #expect(try Faults.storedPaths(relocked.cache).isEmpty)
        try Faults.expectSound(relocked.cache, "after clear")
    }

    /// `ribbon build` exits 74 when it could not store what it was asked to build; `--json`
    /// says so per file (`not-stored`) and in `status` (issue 12, item 9). Before, a build
    /// into a cache it could not use printed a warning and exited 0.
    @Test func aBuildThatCannotStoreExits74() throws {
        let directory = Faults.temporaryDirectory("build-unusable")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        mkdir(cache, 0o700)
        chmod(cache, 0o777)  // not trusted: never used
        let hello = try Faults.program("examples/hello.rib")
        let b = try Faults.ribbon(["build", "--json", hello.path], cache: cache)
        #expect(b.status == 74, "\(b.stderr)")
        #expect(b.stderr.split(separator: "\n").count == 1, "\(b.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any]
        #expect(report?["status"] as? Int == 74)
        let files = report?["files"] as? [[String: Any]]
        #expect(files?.first?["outcome"] as? String == "not-stored", "\(b.stdout)")
        // Only checking stores nothing, and asks for nothing to be stored.
        let check = try Faults.ribbon(["build", "--check", hello.path], cache: cache)
        #expect(check.status == 0, "\(check.stderr)")
    }

    @Test func aLockHeldPastTheBusyTimeoutIsOneWarningAndOneWait() throws {
        let locked = try LockedCache("lock-timeout")
        defer { try? FileManager.default.removeItem(atPath: locked.directory) }
        let (fib, sieve, hello) = (locked.examples[0], locked.examples[1], locked.examples[2])

        // A warm run writes nothing it must wait for (its hit goes to hits.log; a source digest
        // to remember is not worth waiting for).
        var start = Faults.monotonicSeconds()
        let warm = try Faults.ribbon(["run", "--stats", fib.path], cache: locked.cache)
        #expect(Faults.monotonicSeconds() - start < 2.5, "a warm run waited for the lock")
        #expect(warm.stdout == fib.stdout && warm.stderr.split(separator: "\n").count == 1, "\(warm.stderr)")
        #expect((try warm.stats())["unit"] as? String == "hit")

        // Cold: the runs and the build each wait the busy timeout once, then run uncached; the
        // program of three files too (one unit each, three stores: the first failure ends them).
        let program = try Faults.program("examples/use/main.rib")
        start = Faults.monotonicSeconds()
        let run = try Faults.Running(["run", "--stats", sieve.path], cache: locked.cache)
        let build = try Faults.Running(["build", "--jit", hello.path], cache: locked.cache)
        let files = try Faults.Running(["run", program.path], cache: locked.cache)
        let r = run.wait()
        let b = build.wait()
        let f = files.wait()
        let elapsed = Faults.monotonicSeconds() - start
        try locked.release()
        #expect(f.stdout == program.stdout && f.status == program.status)
        #expect(Faults.warnings(f.stderr).count == 1 && f.stderr.split(separator: "\n").count == 1, "\(f.stderr)")
        #expect(r.stdout == sieve.stdout && r.status == sieve.status)
        let runWarnings = Faults.warnings(r.stderr)
        #expect(runWarnings.count == 1 && r.stderr.split(separator: "\n").count == 2, "\(r.stderr)")
        #expect(runWarnings.first?.contains("cannot store") == true, "\(r.stderr)")
        #expect(runWarnings.first?.contains("database is locked") == true, "\(r.stderr)")
        // The build did not do what it was asked: 74 (issue 12, item 9), its one line the warning.
        #expect(b.status == 74, "\(b.stderr)")
        #expect(Faults.warnings(b.stderr).count == 1 && b.stderr.split(separator: "\n").count == 1, "\(b.stderr)")
        // One busy timeout (5 s), not one per write.
        #expect(elapsed >= 4.5 && elapsed < 8.5, "took \(elapsed) s")
        print("lock held past the busy timeout: two cold runs (one of 3 files) and a build each warned once after \(elapsed) s")

        // Nothing was stored, nothing was lost; once the lock is free the next run stores.
        #expect(try Faults.storedPaths(locked.cache).count == 1)
        try Faults.expectSound(locked.cache, "after the timeout")
        try Faults.expectWarm(fib, cache: locked.cache)
        let again = try Faults.ribbon(["run", sieve.path], cache: locked.cache)
        #expect(again.stdout == sieve.stdout && again.stderr.isEmpty, "\(again.stderr)")
        try Faults.expectWarm(sieve, cache: locked.cache)
    }
}
