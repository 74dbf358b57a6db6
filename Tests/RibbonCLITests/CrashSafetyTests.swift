import Foundation
import SQLiteSupport
import Testing

/// Nothing crashes, nothing is lost (issue 6): `ribbon build --jit` and `ribbon run` killed with
/// SIGKILL at many points of their work leave a cache that `ribbon cache verify` passes, keep
/// every entry stored before byte for byte, and run every program right (warm after one more
/// build).
///
/// Kill points come two ways. By time: after a delay from 0 to a whole build's time in equal
/// steps (start-up, compiling, JIT, storing). By write: at one of the system calls through which
/// the process changes the cache's files (`Faults.writeCalls`: each WAL frame and database page
/// written, each sync, truncation and unlink), stopped by `strace` as the call starts. A process
/// can only die between two such calls, so these are all the states a kill can leave; the test
/// takes some evenly spread over the whole sequence (a store's writes take a millisecond or
/// two, which delays alone rarely hit). Without strace, writes are found by polling the bytes
/// the process has written (`/proc/PID/io`), less precisely.
///
/// `RIBBON_FAULT_KILL_POINTS` sets the number of build kill points (default 40); `all` kills at
/// every write call (`tools/crash-test`).
@Suite struct CrashSafetyTests {
    /// Build kill points: `(count, every write call)`.
    static var killPoints: (count: Int, everyCall: Bool) {
        let value = ProcessInfo.processInfo.environment["RIBBON_FAULT_KILL_POINTS"]
        if value == "all" { return (40, true) }
        return (value.flatMap(Int.init) ?? 40, false)
    }

    enum KillPoint: CustomStringConvertible {
        /// SIGKILL this many seconds after the start.
        case after(seconds: Double)
        /// Killed as it starts this call (strace).
        case at(Faults.Call)
        /// SIGKILL once it has written this many bytes (`/proc/PID/io`, when there is no strace).
        case afterWriting(bytes: Int)

        var description: String {
            switch self {
            case .after(let seconds): String(format: "after %.3f s", seconds)
            case .at(let call): "at \(call)"
            case .afterWriting(let bytes): "after \(bytes) bytes written"
            }
        }

        var isByTime: Bool { if case .after = self { true } else { false } }
    }

    /// How a killed process ended.
    enum Ending: String, CaseIterable {
        /// Killed before its store committed: the entry is not in the cache.
        case beforeCommit = "before the commit"
        /// Killed after the commit: in the checkpoint, the WAL's truncation, or on the way out.
        case afterCommit = "after the commit"
        /// It had exited by itself before the kill (a late delay).
        case finished = "finished first"
    }

    /// Tallies of endings, per kind of kill point, for the printed summary.
    struct Tally {
        var counts: [String: [Ending: Int]] = [:]

        mutating func add(_ point: KillPoint, _ ending: Ending) {
            counts[point.isByTime ? "by time" : "by write", default: [:]][ending, default: 0] += 1
        }

        func count(byTime: Bool, _ ending: Ending) -> Int { counts[byTime ? "by time" : "by write"]?[ending] ?? 0 }

        var summary: String {
            counts.sorted { $0.key < $1.key }.map { kind, endings in
                let total = endings.values.reduce(0, +)
                return "\(total) \(kind) (" + Ending.allCases.map { "\(endings[$0] ?? 0) \($0.rawValue)" }
                    .joined(separator: ", ") + ")"
            }.joined(separator: "; ")
        }
    }

    /// Seconds a whole run of `arguments` takes, and (with strace) its write calls in order.
    static func profile(_ arguments: [String], cache: String, forget path: String) throws -> (Double, [Faults.Call]) {
        let start = Faults.monotonicSeconds()
        let r = try Faults.ribbon(arguments, cache: cache)
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        let seconds = Faults.monotonicSeconds() - start
        try Faults.forget(path, cache: cache)
        guard Faults.strace != nil else { return (seconds, []) }
        let calls = try Faults.traceWrites(arguments, cache: cache)
        try Faults.forget(path, cache: cache)
        return (seconds, calls)
    }

