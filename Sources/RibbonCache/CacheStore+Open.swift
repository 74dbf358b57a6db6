#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem
import SQLiteSupport

/// Opening a cache: where its database is, the trust checks (`CacheDirectory`), the
/// migrations, and what is done with a file that is damaged or newer than this build.
/// Separate from the rest because it runs before there is a store to ask anything of.
extension CacheStore {
    /// Opens (creating if needed) the database in `directory` after the trust checks of
    /// `CacheDirectory`, migrated to this build's schema (`init`). A database written by a
    /// newer `ribbon` is moved aside and recreated; with `replacingDamaged`, so is a file that
    /// is not a database any more. Returns the database's path, the connection, and one
    /// warning line per file moved aside.
    static func open(
        directory: String, busyTimeoutMilliseconds: Int32, replacingDamaged: Bool
    ) throws -> (path: String, database: Database, warnings: [String]) {
        let path = try CacheDirectory.prepare(directory)
        var warnings: [String] = []
        func moveAside(_ suffix: String) -> String {
            let aside = path + ".\(suffix)-\(time(nil))"
            for part in ["", "-wal", "-shm"] { rename(path + part, aside + part) }
            path.withCString { name in
                let fd = Glibc.open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
                if fd >= 0 { close(fd) }
            }
            return aside
        }
        var database: Database
        var outcome: MigrationOutcome
        do {
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            outcome = try migrate(database, CacheSchema.migrations)
        } catch let error as SQLiteError where replacingDamaged && error.isDamagedFile {
            // SQLITE_NOTADB, SQLITE_CORRUPT: the file is not a cache any more. It holds nothing
            // that can be used; keep it aside (for a post-mortem) and start a new one.
            let aside = moveAside("damaged")
            warnings.append("cache database was damaged (\(error.message)); moved it to \(aside) and started a new one")
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            outcome = try migrate(database, CacheSchema.migrations)
        }
        if case .newerThanKnown(let version) = outcome {
            database.close()
            let aside = moveAside("newer-v\(version)")
            warnings.append("cache database was written by a newer ribbon (schema \(version)); moved it to \(aside)")
            database = try Self.openDatabase(path, busyTimeoutMilliseconds)
            _ = try migrate(database, CacheSchema.migrations)
        }
        return (path, database, warnings)
    }

    /// Tuned for many short-lived processes: 16 KiB pages (a megabyte-sized image is a chain of
    /// ~100 overflow pages, not ~350), reads through a memory map, and no checkpoint at exit;
    /// a store checkpoints what it wrote (`store`), so warm runs rarely meet a checkpoint.
    ///
    /// Temporary files in memory (`temp_store=MEMORY`): each `INSERT OR REPLACE` and upsert in
    /// a store's transaction keeps a statement journal, which SQLite otherwise spills to a file
    /// in `$SQLITE_TMPDIR`, `/var/tmp` or `/tmp` — about 20 MB of writes for 300 blobs once the
    /// database has free pages, and a store that failed with "database or disk is full" when
    /// that other file system was full, however much room the cache had. Each statement's
    /// journal is a few pages. `compact` switches back to files for its VACUUM, whose
    /// temporary copy is the whole database.
    ///
    /// `journal_size_limit=0`: the first commit after the log starts over cuts the file to
    /// what that commit wrote, so a log that a checkpoint could not truncate (a reader was in
    /// the way) or that a failed transaction left long does not keep its space for good.
    static func openDatabase(_ path: String, _ busyTimeoutMilliseconds: Int32) throws -> Database {
        let db = try Database(
            path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, pageSize: 16384, mmapSize: 1 << 30,
            checkpointOnClose: false)
        try db.execute("PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=0")
        return db
    }

    /// The database file a cache in `directory` uses.
    package static func databasePath(in directory: String) -> String {
        directory + "/" + CacheDirectory.databaseName
    }

    /// Opens the cache in `directory` when it has a database, with the trust checks of `init`;
    /// nil when there is none, so that commands that only read (or that have nothing to
    /// remove) never create a cache. `ribbon cache` commands pass
    /// `maintenanceBusyTimeoutMilliseconds`.
    package static func openExisting(directory: String, busyTimeoutMilliseconds: Int32 = 5000) throws(CacheError) -> CacheStore? {
        return try CacheError.wrapping {
            // A directory that is there but cannot be trusted is an error, not "no cache".
            try CacheDirectory.checkExisting(directory)
            // lstat: a symbolic link counts as present, and `init` then refuses it.
            guard FileSystem.exists(databasePath(in: directory)) else { return nil }
            return try CacheStore(directory: directory, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
    }

    /// How long `ribbon cache` commands wait for another process's write lock (a minute): a
    /// run waits 5 s and then goes on without the cache, but a `gc` or `clear` has nothing to
    /// go on to, and in a storm of writers 5 s was not always enough for its turn (2 % of
    /// them failed with "database is locked"). No writer holds the lock for long: a store
    /// is one transaction, and no checkpoint waits for readers while holding it.
    package static let maintenanceBusyTimeoutMilliseconds: Int32 = 60_000
}
