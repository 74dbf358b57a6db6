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

/// Finds every file of a program, and compiles or loads one unit per file, dependencies first
/// (LANGUAGE.md, "Files that use other files").
///
/// Each unit is linked when it loads: its imported entries resolve through the units of the
/// files it uses (`resolver(for:)`), which are loaded already. A file is checked against the
/// interfaces of the files it uses, read from their loaded units, so a dependency that comes
/// from the cache is never parsed.
///
/// With a cache, a file's key needs the keys of the files it uses, computed bottom-up. A file
/// whose digest the cache remembers (by stat data) is not read at all when it uses no other
/// file: its key is then `factors(digest, [])`, and a stored unit under that key proves it
/// (a file's uses are a function of its bytes). A file that misses that probe is read and its
/// `use` lines found by `scanUses`, without parsing. What is compiled and stored always comes
/// from the parser.
final class ProgramLoader {
    enum Failure: Error {
        /// The file run cannot be read (exit 74): the message.
        case unreadable(String)
        /// Compile errors in `path` (exit 1), rendered.
        case compile(path: String, diagnostics: [String])
        /// A unit that does not load (exit 1): `ribbon: error: PATH: MESSAGE`.
        case load(path: String, message: String)
    }

    let cache: CacheSession?
    /// `false` for lookups that are not runs (`ribbon build`).
    var recordHits = true
    /// Computes every file's key even without a cache (`ribbon build --check` reports it).
    var computesKeys = false
    var statistics = RunStatistics()
    /// Every file of the program, dependencies before the files that use them.
    private(set) var files: [ProgramFile] = []
    private var byIdentity: [FileIdentity: ProgramFile] = [:]

    /// A file, by what `stat` says (so two paths to one file are one file), else by path.
    enum FileIdentity: Hashable {
        case inode(device: UInt64, inode: UInt64)
        case path(String)
    }

    init(cache: CacheSession?) {
        self.cache = cache
    }

    /// Loads the program whose file run is `path` (with `bytes` as its contents when given).
    func load(root path: String, bytes: [UInt8]? = nil) throws(Failure) -> ProgramFile {
        let stat = FileStat.of(path)
        let root = ProgramFile(path: path, stat: stat)
        if let bytes {
            root.bytes = bytes
        } else if stat == nil {
            // The error `read` gives names the problem the way every other read error does.
            do {
                _ = try FileSystem.readFile(path)
            } catch {
                throw .unreadable("ribbon: error: \(error)")
            }
        }
        byIdentity[identity(path, stat)] = root
        try walk(from: root)
        return root
    }

    // MARK: Visiting files

    /// One file being visited, and where its visit stands: what a recursive visit kept on the
    /// machine stack, which a `use` chain a few thousand files deep overflowed (SIGSEGV).
    private struct Frame {
        enum Step {
            /// Find the digest, probe the cache, read the file and resolve its uses.
            case start
            /// Visit the files it uses (`next` is the next to look at), then `lookUp`.
            case dependencies
            /// Look its unit up under its full key; else parse it, and if the parser finds other
            /// uses than the scan did, visit those (`reparsedDependencies`), else `compile`.
            case lookUp
            case reparsedDependencies
            case compile
        }

        let file: ProgramFile
        var step = Step.start
        /// Whether the unit was looked up as using nothing, before the file was read.
        var probed = false
        var parsed: ParsedFile? = nil
        var uses: [UseDeclaration] = []
        var next = 0
    }

    /// What a step of a visit leads to.
    private enum Next {
        /// Another step of the same file.
        case again
        /// Visit this file (it uses it), then come back.
        case visit(ProgramFile)
        /// The file is loaded (compiled, or from the cache).
        case finished
    }

    /// Visits `root` and every file it uses, depth first, each once, dependencies before the
    /// files that use them (what appends them to `files`), with an explicit stack: the depth
    /// of a `use` chain is bounded by memory, not by the machine stack. `chain` is the path of
    /// `use`s from the root to the file on top (for the cycle message).
    private func walk(from root: ProgramFile) throws(Failure) {
        var stack = [Frame(file: root)]
        var chain = [root]
        root.state = .visiting
        defer {
            // After a failure, the files still being visited count as visited, as before.
            for frame in stack { frame.file.state = .done }
            cache?.endSharedRead()
        }
        while !stack.isEmpty {
            if let cache {
                // The cache's reads share one transaction; compiling happens outside it (an
                // open reader holds back other processes' checkpoints).
                if stack[stack.count - 1].step == .compile { cache.endSharedRead() } else { cache.beginSharedRead() }
            }
            switch try step(&stack[stack.count - 1], chain: chain) {
            case .again:
                continue
            case .visit(let dependency):
                dependency.state = .visiting
                stack.append(Frame(file: dependency))
                chain.append(dependency)
            case .finished:
                stack.removeLast().file.state = .done
                chain.removeLast()
            }
        }
    }

