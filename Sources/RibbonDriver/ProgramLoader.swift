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

/// Finds every file of a program, and compiles or loads one unit per file, dependencies first
/// (LANGUAGE.md, "Files that use other files"), on the walk `cache key` takes too
/// (`ProgramWalk`): which files a program has and what their keys are is decided there.
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
    /// The program's files by identity, and the walk over them.
    private let program = ProgramWalk()

    init(cache: CacheSession?) {
        self.cache = cache
    }

    /// Loads the program whose file run is `path` (with `bytes` as its contents when given).
    func load(root path: String, bytes: [UInt8]? = nil) throws(Failure) -> ProgramFile {
        let stat = FileStat.of(path)
        let root = program.root(path: path, stat: stat)
        if let bytes {
            root.bytes = bytes
        } else if stat == nil {
            // The error `read` gives names the problem the way every other read error does.
            do {
                _ = try FileSystem.readFile(path, limit: SourceFile.maximumBytes)
            } catch {
                throw .unreadable("ribbon: error: \(error)")
            }
        }
        try walk(from: root)
        return root
    }

    // MARK: Visiting files

    /// One file being visited, and where its visit stands.
    private struct Frame: ProgramWalk.Frame {
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

        init(file: ProgramFile) { self.file = file }
    }

    /// Visits `root` and every file it uses (`ProgramWalk.walk`), each loaded by `step`.
    private func walk(from root: ProgramFile) throws(Failure) {
        defer { cache?.endSharedRead() }
        try program.walk(from: root) { (frame: inout Frame, chain) throws(Failure) in
            if let cache {
                // The cache's reads share one transaction; compiling happens outside it (an
                // open reader holds back other processes' checkpoints).
                if frame.step == .compile { cache.endSharedRead() } else { cache.beginSharedRead() }
            }
            return try step(&frame, chain: chain)
        }
    }

    /// Does the next step of the visit of `frame.file`.
    private func step(_ frame: inout Frame, chain: [ProgramFile]) throws(Failure) -> ProgramWalk.Next {
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
            if let dependency = ProgramWalk.nextToVisit(after: &frame.next, of: file) { return .visit(dependency) }
            frame.step = frame.step == .dependencies ? .lookUp : .compile
            return .again

        case .lookUp:
            if cache != nil, !(frame.probed && file.dependencies.isEmpty) {
                if lookup(file, ProgramWalk.factors(of: file)) { return .finished }
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
                file.factors = ProgramWalk.factors(of: file)
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
        // A file that is not UTF-8 text is that one error; what its `use` lines seem to say is moot.
        if let encoding = source.encodingError() { throw .compile(path: file.path, diagnostics: [encoding.rendered(in: source)]) }
        let all = ((parsed?.diagnostics ?? []) + problems).sortedByLocation()
        throw .compile(path: file.path, diagnostics: all.rendered(in: source))
    }

    /// The problems with `file`'s uses (`ProgramWalk.resolve`), as compile errors.
    private func resolve(_ uses: [UseDeclaration], of file: ProgramFile, chain: [ProgramFile]) -> [Diagnostic] {
        program.resolve(uses, of: file, chain: chain).map(\.diagnostic)
    }

    private func read(_ file: ProgramFile) throws(Failure) {
        guard file.bytes == nil else { return }
        do {
            file.bytes = try FileSystem.readFile(file.path, limit: SourceFile.maximumBytes)
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
        guard let bytes = try? FileSystem.readFile(file.path, limit: SourceFile.maximumBytes), SHA256.hash(bytes) == file.digest else { return nil }
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
