/// How `ribbon run` executes a program.
public enum JITMode: String, CaseIterable, Sendable {
    /// Interpreter only.
    case off
    /// Interpret, compile hot functions (the default once the JIT exists).
    case tier
    /// Compile every function before `main` starts.
    case eager
}

public struct RunOptions: Equatable, Sendable {
    /// Interpreted calls of a function, or loop back-edges, before `--jit tier` compiles it.
    /// Compiling costs about 30–100 µs a function and an interpreted call or iteration 10–40 ns,
    /// so 1000 compiles a function after roughly as much interpreted time as compiling costs.
    public static let defaultJITThreshold = 1000

    public var jit: JITMode = .tier
    public var jitThreshold: Int? = nil
    public var useCache = true
    public var cacheDirectory: String? = nil
    public var printStats = false
    /// The process exits right after the run (`ribbon run`): the loaded program, its fiber
    /// and its machine code are left for the exit to reclaim instead of being torn down one
    /// object at a time (a large program's teardown costs about as much as loading it warm).
    public var processExitsAfterRun = false

    public init() {}
}

/// What `--stats` reports (../shared/DESIGN.md, "Command line"): one JSON object on one line.
public struct RunStatistics: Sendable {
    /// "hit", "miss" or "off" for the file run.
    public var unit = "off"
    public var unitsCompiled = 0
    public var unitsLoaded = 0
    public var functionsCompiled = 0
    public var jitCompiled = 0
    public var jitLoaded = 0
    /// `time_us.parse`: parsing and type checking (the name predates the checker's own phase;
    /// the field keeps it).
    public var parseMicroseconds = 0
    /// `time_us.compile`: lowering the checked program to a unit image.
    public var compileMicroseconds = 0
    public var jitMicroseconds = 0
    public var cacheLoadMicroseconds = 0
    public var cacheStoreMicroseconds = 0
    public var runMicroseconds = 0
    /// What `cache_load` was spent on, in order (open, source, lookup, read, decompress, decode,
    /// hash, machine_code, install): `cache_phases_us`, only when the cache was used.
    public var cachePhases: [(name: String, microseconds: Int)] = []

    public var json: String {
        "{\"unit\":\"\(unit)\",\"units_compiled\":\(unitsCompiled),\"units_loaded\":\(unitsLoaded),"
            + "\"functions_compiled\":\(functionsCompiled),\"jit_compiled\":\(jitCompiled),"
            + "\"jit_loaded\":\(jitLoaded),\"time_us\":{\"parse\":\(parseMicroseconds),"
            + "\"compile\":\(compileMicroseconds),\"jit\":\(jitMicroseconds),"
            + "\"cache_load\":\(cacheLoadMicroseconds),\"cache_store\":\(cacheStoreMicroseconds),"
            + "\"run\":\(runMicroseconds)}" + phasesJSON + "}"
    }

    private var phasesJSON: String {
        guard !cachePhases.isEmpty else { return "" }
        return ",\"cache_phases_us\":{" + cachePhases.map { "\"\($0.name)\":\($0.microseconds)" }.joined(separator: ",") + "}"
    }
}
