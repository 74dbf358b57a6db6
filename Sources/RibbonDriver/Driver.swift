#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonCompiler
import RibbonCore
import RibbonJIT
import RibbonSyntax
import RibbonSystem
import RibbonVM

/// Exit statuses of ../shared/DESIGN.md, "Command line".
package enum ExitStatus {
    package static let compileError: Int32 = 1
    package static let usage: Int32 = 64
    package static let runtimeError: Int32 = 70
    package static let ioError: Int32 = 74
}

/// The result of compiling one source file.
package enum CompileOutcome {
    case success(UnitImage, functionCount: Int)
    /// Diagnostics, already rendered (`FILE:LINE:COL: error: …`, source line, caret).
    case failure([String])
}

/// The pipeline: source → check → lower → unit image → load → run.
public enum Driver {
    /// Parses, checks and lowers one file. The files it uses are compiled too, from their
    /// sources (not the cache), for their interfaces; `file.bytes` is used for `file` itself.
    package static func compile(
        _ file: SourceFile, statistics: inout RunStatistics
    ) -> CompileOutcome {
        let loader = ProgramLoader(cache: nil)
        defer { statistics.add(loader.statistics) }
        do {
            let root = try loader.load(root: file.path, bytes: file.bytes)
            return .success(root.image!, functionCount: root.functionCount)
        } catch {
            return .failure(error.messages)
        }
    }

    /// Checks and lowers one parsed file against the interfaces of the files it uses.
    static func compile(
        _ parsed: consuming ParsedFile, source: SourceFile, uses: [String: UsedUnit], statistics: inout RunStatistics
    ) -> CompileOutcome {
        CompilerMemory.prepare(forSourceBytes: source.bytes.count)
        let t0 = MonotonicClock.microseconds()
        let (program, diagnostics) = check(parsed, uses: uses)
        let t1 = MonotonicClock.microseconds()
        statistics.parseMicroseconds += t1 - t0
        guard let program, diagnostics.isEmpty else {
            return .failure(diagnostics.rendered(in: source))
        }
        let lowered = lower(program)
        statistics.compileMicroseconds += MonotonicClock.microseconds() - t1
        guard let image = lowered.image else {
            return .failure(lowered.diagnostics.rendered(in: source))
        }
        statistics.unitsCompiled += 1
        statistics.functionsCompiled += program.functions.count
        return .success(image, functionCount: program.functions.count)
    }

    /// The resolver for a unit that imports nothing: builtins by name, C symbols with `dlsym`.
    package static var resolver: SymbolResolver {
        SymbolResolver(builtin: Builtins.address(named:))
    }

    /// Runs a file the way `ribbon run` does and writes its error output to stderr.
    /// Returns the process exit status.
    public static func run(path: String, options: RunOptions) -> Int32 {
        let report = execute(path: path, options: options, output: .standardOutput)
        if !report.standardError.isEmpty { printError(report.standardError, newline: false) }
        return report.status
    }

    /// What one run produced.
    package struct ExecutionReport: Sendable {
        package var status: Int32
        /// The program's output, when it was captured (`OutputSink.buffer`).
        package var standardOutput: [UInt8]
        /// Diagnostics, runtime errors and the `--stats` line, in the order they happened.
        package var standardError: String
    }

