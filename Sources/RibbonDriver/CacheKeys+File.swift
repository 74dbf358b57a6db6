#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonCache
import RibbonSyntax

extension CacheKeys {
    /// The key factors of the unit a source file compiles to, as `ribbon cache key FILE` reports
    /// them: `dependencyKeys` are the keys of the files it uses, in `use` order, each computed
    /// the same way, bottom-up (every file of the program is read). A used file that cannot be
    /// read throws; a `use` that closes a cycle is left out (such a program does not compile,
    /// so its key matches nothing).
    public static func factors(forFile path: String) throws(SystemError) -> UnitKeyFactors {
        var keys = ProgramKeys()
        return try keys.factors(path)
    }

    /// Keys of a program's files by file identity, with the files being visited.
    private struct ProgramKeys {
        var known: [ProgramLoader.FileIdentity: UnitKeyFactors] = [:]
        var visiting: Set<ProgramLoader.FileIdentity> = []

        mutating func factors(_ path: String) throws(SystemError) -> UnitKeyFactors {
            let identity = ProgramKeys.identity(path)
            let bytes = try FileSystem.readFile(path)
            visiting.insert(identity)
            defer { visiting.remove(identity) }
            var dependencies: [SHA256Digest] = []
            var seen: Set<ProgramLoader.FileIdentity> = []
            for use in scanUses(bytes) {
                let usedPath = ProgramLoader.join(directoryOf: path, use.path)
                let used = ProgramKeys.identity(usedPath)
                guard !visiting.contains(used), seen.insert(used).inserted else { continue }
                var key: UnitKeyFactors
                if let known = known[used] {
                    key = known
                } else {
                    key = try factors(usedPath)
                    known[used] = key
                }
                dependencies.append(key.key)
            }
            return CacheKeys.factors(sourceDigest: SHA256.hash(bytes), dependencyKeys: dependencies)
        }

        static func identity(_ path: String) -> ProgramLoader.FileIdentity {
            guard let stat = FileStat.of(path) else { return .path(path) }
            return .inode(device: stat.device, inode: stat.inode)
        }
    }

    /// The path `run` stores a unit under: absolute, from the working directory when relative
    /// (as `CacheSession` makes it, without resolving `.`, `..` or links).
    static func storedSourcePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
