import ArgumentParser
import RibbonDriver

/// `ribbon`: the root command. Subcommands follow ../shared/DESIGN.md, "Command line".
public struct RibbonCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ribbon",
        abstract: "Run Ribbon Core programs with a bytecode interpreter, an x86-64 JIT and a persistent cache.",
        version: RibbonCommand.versionText,
        subcommands: [RunCommand.self, BuildCommand.self, CacheCommand.self, DisasmCommand.self]
    )

    /// What `ribbon --version` prints (../shared/DESIGN.md, "Command line"): the version, the
    /// executable's build-id, and the format versions a cached unit depends on.
    static var versionText: String {
        "ribbon \(CacheKeys.version)\n\(CacheKeys.ribbonBuild)\n\(CacheKeys.compilerIdentity); \(CacheKeys.jitIdentity)"
    }

    public init() {}
}

extension JITMode: ExpressibleByArgument {}

/// `ribbon run FILE`.
package struct RunCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Compile and run a program; its exit status is main's result (mod 256).",
        discussion: """
            Exit status: the program's own; 1 on a compile error; 70 on a runtime error; 74 when \
            the file cannot be read; 64 on a usage error.
            """
    )

    @Argument(help: "The .rib file to run.")
    var file: String

    @Option(help: "off: interpreter only; tier: compile hot functions to x86-64; eager: compile every function before main.")
    var jit: JITMode = .tier

    @Option(name: .customLong("jit-threshold"), help: "Calls of a function, or loop iterations, before it is compiled (with --jit tier; default \(RunOptions.defaultJITThreshold)).")
    var jitThreshold: Int?

    @Flag(name: .customLong("no-cache"), help: "Neither read nor write the compilation cache.")
    var noCache = false

    @Option(name: .customLong("cache-dir"), help: "Cache directory (default $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, else ~/.cache/ribbon).")
    var cacheDir: String?

    @Flag(help: "Print one JSON line of statistics on standard error at exit (time_us.parse counts parsing and type checking).")
    var stats = false

    package init() {}

    package func validate() throws {
        if let jitThreshold, jitThreshold < 1 {
            throw ValidationError("--jit-threshold must be at least 1")
        }
    }

    /// What the parsed flags ask of the driver.
    package var options: RunOptions {
        Self.options(jit: jit, jitThreshold: jitThreshold, noCache: noCache, cacheDir: cacheDir, stats: stats)
    }

    /// The `RunOptions` for these flags (shared with `RunFastPath`, which parses without
    /// ArgumentParser).
    static func options(jit: JITMode, jitThreshold: Int?, noCache: Bool, cacheDir: String?, stats: Bool) -> RunOptions {
        var options = RunOptions()
        options.jit = jit
        options.jitThreshold = jitThreshold
        options.useCache = !noCache
        options.cacheDirectory = cacheDir
        options.printStats = stats
        options.processExitsAfterRun = true
        return options
    }

    package func run() throws {
        let status = Self.run(path: file, options: options)
        if status != 0 { throw ExitCode(status) }
    }

    /// Runs `path`; returns the process exit status. `run()` and `RunFastPath` both end here.
    static func run(path: String, options: RunOptions) -> Int32 {
        Driver.run(path: path, options: options)
    }
}

/// `ribbon disasm FILE`.
package struct DisasmCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "disasm",
        abstract: "Show the bytecode a program compiles to."
    )

    @Argument(help: "The .rib file to disassemble.")
    var file: String

    @Flag(help: "Also show each function's x86-64 machine code, as the JIT compiles it.")
    var machine = false

    package init() {}

    package func run() throws {
        let (text, status) = Driver.disassemble(path: file, machine: machine)
        if status == 0 {
            print(text, terminator: "")
        } else {
            Driver.printError(text, newline: false)
            throw ExitCode(status)
        }
    }
}
