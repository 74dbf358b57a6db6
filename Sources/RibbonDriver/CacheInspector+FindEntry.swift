#if canImport(Glibc)
import Glibc
#endif
import RibbonCache
import RibbonSystem

/// Which stored unit `cache show ENTRY` means: a key prefix, a source path however it is
/// written, or the end of one.
extension CacheInspector {
    /// Finds `cache show`'s ENTRY: a key prefix of at least 4 hex digits, or a source path
    /// (the most recently used unit stored for it), or the end of one (`fib.rib`).
    package enum EntryLookup: Sendable, Equatable {
        case found(CacheStore.UnitSummary)
        case ambiguous([CacheStore.UnitSummary])
        case notFound
        /// Hex digits too few to be a prefix, and no such path.
        case tooShort
    }

    package static let minimumKeyPrefix = 4

    package static func findEntry(_ text: String, in store: CacheStore) throws -> EntryLookup {
        let isHex = !text.isEmpty && text.allSatisfy { $0.isHexDigit }
        if isHex, text.count >= minimumKeyPrefix {
            let matches = try store.units(keyPrefix: text)
            if matches.count == 1 { return .found(matches[0]) }
            if matches.count > 1 { return .ambiguous(matches) }
        }
        if let newest = try units(storedFor: text, in: store).first { return .found(newest) }
        // The end of a stored path: `fib.rib`, `examples/fib.rib`. One path may have several
        // units (one per version of the file); more than one path is ambiguous.
        var suffix = Substring(text)
        while suffix.hasPrefix("./") { suffix = suffix.dropFirst(2) }
        if !suffix.isEmpty, !suffix.hasPrefix("/") {
            let matches = try store.units(sourcePathSuffix: String(suffix))
            var newestByPath: [String: CacheStore.UnitSummary] = [:]
            for unit in matches where newestByPath[unit.sourcePath] == nil { newestByPath[unit.sourcePath] = unit }
            if newestByPath.count == 1, let only = matches.first { return .found(only) }
            if newestByPath.count > 1 { return .ambiguous(newestByPath.values.sorted { $0.sourcePath < $1.sourcePath }) }
        }
        return isHex && text.count < minimumKeyPrefix ? .tooShort : .notFound
    }

    /// The units stored for the file at `path`, the most recently used first. `run` stores the
    /// path made absolute from its working directory, as given; this also finds it when it is
    /// written another way (`./`, `..`, through a symbolic link).
    static func units(storedFor path: String, in store: CacheStore) throws -> [CacheStore.UnitSummary] {
        let exact = try store.units(sourcePath: CacheKeys.storedSourcePath(path))
        if !exact.isEmpty { return exact }
        let wanted = Set([lexicallyNormalized(CacheKeys.storedSourcePath(path))] + [resolvedPath(path)].compactMap { $0 })
        return try store.units(orderedBy: .lastUsed).filter { unit in
            wanted.contains(lexicallyNormalized(unit.sourcePath)) || resolvedPath(unit.sourcePath).map(wanted.contains) == true
        }
    }

    /// An absolute path without `.`, `..` and repeated slashes (symbolic links left alone).
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `realpath`: the path with every symbolic link resolved; nil when it does not exist.
    static func resolvedPath(_ path: String) -> String? { FileSystem.resolvedPath(path) }
}
