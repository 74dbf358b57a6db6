#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import SQLiteSupport

/// What removes entries or gives space back: eviction to the size bound, deletion, `cache gc`,
/// `cache clear`, `compact`, and the rebuild of a file on a full disk.
extension CacheStore {
    // MARK: Size bound

    /// Default bound on the cache's size (../shared/DESIGN.md, "Storage"); `RIBBON_CACHE_MAX_SIZE` overrides.
    package static let defaultMaxBytes: Int64 = 1 << 30

    /// Deletes least-recently-used units (with their machine code) until the entries take at
    /// most `maxBytes` (`entryBytes`), down to 90% of it so that the stores after do not evict
    /// again at once. The unit `keeping` (the one just stored) is never evicted. Returns the
    /// number of units evicted.
    @discardableResult
    package func evict(toFit maxBytes: Int64, keeping: SHA256Digest? = nil) throws(CacheError) -> Int {
        return try CacheError.wrapping {
            try evict(toFit: maxBytes, keepingAll: keeping.map { [$0] } ?? [])
        }
    }

    /// `evict(toFit:keeping:)` that keeps every unit in `keeping`: the units a run has just
    /// stored are never evicted, whatever their number (the others go, least recently used
    /// first, down to 90% of `maxBytes`). Returns the number of units evicted.
    @discardableResult
    package func evict(toFit maxBytes: Int64, keepingAll keeping: [SHA256Digest]) throws(CacheError) -> Int {
        return try CacheError.wrapping {
            let used = try entryBytes()
            guard used > maxBytes else { return 0 }
            var excess = used - maxBytes * 9 / 10
            let kept = Set(keeping.map(\.bytes))
            return try db.transaction {
                let oldest = try db.statement(
                    """
                    SELECT key, length(image) + 200 + coalesce((SELECT sum(length(blob)) + 100 * count(*)
                        FROM machine_code WHERE unit_key = units.key), 0)
                    FROM units ORDER BY last_used_at, created_at
                    """)
                var victims: [[UInt8]] = []
                while excess > 0, try oldest.step() {
                    let key = oldest.blob(0)
                    guard !kept.contains(key) else { continue }
                    victims.append(key)
                    excess -= oldest.int64(1)
                }
                oldest.reset()
                try delete(units: victims)
                return victims.count
            }
        }
    }

    // MARK: Deleting

    /// Deletes units and their machine code (inside the caller's transaction).
    func delete(units keys: [[UInt8]]) throws {
        let code = try db.statement("DELETE FROM machine_code WHERE unit_key = ?1")
        let unit = try db.statement("DELETE FROM units WHERE key = ?1")
        for key in keys {
            try code.bind(key, at: 1)
            try code.run()
            try unit.bind(key, at: 1)
            try unit.run()
        }
    }

    /// Deletes units with their machine code, in one transaction.
    package func deleteUnits(_ keys: [[UInt8]]) throws(CacheError) {
        try CacheError.wrapping {
            guard !keys.isEmpty else { return }
            try db.transaction { try delete(units: keys) }
            checkpoint()
        }
    }

    /// Deletes single machine-code rows (their unit stays), in one transaction.
    package func deleteMachineCode(_ rows: [StoredMachineCode]) throws(CacheError) {
        try CacheError.wrapping {
            guard !rows.isEmpty else { return }
            try db.transaction {
                let delete = try db.statement(
                    "DELETE FROM machine_code WHERE unit_key = ?1 AND function_id = ?2 AND jit_identity = ?3 AND features = ?4")
                for row in rows {
                    try delete.bind(row.unitKey, at: 1)
                    try delete.bind(Int64(row.functionId), at: 2)
                    try delete.bind(row.jitIdentity, at: 3)
                    try delete.bind(row.featuresText, at: 4)
                    try delete.run()
                }
            }
            checkpoint()
        }
    }

    /// Gives the file's free pages back: moves the write-ahead log into the database, rebuilds
    /// it without free pages (`VACUUM`), and truncates the log again (VACUUM writes through it).
    /// A reader in another process may keep the log from being truncated; that is not an error.
    package func compact() throws(CacheError) {
        try CacheError.wrapping {
            checkpoint()
            // VACUUM copies the whole database into a temporary one: a file, not memory.
            try db.execute("PRAGMA temp_store=FILE")
            defer { try? db.execute("PRAGMA temp_store=MEMORY") }
            try db.execute("VACUUM")
            checkpoint()
        }
    }

    // MARK: Garbage collection

    /// Why `collectGarbage` removed a unit.
    package enum RemovalReason: String, Sendable, Equatable {
        /// Written by another `ribbon` build: no run of this one can read it.
        case otherBuild = "other-build"
        /// Not used within `--older-than`.
        case unused
        /// Least recently used, evicted to fit `--max-size`.
        case size
    }