    /// `count` kill points: two in five by time, over `seconds`; the rest by write, spread over
    /// `calls` (all of them with `everyCall`), or over about `bytes` written without strace.
    static func killPoints(count: Int, everyCall: Bool = false, seconds: Double, calls: [Faults.Call], bytes: Int)
        -> [KillPoint]
    {
        let timed = count * 2 / 5
        var points = (0..<timed).map { KillPoint.after(seconds: seconds * Double($0) / Double(max(timed - 1, 1))) }
        let written = count - timed
        if Faults.strace != nil {
            points += Faults.spread(calls, everyCall ? calls.count : written).map(KillPoint.at)
        } else {
            points += (0..<written).map { KillPoint.afterWriting(bytes: 1 + bytes * ($0 + 1) / written) }
        }
        return points
    }

    /// Runs `arguments` and kills it at `point`; returns how it ended (`path`: the program whose
    /// entry it stores).
    static func kill(_ arguments: [String], cache: String, at point: KillPoint, storing path: String) throws -> Ending {
        let killed: Bool
        let outcome: Faults.Outcome
        switch point {
        case .at(let call):
            let process = try Faults.wrapped(try Faults.inject(call, "signal=KILL"), arguments, cache: cache)
            outcome = process.wait()
            killed = process.wasKilled
        case .after(let seconds):
            let process = try Faults.Running(arguments, cache: cache)
            Faults.sleep(seconds)
            Glibc.kill(process.process.processIdentifier, SIGKILL)
            outcome = process.wait()
            killed = process.process.terminationReason == .uncaughtSignal
        case .afterWriting(let bytes):
            let process = try Faults.Running(arguments, cache: cache)
            let pid = process.process.processIdentifier
            // Without sleeping: a commit appends a few hundred KB to the WAL in about a millisecond.
            while let now = Faults.writtenBytes(pid), now < bytes, process.process.isRunning {}
            Glibc.kill(pid, SIGKILL)
            outcome = process.wait()
            killed = process.process.terminationReason == .uncaughtSignal
        }
        guard killed else {
            #expect(outcome.status == 0, "\(arguments) \(point): \(outcome.stderr)")
            #expect(Faults.warnings(outcome.stderr).isEmpty, "\(arguments) \(point): \(outcome.stderr)")
            return .finished
        }
        return try Faults.storedPaths(cache).contains(path) ? .afterCommit : .beforeCommit
    }

