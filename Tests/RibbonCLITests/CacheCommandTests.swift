import ArgumentParser
import Foundation
import RibbonCache
import RibbonDriver
import SQLiteSupport
import Testing

@testable import RibbonCLI

/// `ribbon cache ...`, driven through the built binary on caches filled by real runs, and
/// `CacheInspector` in-process. Every test has a cache directory of its own (tests run in
/// parallel).
@Suite final class CacheCommandTests {
    static let packageRoot = CLITests.packageRoot
    static let fib = packageRoot.appendingPathComponent("../shared/examples/fib.rib").standardized.path
    static let hello = packageRoot.appendingPathComponent("examples/hello.rib").path

    typealias Outcome = CLITests.Outcome

    /// This test's own directory, removed when it ends (each test gets a new instance).
    let root: String

    init() {
        var template = Array("/tmp/ribbon-cache-cli-XXXXXX".utf8CString)
        root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        chmod(root, 0o700)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A fresh directory (mode 0700) for a cache or sources.
    func temporaryDirectory() -> String {
        var template = Array((root + "/d-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    /// Runs the built binary with `RIBBON_CACHE_DIR=cache` (the environment otherwise inherited).
    func ribbon(_ arguments: [String], cache: String, environment: [String: String] = [:]) throws -> Outcome {
        try CLITests().ribbon(arguments, environment: ["RIBBON_CACHE_DIR": cache].merging(environment) { $1 })
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func jsonArray(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text)")
    }

    /// Runs a program and checks it printed what it should.
    func run(_ path: String, cache: String, jit: String = "tier") throws -> [String: Any] {
        let r = try ribbon(["run", "--jit", jit, "--stats", path], cache: cache)
        #expect(r.status == 0, "\(r.stderr)")
        return try json(String(r.stderr.split(separator: "\n").last ?? ""))
    }

    /// The cache's database, for changing rows behind the store's back.
    func database(_ cache: String) throws -> Database {
        try Database(path: CacheStore.databasePath(in: cache))
    }

    /// Flips one bit in the middle of a column's stored LZ4 frame (bound as a blob, so the
    /// column stays a blob).
    func corrupt(_ db: Database, table: String, column: String, keyColumn: String, pathLike: String, extra: String = "") throws {
        let select = try db.prepare(
            """
            SELECT \(keyColumn), \(column) FROM \(table)
            WHERE \(keyColumn) IN (SELECT key FROM units WHERE source_path LIKE '\(pathLike)') \(extra)
            """)
        #expect(try select.step(), "no \(table) row for \(pathLike)")
        let key = select.blob(0)
        var frame = select.blob(1)
        select.reset()
        frame = damaged(frame, near: frame.count / 2)
        let update = try db.prepare("UPDATE \(table) SET \(column) = ?1 WHERE \(keyColumn) = ?2 \(extra)")
        try update.bind(frame, at: 1)
        try update.bind(key, at: 2)
        try update.run()
        #expect(db.changes == 1)
    }

    /// A valid program of `functions` small functions: big enough for its cache entry to span
    /// many pages.
    func largeProgram(functions: Int, in directory: String) throws -> String {
        var text = ""
        for i in 0..<functions {
            text += "f\(i) := fun (x: I64) -> I64.\n    y := x * \(i + 3) + \(i)\n    if y > 100. y - \(i) else. y + x\n\n"
        }
        text += "main := fun () -> I64.\n    print (f1 2)\n    0\n"
        let path = directory + "/large.rib"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: stats, ls, path

    @Test func statsCountsAColdAndAWarmRun() throws {
        let cache = temporaryDirectory()
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "miss")
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "hit")
        let r = try ribbon(["cache", "stats", "--json"], cache: cache)
        #expect(r.status == 0)
        let s = try json(r.stdout)
        #expect(s["units"] as? Int == 1)
        #expect(s["machine_code_blobs"] as? Int == 0)
        #expect(s["hits"] as? Int == 1)
        #expect(s["misses"] as? Int == 1)
        #expect(s["hit_rate"] as? Double == 0.5)
        #expect((s["bytes"] as? Int ?? 0) > 0)
        #expect((s["bytes_uncompressed"] as? Int ?? 0) > 0)
        #expect((s["saved_us"] as? Int ?? 0) > 0)
        #expect(s["database"] as? String == cache + "/cache.sqlite")
        let text = try ribbon(["cache", "stats"], cache: cache)
        #expect(text.stdout.contains("hit rate        50.0%"), "\(text.stdout)")
        #expect(text.stdout.contains("units           1\n"))
        #expect(text.stderr.isEmpty)
    }

    @Test func lsListsEveryUnitWithItsPath() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        _ = try run(Self.fib, cache: cache, jit: "eager")
        let r = try ribbon(["cache", "ls", "--sort", "path"], cache: cache)
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("KEY") == true)
        // Required: the lines below are read by index (a missing one must fail the test, not
        // stop the whole test process).
        try #require(lines.count == 4, "\(r.stdout)")
        // Sorted by path, whatever directory the package is checked out in.
        let paths = [String(lines[1]), String(lines[2])]
        #expect(paths.contains { $0.hasSuffix("/shared/examples/fib.rib") })
        #expect(paths.contains { $0.hasSuffix(Self.hello) })
        let shown = paths.map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(shown == shown.sorted())
        #expect(lines[3].hasPrefix("2 units, 2 machine-code blobs, "))
        let entries = try jsonArray(try ribbon(["cache", "ls", "--json", "--sort", "size"], cache: cache).stdout)
        #expect(entries.map { $0["path"] as? String } == [Self.fib, Self.hello])
        #expect(entries[0]["machine_code_blobs"] as? Int == 2)
        #expect((entries[0]["key"] as? String)?.count == 64)
        #expect((entries[0]["last_used"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func readOnlyCommandsNeverCreateACache() throws {
        let root = temporaryDirectory()
        let cache = root + "/not-yet"
        for command in [["stats"], ["ls"], ["verify"], ["gc"], ["clear"], ["path"], ["show", "abcd"], ["key", "--explain", Self.hello]] {
            let r = try ribbon(["cache"] + command, cache: cache)
            #expect(r.status == (command[0] == "show" ? 1 : 0), "\(command): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: cache))
        let empty = try json(try ribbon(["cache", "stats", "--json"], cache: cache).stdout)
        #expect(empty["units"] as? Int == 0)
        #expect(empty["exists"] as? Bool == false)
        #expect(try ribbon(["cache", "ls"], cache: cache).stdout.hasPrefix("the cache is empty"))
        #expect(try jsonArray(try ribbon(["cache", "ls", "--json"], cache: cache).stdout).isEmpty)
    }

    @Test func pathHonoursTheFlagAndTheEnvironment() throws {
        let root = temporaryDirectory()
        let byEnvironment = try ribbon(["cache", "path"], cache: root + "/env")
        #expect(byEnvironment.stdout == "database   \(root)/env/cache.sqlite\ndirectory  \(root)/env\nexists     no\n")
        let byFlag = try json(try ribbon(["cache", "path", "--json", "--cache-dir", root + "/flag"], cache: root + "/env").stdout)
        #expect(byFlag["directory"] as? String == root + "/flag")
        #expect(byFlag["exists"] as? Bool == false)
        let xdg = try ribbon(["cache", "path", "--json"], cache: "", environment: ["XDG_CACHE_HOME": root + "/xdg"])
        #expect(try json(xdg.stdout)["database"] as? String == root + "/xdg/ribbon/cache.sqlite")
        let home = try ribbon(["cache", "path", "--json"], cache: "", environment: ["XDG_CACHE_HOME": "", "HOME": root])
        #expect(try json(home.stdout)["directory"] as? String == root + "/.cache/ribbon")
        #expect(!FileManager.default.fileExists(atPath: root + "/env"))
    }

    @Test func anUntrustedCacheIsAnError() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        chmod(cache, 0o777)
        for command in ["stats", "ls", "verify", "gc", "clear"] {
            let r = try ribbon(["cache", command], cache: cache)
            #expect(r.status == 74)
            #expect(r.stderr == "ribbon: error: cache directory \(cache) is writable by group or others; not using it\n")
            #expect(r.stdout.isEmpty)
        }
    }

    /// A cache directory that cannot be used is an error even before it holds a database:
    /// it used to read as "(not created yet)" with exit 0.
    @Test func aCacheDirectoryThatCannotBeUsedIsAnErrorBeforeItHasADatabase() throws {
        let root = temporaryDirectory()
        let file = root + "/a-file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let open = root + "/world-writable"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        let cases: [(String, String)] = [
            (file, "ribbon: error: cache directory \(file) is not a directory\n"),
            (file + "/sub", "ribbon: error: cannot use cache directory \(file)/sub: Not a directory\n"),
            (open, "ribbon: error: cache directory \(open) is writable by group or others; not using it\n"),
        ]
        for (cache, message) in cases {
            for command in [["stats"], ["ls"], ["verify"], ["gc"], ["clear"], ["key", "--explain", Self.hello]] {
                let r = try ribbon(["cache"] + command, cache: cache)
                #expect(r.status == 74, "\(command) \(cache)")
                #expect(r.stderr == message, "\(command)")
                #expect(r.stdout.isEmpty, "\(command)")
            }
        }
    }