    /// Compiles (or loads from the cache), links and runs a program: the file and every file
    /// it uses, one unit each. Program output goes to `output`; everything meant for standard
    /// error is returned in the report (tests run programs in-process this way).
    package static func execute(path: String, options: RunOptions, output: OutputSink) -> ExecutionReport {
        var statistics = RunStatistics()
        var report = ExecutionReport(status: 0, standardOutput: [], standardError: "")
        var cache: CacheSession? = nil
        var warnings: [String] = []
        func flushWarnings() {
            for w in (cache?.warnings ?? []) + warnings { report.standardError += w + "\n" }
            warnings = []
            cache?.clearWarnings()
        }
        func finish(_ status: Int32) -> ExecutionReport {
            flushWarnings()
            report.status = status
            if options.printStats { report.standardError += statistics.json + "\n" }
            return report
        }
        if options.useCache {
            let t0 = MonotonicClock.microseconds()
            cache = CacheSession.open(directory: options.cacheDirectory, warnings: &warnings)
            let spent = MonotonicClock.microseconds() - t0
            statistics.cachePhases.append(("open", spent))
            statistics.cacheLoadMicroseconds += spent
        }
        // With --jit off nothing installs machine code: the lookups need not read any.
        cache?.loadsMachineCode = options.jit != .off
        let loader = ProgramLoader(cache: cache)
        let jit = JITEngine()
        // At the end, also after a compile error in a later file or a runtime error: each unit
        // compiled in this run, and the machine code compiled for it.
        func storeInCache() {
            guard let cache else { return }
            let t0 = MonotonicClock.microseconds()
            store(loader.files, in: cache, compiled: jit.compiled)
            statistics.cacheStoreMicroseconds += MonotonicClock.microseconds() - t0
            flushWarnings()
        }
        // A unit from the cache that lost a part mid-run with no identical image to stand in
        // for it (`LoadedUnit.unavailable`): what ran so far was right, but the run cannot go
        // on faithfully, so it stops with an internal error instead of its own result.
        func unavailableUnitFailure() -> ExecutionReport? {
            guard let file = loader.files.first(where: { $0.unit?.unavailable == true }) else { return nil }
            flushWarnings()
            report.standardError +=
                "ribbon: error: internal: the cached unit of \(file.path) failed its checks mid-run, and compiling "
                + "the file again did not give the same unit (was it changed?); the run was stopped. Run it again.\n"
            return finish(ExitStatus.runtimeError)
        }
        let root: ProgramFile
        do {
            root = try loader.load(root: path)
            statistics.add(loader.statistics)
            if cache != nil { statistics.unit = root.image == nil ? "hit" : "miss" }
        } catch {
            statistics.add(loader.statistics)
            if cache != nil { statistics.unit = "miss" }
            storeInCache()
            if let failure = unavailableUnitFailure() { return failure }
            flushWarnings()
            switch error {
            case .unreadable(let message):
                report.standardError += message + "\n"
                return finish(ExitStatus.ioError)
            case .compile(let failedPath, let diagnostics):
                for d in diagnostics { report.standardError += d + "\n" }
                let count = diagnostics.count
                if diagnostics.last != Diagnostic.tooManyErrors {
                    report.standardError += "ribbon: \(count) error\(count == 1 ? "" : "s") in \(failedPath)\n"
                }
                return finish(ExitStatus.compileError)
            case .load(let failedPath, let message):
                report.standardError += "ribbon: error: \(failedPath): \(message)\n"
                return finish(ExitStatus.compileError)
            }
        }
        let units = loader.files.map { $0.unit! }
        // The JIT makes the System V glue for C functions in every mode (the interpreter calls C
        // only through glue), compiles every function before main with --jit eager, and takes
        // hot functions from the interpreter with --jit tier.
        for file in loader.files {
            do {
                try jit.installForeignGlue(file.unit!)
            } catch {
                flushWarnings()
                report.standardError += "ribbon: error: \(file.path): cannot make foreign-call glue: \(error)\n"
                return finish(ExitStatus.compileError)
            }
        }
        if options.jit != .off {
            let t0 = MonotonicClock.microseconds()
            var any = false
            for file in loader.files where !file.cachedCode.isEmpty {
                any = true
                let rejected = jit.installCached(file.cachedCode, of: file.unit!)
                cache?.noteRejectedMachineCode(rejected.count, path: file.path)
            }
            if any {
                statistics.jitLoaded = jit.loadedCount
                statistics.cacheLoadMicroseconds += MonotonicClock.microseconds() - t0
                statistics.cachePhases.append(("install", MonotonicClock.microseconds() - t0))
            }
            if let cache {
                for file in loader.files where file.lazyMachineCode {
                    installCachedCodeOnPlacement(file, jit: jit, cache: cache)
                }
            }
        }
        guard let mainId = root.unit!.symbol(named: "main"), let main = root.unit!.function(id: mainId) else {
            storeInCache()
            if let failure = unavailableUnitFailure() { return failure }
            return finish(0)  // A library: it compiles, and running it does nothing.
        }
        let fiber = Fiber(output: output)
        switch options.jit {
        case .off: break
        case .eager: for unit in units { jit.installAll(unit) }
        case .tier: jit.attach(to: fiber, threshold: UInt64(options.jitThreshold ?? RunOptions.defaultJITThreshold))
        }
        let t0 = MonotonicClock.microseconds()
        let result = fiber.call(main)
        statistics.runMicroseconds = MonotonicClock.microseconds() - t0
        statistics.jitCompiled = jit.compiledCount
        statistics.jitMicroseconds = jit.microseconds
        statistics.jitLoaded = jit.loadedCount
        if options.jit == .tier { statistics.runMicroseconds -= jit.microseconds }
        if let spent = cache?.lazyMachineCodeMicroseconds, spent > 0 {
            // Machine code fetched and installed as functions were placed: cache work, not running.
            statistics.runMicroseconds -= spent
            statistics.cacheLoadMicroseconds += spent
            statistics.cachePhases.append(("machine_code_placed", spent))
        }
        fiber.flush()
        report.standardOutput = fiber.capturedOutput
        storeInCache()
        if let failure = unavailableUnitFailure() { return failure }
        withExtendedLifetime(units) {}
        if options.processExitsAfterRun { leftForExit = [loader, fiber, jit] }
        switch result {
        case .success(let value):
            return finish(Int32(truncatingIfNeeded: UInt8(truncatingIfNeeded: value)))
        case .failure(let trap):
            report.standardError += trap.rendered
            return finish(ExitStatus.runtimeError)
        }
    }

