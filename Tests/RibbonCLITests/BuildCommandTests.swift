import Foundation
import SQLiteSupport
import Testing

/// `ribbon build` as a build system calls it: pre-warming, checking, depfiles, determinism and
/// many builds at once on one cache.
@Suite struct BuildCommandTests {
    typealias Running = CacheRunTests.Running

    func ribbon(_ arguments: [String], cache: String) throws -> CacheRunTests.Outcome {
        try Running(arguments, cache: cache).wait()
    }

    static let programs = [
        "../shared/examples/fib.rib", "../shared/examples/sieve.rib", "../shared/examples/floats.rib",
        "../shared/examples/globals.rib", "examples/hello.rib", "examples/builtins.rib",
        "examples/arrays.rib", "../shared/examples/foreign.rib",
    ]

    /// The stored rows of a cache: every unit image and blob, as stored.
    static func rows(_ cache: String) throws -> [String: [UInt8]] { try Faults.rows(cache) }

    @Test func buildWithJITMakesTheFirstRunWarm() throws {
        let cache = CacheRunTests.newCache()
        let built = try ribbon(["build", "--jit", "../shared/examples/fib.rib"], cache: cache)
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stdout.isEmpty && built.stderr.isEmpty)  // nothing extra when piped
        let run = try ribbon(["run", "--stats", "../shared/examples/fib.rib"], cache: cache)
        #expect(run.stdout == "832040\n")
        let stats = try run.stats()
        #expect(stats["unit"] as? String == "hit")
        #expect(stats["functions_compiled"] as? Int == 0)
        #expect(stats["jit_compiled"] as? Int == 0)
        #expect(stats["jit_loaded"] as? Int == 2)  // fib and main: every function
        // A second build has nothing to do.
        let again = try ribbon(["build", "--jit", "--json", "../shared/examples/fib.rib"], cache: cache)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        let files = try #require(object["files"] as? [[String: Any]])
        #expect(files.first?["outcome"] as? String == "cached")
        #expect(files.first?["jit_compiled"] as? Int == 0)
    }

    @Test func checkOnlyDiagnosesAndStoresNothing() throws {
        let cache = CacheRunTests.newCache()
        let good = try ribbon(["build", "--check", "examples/hello.rib"], cache: cache)
        #expect(good.status == 0)
        #expect(!FileManager.default.fileExists(atPath: cache + "/cache.sqlite"))
        let bad = try ribbon(["build", "--check", "examples/hello.rib", "../shared/examples/errors/type_error.rib"], cache: cache)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("type_error.rib:6:12: error:"))
        #expect(bad.stderr.hasSuffix("ribbon: 2 errors in ../shared/examples/errors/type_error.rib\n"))
        let missing = try ribbon(["build", "no/such.rib"], cache: cache)
        #expect(missing.status == 74)
        #expect(missing.stderr.hasPrefix("ribbon: error: cannot read no/such.rib"))
    }

    @Test func jsonAndDepfileDescribeTheBuild() throws {
        let cache = CacheRunTests.newCache()
        let depfile = cache + "/warm.stamp.d"
        let r = try ribbon(
            ["build", "--json", "--depfile", depfile, "examples/hello.rib", "../shared/examples/fib.rib"], cache: cache)
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? Int == 0)
        let files = try #require(object["files"] as? [[String: Any]])
        #expect(files.map { $0["path"] as? String } == ["examples/hello.rib", "../shared/examples/fib.rib"])
        #expect(files.allSatisfy { ($0["key"] as? String)?.count == 64 && $0["outcome"] as? String == "compiled" })
        let key = try ribbon(["cache", "key", "examples/hello.rib"], cache: cache)
        #expect(key.stdout == (files[0]["key"] as? String ?? "") + "\n")
        let text = try String(contentsOfFile: depfile, encoding: .utf8)
        #expect(text == cache + "/warm.stamp: examples/hello.rib ../shared/examples/fib.rib\n")
    }

    @Test func theSameInputGivesTheSameKeysAndBytes() throws {
        let first = CacheRunTests.newCache()
        let second = CacheRunTests.newCache()
        for cache in [first, second] {
            let r = try ribbon(["build", "--jit"] + Self.programs, cache: cache)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try Self.rows(first)
        let b = try Self.rows(second)
        #expect(a.count >= Self.programs.count * 2)
        #expect(a == b)
    }

    @Test func eightParallelBuildsShareOneCache() throws {
        let cache = CacheRunTests.newCache()
        let builds = try Self.programs.map { try Running(["build", "--jit", $0], cache: cache) }
        for (program, build) in zip(Self.programs, builds) {
            let r = build.wait()
            #expect(r.status == 0, "\(program): \(r.stderr)")
            #expect(r.stderr.isEmpty, "\(program): \(r.stderr)")
        }
        let verify = try ribbon(["cache", "verify"], cache: cache)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        for program in Self.programs {
            let run = try ribbon(["run", "--stats", program], cache: cache)
            let stats = try run.stats()
            #expect(stats["unit"] as? String == "hit", "\(program)")
            #expect(stats["jit_compiled"] as? Int == 0, "\(program)")
        }
        // And with --jobs, in one process: the same cache, already warm, then a fresh one.
        let fresh = CacheRunTests.newCache()
        let jobs = try ribbon(["build", "--jit", "--jobs", "4", "--json"] + Self.programs, cache: fresh)
        #expect(jobs.status == 0, "\(jobs.stderr)")
        #expect(try Self.rows(fresh) == (try Self.rows(cache)))
    }
}
