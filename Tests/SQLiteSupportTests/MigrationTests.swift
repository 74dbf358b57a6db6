import Foundation
import Testing

@testable import SQLiteSupport

/// Results collected from several threads.
final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<MigrationOutcome, Error>] = []

    func append(_ result: Result<MigrationOutcome, Error>) {
        lock.withLock { results.append(result) }
    }

    var all: [Result<MigrationOutcome, Error>] { lock.withLock { results } }
}

@Suite struct MigrationTests {
    static let steps = [
        Migration(version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER);"),
        Migration(version: 2, name: "b", sql: "CREATE TABLE b (y TEXT); CREATE INDEX b_y ON b(y);"),
        Migration(version: 3, name: "seed", sql: "INSERT INTO a VALUES (1); INSERT INTO b VALUES ('z');"),
    ]

    static func tables(_ db: Database) throws -> [String] {
        let statement = try db.statement("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try statement.step() { names.append(statement.text(0)) }
        return names
    }

    @Test func appliesInOrderAndRecordsTheVersion() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            #expect(try db.userVersion == 0)
            #expect(try migrate(db, Self.steps) == .migrated(from: 0, to: 3))
            #expect(try db.userVersion == 3)
            #expect(try Self.tables(db) == ["a", "b"])
            #expect(try migrate(db, Self.steps) == .upToDate)

            let more = Self.steps + [Migration(version: 4, name: "c", sql: "CREATE TABLE c (z);")]
            #expect(try migrate(db, more) == .migrated(from: 3, to: 4))
            db.close()
            // The version survives reopening.
            let reopened = try Database(path: dir + "/cache.db")
            #expect(try reopened.userVersion == 4)
            #expect(try migrate(reopened, more) == .upToDate)
        }
    }

    @Test func partialDatabaseGetsOnlyTheMissingSteps() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            #expect(try migrate(db, Array(Self.steps.prefix(1))) == .migrated(from: 0, to: 1))
            #expect(try migrate(db, Self.steps) == .migrated(from: 1, to: 3))
        }
    }

    @Test func newerDatabaseIsReportedAndLeftAlone() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            try db.setUserVersion(99)
            #expect(try migrate(db, Self.steps) == .newerThanKnown(99))
            #expect(try db.userVersion == 99)
            #expect(try Self.tables(db) == [])
        }
    }

    @Test func failingMigrationRollsBackWhole() throws {
        try withTemporaryDirectory { dir in
            let db = try Database(path: dir + "/cache.db")
            let broken = [
                Self.steps[0],
                Migration(version: 2, name: "broken", sql: "CREATE TABLE b (y); INSERT INTO nowhere VALUES (1);"),
            ]
            #expect(throws: SQLiteError.self) { _ = try migrate(db, broken) }
            #expect(try db.userVersion == 1)
            #expect(try Self.tables(db) == ["a"])
            #expect(!db.isInTransaction)
            #expect(try migrate(db, Self.steps) == .migrated(from: 1, to: 3))
        }
    }

    /// Several connections migrate one new file at once: each step is applied exactly once
    /// (a second CREATE TABLE would throw), whoever applies it.
    @Test func concurrentOpenersApplyEachStepOnce() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/cache.db"
            let openers = 4
            let outcomes = Outcomes()
            let done = DispatchGroup()
            for _ in 0..<openers {
                done.enter()
                Thread.detachNewThread {
                    let result = Result { () throws -> MigrationOutcome in
                        let db = try Database(path: path, busyTimeoutMilliseconds: 10_000)
                        return try migrate(db, Self.steps)
                    }
                    outcomes.append(result)
                    done.leave()
                }
            }
            done.wait()
            var migratedSteps = 0
            for outcome in outcomes.all {
                switch outcome {
                case .success(.migrated(let from, let to)): migratedSteps += to - from
                case .success(.upToDate): break
                case .success(let other): Issue.record("unexpected \(other)")
                case .failure(let error): Issue.record("\(error)")
                }
            }
            #expect(migratedSteps >= 3)
            let db = try Database(path: path)
            #expect(try db.userVersion == 3)
            let count = try db.statement("SELECT count(*) FROM a")
            #expect(try count.step())
            #expect(count.int64(0) == 1)
        }
    }
}
