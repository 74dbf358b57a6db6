#if canImport(Glibc)
import Glibc
#endif
import RibbonCache
import RibbonSystem
import RibbonSyntax

/// The one walk over a program's files, from the file run down its `use`s, that every key of
/// the program comes from: `run` and `build` (`ProgramLoader`, which compiles or loads a unit
/// per file on the way) and `cache key` (`CacheKeys.factors(forFile:)`, which only reads and
/// hashes) both go through it, so the key `--explain` describes is the one `run` computes.
///
/// It owns what decides a key besides a file's bytes: which file each `use` names (`resolve`:
/// the path joined and cleaned, one file per `stat` identity, a `use` that closes a cycle left
/// out), the order of a file's dependencies, and the key of a file from its digest and theirs
/// (`factors(of:)`). The walkers say what a visit does, one step at a time (`walk`).
final class ProgramWalk {
    /// A file, by what `stat` says (so two paths to one file are one file), else by path.
    enum FileIdentity: Hashable {
        case inode(device: UInt64, inode: UInt64)
        case path(String)
    }

    private var byIdentity: [FileIdentity: ProgramFile] = [:]

    /// The file run (`stat` as the caller found it; nil when it does not exist).
    func root(path: String, stat: FileStat?) -> ProgramFile {
        let root = ProgramFile(path: path, stat: stat)
        byIdentity[identity(path, stat)] = root
        return root
    }

    // MARK: Visiting files

    /// What a step of a visit leads to.
    enum Next {
        /// Another step of the same file.
        case again
        /// Visit this file (it uses it), then come back.
        case visit(ProgramFile)
        /// The file is done with (loaded, or its key known).
        case finished
    }

    /// A walker's record of one file being visited, and where its visit stands: what a
    /// recursive visit kept on the machine stack, which a `use` chain a few thousand files
    /// deep overflowed (SIGSEGV).
    protocol Frame {
        init(file: ProgramFile)
        var file: ProgramFile { get }
    }

    /// Visits `root` and every file it uses, depth first, each once, dependencies before the
    /// files that use them, with an explicit stack: the depth of a `use` chain is bounded by
    /// memory, not by the machine stack. `step` does the next step of the file on top; `chain`
    /// is the path of `use`s from the root to it (for the cycle message).
    func walk<F: Frame, Failure: Error>(
        from root: ProgramFile, _ frameType: F.Type = F.self,
        step: (inout F, _ chain: [ProgramFile]) throws(Failure) -> Next
    ) throws(Failure) {
        var stack = [F(file: root)]
        var chain = [root]
        root.state = .visiting
        defer {
            // After a failure, the files still being visited count as visited, as before.
            for frame in stack { frame.file.state = .done }
        }
        while !stack.isEmpty {
            switch try step(&stack[stack.count - 1], chain) {
            case .again:
                continue
            case .visit(let dependency):
                dependency.state = .visiting
                stack.append(F(file: dependency))
                chain.append(dependency)
            case .finished:
                stack.removeLast().file.state = .done
                chain.removeLast()
            }
        }
    }

    /// The next of `file`'s dependencies still to visit, from `next` on (advanced past it);
    /// nil when none is left. A file is looked at when its turn comes: one visited meanwhile
    /// (used by an earlier dependency too) is skipped.
    static func nextToVisit(after next: inout Int, of file: ProgramFile) -> ProgramFile? {
        while next < file.dependencies.count {
            let dependency = file.dependencies[next]
            next += 1
            if dependency.state == .new { return dependency }
        }
        return nil
    }

    // MARK: Uses

    /// A `use` that names no file the walk can visit.
    enum UseProblem {
        /// It names no readable file (or a directory).
        case unreadable(UseDeclaration, SystemError)
        /// It names a file being visited: `cycle` is the paths from that file round to it again.
        case cycle(UseDeclaration, [String])

        /// The compile error `run` reports.
        var diagnostic: Diagnostic {
            switch self {
            case .unreadable(let use, let error):
                return Diagnostic("cannot use \"\(use.path)\": \(error)", at: use.location)
            case .cycle(let use, let cycle):
                var message = "`use` cycle: \(cycle[0]) uses \(cycle[1])"
                for path in cycle.dropFirst(2) { message += ", which uses \(path)" }
                return Diagnostic(message, at: use.location)
            }
        }
    }

    /// Finds the file each `use` names: `usePaths` and `dependencies` (in `use` order, each
    /// file once). Returns the `use`s that name no readable file, or a file that is being
    /// visited (a cycle); those are left out.
    func resolve(_ uses: [UseDeclaration], of file: ProgramFile, chain: [ProgramFile]) -> [UseProblem] {
        file.usePaths = [:]
        file.dependencies = []
        var listed = Set<ObjectIdentifier>()  // two `use` paths may name one file
        var problems: [UseProblem] = []
        for use in uses where file.usePaths[use.path] == nil {
            let path = ProgramLoader.join(directoryOf: file.path, use.path)
            let st: stat
            do throws(SystemError) {
                st = try FileSystem.status(path)
                if FileSystem.isDirectory(st) { throw SystemError(call: "stat", path: path, errno: EISDIR) }
            } catch {
                problems.append(.unreadable(use, SystemError(call: "read", path: path, errno: error.errno)))
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
                problems.append(.cycle(use, chain[start...].map(\.path) + [dependency.path]))
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

    // MARK: Keys

    /// The key of a file whose dependencies have their keys: its digest, then theirs in `use`
    /// order.
    static func factors(of file: ProgramFile) -> UnitKeyFactors {
        CacheKeys.factors(sourceDigest: file.digest!, dependencyKeys: file.dependencies.map { $0.key! })
    }
}
