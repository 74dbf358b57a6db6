import SQLiteSupport

/// The cache database's schema: the migrations embedded from migrations/ (../shared/DESIGN.md, "Storage").
package enum CacheSchema {
    /// Every migration, in version order; `migrate(_:_:)` applies the ones a database lacks.
    package static let migrations = embeddedMigrations

    /// The version a fully migrated cache records in `PRAGMA user_version`.
    package static var latestVersion: Int { migrations.last?.version ?? 0 }
}
