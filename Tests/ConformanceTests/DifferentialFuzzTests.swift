import Foundation
import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Differential fuzzing: random well-typed programs from `tools/fuzz/gen_program.py` must give
/// the same standard output, exit status and error text whether they run in the interpreter,
/// fully JIT-compiled, or switching engines after two calls. `tools/fuzz/differential.sh`
/// runs as many as you like through the built binary; this suite runs a fixed few hundred.
///
/// `RIBBON_FUZZ_SEED` and `RIBBON_FUZZ_COUNT` override the first seed and the number of programs.
@Suite struct DifferentialFuzzTests {
    static let modes: [(name: String, mode: JITMode, threshold: Int?)] = [
        ("--jit off", .off, nil), ("--jit eager", .eager, nil), ("--jit tier --jit-threshold 2", .tier, 2),
    ]

    static var firstSeed: Int { ProcessInfo.processInfo.environment["RIBBON_FUZZ_SEED"].flatMap { Int($0) } ?? 1 }
    static var count: Int { ProcessInfo.processInfo.environment["RIBBON_FUZZ_COUNT"].flatMap { Int($0) } ?? 300 }

    @Test func randomProgramsAgreeAcrossEngines() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ribbon-fuzz-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try generate(from: Self.firstSeed, count: Self.count, into: directory)

        var clean = 0
        for seed in Self.firstSeed..<(Self.firstSeed + Self.count) {
            let path = directory.appendingPathComponent("fuzz_\(seed).rib").path
            let reports = Self.modes.map { mode -> Driver.ExecutionReport in
                var options = RunOptions()
                options.jit = mode.mode
                options.jitThreshold = mode.threshold
                options.useCache = false
                return Driver.execute(path: path, options: options, output: .buffer)
            }
            let reference = reports[0]
            var agree = true
            if reference.status == ExitStatus.compileError {
                Issue.record("seed \(seed): the generated program does not compile (generator bug; \(Self.reproduce(seed))):\n\(reference.standardError)")
                continue
            }
            for (mode, report) in zip(Self.modes.dropFirst(), reports.dropFirst()) {
                let context = "seed \(seed), \(mode.name) vs --jit off (\(Self.reproduce(seed)))"
                if report.status != reference.status {
                    Issue.record("\(context): exit status \(report.status), expected \(reference.status)")
                    agree = false
                }
                if report.standardOutput != reference.standardOutput {
                    Issue.record("\(context): stdout \(Self.firstDifference(report.standardOutput, reference.standardOutput))")
                    agree = false
                }
                if report.standardError != reference.standardError {
                    Issue.record("\(context): stderr \(Self.firstDifference(Array(report.standardError.utf8), Array(reference.standardError.utf8)))")
                    agree = false
                }
            }
            if agree { clean += 1 }
        }
        #expect(clean == Self.count, "\(clean) of \(Self.count) programs ran clean")
    }

    static func reproduce(_ seed: Int) -> String {
        "tools/fuzz/gen_program.py \(seed) > p.rib; ribbon run p.rib --jit off|eager|tier --jit-threshold 2"
    }

    /// Writes programs `fuzz_SEED.rib` for `count` seeds with one generator run.
    func generate(from seed: Int, count: Int, into directory: URL) throws {
        let script = ExampleFile.packageRoot.appendingPathComponent("tools/fuzz/gen_program.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "\(seed)", "--count", "\(count)", "--out", directory.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "gen_program.py failed with status \(process.terminationStatus)")
    }

    /// "line N: got `…`, expected `…`" for the first line where two outputs differ.
    static func firstDifference(_ got: [UInt8], _ expected: [UInt8]) -> String {
        let a = got.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let b = expected.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(decoding: a[i], as: UTF8.self) : "<end>"
            let y = i < b.count ? String(decoding: b[i], as: UTF8.self) : "<end>"
            if x != y { return "line \(i + 1): got `\(x)`, expected `\(y)`" }
        }
        return "differs"
    }
}
