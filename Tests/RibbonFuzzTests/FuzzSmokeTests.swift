#if canImport(Glibc)
import Glibc
#endif
import RibbonFuzz
import Testing

/// A short run of each fuzz target with the deterministic harness and a fixed seed: the same
/// inputs every time, a few seconds in all. `tools/fuzz/run.sh TARGET --time S` runs the same
/// targets under libFuzzer for as long as wanted.
@Suite struct FuzzSmokeTests {
    static let root: String = {
        // Tests/RibbonFuzzTests/FuzzSmokeTests.swift → the repository.
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    static let seeds = Seeds(root: root)

    static func campaign(_ target: FuzzTarget, iterations: Int, cacheDirectory: String? = nil) -> Campaign.Report {
        let runner = FuzzRunner(budget: 500, cacheDirectory: cacheDirectory)
        return Campaign(target: target, seeds: seeds, runner: runner).run(iterations: iterations, seed: 0x5EED)
    }

    static func expectNoFindings(_ report: Campaign.Report) {
        print(report)
        for (finding, input) in report.findings.prefix(5) {
            Issue.record("\(finding) — input of \(input.count) bytes: \(input.prefix(64).map { String($0, radix: 16) })")
        }
    }

    /// `tools/fuzz/regressions/image-main-symbol-names-mean.bin`: a SymbolTable whose `main`
    /// names a function that takes an array. Running it killed the process (SIGILL at a null
    /// array); now the call is refused, and the input is an ordinary rejected or trapped one.
    @Test func aMainSymbolNamingAFunctionWithParametersDoesNotCrash() throws {
        let path = Self.root + "/tools/fuzz/regressions/image-main-symbol-names-mean.bin"
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var input = [UInt8](repeating: 0, count: 1 << 16)
        let count = input.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        try #require(count > 0)
        input.removeSubrange(count...)
        _ = try FuzzRunner(budget: 500).run(.unitImage, input)
    }

    @Test func seedsAreBuiltFromTheExamples() {
        #expect(Self.seeds.sources.count >= 10)
        #expect(Self.seeds.images.count >= 10)
        #expect(Self.seeds.blobs.count >= 20)
        // (An example that calls a C function no process has compiles but does not load.)
        #expect(Self.seeds.cacheRows.count >= Self.seeds.images.count - 2)
    }

    @Test func frontEnd() {
        let report = Self.campaign(.frontEnd, iterations: 1500)
        Self.expectNoFindings(report)
        #expect(report.returned + report.trapped > 100, "mutated programs that still run")
    }

    @Test func unitImages() {
        let report = Self.campaign(.unitImage, iterations: 2500)
        Self.expectNoFindings(report)
        #expect(report.rejected > 100)
        #expect(report.returned + report.trapped + report.accepted > 100, "damaged images that still load")
    }

    @Test func machineCodeBlobs() {
        let report = Self.campaign(.machineCode, iterations: 3000)
        Self.expectNoFindings(report)
        #expect(report.rejected > 100 && report.accepted > 100)
    }

    @Test func cacheRows() throws {
        let directory = try #require(FuzzRunner.makeTemporaryCacheDirectory())
        defer { FuzzRunner.removeCacheDirectory(directory) }
        let report = Self.campaign(.cache, iterations: 400, cacheDirectory: directory)
        Self.expectNoFindings(report)
        #expect(report.rejected > 20)
        #expect(report.returned + report.trapped > 20)
    }

    @Test func hitLogs() throws {
        let directory = try #require(FuzzRunner.makeTemporaryCacheDirectory())
        defer { FuzzRunner.removeCacheDirectory(directory) }
        let report = Self.campaign(.hitLog, iterations: 600, cacheDirectory: directory)
        Self.expectNoFindings(report)
        // Inputs with whole records left among the damage, and inputs with none.
        #expect(report.accepted > 100 && report.rejected > 20)
    }

    @Test func generatedBytecode() {
        let runner = FuzzRunner(budget: 500)
        let report = Campaign(target: .bytecode, seeds: Self.seeds, runner: runner).run(iterations: 3000, seed: 0x5EED)
        Self.expectNoFindings(report)
        print("bytecode: \(runner.jitCompared) units also run by the JIT, with the same result")
        #expect(runner.jitCompared > 100)
        // Most generated units pass the verifier, and they run to every kind of end.
        #expect(report.returned + report.trapped + report.stoppedByBudget > report.inputs / 3)
        #expect(report.returned > 100 && report.trapped > 100 && report.stoppedByBudget > 10)
    }
}
