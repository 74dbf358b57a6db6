#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// Why a cache location is not used (the run continues without a cache, with one warning).
package struct CacheTrustError: Error, Equatable, CustomStringConvertible {
    package var description: String
}

/// Where the cache lives and whether it can be trusted (../shared/DESIGN.md, "Storage").
///
/// A cache holds machine code that will be executed, so it is used only when nobody else could
/// have written it: the directory must be a real directory (not a symbolic link), owned by
/// this user, and not writable by group or others; the same holds for the database file and,
/// when they exist, the files beside it that feed it (`sideFiles`).
package enum CacheDirectory {
    package static let databaseName = "cache.sqlite"

    /// Files SQLite and the hit log keep next to the database, checked like it when present:
    /// the write-ahead log and the rollback journal hold pages SQLite copies into the database
    /// (a planted one would be replayed as committed data), the `-shm` index says which of
    /// them count, and `hits.log` is appended to by every warm run. SQLite itself opens the
    /// first three with `O_NOFOLLOW` and fails with an opaque "unable to open database file";
    /// checking them here names the file and the reason.
    package static let sideFiles = ["\(databaseName)-wal", "\(databaseName)-shm", "\(databaseName)-journal", "hits.log"]

    /// `$RIBBON_CACHE_DIR`, else `$XDG_CACHE_HOME/ribbon`, else `$HOME/.cache/ribbon`.
    ///
    /// As the XDG Base Directory specification says, a relative `XDG_CACHE_HOME` is invalid and
    /// ignored; so is a relative `HOME` (a cache that moves with the working directory is no
    /// cache, and a relative name is not what either variable promises). `RIBBON_CACHE_DIR`
    /// is ribbon's own and taken as given, like `--cache-dir`.
    package static func defaultPath(environment: (String) -> String? = Environment.value)
        -> String?
    {
        if let explicit = environment("RIBBON_CACHE_DIR"), !explicit.isEmpty { return explicit }
        if let xdg = environment("XDG_CACHE_HOME"), xdg.hasPrefix("/") { return xdg + "/ribbon" }
        if let home = environment("HOME"), home.hasPrefix("/") { return home + "/.cache/ribbon" }
        return nil
    }

    /// Creates the directory (mode 0700; missing parents with the usual mode) and the database
    /// file (mode 0600) when they do not exist, then checks both can be trusted. Returns the
    /// database path.
    package static func prepare(_ directory: String) throws(CacheTrustError) -> String {
        // Usually there already: one lstat instead of a mkdir per path component.
        if !FileSystem.exists(directory) { try createDirectories(directory) }
        try check(directory, kind: "directory", expectDirectory: true)
        let database = directory + "/" + databaseName
        let fd = open(database, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        try check(database, kind: "database", expectDirectory: false)
        for name in sideFiles {
            try check(directory + "/" + name, kind: "file", expectDirectory: false, mayBeMissing: true)
        }
        return database
    }

    /// Checks an existing cache directory can be trusted, as `prepare` does, without creating
    /// anything: a command that only reads the cache must not report "not created yet" for a
    /// directory that is a file, is not searchable or is writable by others.
    package static func checkExisting(_ directory: String) throws(CacheTrustError) {
        try check(directory, kind: "directory", expectDirectory: true, mayBeMissing: true)
    }

    private static func createDirectories(_ path: String) throws(CacheTrustError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() {
            prefix += "/" + part
            let last = i == parts.count - 1
            if mkdir(prefix, last ? 0o700 : 0o755) != 0, errno != EEXIST {
                throw CacheTrustError(description: "cannot create cache directory \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func check(
        _ path: String, kind: String, expectDirectory: Bool, mayBeMissing: Bool = false
    ) throws(CacheTrustError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if mayBeMissing, errno == ENOENT { return }
            throw CacheTrustError(description: "cannot use cache \(kind) \(path): \(String(cString: strerror(errno)))")
        }
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK {
            throw CacheTrustError(description: "cache \(kind) \(path) is a symbolic link; not using it")
        }
        guard type == (expectDirectory ? S_IFDIR : S_IFREG) else {
            throw CacheTrustError(description: "cache \(kind) \(path) is not a \(expectDirectory ? "directory" : "file")")
        }
        guard st.st_uid == getuid() else {
            throw CacheTrustError(description: "cache \(kind) \(path) belongs to another user (uid \(st.st_uid)); not using it")
        }
        guard st.st_mode & 0o022 == 0 else {
            throw CacheTrustError(description: "cache \(kind) \(path) is writable by group or others; not using it")
        }
    }
}
