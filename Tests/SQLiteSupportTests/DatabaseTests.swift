import Foundation
import Testing

@testable import SQLiteSupport

@Suite struct DatabaseTests {
    struct Boom: Error {}

    @Test func opensInWALWithForeignKeys() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            #expect(try db.journalMode == "wal")
            let fk = try db.statement("PRAGMA foreign_keys")
            #expect(try fk.step())
            #expect(fk.int64(0) == 1)
            let sync = try db.statement("PRAGMA synchronous")
            #expect(try sync.step())
            #expect(sync.int64(0) == 1)  // NORMAL
        }
    }

    @Test func executeRunsEveryStatementAndNamesTheOneThatFails() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            try db.execute("""
                CREATE TABLE t (x INTEGER);
                INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);
                -- a trailing comment is not a statement
                """)
            let count = try db.statement("SELECT count(*), sum(x) FROM t")
            #expect(try count.step())
            #expect(count.int64(0) == 2 && count.int64(1) == 3)

            do {
                try db.execute("INSERT INTO t VALUES (3); INSERT INTO nowhere VALUES (4);")
                Issue.record("expected an error")
            } catch let error as SQLiteError {
                #expect(error.code == 1)
                #expect(error.message.contains("nowhere"))
                #expect(error.sql == " INSERT INTO nowhere VALUES (4);")
                #expect(!error.description.contains("\n"))
                #expect(error.description.contains("SQLite error 1"))
            }
        }
    }

    @Test func blobsRoundTripByteExact() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB NOT NULL)")
            let mebibyte = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
            let blobs: [[UInt8]] = [[], Array(0...255), mebibyte, [0]]
            for (i, blob) in blobs.enumerated() {
                // The same cached statement each time round.
                let insert = try db.statement("INSERT INTO t (id, b) VALUES (?1, ?2)")
                try insert.bind(i, at: 1)
                if i % 2 == 0 {
                    try insert.bind(blob, at: 2)
                } else {
                    try blob.withUnsafeBytes { try insert.bind($0, at: 2) }
                }
                try insert.run()
            }
            let select = try db.statement("SELECT id, b, typeof(b), length(b) FROM t ORDER BY id")
            var seen = 0
            while try select.step() {
                let i = Int(select.int64(0))
                #expect(select.blob(1) == blobs[i])
                #expect(select.text(2) == "blob")  // the empty blob is not NULL
                #expect(select.int64(3) == Int64(blobs[i].count))
                select.withBlob(1) { bytes in
                    #expect(bytes.count == blobs[i].count)
                    #expect(bytes.elementsEqual(blobs[i]))
                }
                seen += 1
            }
            #expect(seen == blobs.count)
        }
    }

    @Test func textAndNullRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            let select = try db.statement("SELECT ?1, ?2, ?3, typeof(?3)")
            try select.bind("héllo\u{0}world", at: 1)
            try select.bind("", at: 2)
            try select.bindNull(at: 3)
            #expect(try select.step())
            #expect(select.text(0) == "héllo\u{0}world")
            #expect(select.text(1) == "" && !select.isNull(1))
            #expect(select.isNull(2))
            #expect(select.text(3) == "null")
            #expect(throws: SQLiteError.self) { try select.bind(1, at: 9) }  // SQLITE_RANGE
        }
    }

    @Test func statementCacheReusesResetAndClearedStatements() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            let first = try db.statement("SELECT ?1")
            try first.bind(Int64(7), at: 1)
            #expect(try first.step())
            #expect(first.int64(0) == 7)
            // Left mid-row on purpose: the next fetch must reset it.
            let second = try db.statement("SELECT ?1")
            #expect(first === second)
            #expect(db.cachedStatementCount == 1)
            #expect(try second.step())
            #expect(second.isNull(0))  // bindings were cleared
            #expect(try !second.step())
            _ = try db.statement("SELECT 2")
            #expect(db.cachedStatementCount == 2)

            db.close()
            #expect(first.handle == nil)
            #expect(throws: SQLiteError.self) { _ = try first.step() }
            #expect(throws: SQLiteError.self) { _ = try db.statement("SELECT 1") }
        }
    }

    @Test func transactionCommitsOrRollsBack() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            try db.execute("CREATE TABLE t (x INTEGER)")
            let value = try db.transaction { () throws -> Int in
                try db.execute("INSERT INTO t VALUES (1)")
                return 42
            }
            #expect(value == 42)
            #expect(!db.isInTransaction)
            #expect(throws: Boom.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (2)")
                    throw Boom()
                }
            }
            #expect(!db.isInTransaction)
            // A failing statement inside the body rolls back the earlier ones too.
            #expect(throws: SQLiteError.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t VALUES (3)")
                    try db.execute("INSERT INTO missing VALUES (4)")
                }
            }
            let rows = try db.statement("SELECT group_concat(x) FROM t")
            #expect(try rows.step())
            #expect(rows.text(0) == "1")
        }
    }

    @Test func secondWriterGetsBusyAfterAShortTimeout() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/cache.db"
            let first = try Database(path: path)
            try first.execute("CREATE TABLE t (x INTEGER)")
            let second = try Database(path: path, busyTimeoutMilliseconds: 50)
            try first.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            do {
                try second.transaction { try second.execute("INSERT INTO t VALUES (2)") }
                Issue.record("expected SQLITE_BUSY")
            } catch let error as SQLiteError {
                #expect(error.code == 5)
                #expect(error.isBusy)
                #expect(error.sql == "BEGIN IMMEDIATE")
            }
            #expect(!second.isInTransaction)
            // Readers are not blocked by the writer in WAL mode.
            let count = try second.statement("SELECT count(*) FROM t")
            #expect(try count.step())
            #expect(count.int64(0) == 0)
            count.reset()
            try first.execute("COMMIT")
            try second.transaction { try second.execute("INSERT INTO t VALUES (2)") }
        }
    }

    @Test func secondWriterWaitsForTheFirstToCommit() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/cache.db"
            let first = try Database(path: path)
            try first.execute("CREATE TABLE t (x INTEGER)")
            let second = try Database(path: path, busyTimeoutMilliseconds: 10_000)
            try first.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")

            let committed = DispatchGroup()
            committed.enter()
            let start = Date()
            // `first` moves to another thread; this thread only touches `second` meanwhile.
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.3)
                try? first.execute("COMMIT")
                committed.leave()
            }
            try second.transaction { try second.execute("INSERT INTO t VALUES (2)") }
            let waited = Date().timeIntervalSince(start)
            committed.wait()
            #expect(waited >= 0.2)
            let rows = try second.statement("SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x)")
            #expect(try rows.step())
            #expect(rows.text(0) == "1,2")
        }
    }

    @Test func garbageFileIsAThrownErrorNotACrash() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/cache.db"
            let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
            try garbage.write(to: URL(fileURLWithPath: path))
            do {
                let db = try Database(path: path)
                _ = try migrate(db, [Migration(version: 1, name: "t", sql: "CREATE TABLE t (x)")])
                Issue.record("expected an error")
            } catch let error as SQLiteError {
                #expect(error.isNotADatabase)  // SQLITE_NOTADB
                #expect(error.isDamagedFile && !error.isCorrupt)
            }
        }
    }

    @Test func openFailureIsAThrownError() throws {
        try withTemporaryDirectory { dir in
            #expect(throws: SQLiteError.self) {
                _ = try Database(path: dir + "/no/such/directory/cache.db")
            }
        }
    }
}
