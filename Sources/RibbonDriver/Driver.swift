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
import RibbonVM

/// Exit statuses of DESIGN.md, "Command line".
public enum ExitStatus {
    public static let compileError: Int32 = 1
    public static let usage: Int32 = 64
    public static let runtimeError: Int32 = 70
    public static let ioError: Int32 = 74
}

/// The result of compiling one source file.
public enum CompileOutcome {
    case success(UnitImage, functionCount: Int)
    /// Diagnostics, already rendered (`FILE:LINE:COL: error: …`, source line, caret).
    case failure([String])
}

/// The pipeline: source → check → lower → unit image → load → run.
public enum Driver {
    /// Parses, checks and lowers one file.
    public static func compile(
        _ file: SourceFile, statistics: inout RunStatistics
    ) -> CompileOutcome {
        CompilerMemory.prepare(forSourceBytes: file.bytes.count)
        let t0 = monotonicMicroseconds()
        let (program, diagnostics) = check(file)
        let t1 = monotonicMicroseconds()
        statistics.parseMicroseconds += t1 - t0
        guard let program, diagnostics.isEmpty else {
            return .failure(diagnostics.map { $0.rendered(in: file) })
        }
        if let use = program.uses.first {
            let message = Diagnostic(
                "`use` is not supported yet: programs are single files for now",
                at: SourceLocation(line: use.line, column: 1))
            return .failure([message.rendered(in: file)])
        }
        let lowered = lower(program)
        statistics.compileMicroseconds += monotonicMicroseconds() - t1
        guard let image = lowered.image else {
            return .failure(lowered.diagnostics.map { $0.rendered(in: file) })
        }
        statistics.unitsCompiled += 1
        statistics.functionsCompiled += program.functions.count
        return .success(image, functionCount: program.functions.count)
    }

