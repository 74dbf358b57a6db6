import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonJIT
import RibbonSyntax
import RibbonVM

/// One file of a program, as `ProgramLoader` finds, compiles or loads it.
final class ProgramFile {
    enum State { case new, visiting, done }

    /// How the file is opened and named (messages, backtraces, the cache): as given for the
    /// file run; for a used file, the using file's directory joined with the `use` path,
    /// lexically cleaned (`ProgramLoader.join`).
    let path: String
    var state = State.new
    var stat: FileStat?
    var bytes: [UInt8]?
    var digest: SHA256Digest?
    /// Whether the cache was asked for its remembered digest (`digest` is its answer).
    var digestQueried = false
    /// The first `use` that named this file (where an error reading it is reported).
    var firstUse: (file: ProgramFile, location: SourceLocation)?
    /// Each `use` path as written → the file it names.
    var usePaths: [String: ProgramFile] = [:]
    /// The files this one uses, in `use` order, each once.
    var dependencies: [ProgramFile] = []
    /// Its cache key's factors (with a cache only), and the key they hash to (hashed once: the
    /// keys of the files it uses are factors of the keys of the files that use it).
    var factors: UnitKeyFactors? {
        didSet { key = factors?.key }
    }
    private(set) var key: SHA256Digest?
    var unit: LoadedUnit?
    /// The image compiled in this run; nil when the unit came from the cache.
    var image: UnitImage?
    var functionCount = 0
    /// Parse, check and lower time of this file in this run.
    var compileMicroseconds = 0
    /// Machine code the cache holds for a unit it loaded whole (installed before `main`).
    var cachedCode: [(functionId: UInt32, code: MachineCode)] = []
    /// The unit was loaded lazily and the cache holds machine code for it: each function's is
    /// fetched when the function is placed (`Driver.installCachedCodeOnPlacement`).
    var lazyMachineCode = false
    /// The stored image's SHA-256 (a lazily loaded unit): an image compiled afresh mid-run
    /// stands in for it only if it matches (`ProgramLoader.recompile`).
    var storedImageDigest: [UInt8]?
    /// The image compiled afresh for a unit from the cache that turned out damaged mid-run.
    var fallbackImage: UnitImage?

    init(path: String, stat: FileStat?) {
        self.path = path
        self.stat = stat
    }
}
