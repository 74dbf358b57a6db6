import CSQLite

extension Database {
    /// Runs `body` in a write transaction: `BEGIN IMMEDIATE`, then `COMMIT`, or `ROLLBACK` if
    /// `body` or the commit throws (the error is rethrown).
    ///
    /// IMMEDIATE takes the write lock at BEGIN, waiting up to the busy timeout: a deferred
    /// transaction that reads first and writes later can fail with `SQLITE_BUSY` mid-way with
    /// no retry possible, because its read snapshot is already stale. Not reentrant: BEGIN
    /// inside an open transaction throws.
    ///
    /// After a failure the log is emptied if no one else needs it (`checkpointWithoutWaiting`):
    /// a transaction that failed at COMMIT on a full disk has already appended most of its
    /// pages to the write-ahead log, and SQLite keeps the file at that size after the rollback,
    /// so the space would stay taken (853 KB of a 1.2 MB disk, for one cold run).
    package func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try inTransaction(begin: "BEGIN IMMEDIATE", body)
        } catch let error as SQLiteError where error.isBusy {
            throw error  // BEGIN (or a statement) did not get the lock: nothing was written
        } catch {
            checkpointWithoutWaiting()
            throw error
        }
    }

    /// Runs `body` in one read transaction (`BEGIN`, deferred, then `COMMIT`; `ROLLBACK` if
    /// `body` throws): its reads see one snapshot and take SQLite's locks once, not once per
    /// statement or blob read. Keep `body` short: an open reader holds back other processes'
    /// WAL checkpoints. Not reentrant.
    package func reading<Result>(_ body: () throws -> Result) throws -> Result {
        try inTransaction(begin: "BEGIN", body)
    }

    /// `begin`, `body`, then `COMMIT`; `ROLLBACK` if `body` or the commit throws (rethrown).
    private func inTransaction<Result>(begin: String, _ body: () throws -> Result) throws -> Result {
        try statement(begin).run()
        let result: Result
        do {
            result = try body()
            try statement("COMMIT").run()
        } catch {
            rollbackIfOpen()
            throw error
        }
        return result
    }

    /// `ROLLBACK` if a transaction is still open. SQLite may already have rolled back by itself
    /// (after SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, ...), and a ROLLBACK then fails with
    /// "no transaction is active"; the caller is already throwing the error that matters.
    private func rollbackIfOpen() {
        guard isInTransaction else { return }
        _ = try? statement("ROLLBACK").run()
    }
}