    @Test func killingBuildsAnywhereLeavesASoundCacheAndLosesNothing() throws {
        let directory = Faults.temporaryDirectory("crash-build")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let large = try (1...3).map { try Faults.largeProgram(functions: 300, seed: $0, in: directory) }
        let examples = try Faults.examples()
        // The entries nothing may take away.
        let built = try Faults.ribbon(["build", "--jit"] + examples.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Faults.rows(cache)

        // Each large program built whole into this cache (then forgotten again, as eviction
        // would), for its time and its write calls.
        var schedule: [(program: Faults.Program, point: KillPoint)] = []
        let (count, everyCall) = Self.killPoints
        for (index, program) in large.enumerated() {
            let (seconds, calls) = try Self.profile(["build", "--jit", program.path], cache: cache, forget: program.path)
            let share = count / large.count + (index < count % large.count ? 1 : 0)
            schedule += Self.killPoints(count: share, everyCall: everyCall, seconds: seconds, calls: calls, bytes: 1_200_000)
                .map { (program, $0) }
        }

        var tally = Tally()
        for (program, point) in schedule {
            if try Faults.storedPaths(cache).contains(program.path) { try Faults.forget(program.path, cache: cache) }
            let ending = try Self.kill(["build", "--jit", program.path], cache: cache, at: point, storing: program.path)
            tally.add(point, ending)
            try Faults.expectSound(cache, "build killed \(point): \(ending.rawValue)")
            // What was stored before is still there, byte for byte.
            let now = try Faults.rows(cache)
            #expect(before.allSatisfy { now[$0.key] == $0.value }, "build killed \(point): an earlier entry changed")
        }
        print("crash safety, build --jit of 3 programs of 300 functions: \(schedule.count) kill points: \(tally.summary)")
        #expect(tally.count(byTime: false, .beforeCommit) >= 1 && tally.count(byTime: false, .afterCommit) >= 1)

        for program in examples { try Faults.expectWarm(program, cache: cache) }
        for program in large {
            let r = try Faults.ribbon(["run", program.path], cache: cache)
            #expect(r.stdout == program.stdout && r.status == program.status, "\(program.path): \(r.stderr)")
            #expect(Faults.warnings(r.stderr).isEmpty, "\(r.stderr)")
            let build = try Faults.ribbon(["build", "--jit", program.path], cache: cache)
            #expect(build.status == 0 && build.stderr.isEmpty, "\(build.stderr)")
            try Faults.expectWarm(program, cache: cache)
        }
        try Faults.expectSound(cache, "at the end")
    }

    /// The very first build into an empty directory creates the database (schema, then WAL
    /// mode, through a rollback journal) as well as storing: killed anywhere in that, the next
    /// run still works and stores.
    @Test func killingTheFirstBuildOfACacheLeavesAUsableOne() throws {
        let directory = Faults.temporaryDirectory("crash-first")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hello = try Faults.program("examples/hello.rib")
        let arguments = ["build", "--jit", hello.path]
        let start = Faults.monotonicSeconds()
        _ = try Faults.ribbon(arguments, cache: directory + "/profile")
        let seconds = Faults.monotonicSeconds() - start
        let calls = Faults.strace == nil ? [] : try Faults.traceWrites(arguments, cache: directory + "/trace")
        let (count, everyCall) = Self.killPoints
        let points = Self.killPoints(
            count: max(count / 4, 10), everyCall: everyCall, seconds: seconds, calls: calls, bytes: 300_000)
        var tally = Tally()
        for (index, point) in points.enumerated() {
            let cache = directory + "/cache-\(index)"
            let ending = try Self.kill(
                arguments, cache: cache, at: point, storing: CLITests.packageRoot.path + "/" + hello.path)
            tally.add(point, ending)
            try Faults.expectSound(cache, "first build killed \(point): \(ending.rawValue)")
            let run = try Faults.ribbon(["run", hello.path], cache: cache)
            #expect(run.stdout == hello.stdout && run.status == 0, "\(run.stderr)")
            #expect(Faults.warnings(run.stderr).isEmpty, "first build killed \(point): \(run.stderr)")
            try Faults.expectWarm(hello, cache: cache)
            try? FileManager.default.removeItem(atPath: cache)
        }
        print("crash safety, first build into an empty cache: \(points.count) kill points: \(tally.summary)")
    }

    /// `ribbon run` stores at its end, after the program's output: killed there, the output is
    /// complete, and the cache is sound and takes the next run's store.
    @Test func killingRunsDuringTheirStoreLeavesASoundCache() throws {
        let directory = Faults.temporaryDirectory("crash-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let program = try Faults.largeProgram(functions: 300, seed: 11, in: directory)
        let examples = try Faults.examples()
        let built = try Faults.ribbon(["build", "--jit"] + examples.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Faults.rows(cache)
        let arguments = ["run", "--jit", "eager", program.path]
        let (seconds, calls) = try Self.profile(arguments, cache: cache, forget: program.path)
        let (count, everyCall) = Self.killPoints
        // By write only (the store is the end of a run), but one by time at the very end.
        var points = Self.killPoints(
            count: max(count / 3, 12), everyCall: everyCall, seconds: seconds, calls: calls, bytes: 1_200_000
        ).filter { !$0.isByTime }
        points.append(.after(seconds: seconds * 0.95))

        var tally = Tally()
        for point in points {
            if try Faults.storedPaths(cache).contains(program.path) { try Faults.forget(program.path, cache: cache) }
            let ending = try Self.kill(arguments, cache: cache, at: point, storing: program.path)
            tally.add(point, ending)
            try Faults.expectSound(cache, "run killed \(point): \(ending.rawValue)")
            let now = try Faults.rows(cache)
            #expect(before.allSatisfy { now[$0.key] == $0.value }, "run killed \(point): an earlier entry changed")
        }
        print("crash safety, run --jit eager of 300 functions: \(points.count) kill points: \(tally.summary)")
        #expect(tally.count(byTime: false, .beforeCommit) >= 1 && tally.count(byTime: false, .afterCommit) >= 1)
        for example in examples { try Faults.expectWarm(example, cache: cache) }
        let cold = try Faults.ribbon(["run", "--jit", "eager", program.path], cache: cache)
        #expect(cold.stdout == program.stdout && cold.status == program.status, "\(cold.stderr)")
        #expect(Faults.warnings(cold.stderr).isEmpty, "\(cold.stderr)")
        try Faults.expectWarm(program, cache: cache)
    }
}
