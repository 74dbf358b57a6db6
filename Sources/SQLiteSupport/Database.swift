#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import RibbonSystem

/// One SQLite connection (`sqlite3*`), with a cache of prepared statements.
///
/// Not thread-safe: the connection is opened with `SQLITE_OPEN_NOMUTEX`, so one thread at a
/// time may use it (and the statements it hands out). Concurrency between processes, or
/// between threads with their own connections, goes through SQLite's file locks: WAL mode lets
/// readers run beside one writer, and the busy timeout makes a second writer wait for the first.
package final class Database {
    /// The `sqlite3*` handle; nil once closed.
    package private(set) var handle: OpaquePointer?
    /// The path given to `init`.
    package let path: String
    /// How long a statement waits for another connection's lock before failing with
    /// `SQLITE_BUSY`, as `init` set it (`withBusyTimeout` changes it for a while).
    package let busyTimeoutMilliseconds: Int32
    /// Prepared statements by SQL text, reused by `statement(_:)`.
    private var statementCache: [String: Statement] = [:]

    /// Opens (creating if needed) the database at `path` (`sqlite3_open_v2` with READWRITE,
    /// CREATE and NOMUTEX), switches on extended result codes, sets the busy timeout, then
    /// `journal_mode=WAL`, `synchronous=NORMAL` and `foreign_keys=ON`.
    ///
    /// The busy timeout is set before the pragmas: switching a fresh file to WAL takes an
    /// exclusive lock, so two processes opening a new cache at once would otherwise see
    /// `SQLITE_BUSY` instead of waiting; and the switch is retried (`retryingWhileBusy`) where
    /// SQLite does not wait by itself. A file that is not a database fails here, at the first
    /// read (`SQLITE_NOTADB`), as a thrown `SQLiteError`.
    ///
    /// Tuning for a database that many short-lived processes open (all optional):
    /// `pageSize` applies only when the file is new (big values make long blobs' overflow chains
    /// short); `mmapSize` lets reads come straight from a memory map instead of one `pread` per
    /// page; `checkpointOnClose: false` leaves the WAL in place at close; `autoCheckpoint: false`
    /// stops commits from checkpointing by themselves (call `checkpoint()` after big writes).
    package init(
        path: String, busyTimeoutMilliseconds: Int32 = 5000, pageSize: Int? = nil, mmapSize: Int64 = 0,
        checkpointOnClose: Bool = true, autoCheckpoint: Bool = true
    ) throws {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        var connection: OpaquePointer?
        // No SQLITE_OPEN_URI, but Debian's SQLite is built with SQLITE_USE_URI=1, which makes
        // any name starting with `file:` a URI (`file:/x/victim.db?…` opens /x/victim.db):
        // `plainFileName` spells the same path so that it cannot be one.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(Self.plainFileName(path), &connection, flags, nil)
        guard rc == SQLITE_OK else {
            // sqlite3_open_v2 returns a handle even on failure (except out of memory); it
            // carries the message and must still be closed.
            let error = SQLiteError(connection: connection, code: rc, sql: nil)
            sqlite3_close_v2(connection)
            throw error
        }
        handle = connection
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, busyTimeoutMilliseconds)
        do {
            // The page size and WAL mode are stored in the file: set them when it is new, and
            // WAL mode when its header says otherwise (bytes 18-19 are 2 in WAL mode; asking
            // SQLite again costs a statement and a read at every open).
            let header = Self.fileHeader(path)
            if header.isEmpty, let pageSize { try execute("PRAGMA page_size=\(pageSize)") }
            let isWAL = header.count >= 20 && header[18] == 2 && header[19] == 2
            if !isWAL { try retryingWhileBusy { try execute("PRAGMA journal_mode=WAL") } }
            try execute("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            if mmapSize > 0 { try execute("PRAGMA mmap_size=\(mmapSize)") }
            if !autoCheckpoint { try execute("PRAGMA wal_autocheckpoint=0") }
            if !checkpointOnClose { csqlite_set_no_checkpoint_on_close(connection, 1) }
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// `path` spelled so that SQLite takes it as a plain file name, whatever its URI setting:
    /// an absolute path as it is, a relative one behind `./` (`file:x` is the file `./file:x`).
    /// The special names `:memory:` and "" (a temporary database) stay special.
    package static func plainFileName(_ path: String) -> String {
        path.hasPrefix("/") || path.isEmpty || path == ":memory:" ? path : "./" + path
    }

    /// The first 100 bytes of the file at `path` (fewer if it is shorter; none if it cannot be
    /// read or is not a plain path).
    private static func fileHeader(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 100)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 100, 0) }
        return n > 0 ? Array(bytes[0..<n]) : []
    }

    /// Runs `body` again while it fails with `SQLITE_BUSY`, for up to the busy timeout, sleeping
    /// (`sqlite3_sleep`) 1 ms, then longer, up to 20 ms between tries: for statements whose lock
    /// SQLite does not wait for itself.
    ///
    /// `PRAGMA journal_mode=WAL` on a new file reads it, then writes its header: a connection
    /// that already holds the read lock does not get the busy handler when it wants the write
    /// lock (waiting could deadlock with another reader wanting the same), so of several
    /// processes opening a new database at once, one could fail at once with "database is
    /// locked". Retrying the whole statement starts again without the read lock.
    func retryingWhileBusy(_ body: () throws -> Void) throws {
        var waited: Int32 = 0
        var pause: Int32 = 1
        while true {
            do {
                return try body()
            } catch let error as SQLiteError where error.isBusy && waited < busyTimeoutMilliseconds {
                sqlite3_sleep(pause)
                waited += pause
                pause = min(pause * 2, 20)
            }
        }
    }


    /// Finalizes the cached statements, then closes the connection (`sqlite3_close_v2`).
    ///
    /// Idempotent. `sqlite3_close_v2` rather than `sqlite3_close`: a `prepare(_:)` statement the
    /// caller still holds keeps the connection alive as a zombie until it is finalized, instead
    /// of making close fail with `SQLITE_BUSY`.
    package func close() {
        guard let connection = handle else { return }
        for statement in statementCache.values {
            statement.finalize()
        }
        statementCache.removeAll()
        sqlite3_close_v2(connection)
        handle = nil
    }

    /// The open handle, or `SQLITE_MISUSE` after `close()`.
    @inline(__always)
    func openHandle(sql: String? = nil) throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed", sql: sql)
        }
        return handle
    }

    /// Runs `sql`, which may hold several `;`-separated statements, stepping each to completion
    /// and discarding rows (a prepare/step/finalize loop over `sqlite3_prepare_v2`'s tail, so
    /// an error names the one statement that failed).
    package func execute(_ sql: String) throws {
        let connection = try openHandle(sql: sql)
        var utf8 = Array(sql.utf8)
        utf8.append(0)
        try utf8.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            let end = base + (buffer.count - 1)
            var next: UnsafePointer<CChar>? = base
            while let start = next, start < end {
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let length = Int32(end - start)
                let rc = sqlite3_prepare_v2(connection, start, length, &statement, &tail)
                let text = String(decoding: UnsafeRawBufferPointer(
                    start: start, count: (tail ?? end) - start), as: UTF8.self)
                guard rc == SQLITE_OK else {
                    throw SQLiteError(connection: connection, code: rc, sql: text)
                }
                next = tail
                // nil for whitespace or a comment after the last statement.
                guard let statement else { continue }
                defer { sqlite3_finalize(statement) }
                var step = sqlite3_step(statement)
                while step == SQLITE_ROW {
                    step = sqlite3_step(statement)
                }
                guard step == SQLITE_DONE else {
                    throw SQLiteError(connection: connection, code: step, sql: text)
                }
            }
        }
    }

    /// A prepared statement for `sql` from the connection's cache, reset and with its bindings
    /// cleared; prepared (`sqlite3_prepare_v3` with `SQLITE_PREPARE_PERSISTENT`) on first use.
    ///
    /// The statement stays owned by the cache: use it until the next `statement(_:)` call with
    /// the same SQL, and do not hold it past `close()`.
    package func statement(_ sql: String) throws -> Statement {
        if let cached = statementCache[sql] {
            cached.reset()
            cached.clearBindings()
            return cached
        }
        let statement = try prepare(sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// How many statements the cache holds (for tests and `cache stats`).
    package var cachedStatementCount: Int { statementCache.count }

    /// A new statement for one `sql` statement, not cached: finalized when released.
    package func prepare(_ sql: String) throws -> Statement {
        try prepare(sql, persistent: false)
    }

    private func prepare(_ sql: String, persistent: Bool) throws -> Statement {
        let connection = try openHandle(sql: sql)
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(connection, sql, -1, flags, &statement, nil)
        guard rc == SQLITE_OK else {
            throw SQLiteError(connection: connection, code: rc, sql: sql)
        }
        guard let statement else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "no statement in SQL", sql: sql)
        }
        return Statement(handle: statement, sql: sql)
    }

    /// Runs `body` with the busy timeout set to `milliseconds` (`sqlite3_busy_timeout`), then
    /// puts back the one `init` set: for writes that are not worth waiting for (0 tries once).
    package func withBusyTimeout<Result>(milliseconds: Int32, _ body: () throws -> Result) rethrows -> Result {
        if let handle { sqlite3_busy_timeout(handle, milliseconds) }
        defer { if let handle { sqlite3_busy_timeout(handle, busyTimeoutMilliseconds) } }
        return try body()
    }

    /// Copies the write-ahead log into the database and empties it, without waiting for
    /// anyone: `wal_checkpoint(PASSIVE)` copies what no reader still needs, taking no write
    /// lock; then, only if that copied everything, `wal_checkpoint(TRUNCATE)` takes the write
    /// lock and empties the log if no reader is left. Both run with the busy timeout 0: a
    /// TRUNCATE checkpoint with a busy handler waits for every reader to finish *while holding
    /// the write lock*, so one process in a long read transaction made every writer behind it
    /// wait the whole busy timeout. Returns whether the log is now empty (false: a reader, a
    /// writer or another checkpoint was in the way, or an error; the next one will do it).
    @discardableResult
    package func checkpointWithoutWaiting() -> Bool {
        func run(_ mode: String) -> (busy: Int64, log: Int64, copied: Int64)? {
            guard let q = try? statement("PRAGMA wal_checkpoint(\(mode))") else { return nil }
            defer { q.reset() }
            guard (try? q.step()) == true else { return nil }
            return (q.int64(0), q.int64(1), q.int64(2))
        }
        return withBusyTimeout(milliseconds: 0) {
            guard let passive = run("PASSIVE"), passive.busy == 0, passive.log == passive.copied else { return false }
            guard passive.log != 0 || Self.fileSize(path + "-wal") > 0 else { return true }
            guard let truncate = run("TRUNCATE") else { return false }
            return truncate.busy == 0
        }
    }

    /// Empties the database file and its write-ahead log in place, writing nothing: for a disk
    /// so full that SQLite cannot write even the deletion of rows (every change goes through
    /// the log first). Closes this connection. A zero-length file is an empty database to
    /// SQLite: the next connection starts afresh (switching it to WAL, recreating the schema).
    ///
    /// Safe beside other processes because it happens under SQLite's own locks: with
    /// `locking_mode=EXCLUSIVE`, `BEGIN EXCLUSIVE` takes the database file's EXCLUSIVE lock,
    /// which SQLite grants only when no other connection has the database open (a connection
    /// in WAL mode holds a SHARED lock on the file from its first read until it closes; it
    /// opens the log and `-shm` only after taking it). It waits for that up to the busy
    /// timeout, then throws `SQLITE_BUSY`; meanwhile SQLite's PENDING lock keeps new readers
    /// out. The files are truncated through SQLite's own handles (`SQLITE_FCNTL_FILE_POINTER`,
    /// `SQLITE_FCNTL_JOURNAL_POINTER`, `xTruncate`), never unlinked or reopened: a process
    /// that opened the file meanwhile and waits for its lock then finds the same inode, empty,
    /// with an empty log; the stale `-shm` index is rebuilt by the first connection to map it,
    /// as after any crash. The database goes first: a kill between the two leaves a
    /// zero-length database beside the old log, and SQLite deletes a log it finds beside a
    /// zero-length database instead of replaying it (`pagerOpenWalIfPresent`); the other order
    /// could leave a database whose last checkpoint was cut short by a crash without the log
    /// that completes it.
    package func truncateToEmpty() throws {
        let connection = try openHandle()
        defer { close() }
        csqlite_set_no_checkpoint_on_close(connection, 1)
        try execute("PRAGMA locking_mode=EXCLUSIVE")
        try execute("BEGIN EXCLUSIVE")
        func truncate(_ op: Int32, _ what: String) throws {
            var file: UnsafeMutablePointer<sqlite3_file>? = nil
            let found = sqlite3_file_control(connection, "main", op, &file)
            guard found == SQLITE_OK, let file, let methods = file.pointee.pMethods,
                let xTruncate = methods.pointee.xTruncate
            else {
                throw SQLiteError(code: SQLITE_MISUSE, message: "no \(what) file to truncate", sql: nil)
            }
            let rc = xTruncate(file, 0)
            guard rc == SQLITE_OK else {
                throw SQLiteError(code: rc, message: "truncating the \(what) failed", sql: nil)
            }
        }
        let wal = try journalMode == "wal"
        try truncate(SQLITE_FCNTL_FILE_POINTER, "database")
        if wal { try truncate(SQLITE_FCNTL_JOURNAL_POINTER, "write-ahead log") }
    }

    /// The size of the file at `path`, 0 when it does not exist.
    static func fileSize(_ path: String) -> Int64 { FileSystem.size(path) }

    /// Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes64`).
    package var changes: Int64 {
        handle.map { sqlite3_changes64($0) } ?? 0
    }

    /// Whether a transaction is open (`sqlite3_get_autocommit` is 0).
    package var isInTransaction: Bool {
        handle.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    /// `PRAGMA user_version`: the schema version the migrator records.
    package var userVersion: Int {
        get throws {
            let statement = try statement("PRAGMA user_version")
            defer { statement.reset() }
            guard try statement.step() else { return 0 }
            return Int(statement.int64(0))
        }
    }

    /// Sets `PRAGMA user_version` (a pragma cannot take a bound parameter, so the integer is
    /// spliced into the SQL).
    package func setUserVersion(_ version: Int) throws {
        try execute("PRAGMA user_version = \(version)")
    }

    /// `PRAGMA journal_mode`: "wal" once `init` has run on a file database.
    package var journalMode: String {
        get throws {
            let statement = try statement("PRAGMA journal_mode")
            defer { statement.reset() }
            guard try statement.step() else { return "" }
            return statement.text(0)
        }
    }
}

