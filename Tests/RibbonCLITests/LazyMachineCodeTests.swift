import Foundation
import SQLiteSupport
import Testing

/// Machine code loads as lazily as bytecode (issue 12, item 3): a warm run after `build --jit`
/// reads, checks and installs the machine code of the functions it runs, not of every function
/// the build compiled — before, 5,000 functions made a warm run slower than no cache.
@Suite struct LazyMachineCodeTests {
    /// 300 functions, of which `main` calls two (and one of them a third), in a loop long
    /// enough that they would get hot.
    static let program: String = {
        var text = ""
        for i in 0..<300 { text += "f\(i) := fun (x: I64) -> I64.\n    x * \(i % 7 + 2) + \(i)\n" }
        text += "g := fun (x: I64) -> I64.\n    (f3 x) + (f5 x)\n"
        text += "main := fun () -> I64.\n    s := 0\n    i := 0\n    while i < 5000.\n"
        text += "        s = (s + g i + f7 i) % 1000003\n        i = i + 1\n    print s\n    0\n"
        return text
    }()

    @Test(arguments: ["tier", "eager", "off"])
    func aWarmRunAfterBuildJITLoadsTheMachineCodeOfWhatRuns(_ mode: String) throws {
        let cache = CacheRunTests.newCache()
        let path = try CacheRunTests.write(Self.program, named: "many.rib")
        let uncached = try CacheRunTests.Running(["run", "--no-cache", path], cache: cache).wait()
        #expect(uncached.status == 0)
        let built = try CacheRunTests.Running(["build", "--jit", path], cache: cache).wait()
        #expect(built.status == 0, "\(built.stderr)")
        let warm = try CacheRunTests.Running(["run", "--stats", "--jit", mode, path], cache: cache).wait()
        #expect(warm.stdout == uncached.stdout)
        let stats = try warm.stats()
        #expect(stats["unit"] as? String == "hit")
        #expect(stats["jit_compiled"] as? Int == 0)
        // main, g, f3, f5, f7 run; with `--jit eager` every function is placed and installed
        // (as it was compiled before `main`); the interpreter alone loads none.
        let expected = ["tier": 5, "eager": 302, "off": 0][mode]!
        #expect(stats["jit_loaded"] as? Int == expected, "\(warm.stderr)")
        #expect(!warm.stderr.contains("warning"), "\(warm.stderr)")
        guard mode == "tier" else { return }
        // The run listed what it loaded (`warm_code`): the next warm run reads the same blobs in
        // its lookup and installs them before `main`, in one mapping, and fetches none later.
        let db = try Faults.database(cache)
        let listed = try db.statement("SELECT length(function_ids) / 4 FROM warm_code")
        #expect(try listed.step() && listed.int64(0) == 5)
        listed.reset()
        let again = try CacheRunTests.Running(["run", "--stats", path], cache: cache).wait()
        #expect(again.stdout == uncached.stdout)
        let phases = try #require(try again.stats()["cache_phases_us"] as? [String: Any])
        #expect(try again.stats()["jit_loaded"] as? Int == 5)
        #expect(phases["install"] != nil && phases["machine_code_placed"] == nil, "\(phases)")
    }
}
