import Foundation
import SQLiteSupport
import Testing

/// What the fault tests (crashes, a full disk, lock contention, untrusted files) share: programs
/// with known output, the cache's rows, and the built binary started in ways `Running` does not.
enum Faults {
    typealias Outcome = CacheRunTests.Outcome
    typealias Running = CacheRunTests.Running

    /// A program and what it prints and returns, from a `--no-cache` run.
    struct Program {
        var path: String
        var stdout: String
        var status: Int32
    }

    static func ribbon(_ arguments: [String], cache: String, environment: [String: String] = [:]) throws -> Outcome {
        try Running(arguments, cache: cache, environment: environment).wait()
    }

    /// The built binary started through another program (`strace …`, `bash -c …`): `prefix`,
    /// then the binary's path, then `arguments`; otherwise as `Running` starts it.
    static func wrapped(
        _ prefix: [String], _ arguments: [String], cache: String, environment: [String: String] = [:]
    ) throws -> Running {
        try Running(arguments, cache: cache, environment: environment, prefix: prefix)
    }

    /// The system calls through which SQLite (and the hit log) change the cache's files: every
    /// point at which a process can die leaving the files in a different state lies between two
    /// of them.
    static let writeCalls = ["pwrite64", "fdatasync", "fsync", "ftruncate", "unlink", "rename"]

