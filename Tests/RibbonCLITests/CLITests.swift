import ArgumentParser
import Foundation
import Testing

@testable import RibbonCLI

/// The command line as a user meets it: argument parsing through the library, and the built
/// `ribbon` binary for exit statuses and output streams.
@Suite struct CLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The `ribbon` built next to this test bundle (swift test builds every product).
    static var binary: URL? {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            here.appendingPathComponent("ribbon"),
            here.deletingLastPathComponent().appendingPathComponent("ribbon"),
            packageRoot.appendingPathComponent(".build/debug/ribbon"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    typealias Outcome = CacheRunTests.Outcome

    /// A cache directory of this test run's own, so tests never touch the user's cache.
    static let cacheDirectory: String = {
        let path = NSTemporaryDirectory() + "/ribbon-cli-tests-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }()

    /// Runs the built binary with `RIBBON_CACHE_DIR` set to this run's cache (unless
    /// `environment` sets it), as `CacheRunTests.Running` starts it.
    func ribbon(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        try CacheRunTests.Running(arguments, cache: Self.cacheDirectory, environment: environment).wait()
    }

    @Test func parsesEveryDocumentedRunFlag() throws {
        let command = try RibbonCommand.parseAsRoot([
            "run", "x.rib", "--jit", "eager", "--jit-threshold", "7", "--no-cache", "--cache-dir", "/tmp/c", "--stats",
        ])
        let run = try #require(command as? RunCommand)
        #expect(run.file == "x.rib")
        #expect(run.jit == .eager)
        #expect(run.jitThreshold == 7)
        #expect(run.noCache)
        #expect(run.cacheDir == "/tmp/c")
        #expect(run.stats)
    }

    @Test func rejectsBadArguments() {
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["run", "x.rib", "--jit", "fast"]) }
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["run", "x.rib", "--jit-threshold", "0"]) }
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["run"]) }
    }

    @Test func runsAProgramWithItsExitStatus() throws {
        let r = try ribbon(["run", "../shared/examples/globals.rib"])
        #expect(r.stdout == "true\ntrue\n19\n105\nno newline, then one\n")
        #expect(r.status == 3)
        #expect(r.stderr.isEmpty)
    }

    @Test func versionNamesTheBuildAndTheFormats() throws {
        let r = try ribbon(["--version"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("ribbon 0.") == true)
        #expect(lines.count == 3 && lines[1].hasPrefix("build-id "))
        #expect(lines.count == 3 && lines[2].hasPrefix("unit-image ") && lines[2].contains("; x86-64 jit "))
    }

    @Test func usageErrorIs64() throws {
        let r = try ribbon(["run", "examples/hello.rib", "--jit", "sideways"])
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
        // One error prefix for every error, usage errors included (ArgumentParser says `Error:`).
        #expect(r.stderr.hasPrefix("ribbon: error: The value 'sideways' is invalid for '--jit <jit>'"))
        let unknown = try ribbon(["cache", "ls", "--bogus"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.hasPrefix("ribbon: error: Unknown option '--bogus'\nUsage: ribbon cache ls"))
    }

    @Test func missingFileIs74WithOneLine() throws {
        let r = try ribbon(["run", "no/such/file.rib"])
        #expect(r.status == 74)
        #expect(r.stderr == "ribbon: error: cannot read no/such/file.rib: No such file or directory\n")
    }

    /// `/dev/zero` never ends and 80 KB of a binary used to print 272 MB of errors: a source
    /// has a size limit, and a file that is not UTF-8 is one error.
    @Test func hostileSourcesAreOneShortError() throws {
        let endless = try ribbon(["run", "/dev/zero", "--no-cache"])
        #expect(endless.status == 74)
        #expect(endless.stderr == "ribbon: error: cannot read /dev/zero: File too large\n")
        let binary = try ribbon(["run", "/bin/ls", "--no-cache"])
        #expect(binary.status == 1)
        #expect(binary.stderr.hasPrefix("/bin/ls:"))
        #expect(binary.stderr.components(separatedBy: "error: the file is not UTF-8 text (byte 0x").count == 2)
        #expect(binary.stderr.utf8.count < 1000)
        #expect(binary.stderr.hasSuffix("ribbon: 1 error in /bin/ls\n"))
    }

    @Test func compileErrorIs1WithCaretDiagnostics() throws {
        let r = try ribbon(["run", "../shared/examples/errors/type_error.rib"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("../shared/examples/errors/type_error.rib:6:") == true)
        #expect(lines.count >= 4 && lines[2].hasSuffix("^"))
        #expect(r.stderr.contains("type_error.rib:9:5: error:"))
    }

    @Test func runtimeErrorIs70AndKeepsEarlierOutput() throws {
        let r = try ribbon(["run", "../shared/examples/errors/div_zero.rib"])
        #expect(r.status == 70)
        #expect(r.stdout == "5\n")
        #expect(r.stderr.hasPrefix("runtime error: division by zero\n  at divide ("))
    }

    @Test func statsIsOneJSONLineOnStderr() throws {
        let r = try ribbon(["run", "--stats", "--no-cache", "examples/hello.rib"])
        #expect(r.status == 0)
        #expect(r.stdout == "hello, ribbon\n")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["unit"] as? String == "off")
        #expect(object["units_compiled"] as? Int == 1)
        #expect(object["functions_compiled"] as? Int == 1)
        for key in ["units_loaded", "jit_compiled", "jit_loaded"] { #expect(object[key] as? Int == 0) }
        let times = try #require(object["time_us"] as? [String: Int])
        #expect(Set(times.keys) == ["parse", "compile", "jit", "cache_load", "cache_store", "run"])
    }

    @Test func cacheDirFlagChoosesTheCache() throws {
        let directory = Self.cacheDirectory + "/flag-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cold = try ribbon(["run", "--jit", "eager", "--cache-dir", directory, "--stats", "examples/hello.rib"])
        #expect(cold.status == 0)
        #expect(cold.stdout == "hello, ribbon\n")
        #expect(cold.stderr.hasPrefix("{\"unit\":\"miss\""), "\(cold.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        let warm = try ribbon(["run", "--cache-dir", directory, "--stats", "examples/hello.rib"])
        #expect(warm.stdout == "hello, ribbon\n")
        #expect(warm.stderr.hasPrefix("{\"unit\":\"hit\",\"units_compiled\":0"), "\(warm.stderr)")
        let off = try ribbon(["run", "--no-cache", "--cache-dir", directory, "--stats", "examples/hello.rib"])
        #expect(off.stderr.hasPrefix("{\"unit\":\"off\""), "\(off.stderr)")
    }

    @Test func eagerJITReportsCompiledFunctions() throws {
        let r = try ribbon(["run", "--jit", "eager", "--stats", "--no-cache", "../shared/examples/fib.rib"])
        #expect(r.status == 0)
        #expect(r.stdout == "832040\n")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stderr.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(object["jit_compiled"] as? Int == 2)
    }

    /// C's output and ribbon's share one stdio buffer, so they stay in program order.
    @Test(arguments: ["off", "eager", "tier"])
    func foreignCallsGoThroughGlueInEveryMode(_ mode: String) throws {
        let r = try ribbon(["run", "--jit", mode, "--jit-threshold", "2", "../shared/examples/foreign.rib"])
        #expect(r.status == 0)
        #expect(r.stdout == "from C\n6\n7\n1024.0\n7.0\n")
        #expect(r.stderr.isEmpty)
    }

    @Test func disasmMachineShowsAssemblyThroughCapstone() throws {
        let r = try ribbon(["disasm", "--machine", "../shared/examples/fib.rib"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("fib:  ; machine code"))
        #expect(r.stdout.contains("push rbx"))
        #expect(r.stdout.contains("; AddressTable"))
        #expect(r.stdout.contains("ret"))
    }

    @Test func tierUpCompilesHotFunctionsDuringTheRun() throws {
        let r = try ribbon(["run", "--jit", "tier", "--jit-threshold", "100", "--stats", "--no-cache", "../shared/examples/fib.rib"])
        #expect(r.status == 0)
        #expect(r.stdout == "832040\n")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stderr.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(object["jit_compiled"] as? Int == 1)  // fib, not main (called once)
    }

    @Test func disasmShowsEveryFunction() throws {
        let r = try ribbon(["disasm", "../shared/examples/fib.rib"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("fib:"))
        #expect(r.stdout.contains("main:"))
        #expect(r.stdout.contains("call "))
        #expect(r.stdout.contains("print_i64 (builtin)"))
    }
}