    package struct GarbageReport: Sendable, Equatable {
        package var removed: [(unit: UnitSummary, reason: RemovalReason)]
        package var bytesBefore: Int64
        package var bytesAfter: Int64

        package static func == (a: GarbageReport, b: GarbageReport) -> Bool {
            a.bytesBefore == b.bytesBefore && a.bytesAfter == b.bytesAfter
                && a.removed.map(\.unit) == b.removed.map(\.unit) && a.removed.map(\.reason) == b.removed.map(\.reason)
        }
    }

    /// `ribbon cache gc`: removes the units of other builds, those not used since
    /// `unusedSince` (Unix seconds), then least recently used ones until the database fits
    /// `maxBytes` (`evict(toFit:)`); then compacts the file if anything went.
    ///
    /// On a full disk: the write-ahead log's space is given back first (a store that failed
    /// may have left it long); if the deletion still cannot be written, the units to keep are
    /// copied into memory and written back into the emptied file (`rebuild(keeping:)`). The
    /// hit log cannot be folded then either: last uses are those folded before.
    package func collectGarbage(currentBuild: String, unusedSince: Int64?, maxBytes: Int64?) throws(CacheError) -> GarbageReport {
        return try CacheError.wrapping {
            let before = bytesOnDisk
            checkpoint()
            do {
                try foldHitLog()  // last uses decide what goes
            } catch where Self.isDiskFull(error) {
                // The hits stay in the log for a later fold; last uses are a little older.
            }
            let all = try units(orderedBy: .lastUsed).reversed()  // least recently used first
            var removed: [(UnitSummary, RemovalReason)] = all.filter { $0.ribbonBuild != currentBuild }.map { ($0, .otherBuild) }
            if let unusedSince {
                removed += all.filter { $0.ribbonBuild == currentBuild && $0.lastUsedAt < unusedSince }.map { ($0, .unused) }
            }
            do {
                try deleteUnits(removed.map(\.0.key))
                if let maxBytes {
                    let remaining = try units(orderedBy: .lastUsed)
                    if try evict(toFit: maxBytes) > 0 {
                        let kept = Set(try units(orderedBy: .lastUsed).map(\.key))
                        removed += remaining.reversed().filter { !kept.contains($0.key) }.map { ($0, .size) }
                    }
                }
                if !removed.isEmpty { try compact() }
            } catch where Self.isDiskFull(error) {
                // What goes is what the same rules pick, over the units as they were.
                removed = removed.filter { victim in all.contains { $0.key == victim.0.key } }
                let gone = Set(removed.map(\.0.key))
                var keep = all.reversed().filter { !gone.contains($0.key) }  // most recently used first
                func entryBytes(_ unit: UnitSummary) -> Int64 {
                    unit.imageBytes + 200 + unit.machineCodeBytes + 100 * Int64(unit.machineCodeBlobs)
                }
                if let maxBytes, keep.reduce(0, { $0 + entryBytes($1) }) > maxBytes {
                    // As `evict(toFit:)` counts (`entryBytes`): the most recently used that fit in
                    // 90 % of the bound; from the first that does not, all older ones go.
                    var budget = maxBytes * 9 / 10
                    var fit = 0
                    for unit in keep {
                        let bytes = entryBytes(unit)
                        guard budget >= bytes else { break }
                        budget -= bytes
                        fit += 1
                    }
                    removed += keep[fit...].reversed().map { ($0, .size) }
                    keep = Array(keep[..<fit])
                }
                try rebuild(keeping: keep.map(\.key))
            }
            return GarbageReport(removed: removed, bytesBefore: before, bytesAfter: bytesOnDisk)
        }
    }

    /// What `clear` removed.
    package struct ClearReport: Sendable, Equatable {
        package var units = 0
        package var machineCodeBlobs = 0
        package var sourceDigests = 0
        package var bytesBefore: Int64 = 0
        package var bytesAfter: Int64 = 0

        package init() {}
    }

    /// `ribbon cache clear`: every unit, blob, counter and source digest, then compacts.
    ///
    /// On a disk too full for SQLite to write the deletion (or the compacted copy), the files
    /// are emptied in place instead (`Database.truncateToEmpty`, under SQLite's exclusive
    /// lock), with the hit logs; this closes the store.
    package func clear() throws(CacheError) -> ClearReport {
        return try CacheError.wrapping {
            var report = ClearReport()
            report.bytesBefore = bytesOnDisk
            checkpoint()  // what a failed store left in the log, first
            func count() throws {
                let counts = try integers(
                    """
                    SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM machine_code),
                        (SELECT count(*) FROM source_digests)
                    """, count: 3)
                report.units = Int(counts[0])
                report.machineCodeBlobs = Int(counts[1])
                report.sourceDigests = Int(counts[2])
            }
            do {
                try writing {
                    try foldHits()  // consumed here, so no hit of a cleared unit is counted later
                    try count()
                    try db.execute(
                        "DELETE FROM machine_code; DELETE FROM units; DELETE FROM counters; DELETE FROM source_digests;")
                }
                try compact()
            } catch where Self.isDiskFull(error) {
                if report.units == 0 && report.machineCodeBlobs == 0 { try reading { try count() } }
                try truncateToEmpty()
            }
            report.bytesAfter = bytesOnDisk
            return report
        }
    }

