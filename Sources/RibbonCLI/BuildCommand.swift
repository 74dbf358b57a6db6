#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RibbonDriver
import RibbonSystem

/// `ribbon build FILE...`: compile (and pre-JIT) into the cache, for build systems.
package struct BuildCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Compile programs into the cache (and, with --jit, every function to machine code) without running them.",
        discussion: """
            The first `ribbon run` of a built file is warm. The same input always gives the same \
            key and the same stored bytes, and any number of builds may share one cache. Exit \
            status: 0 when every file built; 1 when one had compile errors; 74 when one could not \
            be read or could not be stored in the cache (locked, full, read-only); 64 on a usage \
            error.
            """
    )

    @Argument(help: "The .rib files to build.")
    var files: [String]

    @Flag(help: "Also compile every function to x86-64 machine code and store it.")
    var jit = false

    @Flag(help: "Only report diagnostics; store nothing.")
    var check = false

    @Flag(help: "Print one JSON object with the result of each file on standard output.")
    var json = false

    @Option(help: "Write a Make-style depfile naming every file the programs use.")
    var depfile: String?

    @Option(name: .customLong("depfile-target"), help: "The target named in the depfile (default: the depfile's path without its .d extension).")
    var depfileTarget: String?

    @Option(help: "Build up to N files at once, each in its own process (default 1).")
    var jobs: Int = 1

    @Option(name: .customLong("cache-dir"), help: "Cache directory (default $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, else ~/.cache/ribbon).")
    var cacheDir: String?

    package init() {}

    package func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if depfileTarget != nil, depfile == nil { throw ValidationError("--depfile-target needs --depfile") }
    }

    package func run() throws {
        var options = BuildOptions()
        options.jit = jit
        options.check = check
        options.cacheDirectory = cacheDir
        let progress = Progress(total: files.count, enabled: !json && isatty(2) == 1)
        let results = BuildScheduler.build(files, options: options, jobs: jobs) { done, path in
            progress.update(done: done, current: path)
        }
        progress.finish()
        for result in results {
            for message in result.messages { Driver.printError(message) }
        }
        if json {
            print(Self.json(results))
        }
        if let depfile {
            let target = depfileTarget ?? (depfile.hasSuffix(".d") ? String(depfile.dropLast(2)) : depfile)
            var seen = Set<String>()
            let used = results.flatMap(\.files).filter { seen.insert($0).inserted }
            do {
                try FileSystem.writeFile(depfile, contents: Driver.depfile(target: target, files: used))
            } catch {
                Driver.printError("ribbon: error: \(error)")
                throw ExitCode(ExitStatus.ioError)
            }
        }
        let status = Self.status(results)
        if status != 0 { throw ExitCode(status) }
    }

    /// 74 if a file could not be read or stored, else 1 if one failed to compile, else 0.
    static func status(_ results: [BuildResult]) -> Int32 {
        if results.contains(where: { $0.outcome == .unreadable || $0.outcome == .notStored }) { return ExitStatus.ioError }
        if results.contains(where: { $0.outcome == .failed }) { return ExitStatus.compileError }
        return 0
    }

    static func json(_ results: [BuildResult]) -> String {
        let files: [JSON] = results.map { r in
            .object([
                ("path", .string(r.path)), ("outcome", .string(r.outcome.rawValue)), ("key", .optional(r.key)),
                ("functions", .int(r.functions)), ("jit_compiled", .int(r.jitCompiled)),
                ("messages", .array(r.messages.map(JSON.string))), ("files", .array(r.files.map(JSON.string))),
            ])
        }
        return JSON.object([("status", .int(Int(status(results)))), ("files", .array(files))]).text
    }
}

/// A progress line on a terminal (`\r[3/8] building x.rib`), erased at the end; nothing when
/// standard error is not a terminal or the build is short.
final class Progress {
    let total: Int
    let enabled: Bool
    private var shown = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled && total > 1
    }

    func update(done: Int, current: String) {
        guard enabled else { return }
        shown = true
        StandardError.write("\r\u{1B}[K[\(done)/\(total)] \(current)")
    }

    func finish() {
        guard shown else { return }
        StandardError.write("\r\u{1B}[K")
    }
}

