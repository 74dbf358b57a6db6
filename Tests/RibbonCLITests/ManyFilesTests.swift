import Foundation
import SQLiteSupport
import Testing

/// Programs of many files (issue 12, items 4 and 8): a `use` chain thousands of files deep, and
/// a program of hundreds of files, run by the built binary: every command that walks the files
/// finishes, and the cache stores a whole program with one transaction.
@Suite struct ManyFilesTests {
    /// A `use` chain `depth` files deep in a new directory: main.rib uses c1.rib, which uses
    /// c2.rib, … down to c`depth`.rib. Each file's `f` calls the next file's and adds its own
    /// global, so every unit links to the one below it; each file's `e` calls the next one's
    /// too, and the last one's fails (an index out of bounds), which fail.rib calls. Returns
    /// main.rib's path, what it prints, and fail.rib's path.
    static func chain(depth: Int) throws -> (main: String, stdout: String, fail: String) {
        let directory = Faults.temporaryDirectory("chain")
        for k in 1...depth {
            let text =
                k < depth
                ? """
                use "c\(k + 1).rib"
                g\(k) := 1
                f\(k) := fun (x: I64) -> I64.
                    f\(k + 1) x + g\(k)
                e\(k) := fun (x: I64) -> I64.
                    e\(k + 1) x + 1

                """
                : """
                g\(k) := 1
                f\(k) := fun (x: I64) -> I64.
                    x
                e\(k) := fun (x: I64) -> I64.
                    xs := array 1 0
                    xs[x]

                """
            try Self.write(text, to: directory + "/c\(k).rib")
        }
        let main = "use \"c1.rib\"\nmain := fun () -> I64.\n    print g1\n    print (f1 5)\n    0\n"
        try main.write(toFile: directory + "/main.rib", atomically: false, encoding: .utf8)
        let fail = "use \"c1.rib\"\nmain := fun () -> I64.\n    print (e1 5)\n    0\n"
        try fail.write(toFile: directory + "/fail.rib", atomically: false, encoding: .utf8)
        return (directory + "/main.rib", "1\n\(5 + depth - 1)\n", directory + "/fail.rib")
    }

