import CSQLite

/// A prepared statement (`sqlite3_stmt*`).
///
/// Parameters are 1-based (`?1`, `?2`, ... as in SQLite); columns are 0-based. Text and blob
/// bindings are copied by SQLite (`SQLITE_TRANSIENT`), so the caller's buffer may go away
/// after the call. Column accessors read the current row: call them after `step()` returned
/// true and before the next `step()` or `reset()`.
package final class Statement {
    /// The `sqlite3_stmt*`; nil once finalized (by `Database.close()` for cached statements).
    package private(set) var handle: OpaquePointer?
    /// The SQL the statement was prepared from, for errors.
    package let sql: String

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
    }

    deinit {
        finalize()
    }

    /// `sqlite3_finalize`; idempotent.
    func finalize() {
        if let handle {
            sqlite3_finalize(handle)
            self.handle = nil
        }
    }

    @inline(__always)
    private func liveHandle() throws -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "statement is finalized", sql: sql)
        }
        return handle
    }

    @inline(__always)
    private func check(_ rc: Int32, _ handle: OpaquePointer) throws {
        if rc != SQLITE_OK {
            throw SQLiteError(connection: sqlite3_db_handle(handle), code: rc, sql: sql)
        }
    }

    // MARK: Binding

    /// Binds a 64-bit integer to parameter `index` (`sqlite3_bind_int64`).
    package func bind(_ value: Int64, at index: Int32) throws {
        let handle = try liveHandle()
        try check(sqlite3_bind_int64(handle, index, value), handle)
    }

    /// Binds an integer to parameter `index` (`sqlite3_bind_int64`).
    package func bind(_ value: Int, at index: Int32) throws {
        try bind(Int64(value), at: index)
    }

    /// Binds UTF-8 text to parameter `index` (`sqlite3_bind_text64`, copied).
    package func bind(_ value: String, at index: Int32) throws {
        let handle = try liveHandle()
        let count = UInt64(value.utf8.count)
        // withCString hands over the whole UTF-8 buffer (embedded NULs included) and is never
        // a null pointer, so "" binds as empty text rather than NULL.
        let rc = value.withCString { csqlite_bind_text_transient(handle, index, $0, count) }
        try check(rc, handle)
    }

    /// Binds a blob to parameter `index` (`sqlite3_bind_blob64`, copied).
    package func bind(_ bytes: [UInt8], at index: Int32) throws {
        try bytes.withUnsafeBytes { try bind($0, at: index) }
    }

    /// Binds a blob to parameter `index` (`sqlite3_bind_blob64`, copied).
    ///
    /// An empty buffer binds an empty blob (`sqlite3_bind_zeroblob` with length 0): a null
    /// pointer passed to `sqlite3_bind_blob64` would bind NULL instead.
    package func bind(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        let handle = try liveHandle()
        let rc: Int32
        if let base = bytes.baseAddress, bytes.count > 0 {
            rc = csqlite_bind_blob_transient(handle, index, base, UInt64(bytes.count))
        } else {
            rc = sqlite3_bind_zeroblob(handle, index, 0)
        }
        try check(rc, handle)
    }

    /// Binds NULL to parameter `index` (`sqlite3_bind_null`).
    package func bindNull(at index: Int32) throws {
        let handle = try liveHandle()
        try check(sqlite3_bind_null(handle, index), handle)
    }

    /// Sets every parameter back to NULL (`sqlite3_clear_bindings`).
    package func clearBindings() {
        if let handle { sqlite3_clear_bindings(handle) }
    }

    // MARK: Stepping

    /// Advances to the next row (`sqlite3_step`): true when a row is available, false when the
    /// statement has finished.
    ///
    /// On completion or error the statement is reset (`sqlite3_reset`), so it holds no read
    /// snapshot or lock afterwards; bindings are kept. A failure is a thrown `SQLiteError`
    /// with the extended code, e.g. 5 (`SQLITE_BUSY`) when the busy timeout ran out.
    package func step() throws -> Bool {
        let handle = try liveHandle()
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW:
            return true
        case SQLITE_DONE:
            sqlite3_reset(handle)
            return false
        default:
            let error = SQLiteError(connection: sqlite3_db_handle(handle), code: rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Steps until the statement finishes, ignoring rows (for INSERT, UPDATE, DELETE).
    package func run() throws {
        while try step() {}
    }

    /// Rewinds to before the first row (`sqlite3_reset`); bindings are kept.
    package func reset() {
        if let handle { sqlite3_reset(handle) }
    }

    // MARK: Columns (0-based)

    @inline(__always)
    private var rowHandle: OpaquePointer {
        guard let handle else { preconditionFailure("column read on a finalized statement: \(sql)") }
        return handle
    }

    /// Number of columns in the result (`sqlite3_column_count`).
    package var columnCount: Int32 { sqlite3_column_count(rowHandle) }

    /// Whether `column` of the current row is NULL.
    package func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(rowHandle, column) == SQLITE_NULL
    }

    /// `column` of the current row as a 64-bit integer (`sqlite3_column_int64`; NULL is 0).
    package func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(rowHandle, column)
    }

    /// `column` of the current row as text (`sqlite3_column_text`; NULL is "").
    package func text(_ column: Int32) -> String {
        let handle = rowHandle
        // sqlite3_column_text before sqlite3_column_bytes: the conversion to text happens in
        // the first call, and bytes then measures the converted value.
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// `column` of the current row as a copied blob (NULL and the empty blob are `[]`).
    package func blob(_ column: Int32) -> [UInt8] {
        withBlob(column) { Array($0) }
    }

    /// Calls `body` with the bytes of `column` in SQLite's own buffer, without copying
    /// (`sqlite3_column_blob`, `sqlite3_column_bytes`).
    ///
    /// The buffer is valid only inside `body`: SQLite frees or reuses it at the next `step()`,
    /// `reset()` or type conversion of that column. An empty blob or NULL is an empty buffer.
    package func withBlob<Result>(
        _ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let handle = rowHandle
        let base = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: count > 0 ? base : nil, count: count))
    }
}
