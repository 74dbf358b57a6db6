import CSQLite

/// A SQLite result code by name (https://www.sqlite.org/rescode.html), so that callers ask
/// `error.isCorrupt`, not `primaryCode == 11`.
///
/// Modelled on GRDB's `ResultCode`: a raw `Int32` that may be an extended code (e.g. 261,
/// `SQLITE_BUSY_RECOVERY`); `primary` is its low byte, and the named constants are primary
/// codes.
package struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: Int32

    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary result code: the low 8 bits.
    package var primary: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

    // The primary codes this package acts on (any other is still representable).
    package static let error = ResultCode(rawValue: SQLITE_ERROR)  // 1: bad SQL, a broken constraint
    package static let busy = ResultCode(rawValue: SQLITE_BUSY)  // 5: locked past the busy timeout
    package static let locked = ResultCode(rawValue: SQLITE_LOCKED)  // 6: a conflict within a connection
    package static let readOnly = ResultCode(rawValue: SQLITE_READONLY)  // 8: cannot be written
    package static let ioError = ResultCode(rawValue: SQLITE_IOERR)  // 10: the OS reported an I/O error
    package static let corrupt = ResultCode(rawValue: SQLITE_CORRUPT)  // 11: the file is malformed
    package static let full = ResultCode(rawValue: SQLITE_FULL)  // 13: the disk is full
    package static let misuse = ResultCode(rawValue: SQLITE_MISUSE)  // 21: a closed connection or statement
    package static let range = ResultCode(rawValue: SQLITE_RANGE)  // 25: a parameter or offset out of range
    package static let notADatabase = ResultCode(rawValue: SQLITE_NOTADB)  // 26: not a database file

    /// SQLite's English text for the code: "database is locked".
    package var description: String { String(cString: sqlite3_errstr(rawValue)) }

    /// Matches `code` against this code's primary code, in a `switch` over `error.resultCode`
    /// or `error.resultCode.primary` (as GRDB's `~=`): `case .busy:` matches
    /// `SQLITE_BUSY_RECOVERY` too.
    package static func ~= (pattern: ResultCode, code: ResultCode) -> Bool {
        pattern.rawValue == code.primary.rawValue
    }
}