    /// Writes a small file with plain system calls (tens of thousands of them: `String.write`
    /// took seconds more).
    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0, "cannot create \(path)")
        defer { close(fd) }
        let written = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        try #require(written == text.utf8.count, "cannot write \(path)")
    }

    /// A program of `count` files used by one main.rib, in a new directory: lib/m`i`.rib
    /// defines `m`i``, and main.rib prints the sum of their results. Returns main.rib's path and
    /// what it prints.
    static func fan(files count: Int) throws -> (main: String, stdout: String) {
        let directory = Faults.temporaryDirectory("fan")
        try FileManager.default.createDirectory(atPath: directory + "/lib", withIntermediateDirectories: true)
        var main = ""
        var body = "main := fun () -> I64.\n    total := 0\n"
        for i in 1...count {
            try "m\(i) := fun (x: I64) -> I64.\n    x + \(i)\n"
                .write(toFile: directory + "/lib/m\(i).rib", atomically: false, encoding: .utf8)
            main += "use \"lib/m\(i).rib\"\n"
            body += "    total = total + m\(i) 1\n"
        }
        try (main + body + "    print total\n    0\n").write(toFile: directory + "/main.rib", atomically: false, encoding: .utf8)
        return (directory + "/main.rib", "\(count + count * (count + 1) / 2)\n")
    }

    /// How many calls of `name` a run makes on its main thread (strace).
    static func count(_ name: String, matching: String = "", _ arguments: [String], cache: String) throws -> Int {
        let strace = try #require(Faults.strace)
        let log = Faults.temporaryDirectory("strace") + "/trace"
        defer { try? FileManager.default.removeItem(atPath: (log as NSString).deletingLastPathComponent) }
        let r = try Faults.wrapped([strace, "-qq", "-o", log, "-e", "trace=" + name], arguments, cache: cache).wait()
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix(name + "(") && (matching.isEmpty || $0.contains(matching)) }.count
    }

    /// Item 4: a cold run stored each file's unit in a transaction of its own, each followed by
    /// a `wal_checkpoint(TRUNCATE)`: four `fdatasync`s and three `ftruncate`s per file (a
    /// program of 1,000 files took 35 times its uncached run). A run now stores all its units,
    /// their machine code and the source digests in one transaction and checkpoints once: a
    /// program of 40 files syncs as often as one of a single file.
    @Test func aColdRunStoresEveryFileInOneTransaction() throws {
        let (single, _) = try Self.fan(files: 1)
        let (many, stdout) = try Self.fan(files: 40)
        for call in ["fdatasync", "ftruncate"] {
            // Each in a cache that already exists, so that creating the database is not counted.
            let (first, second) = (CacheRunTests.newCache(), CacheRunTests.newCache())
            for cache in [first, second] { _ = try Faults.ribbon(["run", "examples/hello.rib"], cache: cache) }
            let one = try Self.count(call, ["run", single], cache: first)
            let forty = try Self.count(call, ["run", many], cache: second)
            #expect(one > 0 && forty == one, "\(call): \(one) for 1 file, \(forty) for 40")
        }
        let run = try Faults.ribbon(["run", many], cache: CacheRunTests.newCache())
        #expect(run.stdout == stdout)
    }

    /// Item 4: a warm run read the cache with three read transactions per file (the source
    /// digest, a probe as a file that uses nothing, the unit), each taking and dropping the
    /// WAL read lock (two `fcntl`s). The program's lookups now share one read transaction, and
    /// the digests of the files one file uses come in one query; the hits go to the hit log
    /// with one write.
    @Test func aWarmRunReadsTheCacheInOneTransaction() throws {
        let (single, _) = try Self.fan(files: 1)
        let (many, stdout) = try Self.fan(files: 40)
        let cache = CacheRunTests.newCache()
        for main in [single, many] { _ = try Faults.ribbon(["run", main], cache: cache) }
        // Remembered digests are trusted 2 s after they were taken.
        Faults.sleep(2.1)
        for main in [single, many] { _ = try Faults.ribbon(["run", main], cache: cache) }
        let one = try Self.count("fcntl", matching: "F_RDLCK", ["run", single], cache: cache)
        let forty = try Self.count("fcntl", matching: "F_RDLCK", ["run", many], cache: cache)
        #expect(one > 0 && forty == one, "read locks: \(one) for 1 file, \(forty) for 40")
        // The hits of all the units go to the hit log with one write (it was opened per unit).
        let logOpens = try Self.count("openat", matching: "hits.log", ["run", many], cache: cache)
        #expect(logOpens == 1, "hits.log opened \(logOpens) times for 41 units")
        let warm = try Faults.ribbon(["run", "--stats", many], cache: cache)
        #expect(warm.stdout == stdout)
        let stats = try warm.stats()
        #expect(stats["units_loaded"] as? Int == 41 && stats["units_compiled"] as? Int == 0)
    }

    /// Item 4: beyond the size bound, each store evicted every unit but the one it had just
    /// stored, so a program of many files evicted its own units as it stored them and never ran
    /// warm. Every unit a run stores is kept now; the next run loads them all.
    @Test func theSizeBoundNeverEvictsTheUnitsOfTheRunThatStoresThem() throws {
        let (many, stdout) = try Self.fan(files: 20)
        let cache = CacheRunTests.newCache()
        let tiny = ["RIBBON_CACHE_MAX_SIZE": "1"]
        _ = try Faults.ribbon(["run", "examples/hello.rib"], cache: cache, environment: tiny)
        let cold = try Faults.ribbon(["run", many], cache: cache, environment: tiny)
        #expect(cold.status == 0 && cold.stdout == stdout, "\(cold.stderr)")
        #expect(try Faults.storedPaths(cache).count == 21, "the program's 21 units, and not hello.rib's")
        let warm = try Faults.ribbon(["run", "--stats", many], cache: cache, environment: tiny)
        #expect(warm.stdout == stdout)
        let stats = try warm.stats()
        #expect(stats["units_loaded"] as? Int == 21 && stats["units_compiled"] as? Int == 0, "\(stats)")
    }

    /// A crash must not spend seconds printing a backtrace of thousands of frames.
    static let noBacktrace = ["SWIFT_BACKTRACE": "enable=no"]

    /// Item 8: loading a program visited its files recursively, and a chain 4,000 files deep
    /// overflowed the stack (SIGSEGV) in `run`, with or without the cache. Every command that
    /// walks a program's files now finishes: run (uncached, cold, warm), build with a depfile,
    /// and `cache key --explain`; a runtime error at the bottom of
    /// the chain prints its backtrace.
    @Test func aFourThousandDeepUseChainLoadsInEveryCommand() throws {
        let depth = 4000
        let (main, stdout, fail) = try Self.chain(depth: depth)
        let cache = CacheRunTests.newCache()
        for (name, arguments) in [
            ("uncached", ["run", "--no-cache", main]), ("cold", ["run", main]), ("warm", ["run", "--stats", main]),
        ] {
            let r = try Faults.ribbon(arguments, cache: cache, environment: Self.noBacktrace)
            #expect(r.status == 0, "\(name): \(r.stderr.prefix(500))")
            #expect(r.stdout == stdout, "\(name)")
            if name == "warm", r.status == 0 {
                #expect(try r.stats()["units_loaded"] as? Int == depth + 1)
            }
        }
        // A runtime error at the bottom: the backtrace names the files it passed through.
        let failed = try Faults.ribbon(["run", fail], cache: cache, environment: Self.noBacktrace)
        #expect(failed.status == 70, "\(failed.stderr.prefix(500))")
        #expect(failed.stderr.hasPrefix("runtime error: "))
        #expect(failed.stderr.contains("c\(depth).rib:6)") && failed.stderr.contains("at main ("))
        let depfile = cache + "/chain.d"
        let build = try Faults.ribbon(["build", "--depfile", depfile, main], cache: cache, environment: Self.noBacktrace)
        #expect(build.status == 0, "build: \(build.stderr.prefix(500))")
        let dependencies = (try? String(contentsOfFile: depfile, encoding: .utf8)) ?? ""
        #expect(dependencies.split(separator: " ").count == depth + 2, "target, main.rib and every file of the chain")
        let explain = try Faults.ribbon(["cache", "key", "--explain", main], cache: cache, environment: Self.noBacktrace)
        #expect(explain.status == 0, "cache key --explain: \(explain.stderr.prefix(500))")
    }

    /// `cache key` computes the keys of a program's files bottom-up without compiling them; it
    /// recursed too, with smaller frames: 10,000 files deep overflowed the stack.
    @Test func theKeyOfATwentyThousandDeepChainIsComputed() throws {
        let (main, _, _) = try Self.chain(depth: 20000)
        let cache = CacheRunTests.newCache()
        for arguments in [["cache", "key", main], ["cache", "key", "--explain", main]] {
            let r = try Faults.ribbon(arguments, cache: cache, environment: Self.noBacktrace)
            #expect(r.status == 0, "\(arguments): \(r.stderr.prefix(500))")
            #expect(r.stdout.count >= 64, "\(arguments): the key")
        }
    }
}
