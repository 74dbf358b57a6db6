import Foundation
import Testing

/// The command line with a program of several files (examples/use): build and its depfile,
/// a warm run of every unit, `cache key --explain` with the keys of the used files.
@Suite struct UseCommandTests {
    func ribbon(_ arguments: [String], cache: String) throws -> CacheRunTests.Outcome {
        try CacheRunTests.Running(arguments, cache: cache).wait()
    }

    @Test func buildDepfileWarmRunAndKeys() throws {
        let cache = CacheRunTests.newCache()
        let depfile = cache + "/main.d"
        let built = try ribbon(["build", "--jit", "--json", "--depfile", depfile, "examples/use/main.rib"], cache: cache)
        #expect(built.status == 0, "\(built.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(built.stdout.utf8)) as? [String: Any])
        let file = try #require((object["files"] as? [[String: Any]])?.first)
        let files = ["examples/use/main.rib", "examples/use/lib/leaf.rib", "examples/use/lib/mid.rib"]
        #expect(file["files"] as? [String] == files)
        #expect(try String(contentsOfFile: depfile, encoding: .utf8) == cache + "/main: " + files.joined(separator: " ") + "\n")

        let run = try ribbon(["run", "--stats", "examples/use/main.rib"], cache: cache)
        #expect(run.stdout == (try String(contentsOfFile: CLITests.packageRoot.path + "/examples/use/main.out", encoding: .utf8)))
        let stats = try run.stats()
        #expect(stats["unit"] as? String == "hit")
        #expect(stats["units_loaded"] as? Int == 3)
        #expect(stats["units_compiled"] as? Int == 0)
        #expect(stats["jit_compiled"] as? Int == 0)
        // Machine code loads for the functions that run: all but one of the eight (`build --jit`
        // compiled every function of the three units).
        #expect(stats["jit_loaded"] as? Int == 7)

        let key = try ribbon(["cache", "key", "--explain", "examples/use/main.rib"], cache: cache)
        #expect(key.status == 0, "\(key.stderr)")
        #expect(key.stdout.contains("  dependency 0  "), "\(key.stdout)")
        #expect(key.stdout.contains("  dependency 1  "))
        #expect(key.stdout.contains("cached: yes"))
        #expect(file["key"] as? String == key.stdout.split(separator: "\n").first { $0.hasPrefix("key ") }?.split(separator: " ").last.map(String.init))
        let leaf = try ribbon(["cache", "key", "examples/use/lib/leaf.rib"], cache: cache)
        #expect(key.stdout.contains(leaf.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let listed = try ribbon(["cache", "ls"], cache: cache)
        for name in ["main.rib", "lib/leaf.rib", "lib/mid.rib"] { #expect(listed.stdout.contains("examples/use/" + name)) }
        let verify = try ribbon(["cache", "verify"], cache: cache)
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func disasmNamesWhatAFileImports() throws {
        let r = try ribbon(["disasm", "examples/use/main.rib"], cache: CacheRunTests.newCache())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("; lib/mid.rib:bump_twice (imported function)"))
        #expect(r.stdout.contains("; lib/leaf.rib:counter (imported global)"))
    }
}
