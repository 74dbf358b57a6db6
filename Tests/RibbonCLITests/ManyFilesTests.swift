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
            try text.write(toFile: directory + "/c\(k).rib", atomically: false, encoding: .utf8)
        }
        let main = "use \"c1.rib\"\nmain := fun () -> I64.\n    print g1\n    print (f1 5)\n    0\n"
        try main.write(toFile: directory + "/main.rib", atomically: false, encoding: .utf8)
        let fail = "use \"c1.rib\"\nmain := fun () -> I64.\n    print (e1 5)\n    0\n"
        try fail.write(toFile: directory + "/fail.rib", atomically: false, encoding: .utf8)
        return (directory + "/main.rib", "1\n\(5 + depth - 1)\n", directory + "/fail.rib")
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