    /// Machine code loads as lazily as bytecode: when a function of `file`'s unit is placed (its
    /// first call, or the JIT asking for it), its blob is fetched from the cache, checked and
    /// installed, before the function runs (`load_code` then enters the machine code). A warm
    /// run of a program that `build --jit` compiled whole reads the code of what runs, not of
    /// every function.
    static func installCachedCodeOnPlacement(_ file: ProgramFile, jit: JITEngine, cache: CacheSession) {
        guard let unit = file.unit, let key = file.key else { return }
        let path = file.path
        unit.onPlaced = { [weak jit, weak cache, unowned unit] id in
            guard let jit, let cache else { return }
            let t0 = MonotonicClock.microseconds()
            defer { cache.lazyMachineCodeMicroseconds += MonotonicClock.microseconds() - t0 }
            guard let code = cache.machineCode(key: key, functionId: id, path: path) else { return }
            let rejected = jit.installCached([(id, code)], of: unit)
            cache.noteRejectedMachineCode(rejected.count, path: path)
        }
    }

    /// What `RunOptions.processExitsAfterRun` keeps alive until the process exits.
    nonisolated(unsafe) private static var leftForExit: [AnyObject] = []

    /// Stores each file's unit if it was compiled in this run, with the machine code compiled
    /// for it, all in one transaction, then empties the WAL (once per run, however many files).
    /// A unit loaded lazily that turned out damaged mid-run is replaced by the image compiled
    /// afresh for it (`ProgramLoader.recompile`).
    static func store(_ files: [ProgramFile], in cache: CacheSession, compiled: [JITEngine.Compiled]) {
        var compiledByUnit: [ObjectIdentifier: [JITEngine.Compiled]] = [:]
        for code in compiled { compiledByUnit[code.unit, default: []].append(code) }
        var units: [CacheSession.UnitToStore] = []
        for file in files {
            guard let factors = file.factors, let unit = file.unit else { continue }
            var image = file.image
            if unit.damaged, let fallback = file.fallbackImage {
                cache.warn("entry for \(file.path) was damaged or removed mid-run; recompiled the parts it needed, and stored it again")
                image = fallback
            }
            units.append(
                CacheSession.UnitToStore(
                    key: factors, path: file.path, image: image, compileMicroseconds: file.compileMicroseconds,
                    compiled: compiledByUnit[ObjectIdentifier(unit)] ?? [],
                    warmRanges: image == nil ? [] : unit.usedImageRanges()))
        }
        cache.store(units)
        cache.finish()
    }

    /// The bytecode of a file as text (`ribbon disasm`). Names from used files are shown as
    /// `PATH:NAME (imported …)`.
    package static func disassemble(path: String, machine: Bool = false) -> (text: String, status: Int32) {
        let loader = ProgramLoader(cache: nil)
        do {
            let root = try loader.load(root: path)
            var text = Disassembler.disassemble(root.unit!)
            if machine { text += MachineCodeListing.listing(root.unit!) }
            return (text, 0)
        } catch {
            let status = if case .unreadable = error { ExitStatus.ioError } else { ExitStatus.compileError }
            return (error.messages.joined(separator: "\n") + "\n", status)
        }
    }

    /// Writes a line to standard error (after flushing standard output, to keep order).
    package static func printError(_ text: String, newline: Bool = true) {
        StandardError.write(newline ? text + "\n" : text, flushingOutput: true)
    }
}

extension ProgramLoader.Failure {
    /// The failure as the lines `compile` reports: diagnostics, or the one error line.
    var messages: [String] {
        switch self {
        case .unreadable(let message): [message]
        case .compile(_, let diagnostics): diagnostics
        case .load(let path, let message): ["ribbon: error: \(path): \(message)"]
        }
    }
}

extension RunStatistics {
    /// Adds what a `ProgramLoader` counted (units, times, cache phases).
    mutating func add(_ other: RunStatistics) {
        unitsCompiled += other.unitsCompiled
        unitsLoaded += other.unitsLoaded
        functionsCompiled += other.functionsCompiled
        parseMicroseconds += other.parseMicroseconds
        compileMicroseconds += other.compileMicroseconds
        cacheLoadMicroseconds += other.cacheLoadMicroseconds
        cachePhases += other.cachePhases
    }
}
