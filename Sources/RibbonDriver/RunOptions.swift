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
