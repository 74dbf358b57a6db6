import CacheCodecs
import SQLiteSupport

/// Why the cache failed: the one error type `CacheStore` and `LazyUnitImage` throw, so that the
/// modules above RibbonCache read what went wrong without importing SQLiteSupport.
///
/// Modelled on GRDB's `DatabaseError`: what kind of failure (`kind`, from SQLite's result
/// code when SQLite failed), SQLite's extended result code and message, and the statement if
/// there was one. `description` is the wrapped error's own text, unchanged (the CLI and the
/// driver print it: "SQLite error 5 (database is locked): …").
package struct CacheError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What failed, as the layers above act on it.
    package enum Kind: Sendable, Equatable {
        /// The cache directory or one of its files failed the trust checks (`CacheDirectory`).
        case untrusted
        /// The database file is damaged: `SQLITE_CORRUPT` or `SQLITE_NOTADB`. No row of it can
        /// be read; nothing short of starting afresh (`removeDatabaseFiles`) mends it.
        case damagedFile
        /// `SQLITE_FULL`: the disk is full.
        case diskFull
        /// `SQLITE_BUSY` or `SQLITE_LOCKED`: another process held a lock past the busy timeout.
        case busy
        /// `SQLITE_READONLY`: the database cannot be written.
        case readOnly
        /// Any other SQLite failure.
        case database
        /// A file beside the database could not be written (the hit log).
        case fileSystem
        /// Stored bytes that fail their checks, or an entry that cannot be compressed.
        case codec
    }

    package let kind: Kind
    /// SQLite's extended result code, when SQLite failed (https://www.sqlite.org/rescode.html).
    package let resultCode: Int32?
    /// SQLite's message (`sqlite3_errmsg`), or the whole description for other failures.
    package let message: String
    /// The statement that failed, when there was one.
    package let sql: String?
    /// One line, as the wrapped error wrote it.
    package let description: String

    package init(kind: Kind, message: String, resultCode: Int32? = nil, sql: String? = nil, description: String? = nil) {
        self.kind = kind
        self.message = message
        self.resultCode = resultCode
        self.sql = sql
        self.description = description ?? message
    }

    /// `error` as a `CacheError`: itself if it is one; SQLite's error with its code, message
    /// and SQL; any other with its description.
    package init(_ error: any Error) {
        switch error {
        case let error as CacheError:
            self = error
        case let error as SQLiteError:
            let kind: Kind =
                if error.isDamagedFile { .damagedFile }
                else if error.isFull { .diskFull }
                else if error.isBusy { .busy }
                else if error.isReadOnly { .readOnly }
                else { .database }
            self.init(
                kind: kind, message: error.message, resultCode: error.code, sql: error.sql,
                description: error.description)
        case let error as CacheTrustError:
            self.init(kind: .untrusted, message: error.description)
        case let error as CodecError:
            self.init(kind: .codec, message: error.description)
        default:
            self.init(kind: .codec, message: "\(error)")
        }
    }

    /// Runs `body`, rethrowing what it throws as a `CacheError` (the package methods' bodies
    /// call SQLiteSupport, whose functions throw `SQLiteError`). Costs nothing unless it throws.
    @inline(__always)
    static func wrapping<Result>(_ body: () throws -> Result) throws(CacheError) -> Result {
        do {
            return try body()
        } catch {
            throw CacheError(error)
        }
    }
}

extension CacheStore {
    /// Whether `error` says the database file itself is damaged (`CacheError.Kind.damagedFile`:
    /// `SQLITE_CORRUPT` or `SQLITE_NOTADB`, in any extended form). Rows cannot be read, so
    /// nothing short of starting afresh (`removeDatabaseFiles`) mends it.
    package static func isDamagedFile(_ error: any Error) -> Bool {
        CacheError(error).kind == .damagedFile
    }

    /// Whether `error` is SQLite saying the disk is full (`SQLITE_FULL`).
    package static func isDiskFull(_ error: any Error) -> Bool {
        CacheError(error).kind == .diskFull
    }
}
