import Foundation
import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Differential tests over programs of several files: the same output, exit status and error
/// text whichever engine runs each function and whether units come from the cache or not.
@Suite struct MultiFileDifferentialTests {
    static let modes: [(name: String, mode: JITMode, threshold: Int?)] = [
        ("--jit off", .off, nil), ("--jit eager", .eager, nil), ("--jit tier --jit-threshold 2", .tier, 2),
    ]

    static func execute(_ path: String, _ mode: JITMode, _ threshold: Int?, cache: String?) -> Driver.ExecutionReport {
        var options = RunOptions()
        options.jit = mode
        options.jitThreshold = threshold
        options.useCache = cache != nil
        options.cacheDirectory = cache
        return Driver.execute(path: path, options: options, output: .buffer)
    }

    /// examples/use: interpreter against JIT, uncached against a cold and a warm cache.
    @Test(arguments: ["main.rib", "runtime_error.rib"])
    func theUseExampleAgreesEverywhere(_ name: String) throws {
        let path = ExampleFile.packageRoot.appendingPathComponent("examples/use/" + name).path
        let reference = Self.execute(path, .off, nil, cache: nil)
        for mode in Self.modes {
            let cache = try TemporaryDirectory()
            for run in ["uncached", "cold", "warm", "warm again"] {
                let report = Self.execute(path, mode.mode, mode.threshold, cache: run == "uncached" ? nil : cache.path)
                let context = "\(name), \(mode.name), \(run)"
                #expect(report.status == reference.status, "\(context)")
                #expect(report.standardOutput == reference.standardOutput, "\(context)")
                #expect(report.standardError == reference.standardError, "\(context)")
            }
        }
    }

    /// Random programs from `tools/fuzz/gen_program.py`, each split in two files (everything
    /// but `main` moves to `lib.rib`, which `main.rib` uses), give what the single file gives:
    /// the same output and status in every engine mode, cold and warm, and the same error
    /// message (backtraces differ only in file names and lines).
    ///
    /// `RIBBON_FUZZ_SEED` and `RIBBON_SPLIT_FUZZ_COUNT` override the first seed and the count.
    @Test func splitRandomProgramsAgreeWithTheWholeOnes() throws {
        let environment = ProcessInfo.processInfo.environment
        let firstSeed = environment["RIBBON_FUZZ_SEED"].flatMap { Int($0) } ?? 1
        let count = environment["RIBBON_SPLIT_FUZZ_COUNT"].flatMap { Int($0) } ?? 40
        let directory = try TemporaryDirectory()
        try DifferentialFuzzTests().generate(from: firstSeed, count: count, into: URL(fileURLWithPath: directory.path))
        var clean = 0
        for seed in firstSeed..<(firstSeed + count) {
            let whole = directory.path + "/fuzz_\(seed).rib"
            let split = directory.path + "/split_\(seed)"
            try FileManager.default.createDirectory(atPath: split, withIntermediateDirectories: true)
            let (main, lib) = Self.split(try String(contentsOfFile: whole, encoding: .utf8))
            try main.write(toFile: split + "/main.rib", atomically: false, encoding: .utf8)
            try lib.write(toFile: split + "/lib.rib", atomically: false, encoding: .utf8)

            let reference = Self.execute(whole, .off, nil, cache: nil)
            guard reference.status != ExitStatus.compileError else { continue }
            let cache = try TemporaryDirectory()
            var agree = true
            for mode in Self.modes {
                for run in ["uncached", "cold", "warm"] {
                    let report = Self.execute(
                        split + "/main.rib", mode.mode, mode.threshold, cache: run == "uncached" ? nil : cache.path)
                    let context = "seed \(seed), \(mode.name), \(run), split in two files"
                    let message = { (text: String) in text.split(separator: "\n").first.map(String.init) ?? "" }
                    if report.status != reference.status || report.standardOutput != reference.standardOutput
                        || message(report.standardError) != message(reference.standardError)
                    {
                        Issue.record(
                            "\(context): status \(report.status) vs \(reference.status); stderr \(report.standardError) vs \(reference.standardError)"
                        )
                        agree = false
                    }
                }
            }
            if agree { clean += 1 }
        }
        #expect(clean > count / 2, "\(clean) of \(count) programs compared")
    }

    /// (main.rib, lib.rib): every top-level declaration but `main` goes to lib.rib.
    static func split(_ source: String) -> (main: String, lib: String) {
        var main = "use \"lib.rib\"\n"
        var lib = ""
        var inMain = false
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first != " ", !line.hasPrefix(";;") {
                inMain = line.hasPrefix("main :=")
            }
            if inMain { main += line + "\n" } else { lib += line + "\n" }
        }
        return (main, lib)
    }
}
