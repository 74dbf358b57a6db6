import CacheCodecs
import Foundation
import RibbonBytecode
@testable import RibbonCache
import RibbonJIT
import RibbonSystem
import SQLiteSupport
import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Runs every example in-process through the whole pipeline and compares output, exit status
/// and error text with what the example expects.
@Suite struct ConformanceTests {
    /// Every engine mode of DESIGN.md: interpreter only, every function compiled before main,
    /// and tier-up after two calls or back-edges (so most functions switch engines mid-run).
    static let modes: [(JITMode, Int?)] = [(.off, nil), (.eager, nil), (.tier, 2)]

    @Test(arguments: ExampleFile.all())
    func exampleGivesExpectedResultInEveryEngineMode(_ example: ExampleFile) {
        for (mode, threshold) in Self.modes {
            var options = RunOptions()
            options.jit = mode
            options.jitThreshold = threshold
            options.useCache = false
            let report = Driver.execute(path: example.path, options: options, output: .buffer)
            if !example.writesThroughC {
                #expect(
                    String(decoding: report.standardOutput, as: UTF8.self) == example.expectedOutput, "--jit \(mode)")
            }
            #expect(report.status == example.expectedStatus, "--jit \(mode), stderr: \(report.standardError)")
            for line in example.expectedStderr {
                #expect(report.standardError.contains(line), "--jit \(mode): stderr lacks \(line): \(report.standardError)")
            }
        }
    }

    /// The cache's two modes: a cold run (empty cache: compile, run, store) and a warm one (the
    /// unit and the machine code of the functions that got hot come from the cache). Both give
    /// the example's exact output, status and error text; the warm run compiles nothing.
    @Test(arguments: ExampleFile.all())
    func exampleGivesExpectedResultColdAndWarm(_ example: ExampleFile) throws {
        let directory = try TemporaryDirectory()
        var reports: [Driver.ExecutionReport] = []
        for (run, mode) in [("cold", JITMode.tier), ("warm", .tier), ("warm eager", .eager)] {
            var options = RunOptions()
            options.jit = mode
            options.jitThreshold = 2
            options.cacheDirectory = directory.path
            options.printStats = true
            let report = Driver.execute(path: example.path, options: options, output: .buffer)
            if !example.writesThroughC {
                #expect(String(decoding: report.standardOutput, as: UTF8.self) == example.expectedOutput, "\(run)")
            }
            #expect(report.status == example.expectedStatus, "\(run), stderr: \(report.standardError)")
            for line in example.expectedStderr {
                #expect(report.standardError.contains(line), "\(run): stderr lacks \(line): \(report.standardError)")
            }
            #expect(!report.standardError.contains("warning"), "\(run): \(report.standardError)")
            reports.append(report)
        }
        guard example.expectedStatus != 1 else { return }  // compile errors are not cached
        #expect(reports[0].standardError.contains("\"unit\":\"miss\""))
        for warm in reports.dropFirst() {
            #expect(warm.standardError.contains("\"unit\":\"hit\",\"units_compiled\":0"), "\(warm.standardError)")
            // Everything but the statistics line (times differ) is identical to the cold run.
            #expect(warm.standardError.split(separator: "\n").dropLast() == reports[0].standardError.split(separator: "\n").dropLast())
        }
    }

    /// The whole error text, backtrace included, is the same whichever engine ran each frame.
    @Test(arguments: ExampleFile.all().filter { $0.expectedStatus == 70 })
    func runtimeErrorsAreIdenticalAcrossEngines(_ example: ExampleFile) {
        var texts: [String] = []
        for (mode, threshold) in Self.modes {
            var options = RunOptions()
            options.jit = mode
            options.jitThreshold = threshold
            options.useCache = false
            texts.append(Driver.execute(path: example.path, options: options, output: .buffer).standardError)
        }
        #expect(texts[1] == texts[0])
        #expect(texts[2] == texts[0])
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

/// A fresh directory (mode 0700, as the cache wants), removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/ribbon-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// What the cache stores is position-independent: one stored unit image and its machine-code
/// blobs, loaded twice at once (two different addresses), run right at both.
@Suite struct CachedCodeRelocationTests {
    @Test func oneCachedBlobRunsRightAtTwoAddresses() throws {
        let directory = try TemporaryDirectory()
        let path = ExampleFile.sharedExamples + "/fib.rib"
        var options = RunOptions()
        options.jit = .eager
        options.cacheDirectory = directory.path
        #expect(Driver.execute(path: path, options: options, output: .buffer).status == 0)

        let store = try CacheStore(directory: directory.path)
        let key = CacheKeys.factors(sourceDigest: SHA256.hash(try FileSystem.readFile(path))).key
        let loaded = try store.load(
            key: key, jitIdentity: CacheKeys.jitIdentity, hostFeatures: Set(JITEngine.hostFeatures.names))
        guard case .hit(let image, let rows, 0) = loaded else {
            Issue.record("expected a clean hit, got \(loaded)")
            return
        }
        #expect(rows.count == 2)  // fib and main
        var kept: [(LoadedUnit, JITEngine)] = []
        var entries: [UInt64] = []
        for _ in 0..<2 {
            let unit = try LoadedUnit(image: UnitImage(bytes: image), resolver: Driver.resolver)
            let jit = JITEngine()
            try jit.installForeignGlue(unit)
            let code = try rows.map { ($0.functionId, try MachineCode(serialized: $0.blob)) }
            #expect(jit.installCached(code, of: unit).isEmpty)
            #expect(jit.loadedCount == 2)
            let mainId = try #require(unit.symbol(named: "main"))
            let fibId = try #require(unit.symbol(named: "fib"))
            // The slot now holds machine code (no bytecode tag), different for each copy.
            #expect(unit.addressTable[Int(fibId)] & (1 << 63) == 0)
            entries.append(unit.addressTable[Int(fibId)])
            let fiber = Fiber(output: .buffer)
            let result = fiber.call(try #require(unit.function(id: mainId)))
            fiber.flush()
            #expect(result == .success(0))
            #expect(String(decoding: fiber.capturedOutput, as: UTF8.self) == "832040\n")
            kept.append((unit, jit))
        }
        #expect(entries[0] != entries[1])
        #expect(kept.count == 2)
    }
}

/// A warm run reads only the parts of a unit it uses (`LoadedUnit(lazy:)`), and a damaged part
/// met in the middle of a run is compiled afresh from the source without changing the output.
@Suite struct LazyLoadingTests {
    /// 400 functions, each calling the one before; main calls only the last few.
    static func write(_ directory: String) throws -> String {
        var text = "f0 := fun (x: I64) -> I64.\n    x + 1\n"
        for i in 1..<400 {
            text += "f\(i) := fun (x: I64) -> I64.\n    y := x * 3 + \(i)\n    if y % 2 == 0. (f\(i - 1) 0) + y % 7 else. y % 5\n"
        }
        text += "main := fun () -> I64.\n    print (f399 1)\n    print (f201 1)\n    0\n"
        let path = directory + "/chain.rib"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ path: String, cache: String, jit: JITMode = .tier) -> Driver.ExecutionReport {
        var options = RunOptions()
        options.jit = jit
        options.cacheDirectory = cache
        options.printStats = true
        options.jitThreshold = 2
        return Driver.execute(path: path, options: options, output: .buffer)
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The cached image of `path`, as a warm run's lookup gives it (not decoded yet).
    static func lazyImage(of path: String, cache: String) throws -> LazyUnitImage {
        let store = try CacheStore(directory: cache)
        let key = CacheKeys.factors(sourceDigest: SHA256.hash(try FileSystem.readFile(path))).key
        guard case .hit(let image, _, _, _) = try store.loadLazily(key: key, jitIdentity: CacheKeys.jitIdentity) else {
            throw Failure(description: "expected a chunked hit for \(path)")
        }
        return image
    }

    @Test func aWarmRunReadsOnlyWhatItUses() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.write(directory.path)
        let cold = run(path, cache: directory.path)
        #expect(cold.status == 0, "\(cold.standardError)")
        let image = try Self.lazyImage(of: path, cache: directory.path)
        let unit = try LoadedUnit(lazy: image, resolver: Driver.resolver)
        #expect(unit.functions.count == 401)
        #expect(unit.placedCount == 0)
        let mainId = try #require(unit.symbol(named: "main"))
        let main = try #require(unit.function(id: mainId))
        let fiber = Fiber(output: .buffer)
        #expect(fiber.call(main) == .success(0))
        fiber.flush()
        #expect(fiber.capturedOutput == cold.standardOutput)
        // Only the functions that ran were placed, and only some chunks were read.
        #expect(unit.placedCount > 1 && unit.placedCount < 401)
        #expect(image.chunksRead < image.chunkCount)

        let warm = run(path, cache: directory.path)
        #expect(warm.standardOutput == cold.standardOutput)
        #expect(warm.standardError.contains("\"unit\":\"hit\""))
    }

    /// The run that stores a unit records the chunks it used (the code and signatures of the
    /// functions it called, what finding `main` reads) in the chunk index; a warm run reads them
    /// up front, in its lookup's one read transaction, and none while the program runs.
    @Test func aWarmRunReadsWhatTheLastRunUsedFirst() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.write(directory.path)
        let cold = run(path, cache: directory.path, jit: .off)
        #expect(cold.status == 0, "\(cold.standardError)")
        let image = try Self.lazyImage(of: path, cache: directory.path)
        let prefetched = image.chunksRead
        #expect(prefetched > 1 && prefetched < image.chunkCount)
        let unit = try LoadedUnit(lazy: image, resolver: Driver.resolver)
        let mainId = try #require(unit.symbol(named: "main"))
        let main = try #require(unit.function(id: mainId))
        let beforeRun = image.chunksRead
        let fiber = Fiber(output: .buffer)
        #expect(fiber.call(main) == .success(0))
        fiber.flush()
        #expect(fiber.capturedOutput == cold.standardOutput)
        #expect(unit.placedCount > 1)
        #expect(image.chunksRead == beforeRun, "\(image.chunksRead - beforeRun) chunks read while running")
    }

    @Test func aDamagedPartMetMidRunIsCompiledAfresh() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.write(directory.path)
        let cold = run(path, cache: directory.path)
        // Damage every chunk of the code section: the run meets them only when calling.
        let damaged = try ChunkDamage.damageCode(databasePath: directory.path + "/" + CacheDirectory.databaseName)
        #expect(damaged >= 2)
        // The interpreter runs the code (stored machine code would stand in for it).
        let hurt = run(path, cache: directory.path, jit: .off)
        #expect(hurt.status == 0)
        #expect(hurt.standardOutput == cold.standardOutput)
        let warnings = hurt.standardError.split(separator: "\n").filter { $0.hasPrefix("ribbon: warning: cache:") }
        #expect(warnings.count == 1, "\(hurt.standardError)")
        #expect(warnings.first?.contains("damaged") == true)
        // The entry was replaced: clean and warm again.
        let again = run(path, cache: directory.path)
        #expect(again.standardOutput == cold.standardOutput)
        #expect(!again.standardError.contains("warning"), "\(again.standardError)")
        #expect(again.standardError.contains("\"unit\":\"hit\""))
    }
}