    /// Does the next step of the visit of `frame.file`.
    private func step(_ frame: inout Frame, chain: [ProgramFile]) throws(Failure) -> Next {
        let file = frame.file
        switch frame.step {
        case .start:
            if let cache {
                let t0 = MonotonicClock.microseconds()
                if file.bytes == nil, !file.digestQueried {
                    file.digest = cache.rememberedDigest(path: file.path, stat: file.stat)
                }
                if file.digest == nil {
                    try read(file)
                    file.digest = SHA256.hash(file.bytes!)
                    cache.rememberDigest(file.digest!, path: file.path, stat: file.stat)
                }
                notePhase("source", MonotonicClock.microseconds() - t0)
                statistics.cacheLoadMicroseconds += MonotonicClock.microseconds() - t0
                if file.bytes == nil {
                    if lookup(file, CacheKeys.factors(sourceDigest: file.digest!)) { return .finished }
                    frame.probed = true
                }
            }
            try read(file)
            if cache == nil {
                frame.parsed = parse(file)
                frame.uses = frame.parsed!.uses
            } else {
                frame.uses = scanUses(file.bytes!)
            }
            var problems = resolve(frame.uses, of: file, chain: chain)
            if !problems.isEmpty, frame.parsed == nil {
                // The scan may be wrong about a file with errors: the parser decides.
                frame.parsed = parse(file)
                frame.uses = frame.parsed!.uses
                problems = resolve(frame.uses, of: file, chain: chain)
            }
            try report(problems, of: file, parsed: frame.parsed)
            queryDigests(ofFilesUsedBy: file)
            frame.step = .dependencies
            frame.next = 0
            return .again

        case .dependencies, .reparsedDependencies:
            // A file is looked at when its turn comes: one visited meanwhile (used by an
            // earlier dependency too) is skipped.
            while frame.next < file.dependencies.count {
                let dependency = file.dependencies[frame.next]
                frame.next += 1
                if dependency.state == .new { return .visit(dependency) }
            }
            frame.step = frame.step == .dependencies ? .lookUp : .compile
            return .again

        case .lookUp:
            if cache != nil, !(frame.probed && file.dependencies.isEmpty) {
                if lookup(file, factors(of: file)) { return .finished }
            }
            frame.step = .compile
            if frame.parsed == nil {
                cache?.endSharedRead()
                let parsed = parse(file)
                frame.parsed = parsed
                if parsed.uses.map(\.path) != frame.uses.map(\.path) {
                    // Only for a file the parser rejects (or a scanner bug): start over from its uses.
                    try report(resolve(parsed.uses, of: file, chain: chain), of: file, parsed: parsed)
                    frame.step = .reparsedDependencies
                    frame.next = 0
                }
            }
            return .again

        case .compile:
            let parsed = frame.parsed.take()!
            try compile(file, parsed)
            if cache != nil || computesKeys {
                if file.digest == nil { file.digest = SHA256.hash(file.bytes!) }
                file.factors = factors(of: file)
            }
            return .finished
        }
    }

    /// Asks the cache for the remembered digests of the files `file` uses that are not visited
    /// yet, with one query, rather than one query each when their visits start.
    private func queryDigests(ofFilesUsedBy file: ProgramFile) {
        guard let cache else { return }
        let t0 = MonotonicClock.microseconds()
        let files = file.dependencies.filter { $0.state == .new && !$0.digestQueried && $0.bytes == nil && $0.stat != nil }
        guard !files.isEmpty else { return }
        let digests = cache.rememberedDigests(files.map { (path: $0.path, stat: $0.stat!) })
        for (dependency, digest) in zip(files, digests) {
            dependency.digest = digest
            dependency.digestQueried = true
        }
        notePhase("source", MonotonicClock.microseconds() - t0)
        statistics.cacheLoadMicroseconds += MonotonicClock.microseconds() - t0
    }

    /// Throws the problems with `file`'s uses (with its syntax errors), if any.
    private func report(_ problems: [Diagnostic], of file: ProgramFile, parsed: ParsedFile?) throws(Failure) {
        guard !problems.isEmpty else { return }
        let source = SourceFile(path: file.path, bytes: file.bytes!)
        let all = ((parsed?.diagnostics ?? []) + problems).sortedByLocation()
        throw .compile(path: file.path, diagnostics: all.map { $0.rendered(in: source) })
    }

