#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonCache
import RibbonSyntax
import RibbonSystem

extension CacheKeys {
    /// The key factors of the unit a source file compiles to, as `ribbon cache key FILE` reports
    /// them: on the walk `run` takes (`ProgramWalk`), each file read, hashed and its `use` lines
    /// scanned as `run` does when the cache does not remember its digest; `dependencyKeys` are
    /// the keys of the files it uses, in `use` order, computed the same way, bottom-up. A used
    /// file that cannot be read throws; a `use` that closes a cycle is left out (such a program
    /// does not compile, so its key matches nothing).
    package static func factors(forFile path: String) throws(SystemError) -> UnitKeyFactors {
        let program = ProgramWalk()
        let root = program.root(path: path, stat: FileStat.of(path))
        try program.walk(from: root) { (frame: inout KeyFrame, chain) throws(SystemError) in
            let file = frame.file
            if !frame.started {
                let bytes = try FileSystem.readFile(file.path, limit: SourceFile.maximumBytes)
                file.digest = SHA256.hash(bytes)
                for problem in program.resolve(scanUses(bytes), of: file, chain: chain) {
                    if case .unreadable(_, let error) = problem { throw error }
                }
                frame.started = true
            }
            if let dependency = ProgramWalk.nextToVisit(after: &frame.next, of: file) { return .visit(dependency) }
            file.factors = ProgramWalk.factors(of: file)
            return .finished
        }
        return root.factors!
    }

    /// A file whose key `factors(forFile:)` is computing: whether it is read, and its next
    /// dependency to look at.
    private struct KeyFrame: ProgramWalk.Frame {
        let file: ProgramFile
        var started = false
        var next = 0

        init(file: ProgramFile) { self.file = file }
    }

    /// The path `run` stores a unit under: absolute, from the working directory when relative
    /// (as `CacheSession` makes it, without resolving `.`, `..` or links).
    static func storedSourcePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
