#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonCache
import RibbonSyntax
import RibbonSystem

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

    /// Keys of a program's files by file identity, with the files being visited. The files are
    /// walked with a stack of their own, not by recursion: a `use` chain tens of thousands of
    /// files deep would overflow the machine stack.
    private struct ProgramKeys {
        var known: [ProgramLoader.FileIdentity: UnitKeyFactors] = [:]
        var visiting: Set<ProgramLoader.FileIdentity> = []

        /// A file whose key is being computed: its uses, the next to look at, and the keys of
        /// the files it uses so far.
        struct Frame {
            var identity: ProgramLoader.FileIdentity
            var path: String
            var digest: SHA256Digest
            var uses: [UseDeclaration]
            var next = 0
            var seen: Set<ProgramLoader.FileIdentity> = []
            var dependencies: [SHA256Digest] = []
        }

        mutating func enter(_ path: String) throws(SystemError) -> Frame {
            let identity = ProgramKeys.identity(path)
            let bytes = try FileSystem.readFile(path)
            visiting.insert(identity)
            return Frame(identity: identity, path: path, digest: SHA256.hash(bytes), uses: scanUses(bytes))
        }

        mutating func factors(_ path: String) throws(SystemError) -> UnitKeyFactors {
            var stack = [try enter(path)]
            while true {
                let top = stack.count - 1
                if stack[top].next < stack[top].uses.count {
                    let use = stack[top].uses[stack[top].next]
                    stack[top].next += 1
                    let usedPath = ProgramLoader.join(directoryOf: stack[top].path, use.path)
                    let used = ProgramKeys.identity(usedPath)
                    guard !visiting.contains(used), stack[top].seen.insert(used).inserted else { continue }
                    if let known = known[used] {
                        stack[top].dependencies.append(known.key)
                    } else {
                        stack.append(try enter(usedPath))
                    }
                    continue
                }
                let done = stack.removeLast()
                visiting.remove(done.identity)
                let key = CacheKeys.factors(sourceDigest: done.digest, dependencyKeys: done.dependencies)
                guard !stack.isEmpty else { return key }
                known[done.identity] = key
                stack[stack.count - 1].dependencies.append(key.key)
            }
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
