#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem
import SQLiteSupport

/// The compilation cache: one SQLite database per cache directory (../shared/DESIGN.md, "Storage").
///
/// Rows hold LZ4 frames of unit images and machine-code blobs, each with the SHA-256 of its
/// uncompressed bytes; a row whose hash or decompression fails is reported as bad, never
/// trusted, and replaced by the next store.
///
/// This file holds the store's state; what it does is in one file per concern: opening and
/// trust (`+Open`), lookups (`+Load`, `+Lazy`, `+SharedRead`), writes (`+Store`), what the
/// `cache` commands read (`+Queries`, `+Payloads`) and change (`+Maintenance`), source digests
/// (`SourceDigests.swift`) and hits (`HitLog.swift`). Every package method throws `CacheError`.
package final class CacheStore {
    package let directory: String
    package let databasePath: String
    let db: Database
    /// One line each, for the warning the driver prints (e.g. a newer database moved aside).
    package private(set) var warnings: [String] = []
    /// Hit logs folded into the open transaction, deleted when it commits (`writing`).
    var foldedHitLogs: [String] = []
    /// The file system's clock, read before the first source this store did not know (see
    /// `SourceDigests.swift`).
    var digestClock = DigestClock()

    /// Microseconds of each phase of the last `load` (`--stats` `cache_phases_us`): lookup (the
    /// size query), read (SQLite bringing the row), decompress, decode (verify and relocate),
    /// hash (what the image's SHA-256 took beyond decoding, on the second thread), and
    /// machine_code (blobs: read, decompress, hash).
    package internal(set) var lastLoadPhases: [(name: String, microseconds: Int)] = []

    /// Called with a unit image's size before it is read (a run prepares memory for a large one).
    package var willLoad: (Int) -> Void = { _ in }

    /// Opens (creating if needed) the cache in `directory` after the trust checks of
    /// `CacheDirectory`. A database written by a newer `ribbon` is moved aside and recreated.
    /// With `replacingDamaged` (a run), a file that is not a database any more is moved aside
    /// and a new cache started; without (`ribbon cache` commands) it is an error.
    package init(directory: String, busyTimeoutMilliseconds: Int32 = 5000, replacingDamaged: Bool = false) throws(CacheError) {
        self.directory = directory
        let opened = try CacheError.wrapping {
            try Self.open(
                directory: directory, busyTimeoutMilliseconds: busyTimeoutMilliseconds, replacingDamaged: replacingDamaged)
        }
        databasePath = opened.path
        db = opened.database
        warnings = opened.warnings
    }

    /// Runs `body` in one read transaction (`BEGIN` deferred takes no write lock), so that the
    /// queries in it see one snapshot while other processes write, and SQLite takes its locks
    /// once (a warm run's lookup and decode: a dozen reads).
    /// What `body` throws is rethrown as it is; a failure of the transaction itself is a
    /// `CacheError`.
    package func reading<Result>(_ body: () throws -> Result) throws -> Result {
        var bodyError: (any Error)? = nil
        do {
            return try db.reading {
                do { return try body() } catch {
                    bodyError = error
                    throw error
                }
            }
        } catch {
            throw bodyError ?? CacheError(error)
        }
    }

    /// Moves what this connection wrote from the WAL into the database file and empties the
    /// WAL: every process that opens the cache first reads the whole WAL back, and warm runs
    /// read pages through the memory map, not the WAL. Best effort and never waiting
    /// (`Database.checkpointWithoutWaiting`): a reader only postpones it to the next writer,
    /// and no writer waits behind it. Returns whether the WAL is now empty.
    @discardableResult
    package func checkpoint() -> Bool {
        db.checkpointWithoutWaiting()
    }
}
