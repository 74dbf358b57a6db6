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
        #expect(tables == ["counters", "machine_code", "source_digests", "units", "warm_code"])

        // Foreign keys are on: machine code for a missing unit is refused.
        #expect(throws: SQLiteError.self) {
            try db.execute("""
                INSERT INTO machine_code VALUES (x'00', 0, 'jit', '', x'', 0, x'', 0)
                """)
        }
        #expect(try migrate(db, CacheSchema.migrations) == .upToDate)
    }

    /// A cache written before migration 0005 keeps its rows: units are rebuilt with the image
    /// as the last column (what a warm lookup reads comes before it), machine code still
    /// belongs to its unit and goes with it.
    @Test func migration5KeepsEveryRowAndPutsTheImageLast() throws {
        var template = Array((NSTemporaryDirectory() + "/ribbon-cache-XXXXXX").utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try Database(path: dir + "/cache.db")
        let before = CacheSchema.migrations.filter { $0.version < 5 }
        #expect(try migrate(db, before) == .migrated(from: 0, to: 4))
        try db.execute(
            """
            INSERT INTO units (key, source_path, image, image_size, image_sha256, ribbon_build, compile_us,
                created_at, last_used_at, factors, image_chunks)
            VALUES (x'01', '/a.rib', x'0a0b0c', 3, x'ff', 'b1', 7, 1, 2, 'f', x'c1');
            INSERT INTO machine_code (unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us)
            VALUES (x'01', 4, 'jit', '', x'0d', 1, x'ee', 9);
            """)

        #expect(try migrate(db, CacheSchema.migrations) == .migrated(from: 4, to: CacheSchema.latestVersion))
        let columns = try db.statement("SELECT name FROM pragma_table_info('units') ORDER BY cid")
        var names: [String] = []
        while try columns.step() { names.append(columns.text(0)) }
        #expect(names.last == "image")
        #expect(names.dropLast().last == "image_chunks")
        let unit = try db.statement("SELECT source_path, image, image_size, compile_us, image_chunks FROM units WHERE key = x'01'")
        #expect(try unit.step())
        #expect(unit.text(0) == "/a.rib" && unit.blob(1) == [10, 11, 12] && unit.int64(2) == 3)
        #expect(unit.int64(3) == 7 && unit.blob(4) == [0xc1])
        unit.reset()
        let code = try db.statement("SELECT function_id, blob, jit_us FROM machine_code WHERE unit_key = x'01'")
        #expect(try code.step())
        #expect(code.int64(0) == 4 && code.blob(1) == [13] && code.int64(2) == 9)
        code.reset()
        // The machine code still refers to the rebuilt units table: deleting the unit deletes it.
        try db.execute("DELETE FROM units WHERE key = x'01'")
        let left = try db.statement("SELECT count(*) FROM machine_code")
        #expect(try left.step())
        #expect(left.int64(0) == 0)
    }
}
