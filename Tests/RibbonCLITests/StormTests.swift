import Foundation
import Testing

/// `tools/storm` at a small scale (issue 12): many `ribbon` processes on one cache — runs in
/// every JIT mode under several spellings of each path, builds, `gc`, `clear`, `verify`,
/// `stats`, `ls` — with every run's output and exit status checked. The long storm (24
/// processes for minutes) is the same script run by hand (Documentation/Reliability.md).
@Suite struct StormTests {
    /// What one storm reported: the summary object `tools/storm --json` writes.
    struct Report {
        var summary: [String: Any]
        var output: String
        var status: Int32

        func count(_ key: String) -> Int { summary[key] as? Int ?? -1 }
    }

    /// Runs `tools/storm` with `arguments` (after `--bin BINARY --json FILE --quiet`).
    static func storm(_ arguments: [String], binary: String? = nil) throws -> Report {
        let ribbon = try binary ?? #require(CLITests.binary, "build the ribbon product first").path
        let directory = Faults.temporaryDirectory("storm-test")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let json = directory + "/summary.json"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLITests.packageRoot.path + "/tools/storm", "--bin", ribbon, "--json", json,
            "--quiet"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let data = try #require(FileManager.default.contents(atPath: json), "no summary; tools/storm said:\n\(output)")
        let summary = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return Report(summary: summary, output: output, status: process.terminationStatus)
    }

    /// Four processes for 8 seconds on the built binary, source edits racing runs and torn,
    /// huge and garbage records appended to `hits.log` (issue 12, items 1 and 2): no run may
    /// print anything but its program's output and status, no process may crash or hang, and
    /// the cache must verify afterwards. Lock failures and warnings are counted, not failures
    /// here (the summary in the test log shows them).
    @Test func aSmallStormChangesNoResultAndCrashesNothing() throws {
        let r = try Self.storm([
            "--procs", "4", "--seconds", "8", "--seed", "12", "--edits", "mixed", "--damage-hits-log",
            "--damage-interval", "1", "--large-functions", "400", "--slow-functions", "120",
        ])
        // The counts first (short messages), then the whole report once.
        #expect(r.count("runs") >= 40, "the storm ran too little to mean anything")
        #expect(r.count("commands") >= 4)
        #expect(r.count("hits_log_damages") >= 2)
        #expect(r.count("wrong") == 0)
        #expect(r.count("crashes") == 0)
        #expect(r.count("hangs") == 0)
        #expect(r.count("final_verify") == 0)
        #expect(r.count("storm_errors") == 0)
        #expect(r.status == 0 && r.output.contains("storm: result=PASS"), "\(r.output)")
    }

    /// The storm's checks themselves: behind a wrapper that adds a line to the output of every
    /// cached run and kills runs of `hello.rib` with SIGSEGV (uncached runs, the references,
    /// are left alone), the storm must count wrong outputs and crashes and fail.
    @Test func theStormCountsWrongOutputsAndCrashes() throws {
        let ribbon = try #require(CLITests.binary, "build the ribbon product first").path
        let directory = Faults.temporaryDirectory("storm-liar")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let wrapper = directory + "/ribbon"
        try """
            #!/bin/sh
            case " $* " in
            *" --no-cache "*) exec '\(ribbon)' "$@" ;;
            " run "*hello.rib" ") kill -SEGV $$ ;;
            " run "*) '\(ribbon)' "$@"; status=$?; echo "one line too many"; exit $status ;;
            esac
            exec '\(ribbon)' "$@"

            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
        let r = try Self.storm(
            ["--procs", "2", "--seconds", "2", "--seed", "3", "--large-functions", "50", "--slow-functions", "20"],
            binary: wrapper)
        #expect(r.count("wrong") > 0)
        #expect(r.count("crashes") > 0)
        #expect(r.status == 1 && r.output.contains("storm: result=FAIL"), "\(r.output)")
    }
}