    /// Deletes the cache database in `directory` with its write-ahead log, shared-memory index
    /// and hit log (`cache clear` of a file SQLite cannot read; the next run creates a new one).
    /// Returns the bytes the files took.
    @discardableResult
    package static func removeDatabaseFiles(in directory: String) -> Int64 {
        let path = databasePath(in: directory)
        let sizes = fileBytes(databasePath: path)
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        unlink(directory + "/" + HitLog.fileName)
        return sizes.database + sizes.wal
    }

    // MARK: A full disk

    /// Empties the database and its log in place (`Database.truncateToEmpty`: waits for every
    /// other connection to close, writes nothing) and removes the hit logs. Closes the store;
    /// the next open creates the schema again.
    func truncateToEmpty(removingHitLogs: Bool = true) throws {
        try db.truncateToEmpty()
        guard removingHitLogs else { return }
        unlink(directory + "/" + HitLog.fileName)
        for name in HitLog.staleTaken(directory: directory) { unlink(directory + "/" + name) }
    }

    /// The most that `rebuild` holds in memory: entries beyond it make a full-disk `gc` fail
    /// (74, "database or disk is full") rather than take that much memory.
    static let rebuildMemoryLimit: Int64 = 256 << 20

    /// `gc` on a disk too full to write the deletion: copies the units `keys` (with their
    /// machine code), every source digest and counter, and any other table, into an in-memory
    /// database; empties the files in place (`truncateToEmpty`), which gives their space
    /// back; creates the schema again and writes the copies back in one transaction. Closes
    /// the store. A kill after the files were emptied loses the kept entries (the next runs
    /// compile them again), never anything else: the cache is then empty or whole.
    func rebuild(keeping keys: [[UInt8]]) throws {
        var keptBytes: Int64 = 0
        for key in keys { keptBytes += try unit(key: key)?.storedBytes ?? 0 }
        guard keptBytes <= Self.rebuildMemoryLimit else {
            throw SQLiteError(.full, message: "database or disk is full, and the entries to keep are too large to rebuild it", sql: nil)
        }
        // Closing without SQLite's last-connection cleanup, which deletes the `-shm` index: on
        // a full disk the next process could not create it again, and could not open the cache.
        let memory = try Database(path: ":memory:", busyTimeoutMilliseconds: db.busyTimeoutMilliseconds, checkpointOnClose: false)
        defer { memory.close() }
        func attach() throws {
            let statement = try memory.prepare("ATTACH ?1 AS cache")
            try statement.bind(Database.plainFileName(databasePath), at: 1)
            try statement.run()
        }
        try attach()
        try memory.execute("CREATE TABLE main.kept_keys (key BLOB PRIMARY KEY)")
        let insert = try memory.prepare("INSERT OR IGNORE INTO main.kept_keys VALUES (?1)")
        for key in keys {
            try insert.bind(key, at: 1)
            try insert.run()
            insert.reset()
        }
        var tables: [String] = []
        let names = try memory.prepare(
            "SELECT name FROM cache.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        while try names.step() { tables.append(names.text(0)) }
        names.reset()
        try memory.reading {
            for table in tables {
                let condition = switch table {
                case "units": " WHERE key IN (SELECT key FROM main.kept_keys)"
                case "machine_code": " WHERE unit_key IN (SELECT key FROM main.kept_keys)"
                default: ""
                }
                try memory.execute("CREATE TABLE main.\"kept_\(table)\" AS SELECT * FROM cache.\"\(table)\"\(condition)")
            }
        }
        try memory.execute("DETACH cache")  // its lock would keep `truncateToEmpty` waiting
        // The hit logs stay: they name kept units too, and the next fold counts them.
        try truncateToEmpty(removingHitLogs: false)
        // Each step checkpointed: the log would otherwise hold every migration's pages and the
        // copies at once, on a disk that has only what the emptied files gave back.
        let fresh = try Self.openDatabase(databasePath, db.busyTimeoutMilliseconds)
        _ = try migrate(fresh, CacheSchema.migrations)
        fresh.checkpointWithoutWaiting()
        fresh.close()
        try attach()
        // Rows go back as they were; the machine code's units come with it, in any order.
        try memory.execute("PRAGMA foreign_keys=OFF")
        try memory.transaction {
            for table in tables {
                try memory.execute("INSERT INTO cache.\"\(table)\" SELECT * FROM main.\"kept_\(table)\"")
            }
        }
        memory.withBusyTimeout(milliseconds: 0) { _ = try? memory.execute("PRAGMA cache.wal_checkpoint(TRUNCATE)") }
        try memory.execute("DETACH cache")
    }
}
