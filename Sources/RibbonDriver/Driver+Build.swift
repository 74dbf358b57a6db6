import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonJIT
import RibbonSyntax

/// `ribbon build`: compile (and pre-JIT) files into the cache without running them, so that the
/// first real run is warm; or only diagnose them (`--check`).
public struct BuildOptions: Sendable {
    /// Also compile every function to machine code and store it.
    public var jit = false
    /// Only report diagnostics: nothing is stored.
    public var check = false
    public var cacheDirectory: String? = nil

    public init() {}
}

/// What building one file did.
public struct BuildResult: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        /// Compiled (and stored, unless `--check`).
        case compiled
        /// Already in the cache (with machine code for every function, under `--jit`).
        case cached
        /// Compile errors (`diagnostics`).
        case failed
        /// The file could not be read.
        case unreadable
    }

    public var path: String
    public var outcome: Outcome
    /// The unit key (hex), when the file was read.
    public var key: String?
    public var functions = 0
    /// Functions compiled to machine code by this build.
    public var jitCompiled = 0
    /// Rendered diagnostics, I/O errors and cache warnings, one per element.
    public var messages: [String] = []
    /// Every file the program uses, itself included (for `--depfile`).
    public var files: [String] = []

    public var succeeded: Bool { outcome == .compiled || outcome == .cached }
}

extension Driver {
    /// Builds one file into the cache (see `BuildOptions`).
    public static func build(path: String, options: BuildOptions) -> BuildResult {
        var result = BuildResult(path: path, outcome: .failed, key: nil, files: [path])
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            result.outcome = .unreadable
            result.messages.append("ribbon: error: \(error)")
            return result
        }
        let factors = CacheKeys.factors(sourceDigest: SHA256.hash(bytes))
        result.key = factors.key.hex
        var warnings: [String] = []
        let cache = options.check ? nil : CacheSession.open(directory: options.cacheDirectory, warnings: &warnings)
        defer { result.messages += warnings + (cache?.warnings ?? []) }

        // Already cached: with --jit, every function must have machine code for this host too.
        if let cache, case .hit(let unit, let code) = cache.lookup(key: factors.key, path: path, resolver: resolver, recordHit: false)
        {
            result.functions = unit.functions.count
            let jit = JITEngine()
            jit.installCached(code, of: unit)
            if options.jit { jit.installAll(unit) }
            result.jitCompiled = jit.compiledCount
            result.outcome = jit.compiled.isEmpty ? .cached : .compiled
            cache.store(key: factors, path: path, image: nil, compileMicroseconds: 0, compiled: jit.compiled)
            return result
        }

        var statistics = RunStatistics()
        let image: UnitImage
        switch compile(SourceFile(path: path, bytes: bytes), statistics: &statistics) {
        case .failure(let diagnostics):
            result.messages += diagnostics
            let count = diagnostics.count
            result.messages.append("ribbon: \(count) error\(count == 1 ? "" : "s") in \(path)")
            return result
        case .success(let compiled, let functionCount):
            image = compiled
            result.functions = functionCount
        }
        let unit: LoadedUnit
        do {
            unit = try LoadedUnit(image: image, resolver: resolver)
        } catch {
            result.messages.append("ribbon: error: \(path): \(error)")
            return result
        }
        result.outcome = .compiled
        guard let cache else { return result }
        let jit = JITEngine()
        if options.jit {
            // Glue first: compiled functions call C through the slots it fills.
            try? jit.installForeignGlue(unit)
            jit.installAll(unit)
            result.jitCompiled = jit.compiledCount
        }
        cache.store(
            key: factors, path: path, image: image,
            compileMicroseconds: statistics.parseMicroseconds + statistics.compileMicroseconds, compiled: jit.compiled)
        return result
    }

    /// A Make-style dependency line: `target: file file …`, spaces in names escaped.
    public static func depfile(target: String, files: [String]) -> String {
        func escape(_ s: String) -> String {
            var out = ""
            for c in s {
                if c == " " || c == "#" { out.append("\\") }
                if c == "$" { out.append("$") }
                out.append(c)
            }
            return out
        }
        return escape(target) + ":" + files.map { " " + escape($0) }.joined() + "\n"
    }
}
