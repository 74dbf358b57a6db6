#if canImport(Glibc)
import Glibc
#endif
import RibbonBytecode
import RibbonCompiler
import RibbonCore
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

    /// Runs a file the way `ribbon run` does, writing to the real stdout and stderr.
    /// Returns the process exit status.
    public static func run(path: String, options: RunOptions) -> Int32 {
        var statistics = RunStatistics()
        defer {
            if options.printStats { printError(statistics.json) }
        }
        if options.jit != .off {
            // Until the JIT lands, every mode runs in the interpreter (same output by design).
        }
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            printError("ribbon: error: \(error)")
            return ExitStatus.ioError
        }
        let file = SourceFile(path: path, bytes: bytes)
        let image: UnitImage
        switch compile(file, statistics: &statistics) {
        case .failure(let diagnostics):
            for d in diagnostics { printError(d) }
            printError("ribbon: \(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s") in \(path)")
            return ExitStatus.compileError
        case .success(let compiled, _):
            image = compiled
        }
        let unit: LoadedUnit
        do {
            unit = try LoadedUnit(image: image, resolver: resolver)
        } catch {
            printError("ribbon: error: \(path): \(error)")
            return ExitStatus.compileError
        }
        guard let mainId = unit.symbols["main"], let main = unit.function(id: mainId) else {
            return 0  // A library: it compiles, and running it does nothing.
        }
        let fiber = Fiber()
        let t0 = monotonicMicroseconds()
        let result = fiber.call(main)
        statistics.runMicroseconds = monotonicMicroseconds() - t0
        fiber.flush()
        switch result {
        case .success(let value):
            return Int32(truncatingIfNeeded: UInt8(truncatingIfNeeded: value))
        case .failure(let trap):
            printError(trap.rendered, newline: false)
            return ExitStatus.runtimeError
        }
    }

    /// The bytecode of a file as text (`ribbon disasm`).
    public static func disassemble(path: String) -> (text: String, status: Int32) {
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
                return (Disassembler.disassemble(unit), 0)
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
