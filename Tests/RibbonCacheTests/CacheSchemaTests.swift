import Foundation
import SQLiteSupport
import Testing

@testable import RibbonCache

@Suite struct CacheSchemaTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func generatedFileMatchesTheMigrations() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "tools/gen_migrations.py", "--check"]
        process.currentDirectoryURL = Self.packageRoot
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "regenerate with python3 tools/gen_migrations.py: \(output)")
    }

    @Test func versionsAreContiguousFromOne() {
        #expect(CacheSchema.migrations.map(\.version) == Array(1...CacheSchema.latestVersion))
        #expect(CacheSchema.migrations.first?.name == "initial")
    }

    @Test func embeddedMigrationsCreateTheCacheTables() throws {
        var template = Array((NSTemporaryDirectory() + "/ribbon-cache-XXXXXX").utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let db = try Database(path: dir + "/cache.db")
        #expect(try migrate(db, CacheSchema.migrations) == .migrated(from: 0, to: CacheSchema.latestVersion))
        #expect(try db.userVersion == CacheSchema.latestVersion)
        let statement = try db.statement("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var tables: [String] = []
        while try statement.step() { tables.append(statement.text(0)) }
        #expect(tables == ["counters", "machine_code", "source_digests", "units"])

        // Foreign keys are on: machine code for a missing unit is refused.
        #expect(throws: SQLiteError.self) {
            try db.execute("""
                INSERT INTO machine_code VALUES (x'00', 0, 'jit', '', x'', 0, x'', 0)
                """)
        }
        #expect(try migrate(db, CacheSchema.migrations) == .upToDate)
    }
}