    /// `strace`, when it is installed and may trace here (ptrace can be forbidden in containers):
    /// it stops a process exactly at its Nth call of a system call (`-e inject=…:when=N`), with
    /// a signal or a failure.
    static let strace: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { return nil }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        probe.arguments = ["-qq", "-o", "/dev/null", "-e", "trace=none", "/bin/true"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return nil }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? "/usr/bin/strace" : nil
    }()

    /// One system call of a run, by name and its number among calls of that name (from 1).
    struct Call: Hashable, CustomStringConvertible {
        var name: String
        var number: Int
        var description: String { "\(name) #\(number)" }
    }

    /// The write calls (`writeCalls`) `arguments` makes, in order, traced with strace through
    /// to the end (the main thread only: every cache write happens there).
    static func traceWrites(_ arguments: [String], cache: String) throws -> [Call] {
        let strace = try #require(strace)
        let log = temporaryDirectory("strace") + "/trace"
        defer { try? FileManager.default.removeItem(atPath: (log as NSString).deletingLastPathComponent) }
        let r = try wrapped(
            [strace, "-qq", "-o", log, "-e", "trace=" + writeCalls.joined(separator: ",")], arguments, cache: cache
        ).wait()
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        var counts: [String: Int] = [:]
        var calls: [Call] = []
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            guard let name = line.split(separator: "(").first.map(String.init), writeCalls.contains(name) else { continue }
            counts[name, default: 0] += 1
            calls.append(Call(name: name, number: counts[name]!))
        }
        return calls
    }

    /// `strace` arguments that make `call` do `what` (`signal=KILL`, `error=ENOSPC`) instead of
    /// running; `onward` does it to every later call of that name too.
    static func inject(_ call: Call, _ what: String, onward: Bool = false) throws -> [String] {
        let strace = try #require(strace)
        return [strace, "-qq", "-o", "/dev/null", "-e", "trace=\(call.name)",
            "-e", "inject=\(call.name):\(what):when=\(call.number)\(onward ? "+" : "")"]
    }

    /// `count` entries of `all`, spread evenly from the first to the last (all of them when
    /// `count` is at least as many).
    static func spread<T>(_ all: [T], _ count: Int) -> [T] {
        guard count < all.count, count > 1 else { return count >= all.count ? all : Array(all.prefix(count)) }
        return (0..<count).map { all[$0 * (all.count - 1) / (count - 1)] }
    }

    /// `tools/gen_large_program.py --functions N --seed S` written into `directory`, with its
    /// output. Large enough that storing it takes measurable time (300 functions: a 170 KB unit
    /// image and 300 machine-code blobs, about 400 KB as stored).
    static func largeProgram(functions: Int, seed: Int, in directory: String) throws -> Program {
        let path = directory + "/large-\(functions)-\(seed).rib"
        let generator = Process()
        generator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        generator.arguments = [
            "python3", CLITests.packageRoot.path + "/tools/gen_large_program.py", "--functions", "\(functions)",
            "--seed", "\(seed)", "-o", path,
        ]
        try generator.run()
        generator.waitUntilExit()
        try #require(generator.terminationStatus == 0, "tools/gen_large_program.py failed")
        return try program(path)
    }

    /// `path` (absolute, or relative to the package) with the output of a run without the cache.
    static func program(_ path: String) throws -> Program {
        let r = try ribbon(["run", "--no-cache", path], cache: "/nonexistent")
        try #require(r.stderr.isEmpty, "\(path): \(r.stderr)")
        return Program(path: path, stdout: r.stdout, status: r.status)
    }

    /// The programs of `../shared/examples` that the fault tests keep in a cache as the entries
    /// nothing may take away.
    static func examples() throws -> [Program] {
        try ["../shared/examples/fib.rib", "../shared/examples/sieve.rib", "examples/hello.rib"].map(program)
    }

    /// The `ribbon: warning: cache: …` lines of a run's standard error.
    static func warnings(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.hasPrefix("ribbon: warning: cache:") }
    }

    /// A connection to a cache's database that leaves its files as `ribbon` does: closing the
    /// last connection neither checkpoints nor deletes the WAL and the `-shm` index (a process
    /// must create a missing 32 KiB index before it can read, which a full disk refuses).
    static func database(_ cache: String) throws -> Database {
        try Database(path: cache + "/cache.sqlite", checkpointOnClose: false)
    }

    /// Every stored row of a cache: unit images and blobs, as stored.
    static func rows(_ cache: String) throws -> [String: [UInt8]] {
        let db = try database(cache)
        var rows: [String: [UInt8]] = [:]
        let units = try db.statement("SELECT hex(key), image FROM units")
        while try units.step() { rows["unit " + units.text(0)] = units.blob(1) }
        let code = try db.statement("SELECT hex(unit_key), function_id, features, blob FROM machine_code")
        while try code.step() {
            rows["code \(code.text(0)) \(code.int64(1)) \(code.text(2))"] = code.blob(3)
        }
        return rows
    }

    /// The source paths of the units a cache holds.
    static func storedPaths(_ cache: String) throws -> Set<String> {
        // No database (yet): opening one here would create it.
        guard FileManager.default.fileExists(atPath: cache + "/cache.sqlite") else { return [] }
        let db = try database(cache)
        let tables = try db.statement("SELECT 1 FROM sqlite_master WHERE name = 'units'")
        guard try tables.step() else { return [] }  // killed before the schema was made
        tables.reset()
        let q = try db.statement("SELECT source_path FROM units")
        var paths = Set<String>()
        while try q.step() { paths.insert(q.text(0)) }
        return paths
    }

    /// Deletes a program's unit and machine code, as eviction would (so that the next build of
    /// it writes again), and empties the WAL.
    static func forget(_ path: String, cache: String) throws {
        let db = try database(cache)
        try db.transaction {
            let code = try db.statement(
                "DELETE FROM machine_code WHERE unit_key IN (SELECT key FROM units WHERE source_path = ?1)")
            try code.bind(path, at: 1)
            try code.run()
            let unit = try db.statement("DELETE FROM units WHERE source_path = ?1")
            try unit.bind(path, at: 1)
            try unit.run()
        }
        try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// `ribbon cache verify` passes: every row hashes, decompresses, decodes and relocates, and
    /// `PRAGMA quick_check` is clean.
    static func expectSound(_ cache: String, _ context: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let verify = try ribbon(["cache", "verify"], cache: cache)
        #expect(verify.status == 0, "\(context()): \(verify.stdout)\(verify.stderr)", sourceLocation: sourceLocation)
    }

    /// Runs a program and checks its output, status and that the run was warm: the unit and
    /// every function's machine code came from the cache, nothing was compiled, no warning.
    static func expectWarm(_ program: Program, cache: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try ribbon(["run", "--stats", program.path], cache: cache)
        #expect(r.stdout == program.stdout, "\(program.path)", sourceLocation: sourceLocation)
        #expect(r.status == program.status, "\(program.path): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(warnings(r.stderr).isEmpty, "\(program.path): \(r.stderr)", sourceLocation: sourceLocation)
        let stats = try r.stats()
        #expect(stats["unit"] as? String == "hit", "\(program.path)", sourceLocation: sourceLocation)
        #expect(stats["functions_compiled"] as? Int == 0, "\(program.path)", sourceLocation: sourceLocation)
        #expect(stats["jit_compiled"] as? Int == 0, "\(program.path)", sourceLocation: sourceLocation)
    }

    /// Bytes the process has handed to `write`-like calls so far (`wchar` of `/proc/PID/io`):
    /// how far a build has got with its writes. Nil once the process has gone.
    static func writtenBytes(_ pid: pid_t) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("wchar:") })
        else { return nil }
        return Int(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Sleeps `seconds` (fractions included).
    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var left = timespec()
        while nanosleep(&ts, &left) != 0, errno == EINTR { ts = left }
    }

    /// A test's own directory under the system's temporary directory (mode 0700).
    static func temporaryDirectory(_ name: String) -> String {
        var template = Array("/tmp/ribbon-\(name)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
}