    // MARK: show

    @Test func showFindsAnEntryByKeyPrefixAndByPath() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.fib, cache: cache, jit: "eager")
        let entry = try #require(try jsonArray(try ribbon(["cache", "ls", "--json"], cache: cache).stdout).first)
        let key = try #require(entry["key"] as? String)
        let byPrefix = try ribbon(["cache", "show", String(key.prefix(6))], cache: cache)
        #expect(byPrefix.status == 0, "\(byPrefix.stderr)")
        #expect(byPrefix.stdout.hasPrefix("key           \(key)\nsource        \(Self.fib)\n"))
        for text in ["  source        ", "  ribbon build  build-id ", "main (#0)", "fib (#1)", "print_i64", "x86-64 jit"] {
            #expect(byPrefix.stdout.contains(text), "\(text)")
        }
        #expect(!byPrefix.stdout.contains("push rbx"))  // no listing without --disasm
        let byPath = try ribbon(["cache", "show", "../shared/examples/fib.rib", "--disasm"], cache: cache)
        #expect(byPath.status == 0, "\(byPath.stderr)")
        #expect(byPath.stdout.hasPrefix("key           \(key)\n"))
        #expect(byPath.stdout.contains("\nbytecode\n; unit "))
        #expect(byPath.stdout.contains("fib:  ; machine code from the cache"))
        #expect(byPath.stdout.contains("push rbx"))
        #expect(byPath.stdout.contains("; AddressTable"))
        #expect(try ribbon(["cache", "show", "fib.rib"], cache: cache).stdout.hasPrefix("key           \(key)\n"))

        let described = try json(try ribbon(["cache", "show", key, "--json"], cache: cache).stdout)
        let functions = try #require(described["functions"] as? [[String: Any]])
        #expect(functions.map { $0["name"] as? String } == ["main", "fib"])
        let code = try #require(described["machine_code"] as? [[String: Any]])
        #expect(code.map { $0["function"] as? String } == ["main", "fib"])
        #expect(code.allSatisfy { ($0["code_bytes"] as? Int ?? 0) > 0 && $0["problem"] is NSNull })
        let factors = try #require(described["factors"] as? [[String: String]])
        #expect(factors.map { $0["name"] } == ["source", "compiler", "ribbon build", "options"])
    }

    @Test func showRefusesShortUnknownAndAmbiguousEntries() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        let short = try ribbon(["cache", "show", "ab"], cache: cache)
        #expect(short.status == 64)
        #expect(short.stderr == "ribbon: error: a key prefix needs at least 4 hex digits: ab\n")
        let unknown = try ribbon(["cache", "show", "no/such.rib"], cache: cache)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("ribbon: error: no cache entry matches no/such.rib"))
        // Two files of one name in different directories: the name alone is ambiguous.
        let sources = temporaryDirectory()
        for directory in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: sources + "/" + directory, withIntermediateDirectories: true)
            try "main := fun () -> I64.\n    \(directory == "a" ? 1 : 2)\n".write(
                toFile: sources + "/\(directory)/same.rib", atomically: true, encoding: .utf8)
            let r = try ribbon(["run", sources + "/\(directory)/same.rib"], cache: cache)
            #expect(r.status == (directory == "a" ? 1 : 2))
        }
        let ambiguous = try ribbon(["cache", "show", "same.rib"], cache: cache)
        #expect(ambiguous.status == 64)
        #expect(ambiguous.stderr.contains("same.rib is ambiguous"))
        #expect(ambiguous.stderr.contains(sources + "/a/same.rib") && ambiguous.stderr.contains(sources + "/b/same.rib"))
    }

    // MARK: verify

    @Test func verifyNamesDamagedEntriesAndRepairMendsThem() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        _ = try run(Self.fib, cache: cache, jit: "eager")
        let sound = try ribbon(["cache", "verify"], cache: cache)
        #expect(sound.status == 0, "\(sound.stdout)\(sound.stderr)")
        #expect(sound.stdout.hasPrefix("checked 2 units and 2 machine-code blobs in "))
        #expect(sound.stdout.hasSuffix("all entries are sound\n"))

        let units = try jsonArray(try ribbon(["cache", "ls", "--json", "--sort", "path"], cache: cache).stdout)
        func keyPrefix(endingWith suffix: String) throws -> String {
            let unit = try #require(units.first { ($0["path"] as? String)?.hasSuffix(suffix) == true })
            return try #require(unit["key_prefix"] as? String)
        }
        let fibKey = try keyPrefix(endingWith: "fib.rib")
        let helloKey = try keyPrefix(endingWith: "hello.rib")
        let db = try database(cache)
        try corrupt(db, table: "units", column: "image", keyColumn: "key", pathLike: "%hello.rib")
        try corrupt(db, table: "machine_code", column: "blob", keyColumn: "unit_key", pathLike: "%fib.rib", extra: "AND function_id = 1")
        db.close()

        let bad = try ribbon(["cache", "verify"], cache: cache)
        #expect(bad.status == 1)
        let lines = bad.stdout.split(separator: "\n").filter { $0.hasPrefix("bad: ") }
        #expect(lines.count == 2, "\(bad.stdout)")
        #expect(lines.contains { $0.hasPrefix("bad: \(helloKey) \(Self.hello): unit image: ") })
        #expect(lines.contains { $0.hasPrefix("bad: \(fibKey) \(Self.fib), machine code of function fib (#1): machine-code blob: ") })
        #expect(bad.stderr == "ribbon: error: 2 bad entries in the cache; `ribbon cache verify --repair` deletes them\n")
        let report = try json(try ribbon(["cache", "verify", "--json"], cache: cache).stdout)
        #expect(report["ok"] as? Bool == false)
        #expect((report["bad"] as? [[String: Any]])?.compactMap { $0["entry"] as? String }.sorted() == ["machine_code", "unit"])

        let repaired = try ribbon(["cache", "verify", "--repair"], cache: cache)
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(repaired.stdout.contains("repaired: deleted 2 bad entries"))
        #expect(try ribbon(["cache", "verify"], cache: cache).status == 0)
        // The unit with the bad blob stays: warm at once, its one function compiled again.
        let warm = try run(Self.fib, cache: cache, jit: "eager")
        #expect(warm["unit"] as? String == "hit")
        #expect(warm["jit_loaded"] as? Int == 1)
        #expect(warm["jit_compiled"] as? Int == 1)
        // The bad unit went: compiled once more, then warm.
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "miss")
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "hit")
    }

    /// A database file SQLite cannot read: verify says so (1), reading commands fail (74), and
    /// clear removes the file so that the next run starts a new cache.
    @Test func aDamagedDatabaseFileIsReportedAndClearStartsAfresh() throws {
        let cache = temporaryDirectory()
        let program = try largeProgram(functions: 100, in: temporaryDirectory())
        _ = try run(program, cache: cache, jit: "eager")
        _ = try ribbon(["cache", "gc"], cache: cache)  // everything in the database file, none in the WAL
        let path = CacheStore.databasePath(in: cache)
        let header = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(100)
        let pageSize = Int(header[16]) << 8 | Int(header[17])
        let pageCount = Int(header[28]) << 24 | Int(header[29]) << 16 | Int(header[30]) << 8 | Int(header[31])
        #expect(pageCount > 4)
        let file = try #require(FileHandle(forWritingAtPath: path))
        for page in 1..<pageCount {  // every page but the first: an impossible b-tree page header
            try file.seek(toOffset: UInt64(page * pageSize))
            file.write(Data([0x0D, 0xFF, 0xFF, 0x00, 0x09]))
        }
        try file.close()
        let verify = try ribbon(["cache", "verify"], cache: cache)
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("bad: database file: "))
        #expect(verify.stderr.hasPrefix("ribbon: error: the cache database file is damaged ("))
        let ls = try ribbon(["cache", "ls"], cache: cache)
        #expect(ls.status == 74)
        #expect(ls.stderr.hasPrefix("ribbon: error: the cache database is damaged ("), "\(ls.stderr)")
        #expect(ls.stderr.hasSuffix("; `ribbon cache clear` starts it afresh\n"))
        let clear = try ribbon(["cache", "clear"], cache: cache)
        #expect(clear.status == 0, "\(clear.stderr)")
        #expect(clear.stdout.hasPrefix("the cache database was damaged ("))
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "miss")
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "hit")
        // Not a database at all: clear removes it too.
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: CacheStore.databasePath(in: cache)))
        try? FileManager.default.removeItem(atPath: CacheStore.databasePath(in: cache) + "-wal")
        #expect(try ribbon(["cache", "stats"], cache: cache).status == 74)
        #expect(try ribbon(["cache", "clear"], cache: cache).status == 0)
        #expect(!FileManager.default.fileExists(atPath: CacheStore.databasePath(in: cache)))
    }

    /// In-process: a foreign symbol this host lacks is a note, not damage; a blob whose
    /// recorded features are not its code's, or whose function the unit lacks, is bad.
    @Test func verifyTellsMissingSymbolsFromDamage() throws {
        let cache = temporaryDirectory()
        let sources = temporaryDirectory()
        let path = sources + "/c.rib"
        try "labs := foreign \"labs\" (x: I64) -> I64\ntwice := fun (x: I64) -> I64.\n    x * 2\n\nmain := fun () -> I64.\n    twice (labs (0 - 3))\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        var options = RunOptions()
        options.jit = .eager
        options.cacheDirectory = cache
        let first = Driver.execute(path: path, options: options, output: .buffer)
        #expect(first.status == 6, "\(first.standardError)")
        let store = try #require(try CacheStore.openExisting(directory: cache))
        #expect(try CacheInspector.verify(store, repair: false).bad.isEmpty)

        // Rename the C symbol inside the image (same length) and re-store it under its key with a
        // sound hash: not damage, but a note.
        let unit = try #require(try store.units().first)
        #expect(unit.key == (try CacheKeys.factors(forFile: path)).key.bytes)
        var image = try #require(try store.image(key: unit.key)?.bytes)
        let from = Array("labs/i/i".utf8)
        let to = Array("lxbs/i/i".utf8)
        let at = try #require((0...(image.count - from.count)).first { Array(image[$0..<$0 + from.count]) == from })
        image.replaceSubrange(at..<at + from.count, with: to)
        try store.store(
            key: try CacheKeys.factors(forFile: path).key, sourcePath: unit.sourcePath, image: image,
            compileMicroseconds: 1, ribbonBuild: CacheKeys.ribbonBuild, jitIdentity: CacheKeys.jitIdentity,
            machineCode: [], factors: unit.factors)
        let report = try CacheInspector.verify(store, repair: false)
        #expect(report.bad.isEmpty, "\(report.bad)")
        #expect(report.notes.contains { $0.message.hasPrefix("foreign symbol `lxbs` is not available on this host") })

        // Record a feature the code does not need, and file a blob under a function Id the unit lacks.
        let raw = try Database(path: store.databasePath)
        try raw.execute("UPDATE machine_code SET features = 'avx2' WHERE function_id = 0")
        try raw.execute("UPDATE machine_code SET function_id = 99 WHERE function_id = 1")
        let damaged = try CacheInspector.verify(store, repair: true)
        #expect(damaged.bad.count == 2, "\(damaged.bad)")
        #expect(damaged.bad.contains { $0.message.hasPrefix("the row records features [avx2] but the code needs [") })
        #expect(damaged.bad.contains { $0.message == "function #99 is not a function of its unit" })
        #expect(damaged.repaired && damaged.isSound)
        #expect(try store.units().count == 1)  // the unit was sound: only its blobs went
        #expect(try store.machineCode(unitKey: unit.key).isEmpty)
    }

    // MARK: gc, clear

    @Test func gcWithMaxSizeOneLeavesLessThanBefore() throws {
        let cache = temporaryDirectory()
        let program = try largeProgram(functions: 600, in: temporaryDirectory())
        _ = try run(program, cache: cache, jit: "eager")
        _ = try run(Self.hello, cache: cache)
        let before = try json(try ribbon(["cache", "stats", "--json"], cache: cache).stdout)
        let r = try ribbon(["cache", "gc", "--max-size", "1"], cache: cache)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("removed 2 units and 601 machine-code blobs\n"), "\(r.stdout.prefix(200))")
        #expect(r.stdout.contains("least recently used, over the size limit"))
        let after = try json(try ribbon(["cache", "stats", "--json"], cache: cache).stdout)
        #expect(after["units"] as? Int == 0)
        let (b, a) = (before["bytes"] as? Int ?? 0, after["bytes"] as? Int ?? 0)
        #expect(a < b / 2, "\(b) -> \(a)")
        #expect(try ribbon(["cache", "gc"], cache: cache).stdout.hasPrefix("nothing to remove; "))
    }

    @Test func gcRemovesRowsOfOtherBuildsAndUnusedOnes() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        _ = try run(Self.fib, cache: cache, jit: "eager")
        let db = try database(cache)
        try db.execute("UPDATE units SET ribbon_build = 'build-id 0123' WHERE source_path LIKE '%hello.rib'")
        let listed = try ribbon(["cache", "ls"], cache: cache)
        #expect(listed.stdout.contains("\(Self.hello)  (other build)"))
        let r = try json(try ribbon(["cache", "gc", "--json"], cache: cache).stdout)
        let removed = try #require(r["removed"] as? [[String: Any]])
        #expect(removed.map { $0["path"] as? String } == [Self.hello])
        #expect(removed.map { $0["reason"] as? String } == ["other-build"])
        #expect(try ribbon(["cache", "ls", "--json"], cache: cache).stdout.contains("fib.rib"))

        try db.execute("UPDATE units SET last_used_at = last_used_at - 10 * 86400")
        db.close()
        let young = try ribbon(["cache", "gc", "--older-than", "2w"], cache: cache)
        #expect(young.stdout.hasPrefix("nothing to remove"))
        let old = try ribbon(["cache", "gc", "--older-than", "7d"], cache: cache)
        #expect(old.stdout.contains("unused, last used 10 d ago"), "\(old.stdout)")
        #expect(try json(try ribbon(["cache", "stats", "--json"], cache: cache).stdout)["units"] as? Int == 0)
        let bad = try ribbon(["cache", "gc", "--older-than", "7 days"], cache: cache)
        #expect(bad.status == 64)
    }

    @Test func clearLeavesNoUnits() throws {
        let cache = temporaryDirectory()
        _ = try run(Self.hello, cache: cache)
        _ = try run(Self.fib, cache: cache, jit: "eager")
        let r = try ribbon(["cache", "clear"], cache: cache)
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("removed 2 units, 2 machine-code blobs, 2 source digests and the counters; on disk: "))
        let s = try json(try ribbon(["cache", "stats", "--json"], cache: cache).stdout)
        #expect(s["units"] as? Int == 0)
        #expect(s["machine_code_blobs"] as? Int == 0)
        #expect(s["hits"] as? Int == 0)
        #expect(try run(Self.hello, cache: cache)["unit"] as? String == "miss")
    }

    // MARK: key

    @Test func keyExplainNamesTheSourceAfterAnEdit() throws {
        let cache = temporaryDirectory()
        let path = temporaryDirectory() + "/edit.rib"
        try "main := fun () -> I64.\n    7\n".write(toFile: path, atomically: true, encoding: .utf8)
        let plain = try ribbon(["cache", "key", path], cache: cache)
        #expect(plain.status == 0)
        #expect(plain.stdout.count == 65 && plain.stdout.allSatisfy { $0.isHexDigit || $0 == "\n" })
        _ = try ribbon(["run", path], cache: cache)
        let stored = try #require(try jsonArray(try ribbon(["cache", "ls", "--json"], cache: cache).stdout).first)
        #expect(stored["key"] as? String == String(plain.stdout.dropLast()))
        let hit = try ribbon(["cache", "key", "--explain", path], cache: cache)
        #expect(hit.stdout.contains("cached: yes, \(plain.stdout.prefix(12)) \(path)"), "\(hit.stdout)")

        try "main := fun () -> I64.\n    8\n".write(toFile: path, atomically: true, encoding: .utf8)
        let miss = try ribbon(["cache", "key", "--explain", path], cache: cache)
        #expect(miss.status == 0)
        #expect(miss.stdout.contains("factors\n  source        "))
        #expect(miss.stdout.contains("cached: no\nnearest entry: \(plain.stdout.prefix(12)) \(path) (same source path;"))
        #expect(miss.stdout.contains("  source differs\n    cached  "))
        #expect(miss.stdout.hasSuffix("so it misses: the file's contents changed\n"))
        let explained = try json(try ribbon(["cache", "key", "--explain", "--json", path], cache: cache).stdout)
        #expect(explained["cached"] as? Bool == false)
        let nearest = try #require(explained["nearest"] as? [String: Any])
        #expect(nearest["match"] as? String == "same-path")
        let differences = try #require(nearest["differences"] as? [[String: Any]])
        #expect(differences.map { $0["name"] as? String } == ["source"])

        let missing = try ribbon(["cache", "key", "no/such.rib"], cache: cache)
        #expect(missing.status == 74)
        #expect(missing.stderr == "ribbon: error: cannot read no/such.rib: No such file or directory\n")
    }

    /// In-process: a file with no entry for its path is compared with the entry sharing most
    /// factors, and a rebuilt ribbon shows as the `ribbon build` factor.
    @Test func keyExplainFindsTheEntrySharingMostFactors() throws {
        let cache = temporaryDirectory()
        let store = try CacheStore(directory: cache)
        let sources = temporaryDirectory()
        let path = sources + "/k.rib"
        try "main := fun () -> I64.\n    1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let now = try CacheKeys.factors(forFile: path)
        var older = now
        older.ribbonBuild = "build-id 00"
        try store.store(
            key: older.key, sourcePath: sources + "/elsewhere.rib", image: [1], compileMicroseconds: 1,
            ribbonBuild: older.ribbonBuild, jitIdentity: "j", machineCode: [], factors: older.storedText)
        let unrelated = UnitKeyFactors(source: [9], compilerIdentity: "other", ribbonBuild: "build-id 01")
        try store.store(
            key: unrelated.key, sourcePath: "/x.rib", image: [1], compileMicroseconds: 1, ribbonBuild: "b",
            jitIdentity: "j", machineCode: [], factors: unrelated.storedText)
        let e = try CacheInspector.explainKey(file: path, store: store)
        #expect(e.key == now.key)
        #expect(e.entry == nil)
        let nearest = try #require(e.nearest)
        #expect(nearest.match == .mostFactors(shared: 3))
        #expect(nearest.summary.key == older.key.bytes)
        #expect(nearest.differences.map(\.factor) == [.ribbonBuild])
        #expect(nearest.differences.map(\.cached) == ["build-id 00"])
        #expect(nearest.differences.map(\.now) == [now.ribbonBuild])
        #expect(CacheCommand.Key.text(e, cacheExists: true).contains("so it misses: ribbon was rebuilt"))
    }

    // MARK: parsing

    @Test func parsesEveryCacheSubcommand() throws {
        let gc = try #require(
            try RibbonCommand.parseAsRoot(["cache", "gc", "--max-size", "512M", "--older-than", "7d", "--cache-dir", "/c"])
                as? CacheCommand.GC)
        #expect(gc.maxSize?.bytes == 512 << 20)
        #expect(gc.olderThan?.seconds == Int64(604_800))
        #expect(gc.options.cacheDir == "/c")
        let ls = try #require(try RibbonCommand.parseAsRoot(["cache", "ls", "--sort", "created", "--json"]) as? CacheCommand.List)
        #expect(ls.sort == .created)
        #expect(ls.options.json)
        let show = try #require(try RibbonCommand.parseAsRoot(["cache", "show", "abcd", "--disasm"]) as? CacheCommand.Show)
        #expect(show.entry == "abcd" && show.disasm)
        #expect(try RibbonCommand.parseAsRoot(["cache", "verify", "--repair"]) is CacheCommand.Verify)
        #expect(try RibbonCommand.parseAsRoot(["cache", "key", "f.rib", "--explain"]) is CacheCommand.Key)
        #expect((try RibbonCommand.parseAsRoot(["cache", "stats", "--json"]) as? CacheCommand.Stats)?.options.json == true)
        #expect((try RibbonCommand.parseAsRoot(["cache", "clear", "--json"]) as? CacheCommand.Clear)?.options.json == true)
        #expect((try RibbonCommand.parseAsRoot(["cache", "path", "--json"]) as? CacheCommand.Path)?.options.json == true)
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["cache", "gc", "--max-size", "lots"]) }
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["cache", "ls", "--sort", "name"]) }
        #expect(throws: (any Error).self) { _ = try RibbonCommand.parseAsRoot(["cache", "show"]) }
    }

    @Test func jsonIsEscapedAndTablesAreAligned() {
        #expect(table(["A", "NUM", "Z"], [["xyz", "1", "p"], ["q", "100", "r"]], right: [1]) == "A    NUM  Z\nxyz    1  p\nq    100  r\n")
        #expect(decimal(2.048, places: 2) == "2.05")
        #expect(percent(0.5) == "50.0%")
    }
}
