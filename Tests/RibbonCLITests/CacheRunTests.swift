import CacheCodecs
import Foundation
import SQLiteSupport
import Testing

/// `frame` (an LZ4 frame as the cache stores it) with one byte flipped, at `near` or the first
/// place after it where the flip changes what the frame decodes to: a few bytes of a frame can
/// change without changing the content (which the cache then rightly accepts).
func damaged(_ frame: [UInt8], near: Int) -> [UInt8] {
    // Our frames record their content size: 8 bytes after the FLG and BD bytes.
    guard frame.count > 14, frame[4] & 0x08 != 0 else { return frame }
    let size = (0..<8).reduce(0) { $0 | Int(frame[6 + $1]) << (8 * $1) }
    guard let original = try? LZ4Frame.decompress(frame, expectedSize: size) else { return frame }
    for offset in Array(near..<frame.count) + Array(0..<near) {
        var copy = frame
        copy[offset] ^= 0x20
        if (try? LZ4Frame.decompress(copy, expectedSize: original.count)) != original { return copy }
    }
    return frame
}

/// The persistent cache as users meet it (issue 4): the built binary run cold then warm, with
/// damaged rows, an older-looking CPU, many processes at once and caches it must not trust.
@Suite struct CacheRunTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String

        /// The `--stats` JSON object (the last line of stderr).
        func stats() throws -> [String: Any] {
            let line = try #require(stderr.split(separator: "\n").last)
            return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// A fresh cache directory (mode 0700) for one test.
    static func newCache() -> String {
        let path = NSTemporaryDirectory() + "/ribbon-cache-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }

    static func write(_ text: String, named name: String) throws -> String {
        let path = newCache() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts the binary; `wait()` gives the outcome (so several can run at once).
    final class Running {
        let process = Process()
        let out = Pipe()
        let err = Pipe()

        /// With a `prefix` (`strace …`), that program runs the binary: prefix, binary, arguments.
        init(_ arguments: [String], cache: String, environment: [String: String] = [:], prefix: [String] = []) throws {
            let binary = try #require(CLITests.binary, "build the ribbon product first")
            if let tool = prefix.first {
                process.executableURL = URL(fileURLWithPath: tool)
                process.arguments = Array(prefix.dropFirst()) + [binary.path] + arguments
            } else {
                process.executableURL = binary
                process.arguments = arguments
            }
            process.currentDirectoryURL = CLITests.packageRoot
            var env = ProcessInfo.processInfo.environment
            env["RIBBON_CACHE_DIR"] = cache
            env.removeValue(forKey: "RIBBON_CPU_FEATURES")
            env.removeValue(forKey: "RIBBON_CACHE_MAX_SIZE")
            env.merge(environment) { $1 }
            process.environment = env
            process.standardOutput = out
            process.standardError = err
            try process.run()
        }

        /// Whether it was ended by a signal (SIGKILL: a kill, or strace passing one on).
        var wasKilled: Bool {
            process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        }

        func wait() -> Outcome {
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Outcome(
                status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self))
        }
    }

    func ribbon(_ arguments: [String], cache: String, environment: [String: String] = [:]) throws -> Outcome {
        try Running(arguments, cache: cache, environment: environment).wait()
    }

    /// fib.rib calls `fib` far more than the tier-up threshold: it gets compiled, and stored.
    static let hotProgram = "../shared/examples/fib.rib"

    @Test func warmRunCompilesNothingAndLoadsTheHotFunctions() throws {
        let cache = Self.newCache()
        let cold = try ribbon(["run", "--stats", Self.hotProgram], cache: cache)
        #expect(cold.status == 0)
        #expect(cold.stdout == "832040\n")
        let c = try cold.stats()
        #expect(c["unit"] as? String == "miss")
        #expect(c["units_compiled"] as? Int == 1)
        #expect((c["jit_compiled"] as? Int ?? 0) >= 1)

        let warm = try ribbon(["run", "--stats", Self.hotProgram], cache: cache)
        #expect(warm.status == 0)
        #expect(warm.stdout == cold.stdout)
        let w = try warm.stats()
        #expect(w["unit"] as? String == "hit")
        #expect(w["units_compiled"] as? Int == 0)
        #expect(w["units_loaded"] as? Int == 1)
        #expect(w["functions_compiled"] as? Int == 0)
        #expect(w["jit_compiled"] as? Int == 0)
        #expect((w["jit_loaded"] as? Int ?? 0) >= 1)
        let times = try #require(w["time_us"] as? [String: Int])
        #expect(times["parse"] == 0 && times["compile"] == 0 && times["jit"] == 0)
        // Nothing is written to SQLite by a warm run: the WAL stays empty.
        let wal = try FileManager.default.attributesOfItem(atPath: cache + "/cache.sqlite-wal")
        #expect((wal[.size] as? Int) == 0)
    }

    @Test func aFlippedByteInAnyStoredBlobIsAMissNotACrash() throws {
        let cache = Self.newCache()
        let program = "../shared/examples/sieve.rib"
        let expected = try String(contentsOfFile: CLITests.packageRoot.path + "/../shared/examples/sieve.out", encoding: .utf8)
        _ = try ribbon(["run", "--jit", "eager", program], cache: cache)
        // Every stored blob: the unit image and each function's machine code. A replaced row
        // gets a new id, so rows are found by their place in a fixed order each time.
        let orders = ["units": "key", "machine_code": "function_id, features"]
        func count(_ table: String) throws -> Int {
            let db = try Database(path: cache + "/cache.sqlite")
            let q = try db.statement("SELECT count(*) FROM \(table)")
            #expect(try q.step())
            return Int(q.int64(0))
        }
        let blobs = try count("machine_code")
        #expect(blobs >= 2)
        var damagedRows = 0
        for (table, rows) in [("units", try count("units")), ("machine_code", blobs)] {
            for index in 0..<rows {
                for place in ["middle", "last"] {
                    let column = table == "units" ? "image" : "blob"
                    do {
                        let db = try Database(path: cache + "/cache.sqlite")
                        let read = try db.statement(
                            "SELECT id, \(column) FROM \(table) ORDER BY \(orders[table]!) LIMIT 1 OFFSET \(index)")
                        #expect(try read.step())
                        let id = read.int64(0)
                        var bytes = read.blob(1)
                        read.reset()
                        bytes = damaged(bytes, near: place == "middle" ? bytes.count / 2 : bytes.count - 1)
                        let write = try db.statement("UPDATE \(table) SET \(column) = ?1 WHERE id = ?2")
                        try write.bind(bytes, at: 1)
                        try write.bind(id, at: 2)
                        try write.run()
                    }
                    damagedRows += 1
                    let damaged = try ribbon(["run", "--jit", "eager", "--stats", program], cache: cache)
                    #expect(damaged.status == 0, "\(table) #\(index) \(place): \(damaged.stderr)")
                    #expect(damaged.stdout == expected)
                    let warnings = damaged.stderr.split(separator: "\n").filter { $0.hasPrefix("ribbon: warning: cache:") }
                    #expect(warnings.count == 1, "\(table) #\(index) \(place): \(damaged.stderr)")
                    // The bad row was replaced: the next run is warm and compiles nothing.
                    let again = try ribbon(["run", "--jit", "eager", "--stats", program], cache: cache)
                    #expect(again.stdout == expected)
                    #expect(!again.stderr.contains("warning"), "\(again.stderr)")
                    let s = try again.stats()
                    #expect(s["unit"] as? String == "hit")
                    #expect(s["jit_compiled"] as? Int == 0)
                }
            }
        }
        #expect(damagedRows == 2 * (1 + blobs))
    }

    @Test func blobsNeedingFeaturesTheHostLacksAreNotLoaded() throws {
        let cache = Self.newCache()
        let program = try Self.write(
            """
            twice := fun (x: F64) -> F64.
                floor x * 2.0
            main := fun () -> I64.
                i := 0
                total := 0.0
                while i < 3000.
                    total = total + twice (float i / 7.0)
                    i = i + 1
                print total
                0
            """, named: "floors.rib")
        let full = try ribbon(["run", "--stats", program], cache: cache)
        #expect(full.status == 0, "\(full.stderr)")
        let hostHasSSE41 = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8).contains("sse4_1")
        let db = try Database(path: cache + "/cache.sqlite")
        func features() throws -> [String] {
            let q = try db.statement("SELECT features FROM machine_code ORDER BY features")
            var all: [String] = []
            while try q.step() { all.append(q.text(0)) }
            return all
        }
        #expect((try full.stats())["jit_compiled"] as? Int ?? 0 >= 1)
        if hostHasSSE41 { #expect(try features().contains("sse4.1")) }

        // An older-looking host: the sse4.1 blob is not loaded; a baseline one is compiled and stored.
        let old = ["RIBBON_CPU_FEATURES": "sse2"]
        let baseline = try ribbon(["run", "--stats", program], cache: cache, environment: old)
        #expect(baseline.stdout == full.stdout)
        #expect(!baseline.stderr.contains("warning"), "\(baseline.stderr)")
        if hostHasSSE41 {
            #expect((try baseline.stats())["jit_compiled"] as? Int ?? 0 >= 1)
            // twice (needs sse4.1) now also has a baseline blob; main never needed more.
            let all = try features()
            #expect(all.filter { $0 == "sse4.1" }.count == 1 && all.filter { $0 == "" }.count == 2, "\(all)")
        }
        let again = try ribbon(["run", "--stats", program], cache: cache, environment: old)
        #expect(again.stdout == full.stdout)
        #expect((try again.stats())["jit_compiled"] as? Int == 0)
        #expect((try again.stats())["jit_loaded"] as? Int ?? 0 >= 1)
        // The full host still takes its own blob (the one needing most of what it has).
        let back = try ribbon(["run", "--stats", program], cache: cache)
        #expect((try back.stats())["jit_compiled"] as? Int == 0)
    }

    @Test func eightProcessesShareOneCache() throws {
        let cache = Self.newCache()
        let programs = [
            "../shared/examples/fib.rib", "../shared/examples/sieve.rib", "../shared/examples/floats.rib",
            "../shared/examples/globals.rib", "examples/hello.rib", "../shared/examples/fib.rib",
            "../shared/examples/sieve.rib", "examples/hello.rib",
        ]
        func expected(_ program: String) throws -> String {
            try String(contentsOfFile: CLITests.packageRoot.path + "/" + program.dropLast(4) + ".out", encoding: .utf8)
        }
        func expectedStatus(_ program: String) throws -> Int32 {
            let source = try String(contentsOfFile: CLITests.packageRoot.path + "/" + program, encoding: .utf8)
            guard let line = source.split(separator: "\n").first(where: { $0.hasPrefix(";; exit: ") }) else { return 0 }
            return Int32(line.dropFirst(";; exit: ".count)) ?? -1
        }
        for round in ["cold", "warm"] {
            let running = try programs.map { try Running(["run", "--jit", "eager", "--stats", $0], cache: cache) }
            for (program, process) in zip(programs, running) {
                let r = process.wait()
                #expect(r.status == (try expectedStatus(program)), "\(round) \(program): \(r.stderr)")
                #expect(r.stdout == (try expected(program)), "\(round) \(program)")
                #expect(!r.stderr.contains("warning"), "\(round) \(program): \(r.stderr)")
                if round == "warm" { #expect((try r.stats())["unit"] as? String == "hit", "\(program)") }
            }
        }
    }

    @Test func cachesOthersCouldWriteAreRefused() throws {
        for make in ["world-writable", "other owner"] {
            if make == "other owner", getuid() != 0 { continue }  // only root can give a directory away
            let cache = Self.newCache()
            _ = try ribbon(["run", "examples/hello.rib"], cache: cache)
            if make == "world-writable" {
                chmod(cache, 0o777)
            } else {
                chown(cache, 12345, 12345)
            }
            let r = try ribbon(["run", "--stats", "examples/hello.rib"], cache: cache)
            #expect(r.status == 0)
            #expect(r.stdout == "hello, ribbon\n")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 2, "\(r.stderr)")
            #expect(lines.first?.hasPrefix("ribbon: warning: cache:") == true)
            #expect(lines.first?.contains(make == "other owner" ? "another user" : "writable by group or others") == true)
            #expect((try r.stats())["unit"] as? String == "off")
        }
    }

    @Test func aDatabaseThatIsNotOneAnyMoreIsSetAsideAndReplaced() throws {
        let cache = Self.newCache()
        let database = cache + "/cache.sqlite"
        try "this is not a database, but it is where one should be".write(toFile: database, atomically: true, encoding: .utf8)
        chmod(database, 0o600)
        let first = try ribbon(["run", "--stats", "examples/hello.rib"], cache: cache)
        #expect(first.status == 0)
        #expect(first.stdout == "hello, ribbon\n")
        let lines = first.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(first.stderr)")
        #expect(lines.first?.hasPrefix("ribbon: warning: cache: cache database was damaged") == true)
        #expect((try first.stats())["unit"] as? String == "miss")
        let aside = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("cache.sqlite.damaged-") }
        #expect(aside.count == 1)
        let second = try ribbon(["run", "--stats", "examples/hello.rib"], cache: cache)
        #expect(!second.stderr.contains("warning"))
        #expect((try second.stats())["unit"] as? String == "hit")
    }

    @Test func theSizeBoundEvictsLeastRecentlyUsedUnits() throws {
        let cache = Self.newCache()
        let small = ["RIBBON_CACHE_MAX_SIZE": "1"]
        _ = try ribbon(["run", "../shared/examples/fib.rib"], cache: cache, environment: small)
        _ = try ribbon(["run", "examples/hello.rib"], cache: cache, environment: small)
        let db = try Database(path: cache + "/cache.sqlite")
        let q = try db.statement("SELECT source_path FROM units")
        var paths: [String] = []
        while try q.step() { paths.append(q.text(0)) }
        #expect(paths.count == 1)
        #expect(paths.first?.hasSuffix("hello.rib") == true)
        let bad = try ribbon(["run", "examples/hello.rib"], cache: cache, environment: ["RIBBON_CACHE_MAX_SIZE": "lots"])
        #expect(bad.stdout == "hello, ribbon\n")
        #expect(bad.stderr.contains("RIBBON_CACHE_MAX_SIZE=lots is not a size"))
    }
}