    /// Finds the file each `use` names: `usePaths` and `dependencies`. Returns the `use`s that
    /// name no readable file, or a file that is being visited (a cycle).
    private func resolve(_ uses: [UseDeclaration], of file: ProgramFile, chain: [ProgramFile]) -> [Diagnostic] {
        file.usePaths = [:]
        file.dependencies = []
        var listed = Set<ObjectIdentifier>()  // two `use` paths may name one file
        var problems: [Diagnostic] = []
        for use in uses where file.usePaths[use.path] == nil {
            let path = ProgramLoader.join(directoryOf: file.path, use.path)
            let st: stat
            do throws(SystemError) {
                st = try FileSystem.status(path)
                if FileSystem.isDirectory(st) { throw SystemError(call: "stat", path: path, errno: EISDIR) }
            } catch {
                let error = SystemError(call: "read", path: path, errno: error.errno)
                problems.append(Diagnostic("cannot use \"\(use.path)\": \(error)", at: use.location))
                continue
            }
            let fileStat = FileStat(st)
            let key = identity(path, fileStat)
            let dependency: ProgramFile
            if let known = byIdentity[key] {
                dependency = known
            } else {
                dependency = ProgramFile(path: path, stat: fileStat)
                dependency.firstUse = (file, use.location)
                byIdentity[key] = dependency
            }
            if dependency.state == .visiting {
                let start = chain.firstIndex { $0 === dependency } ?? chain.startIndex
                let cycle = chain[start...].map(\.path) + [dependency.path]
                var message = "`use` cycle: \(cycle[0]) uses \(cycle[1])"
                for path in cycle.dropFirst(2) { message += ", which uses \(path)" }
                problems.append(Diagnostic(message, at: use.location))
                continue
            }
            file.usePaths[use.path] = dependency
            if listed.insert(ObjectIdentifier(dependency)).inserted { file.dependencies.append(dependency) }
        }
        return problems
    }

    private func identity(_ path: String, _ stat: FileStat?) -> FileIdentity {
        guard let stat else { return .path(path) }
        return .inode(device: stat.device, inode: stat.inode)
    }

    private func read(_ file: ProgramFile) throws(Failure) {
        guard file.bytes == nil else { return }
        do {
            file.bytes = try FileSystem.readFile(file.path)
        } catch {
            guard let (user, location) = file.firstUse, let bytes = user.bytes else {
                throw .unreadable("ribbon: error: \(error)")
            }
            let diagnostic = Diagnostic("cannot use \"\(file.path)\": \(error)", at: location)
            throw .compile(path: user.path, diagnostics: [diagnostic.rendered(in: SourceFile(path: user.path, bytes: bytes))])
        }
    }

    private func parse(_ file: ProgramFile) -> ParsedFile {
        let t0 = MonotonicClock.microseconds()
        CompilerMemory.prepare(forSourceBytes: file.bytes!.count)
        let parsed = ParsedFile(SourceFile(path: file.path, bytes: file.bytes!))
        let spent = MonotonicClock.microseconds() - t0
        statistics.parseMicroseconds += spent
        file.compileMicroseconds += spent
        return parsed
    }

    // MARK: The cache

    /// The key of a file whose dependencies have their keys.
    private func factors(of file: ProgramFile) -> UnitKeyFactors {
        CacheKeys.factors(sourceDigest: file.digest!, dependencyKeys: file.dependencies.map { $0.key! })
    }

    /// Looks the file's unit up under `factors` and loads it when it is there.
    private func lookup(_ file: ProgramFile, _ factors: UnitKeyFactors) -> Bool {
        guard let cache else { return false }
        let t0 = MonotonicClock.microseconds()
        defer { statistics.cacheLoadMicroseconds += MonotonicClock.microseconds() - t0 }
        file.factors = factors
        let found = cache.lookup(
            key: file.key!, path: file.path, resolver: resolver(for: file), recordHit: recordHits, sourcePath: file.path)
        for (name, microseconds) in cache.store.lastLoadPhases { notePhase(name, microseconds) }
        if cache.decodeMicroseconds > 0 { notePhase("decode", cache.decodeMicroseconds) }
        guard case .hit(let unit, let code, let lazyMachineCode, let imageDigest) = found else { return false }
        file.lazyMachineCode = lazyMachineCode
        file.storedImageDigest = imageDigest
        // If a part of the stored image fails its checks (or its row is gone) mid-run, the same
        // image is compiled afresh and the run continues with it, if it is byte for byte the
        // stored one; the end of the run stores it over the bad row.
        unit.fallbackImage = { [weak self, weak file] in
            guard let self, let file else { return nil }
            return self.recompile(file)
        }
        file.unit = unit
        file.cachedCode = code
        files.append(file)
        statistics.unitsLoaded += 1
        return true
    }

    /// Adds to the `cache_phases_us` entry `name` (summed over the program's files).
    func notePhase(_ name: String, _ microseconds: Int) {
        if let index = statistics.cachePhases.firstIndex(where: { $0.name == name }) {
            statistics.cachePhases[index].microseconds += microseconds
        } else {
            statistics.cachePhases.append((name, microseconds))
        }
    }

