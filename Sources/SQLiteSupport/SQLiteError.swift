import CSQLite

/// A failed sqlite3 call: the extended result code, SQLite's message, and the SQL if any.
///
/// `code` is an extended result code (extended codes are switched on for every connection);
/// `primaryCode` is its low byte, e.g. 5 (`SQLITE_BUSY`) for 261 (`SQLITE_BUSY_RECOVERY`).
package struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Extended result code (https://www.sqlite.org/rescode.html).
    package let code: Int32
    /// `sqlite3_errmsg` at the time of the failure, or a description of the misuse.
    package let message: String
    /// The statement that failed, when there was one.
    package let sql: String?

    package init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code: the low 8 bits of `code`.
    package var primaryCode: Int32 { code & 0xFF }

    /// `code`, by name (`ResultCode`).
    package var resultCode: ResultCode { ResultCode(rawValue: code) }

    /// `SQLITE_BUSY` or `SQLITE_LOCKED` (any extended form): another connection holds a lock
    /// longer than the busy timeout.
    package var isBusy: Bool { resultCode.primary == .busy || resultCode.primary == .locked }

    /// `SQLITE_FULL` (any extended form): the disk is full.
    package var isFull: Bool { resultCode.primary == .full }

    /// `SQLITE_CORRUPT` (any extended form): the database file is malformed.
    package var isCorrupt: Bool { resultCode.primary == .corrupt }

    /// `SQLITE_NOTADB` (any extended form): the file is not a database.
    package var isNotADatabase: Bool { resultCode.primary == .notADatabase }

    /// `SQLITE_READONLY` (any extended form): the database cannot be written.
    package var isReadOnly: Bool { resultCode.primary == .readOnly }

    /// `isCorrupt` or `isNotADatabase`: the file itself is damaged, and no row of it can be
    /// trusted; nothing short of starting afresh mends it.
    package var isDamagedFile: Bool { isCorrupt || isNotADatabase }

    package init(_ resultCode: ResultCode, message: String, sql: String? = nil) {
        self.init(code: resultCode.rawValue, message: message, sql: sql)
    }

    /// One line: `SQLite error 5 (database is locked): <message> in <sql>`.
    package var description: String {
        let name = String(cString: sqlite3_errstr(code))
        var line = "SQLite error \(code) (\(name)): \(message)"
        if let sql {
            // One line even for multi-line SQL: collapse runs of whitespace.
            let flat = sql.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == " " })
                .joined(separator: " ")
            line += " in `\(flat)`"
        }
        return line
    }

    /// The error for a call that returned `code`, with the connection's message
    /// (`sqlite3_errmsg`); SQLite's generic text for the code when there is no connection.
    ///
    /// `code` is what the call returned: with extended result codes on it is already the
    /// extended code, and unlike `sqlite3_extended_errcode` it cannot be overwritten by a later
    /// call on the connection.
    init(connection: OpaquePointer?, code: Int32, sql: String?) {
        self.code = code
        if let connection {
            self.message = String(cString: sqlite3_errmsg(connection))
        } else {
            self.message = String(cString: sqlite3_errstr(code))
        }
        self.sql = sql
    }
}