extension Database {
    /// Reads `count` bytes at `offset` of the blob in `column` of the row `rowid` of `table`
    /// (`sqlite3_blob_open` read-only, `sqlite3_blob_read`, `sqlite3_blob_close`): only the
    /// pages holding those bytes are read, not the whole value. The handle is closed again at
    /// once, so no read transaction stays open between calls. Throws `SQLiteError` if the row
    /// is gone or the range is outside the blob (`SQLITE_ERROR`).
    package func readBlob(table: String, column: String, rowid: Int64, offset: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        let blob = try Blob(self, table: table, column: column, rowid: rowid)
        defer { blob.close() }
        try blob.read(offset: offset, into: destination)
    }
}

/// An open read-only blob (`sqlite3_blob_open`): reads of one value without opening it again,
/// which also keeps SQLite's list of the value's overflow pages, so a read far into a large
/// value does not walk the chain from its start each time. It holds a read transaction while
/// open: open it for a short batch of reads (inside `Database.reading`) and `close` it.
package final class Blob {
    private var handle: OpaquePointer?
    private let database: Database
    private let what: String

    package init(_ database: Database, table: String, column: String, rowid: Int64) throws {
        self.database = database
        what = "blob \(table).\(column) row \(rowid)"
        let connection = try database.openHandle()
        let opened = sqlite3_blob_open(connection, "main", table, column, rowid, 0, &handle)
        guard opened == SQLITE_OK, handle != nil else {
            let error = SQLiteError(connection: connection, code: opened, sql: what)
            sqlite3_blob_close(handle)
            handle = nil
            throw error
        }
    }

    deinit { close() }

    package func close() {
        sqlite3_blob_close(handle)
        handle = nil
    }

    /// Reads `destination.count` bytes at `offset`; throws as `Database.readBlob`.
    package func read(offset: Int, into destination: UnsafeMutableRawBufferPointer) throws {
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "blob is closed", sql: what) }
        guard destination.count > 0 else { return }
        guard offset >= 0, offset <= Int(Int32.max), destination.count <= Int(Int32.max), let base = destination.baseAddress
        else { throw SQLiteError(code: SQLITE_RANGE, message: "range outside the blob", sql: what) }
        let rc = sqlite3_blob_read(handle, base, Int32(destination.count), Int32(offset))
        guard rc == SQLITE_OK else {
            throw SQLiteError(connection: try database.openHandle(), code: rc, sql: what)
        }
    }
}