    /// The file's image compiled afresh, only if its source still has the digest its key was
    /// made from and the image has the stored image's SHA-256. Compilation is deterministic and
    /// an image holds nothing its key does not cover (no path), so it normally does; anything
    /// else would splice parts of two images into one unit, so it is refused (the unit is then
    /// `unavailable`, and the run stops with an internal error).
    private func recompile(_ file: ProgramFile) -> UnitImage? {
        if let image = file.fallbackImage { return image }
        guard let expected = file.storedImageDigest else { return nil }
        guard let bytes = try? FileSystem.readFile(file.path), SHA256.hash(bytes) == file.digest else { return nil }
        var used: [String: UsedUnit] = [:]
        for (usePath, dependency) in file.usePaths {
            guard let encoded = dependency.unit?.interface, let interface = UnitInterface(encoded: encoded) else { return nil }
            used[usePath] = UsedUnit(displayPath: dependency.path, interface: interface)
        }
        let source = SourceFile(path: file.path, bytes: bytes)
        var ignored = RunStatistics()
        guard case .success(let image, _) = Driver.compile(ParsedFile(source), source: source, uses: used, statistics: &ignored),
            SHA256.hash(image.bytes).bytes == expected
        else { return nil }
        file.fallbackImage = image
        return image
    }

    // MARK: Compiling and linking

    /// Resolves a unit's imported entries (`PATH:NAME`) through the files it uses.
    func resolver(for file: ProgramFile) -> SymbolResolver {
        SymbolResolver(
            builtin: Builtins.address(named:),
            imported: { name, kind in
                // By bytes: the name is ASCII up to the path, and `lastIndex(of:)` on characters
                // was a measurable part of linking a program of many files.
                guard let colon = name.utf8.lastIndex(of: UInt8(ascii: ":")),
                    let unit = file.usePaths[String(name[..<colon])]?.unit
                else {
                    return nil
                }
                return ImportedSymbol.export(String(name[name.index(after: colon)...]), of: unit, kind: kind)
            })
    }

    private func compile(_ file: ProgramFile, _ parsed: consuming ParsedFile) throws(Failure) {
        var used: [String: UsedUnit] = [:]
        for (usePath, dependency) in file.usePaths {
            guard let bytes = dependency.unit?.interface, let interface = UnitInterface(encoded: bytes) else {
                throw .load(path: dependency.path, message: "its unit has no readable interface")
            }
            used[usePath] = UsedUnit(displayPath: dependency.path, interface: interface)
        }
        let before = statistics.parseMicroseconds + statistics.compileMicroseconds
        let outcome = Driver.compile(parsed, source: SourceFile(path: file.path, bytes: file.bytes!), uses: used, statistics: &statistics)
        file.compileMicroseconds += statistics.parseMicroseconds + statistics.compileMicroseconds - before
        switch outcome {
        case .failure(let diagnostics):
            throw .compile(path: file.path, diagnostics: diagnostics)
        case .success(let image, let functionCount):
            file.image = image
            file.functionCount = functionCount
        }
        do {
            file.unit = try LoadedUnit(image: file.image!, resolver: resolver(for: file), sourcePath: file.path)
        } catch {
            throw .load(path: file.path, message: "\(error)")
        }
        files.append(file)
    }

    // MARK: Paths

    /// `relative` as seen from the directory of `file` (unchanged when absolute), lexically
    /// cleaned: no `.` segments, `dir/..` folded, repeated slashes merged. (Like `filepath.Clean`:
    /// `..` after a symbolic link to a directory is folded as if it were a directory.)
    static func join(directoryOf file: String, _ relative: String) -> String {
        if relative.hasPrefix("/") { return clean(relative) }
        guard let slash = file.lastIndex(of: "/") else { return clean(relative) }
        return clean(String(file[...slash]) + relative)
    }

    static func clean(_ path: String) -> String {
        isClean(path) ? path : cleanedBySegments(path)
    }

    /// `clean` by splitting `path` into segments and joining them again.
    static func cleanedBySegments(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == "..", absolute, parts.isEmpty { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Whether `clean` would return `path` unchanged: not empty, no empty, `.` or `..` segment,
    /// no slash at the end (but `/` itself). Most joined `use` paths are; splitting and joining
    /// them again was a measurable part of loading a program of many files.
    static func isClean(_ path: String) -> Bool {
        if path == "/" { return true }
        var length = 0  // of the segment so far
        var dots = 0  // of its bytes that are dots
        for (offset, byte) in path.utf8.enumerated() {
            guard byte == UInt8(ascii: "/") else {
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
                continue
            }
            // The segment before this slash: empty (but before a leading slash), `.` or `..`.
            if offset > 0, length == 0 || (length == dots && dots <= 2) { return false }
            length = 0
            dots = 0
        }
        return length > 0 && !(length == dots && dots <= 2)
    }
}