    /// The resolver the runtime uses: builtins by name, C symbols with `dlsym`.
    public static var resolver: SymbolResolver {
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
    public struct ExecutionReport: Sendable {
        public var status: Int32
        /// The program's output, when it was captured (`OutputSink.buffer`).
        public var standardOutput: [UInt8]
        /// Diagnostics, runtime errors and the `--stats` line, in the order they happened.
        public var standardError: String
    }

    /// Compiles, loads and runs a file. Program output goes to `output`; everything meant for
    /// standard error is returned in the report (tests run programs in-process this way).
    public static func execute(path: String, options: RunOptions, output: OutputSink) -> ExecutionReport {
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
        var key: UnitKeyFactors? = nil
        var cachedUnit: LoadedUnit? = nil
        var cachedCode: [(functionId: UInt32, code: MachineCode)] = []
        var bytes: [UInt8]? = nil
        func readSource() -> Bool {
            do {
                bytes = try FileSystem.readFile(path)
                return true
            } catch {
                report.standardError += "ribbon: error: \(error)\n"
                return false
            }
        }
        if options.useCache {
            let t0 = monotonicMicroseconds()
            cache = CacheSession.open(directory: options.cacheDirectory, warnings: &warnings)
            var t = monotonicMicroseconds()
            statistics.cachePhases.append(("open", t - t0))
            if let cache {
                // An unchanged file's digest is remembered by its stat data: a warm run need
                // not read or hash the source at all.
                let stat = FileStat.of(path)
                var digest = cache.rememberedDigest(path: path, stat: stat)
                if digest == nil {
                    guard readSource() else { return finish(ExitStatus.ioError) }
                    digest = SHA256.hash(bytes!)
                    cache.rememberDigest(digest!, path: path, stat: stat)
                }
                let unitKey = CacheKeys.factors(sourceDigest: digest!)
                key = unitKey
                statistics.cachePhases.append(("source", monotonicMicroseconds() - t))
                t = monotonicMicroseconds()
                if case .hit(let loaded, let code) = cache.lookup(key: unitKey.key, path: path, resolver: resolver) {
                    cachedUnit = loaded
                    cachedCode = code
                }
                statistics.cachePhases += cache.store.lastLoadPhases
                if cache.decodeMicroseconds > 0 { statistics.cachePhases.append(("decode", cache.decodeMicroseconds)) }
                statistics.unit = cachedUnit == nil ? "miss" : "hit"
            }
            statistics.cacheLoadMicroseconds += monotonicMicroseconds() - t0
        }
        var compiledImage: UnitImage? = nil
        let unit: LoadedUnit
        // Filled if a lazily loaded unit turns out damaged in the middle of the run.
        var fallbackImage: UnitImage? = nil
        if let cachedUnit {
            unit = cachedUnit
            statistics.unitsLoaded += 1
            // If a part of the stored image fails its checks mid-run, the same image is compiled
            // afresh from the source — only if the source still has the digest the key was made
            // from — and the run continues with it; the end of the run stores it over the bad row.
            let digest = key?.sourceDigest
            cachedUnit.fallbackImage = {
                if let fallbackImage { return fallbackImage }
                guard let source = try? FileSystem.readFile(path), SHA256.hash(source) == digest else { return nil }
                var ignored = RunStatistics()
                guard case .success(let image, _) = compile(SourceFile(path: path, bytes: source), statistics: &ignored)
                else { return nil }
                fallbackImage = image
                return image
            }
        } else {
            if bytes == nil, !readSource() {
                flushWarnings()
                return finish(ExitStatus.ioError)
            }
            let file = SourceFile(path: path, bytes: bytes!)
            switch compile(file, statistics: &statistics) {
            case .failure(let diagnostics):
                flushWarnings()
                for d in diagnostics { report.standardError += d + "\n" }
                let count = diagnostics.count
                report.standardError += "ribbon: \(count) error\(count == 1 ? "" : "s") in \(path)\n"
                return finish(ExitStatus.compileError)
            case .success(let compiled, _):
                compiledImage = compiled
            }
            do {
                unit = try LoadedUnit(image: compiledImage!, resolver: resolver)
            } catch {
                flushWarnings()
                report.standardError += "ribbon: error: \(path): \(error)\n"
                return finish(ExitStatus.compileError)
            }
        }
        // The JIT makes the System V glue for C functions in every mode (the interpreter calls C
        // only through glue), compiles every function before main with --jit eager, and takes
        // hot functions from the interpreter with --jit tier.
        let jit = JITEngine()
        do {
            try jit.installForeignGlue(unit)
        } catch {
            flushWarnings()
            report.standardError += "ribbon: error: \(path): cannot make foreign-call glue: \(error)\n"
            return finish(ExitStatus.compileError)
        }
        if !cachedCode.isEmpty, options.jit != .off {
            let t0 = monotonicMicroseconds()
            let rejected = jit.installCached(cachedCode, of: unit)
            cache?.noteRejectedMachineCode(rejected.count, path: path)
            statistics.jitLoaded = jit.loadedCount
            statistics.cacheLoadMicroseconds += monotonicMicroseconds() - t0
            statistics.cachePhases.append(("install", monotonicMicroseconds() - t0))
        }
        // At the end, also after a runtime error: the unit if it was compiled, and all machine
        // code compiled in this run.
        func storeInCache() {
            guard let cache, let key else { return }
            let t0 = monotonicMicroseconds()
            if unit.damaged, let fallbackImage {
                cache.warn("entry for \(path) was damaged; recompiled the parts it needed, and replaced it")
                compiledImage = fallbackImage
            }
            cache.store(
                key: key, path: path, image: compiledImage,
                compileMicroseconds: statistics.parseMicroseconds + statistics.compileMicroseconds,
                compiled: jit.compiled)
            cache.finish()
            statistics.cacheStoreMicroseconds += monotonicMicroseconds() - t0
            flushWarnings()
        }
        guard let mainId = unit.symbol(named: "main"), let main = unit.function(id: mainId) else {
            storeInCache()
            return finish(0)  // A library: it compiles, and running it does nothing.
        }
        let fiber = Fiber(output: output)
        switch options.jit {
        case .off: break
        case .eager: jit.installAll(unit)
        case .tier: jit.attach(to: fiber, threshold: UInt64(options.jitThreshold ?? RunOptions.defaultJITThreshold))
        }
        let t0 = monotonicMicroseconds()
        let result = fiber.call(main)
        statistics.runMicroseconds = monotonicMicroseconds() - t0
        statistics.jitCompiled = jit.compiledCount
        statistics.jitMicroseconds = jit.microseconds
        if options.jit == .tier { statistics.runMicroseconds -= jit.microseconds }
        fiber.flush()
        report.standardOutput = fiber.capturedOutput
        storeInCache()
        switch result {
        case .success(let value):
            return finish(Int32(truncatingIfNeeded: UInt8(truncatingIfNeeded: value)))
        case .failure(let trap):
            report.standardError += trap.rendered
            return finish(ExitStatus.runtimeError)
        }
    }

    /// The bytecode of a file as text (`ribbon disasm`).
    public static func disassemble(path: String, machine: Bool = false) -> (text: String, status: Int32) {
        var statistics = RunStatistics()
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            return ("ribbon: error: \(error)\n", ExitStatus.ioError)
        }
        switch compile(SourceFile(path: path, bytes: bytes), statistics: &statistics) {
        case .failure(let diagnostics):
            return (diagnostics.joined(separator: "\n") + "\n", ExitStatus.compileError)
        case .success(let image, _):
            do {
                let unit = try LoadedUnit(image: image, resolver: resolver)
                var text = Disassembler.disassemble(unit)
                if machine { text += MachineCodeListing.listing(unit) }
                return (text, 0)
            } catch {
                return ("ribbon: error: \(path): \(error)\n", ExitStatus.compileError)
            }
        }
    }

    /// Writes a line to standard error (after flushing standard output, to keep order).
    public static func printError(_ text: String, newline: Bool = true) {
        fflush(stdout)
        var line = text
        if newline { line += "\n" }
        line.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    }
}
