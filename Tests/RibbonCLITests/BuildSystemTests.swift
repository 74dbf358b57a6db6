import Foundation
import Testing

/// Documentation/BuildSystems.md's Makefile and build.ninja, run with the real `make` and
/// `ninja` on two programs: they warm the cache, do nothing the second time, and rebuild only
/// what an edit touches.
@Suite struct BuildSystemTests {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `tool arguments` in `directory` with `environment` added; nil if the tool is missing.
    func run(_ tool: String, _ arguments: [String], in directory: String, environment: [String: String]) throws -> Result? {
        guard let path = ["/usr/bin/", "/bin/", "/usr/local/bin/"].map({ $0 + tool })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }

    /// A project directory with main.rib and tool.rib, its cache, and one of the example files.
    func project(copying example: String) throws -> (directory: String, cache: String) {
        let directory = CacheRunTests.newCache()
        let cache = directory + "/cache"
        mkdir(cache, 0o700)
        for (name, value) in [("main", 7), ("tool", 9)] {
            try "twice := fun (x: I64) -> I64.\n    x * 2\nmain := fun () -> I64.\n    print (twice \(value))\n    0\n"
                .write(toFile: directory + "/\(name).rib", atomically: true, encoding: .utf8)
        }
        let source = CLITests.packageRoot.path + "/Documentation/build-systems/" + example
        try FileManager.default.copyItem(atPath: source, toPath: directory + "/" + example)
        return (directory, cache)
    }

    /// `ribbon run --stats` of a program of the project: its stats.
    func warmStats(_ program: String, in directory: String, cache: String) throws -> [String: Any] {
        let r = try CacheRunTests.Running(["run", "--stats", directory + "/" + program], cache: cache).wait()
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stats()
    }

    @Test func makeWarmsTheCacheAndRebuildsOnlyWhatChanged() throws {
        let (directory, cache) = try project(copying: "Makefile")
        let binary = try #require(CLITests.binary).path
        let env = ["RIBBON_CACHE_DIR": cache]
        guard let first = try run("make", ["RIBBON=\(binary)", "warm"], in: directory, environment: env) else {
            Issue.record("make is not installed (tools/setup installs it)")
            return
        }
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.components(separatedBy: " build --jit ").count - 1 == 2, "\(first.output)")
        for program in ["main.rib", "tool.rib"] {
            let stats = try warmStats(program, in: directory, cache: cache)
            #expect(stats["unit"] as? String == "hit", "\(program)")
            #expect(stats["jit_compiled"] as? Int == 0, "\(program)")
        }
        let depfile = try String(contentsOfFile: directory + "/.ribbon/main.stamp.d", encoding: .utf8)
        #expect(depfile == ".ribbon/main.stamp: main.rib\n")

        let second = try #require(try run("make", ["RIBBON=\(binary)", "warm"], in: directory, environment: env))
        #expect(second.status == 0)
        #expect(!second.output.contains("build --jit"), "\(second.output)")

        // An edit: only tool.rib is built again, and its new unit is warm.
        sleep(1)  // make compares modification times in whole seconds on some file systems
        try "main := fun () -> I64.\n    print 99\n    0\n".write(
            toFile: directory + "/tool.rib", atomically: true, encoding: .utf8)
        let third = try #require(try run("make", ["RIBBON=\(binary)", "warm"], in: directory, environment: env))
        #expect(third.status == 0, "\(third.output)")
        #expect(third.output.contains("build --jit --depfile .ribbon/tool.stamp.d tool.rib"), "\(third.output)")
        #expect(!third.output.contains("main.rib"), "\(third.output)")
        #expect(try warmStats("tool.rib", in: directory, cache: cache)["unit"] as? String == "hit")
    }

    @Test func ninjaReadsTheDepfileAndRebuildsOnlyWhatChanged() throws {
        let (directory, cache) = try project(copying: "build.ninja")
        let binary = try #require(CLITests.binary).path
        let env = ["RIBBON_CACHE_DIR": cache]
        // The example names `ribbon`; point it at the binary under test.
        let file = directory + "/build.ninja"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "ribbon = ribbon", with: "ribbon = \(binary)")
            .write(toFile: file, atomically: true, encoding: .utf8)
        mkdir(directory + "/.ribbon", 0o755)
        guard let first = try run("ninja", [], in: directory, environment: env) else {
            Issue.record("ninja is not installed (tools/setup installs ninja-build)")
            return
        }
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("RIBBON main.rib") && first.output.contains("RIBBON tool.rib"), "\(first.output)")
        #expect(try warmStats("main.rib", in: directory, cache: cache)["jit_compiled"] as? Int == 0)
        let deps = try #require(try run("ninja", ["-t", "deps"], in: directory, environment: env))
        #expect(deps.output.contains(".ribbon/main.stamp: #deps 1"), "\(deps.output)")

        let second = try #require(try run("ninja", [], in: directory, environment: env))
        #expect(second.output.contains("no work to do"), "\(second.output)")

        sleep(1)
        try "main := fun () -> I64.\n    print 5\n    0\n".write(
            toFile: directory + "/main.rib", atomically: true, encoding: .utf8)
        let third = try #require(try run("ninja", [], in: directory, environment: env))
        #expect(third.status == 0, "\(third.output)")
        #expect(third.output.contains("RIBBON main.rib") && !third.output.contains("RIBBON tool.rib"), "\(third.output)")
    }
}
