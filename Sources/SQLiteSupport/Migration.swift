/// One forward-only schema step: `migrations/NNNN_name.sql` as embedded in the binary.
package struct Migration: Sendable, Equatable {
    /// NNNN from the file name; the value `PRAGMA user_version` holds once it is applied.
    package let version: Int
    /// The name part of the file name (`initial` for `0001_initial.sql`).
    package let name: String
    /// The file's SQL, possibly several statements.
    package let sql: String

    package init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// What `migrate` found and did.
package enum MigrationOutcome: Sendable, Equatable {
    /// The database already had the newest known version; nothing was applied.
    case upToDate
    /// This call applied the migrations after `from`, up to and including `to`.
    case migrated(from: Int, to: Int)
    /// The database has a version newer than any migration this binary knows (a newer ribbon
    /// wrote it). Nothing was changed; the caller moves the file aside and starts a new one.
    case newerThanKnown(Int)
}

/// Applies the `migrations` whose version is above the database's `PRAGMA user_version`, in
/// order, each in its own `BEGIN IMMEDIATE` transaction that also records its version.
///
/// `migrations` must be in strictly increasing version order, starting above 0. Safe against
/// other processes migrating the same file at once: the version is read again inside each
/// transaction, with the write lock held, and a migration another connection has already
/// applied is skipped. A migration that fails rolls back whole, leaving the database at the
/// previous version, and the error is thrown.
package func migrate(_ db: Database, _ migrations: [Migration]) throws -> MigrationOutcome {
    var previous = 0
    for migration in migrations {
        precondition(migration.version > previous, "migrations out of order at \(migration.version)")
        previous = migration.version
    }
    let latest = migrations.last?.version ?? 0

    let initial = try db.userVersion
    if initial > latest { return .newerThanKnown(initial) }
    if initial == latest { return .upToDate }

    var appliedFrom: Int?
    var appliedTo = initial
    for migration in migrations where migration.version > initial {
        let applied = try db.transaction { () throws -> Bool in
            let current = try db.userVersion
            guard current < migration.version else { return false }
            if appliedFrom == nil { appliedFrom = current }
            try db.execute(migration.sql)
            try db.setUserVersion(migration.version)
            return true
        }
        if applied {
            appliedTo = migration.version
            // Each step's pages out of the log before the next (no wait: a reader only leaves
            // them for later): the log would otherwise hold every step's copy of the same
            // pages, several times what the schema takes, which a nearly full disk refused.
            db.checkpointWithoutWaiting()
        }
    }

    // Another process may have gone past every migration known here while this one waited.
    let final = try db.userVersion
    if final > latest { return .newerThanKnown(final) }
    guard let from = appliedFrom else { return .upToDate }
    return .migrated(from: from, to: appliedTo)
}
