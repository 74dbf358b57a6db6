import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Runs every example in-process through the whole pipeline and compares output, exit status
/// and error text with what the example expects.
@Suite struct ConformanceTests {
    @Test(arguments: ExampleFile.all().filter { !$0.needsForeignCalls })
    func exampleGivesExpectedResult(_ example: ExampleFile) {
        var options = RunOptions()
        options.jit = .off
        options.useCache = false
        let report = Driver.execute(path: example.path, options: options, output: .buffer)
        #expect(String(decoding: report.standardOutput, as: UTF8.self) == example.expectedOutput)
        #expect(report.status == example.expectedStatus, "stderr: \(report.standardError)")
        for line in example.expectedStderr {
            #expect(report.standardError.contains(line), "stderr lacks \(line): \(report.standardError)")
        }
    }

    /// Until the JIT makes foreign-call glue, calling C stops with a clear runtime error
    /// (never a crash, never wrong output).
    @Test(arguments: ExampleFile.all().filter { $0.needsForeignCalls })
    func foreignCallsStopWithAClearError(_ example: ExampleFile) {
        var options = RunOptions()
        options.jit = .off
        let report = Driver.execute(path: example.path, options: options, output: .buffer)
        #expect(report.status == 70)
        #expect(report.standardError.contains("runtime error: foreign functions can only be called with the JIT enabled"))
    }

    @Test func thereAreExamplesToRun() {
        // Guards against a path change silently turning the suites above into no-ops.
        #expect(ExampleFile.all().count >= 40)
    }

    /// Every example's program text survives being compiled twice: the same source gives the
    /// same image bytes (deterministic compilation, needed for exact cache keys).
    @Test(arguments: ExampleFile.all())
    func compilationIsDeterministic(_ example: ExampleFile) throws {
        let bytes = try FileSystem.readFile(example.path)
        var s1 = RunStatistics()
        var s2 = RunStatistics()
        let a = Driver.compile(.init(path: example.path, bytes: bytes), statistics: &s1)
        let b = Driver.compile(.init(path: example.path, bytes: bytes), statistics: &s2)
        switch (a, b) {
        case (.success(let x, _), .success(let y, _)): #expect(x == y)
        case (.failure(let x), .failure(let y)): #expect(x == y)
        default: Issue.record("compiling twice gave different outcomes")
        }
    }
}
