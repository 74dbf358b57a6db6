import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonJIT
import RibbonSyntax

/// `ribbon build`: compile (and pre-JIT) files into the cache without running them, so that the
/// first real run is warm; or only diagnose them (`--check`).
package struct BuildOptions: Sendable {
    /// Also compile every function to machine code and store it.
    package var jit = false
    /// Only report diagnostics: nothing is stored.
    package var check = false
    package var cacheDirectory: String? = nil

    package init() {}
}

/// What building one file did.
package struct BuildResult: Sendable, Equatable {
    package enum Outcome: String, Sendable {
        /// Compiled (and stored, unless `--check`).
        case compiled
        /// Already in the cache (with machine code for every function, under `--jit`).
        case cached
        /// Compile errors (`diagnostics`).
        case failed
        /// The file could not be read.
        case unreadable
        /// Compiled, but the cache could not store it (locked past the busy timeout, full,
        /// read-only, not usable at all): the build did not do what it was asked.
        case notStored = "not-stored"
    }

    package var path: String
    package var outcome: Outcome
    /// The unit key (hex), when the file was read.
    package var key: String?
    package var functions = 0
    /// Functions compiled to machine code by this build.
    package var jitCompiled = 0
    /// Rendered diagnostics, I/O errors and cache warnings, one per element.
    package var messages: [String] = []
    /// Every file the program uses, itself included and first (for `--depfile`).
    package var files: [String] = []

    package var succeeded: Bool { outcome == .compiled || outcome == .cached }
}

extension Driver {
    /// Builds one program into the cache (see `BuildOptions`): the file and every file it uses,
    /// one unit each, each stored under its own key.
    package static func build(path: String, options: BuildOptions) -> BuildResult {
        var result = BuildResult(path: path, outcome: .failed, key: nil, files: [path])
        var warnings: [String] = []
        let cache = options.check ? nil : CacheSession.open(directory: options.cacheDirectory, warnings: &warnings)
        let loader = ProgramLoader(cache: cache)
        loader.recordHits = false
        loader.computesKeys = true
        let jit = JITEngine()
        // Stores what was compiled (units compiled before a failure in a later file too) and
        // collects the warnings. (Not a `defer`: it would run after the result is copied out.)
        func finish() -> BuildResult {
            if let cache { store(loader.files, in: cache, compiled: jit.compiled) }
            result.messages += warnings + (cache?.warnings ?? [])
            // The warning that says why is already among the messages: one line.
            if !options.check, result.succeeded, cache?.didFailToStore ?? true { result.outcome = .notStored }
            return result
        }
        let root: ProgramFile
        do {
            root = try loader.load(root: path)
        } catch {
            result.files = [path] + loader.files.map(\.path).filter { $0 != path }
            switch error {
            case .unreadable(let message):
                result.outcome = .unreadable
                result.messages.append(message)
            case .compile(let failedPath, let diagnostics):
                result.messages += diagnostics
                let count = diagnostics.count
                if diagnostics.last != Diagnostic.tooManyErrors {
                    result.messages.append("ribbon: \(count) error\(count == 1 ? "" : "s") in \(failedPath)")
                }
            case .load(let failedPath, let message):
                result.messages.append("ribbon: error: \(failedPath): \(message)")
            }
            return finish()
        }
        result.files = [root.path] + loader.files.filter { $0 !== root }.map(\.path)
        result.key = root.factors?.key.hex
        result.functions = root.unit!.functions.count
        let compiledUnits = loader.files.contains { $0.image != nil }
        result.outcome = compiledUnits ? .compiled : .cached
        guard let cache else { return finish() }
        // Already cached: with --jit, every function must have machine code for this host too.
        for file in loader.files {
            let unit = file.unit!
            jit.installCached(file.cachedCode, of: unit)
            if file.lazyMachineCode { installCachedCodeOnPlacement(file, jit: jit, cache: cache) }
            if options.jit {
                // Glue first: compiled functions call C through the slots it fills.
                try? jit.installForeignGlue(unit)
                jit.installAll(unit)
            }
        }
        result.jitCompiled = jit.compiledCount
        if !jit.compiled.isEmpty { result.outcome = .compiled }
        return finish()
    }

    /// A Make-style dependency line: `target: file file …`, spaces in names escaped.
    package static func depfile(target: String, files: [String]) -> String {
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
