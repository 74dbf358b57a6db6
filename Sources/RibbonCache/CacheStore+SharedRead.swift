/// A program's lookups read together: one read transaction for a run of lookups and digest
/// queries, rather than one per query (each takes and drops SQLite's WAL read lock: two `fcntl`
/// calls and an `fstat` of the database, per query).
extension CacheStore {
    /// Opens a read transaction that the reads after it share (`readingShared` inside it
    /// opens none of its own), until `endSharedRead`. Nothing may write meanwhile; keep it
    /// short: an open reader holds back other processes' checkpoints. No-op if one is open.
    package func beginSharedRead() throws(CacheError) {
        try CacheError.wrapping {
            guard !db.isInTransaction else { return }
            try db.statement("BEGIN").run()
        }
    }

    /// Ends the transaction `beginSharedRead` opened (if it is still open).
    package func endSharedRead() {
        guard db.isInTransaction else { return }
        if (try? db.statement("COMMIT").run()) == nil, db.isInTransaction {
            _ = try? db.statement("ROLLBACK").run()
        }
    }

    /// `reading(body)`, or `body` alone inside a shared read (`beginSharedRead`).
    package func readingShared<Result>(_ body: () throws -> Result) throws -> Result {
        if db.isInTransaction { return try body() }
        return try reading(body)
    }
}
