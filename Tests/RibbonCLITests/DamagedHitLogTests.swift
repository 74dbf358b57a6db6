import CacheCodecs
import Foundation
import RibbonCache
import SQLiteSupport
import Testing

/// Issue 12, item 2: a damaged `hits.log` crashed every command that folds it (`SIGILL`, a
/// trapping `+`), and the crashing process left `hits.log.folding-PID-N` for the next fold to
/// crash on, forever. Each command here meets the whole damage at once — a torn record, garbage,
/// records of 2⁶³−1 µs, a stale folding file with the same, and counters the old code turned
/// into a REAL and a TEXT — and must succeed with integer counters.
@Suite struct DamagedHitLogTests {
    typealias Outcome = CacheRunTests.Outcome

    let cache = CacheRunTests.newCache()
    let sources = CacheRunTests.newCache()

    func ribbon(_ arguments: [String]) throws -> Outcome {
        try CacheRunTests.Running(arguments, cache: cache).wait()
    }

    /// A program no earlier run has stored, so that running it is cold (and stores, and folds).
    func newProgram(_ name: String) throws -> String {
        let path = sources + "/" + name + ".rib"
        try "main := fun () -> I64.\n    print \"\(name)\"\n    0\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A pid no process has: past the kernel's largest.
    static var deadPID: pid_t {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)) ?? "4194304"
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 + 1 } ?? 4_194_305
    }

    /// Puts every kind of damage in place (a fold before removed the last batch).
    func damage() throws {
        let db = try Database(path: CacheStore.databasePath(in: cache))
        let keys = try db.prepare("SELECT key FROM units")
        #expect(try keys.step())
        let key = try #require(SHA256Digest(bytes: keys.blob(0)))
        keys.reset()
        try db.execute(
            """
            INSERT OR REPLACE INTO counters (name, value) VALUES ('saved_us', 1.8e19), ('hits', 'lots');
            """)
        db.close()
        let store = try CacheStore(directory: cache)
        let log = cache + "/hits.log"
        unlink(log)
        for _ in 0..<3 { try store.recordHit(key: key, savedMicroseconds: .max) }
        var bytes = try #require(FileManager.default.contents(atPath: log)).map { $0 }
        let size = bytes.count / 3
        // A torn record (written in part on a full disk), garbage, then whole records.
        bytes = Array(bytes[0..<size]) + Array(bytes[size..<size + size / 2]) + Array(bytes[size...])
        bytes += (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) } + bytes
        _ = FileManager.default.createFile(atPath: log, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        _ = FileManager.default.createFile(
            atPath: log + ".folding-\(Self.deadPID)-1", contents: Data(bytes.reversed() + bytes),
            attributes: [.posixPermissions: 0o600])
    }

    func expectFine(_ r: Outcome, _ command: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(command): status \(r.status), \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("crashed"), "\(command): \(r.stderr)",
            sourceLocation: sourceLocation)
    }

    /// The counters `cache stats --json` prints, each an integer literal.
    func integerCounters(_ json: String) -> [String: Int64] {
        var result: [String: Int64] = [:]
        for name in ["hits", "misses", "saved_us"] {
            guard let range = json.range(of: "\"\(name)\":") else { continue }
            let digits = json[range.upperBound...].prefix { $0.isNumber || $0 == "-" }
            let next = json[range.upperBound...].dropFirst(digits.count).first
            if next == "," || next == "}" { result[name] = Int64(digits) }
        }
        return result
    }

    @Test func everyCommandSurvivesADamagedHitLog() throws {
        defer {
            try? FileManager.default.removeItem(atPath: cache)
            try? FileManager.default.removeItem(atPath: sources)
        }
        let hello = CLITests.packageRoot.appendingPathComponent("examples/hello.rib").path
        expectFine(try ribbon(["run", hello]), "first run")
        let commands: [(String, () throws -> Outcome)] = [
            ("cache stats", { try self.ribbon(["cache", "stats"]) }),
            ("cache ls", { try self.ribbon(["cache", "ls"]) }),
            ("cache ls --json", { try self.ribbon(["cache", "ls", "--json"]) }),
            ("cache verify", { try self.ribbon(["cache", "verify"]) }),
            ("cache gc", { try self.ribbon(["cache", "gc"]) }),
            ("build", { try self.ribbon(["build", try self.newProgram("built")]) }),
            ("cold run", { try self.ribbon(["run", try self.newProgram("cold")]) }),
            ("warm run", { try self.ribbon(["run", hello]) }),
            ("cache stats --json", { try self.ribbon(["cache", "stats", "--json"]) }),
        ]
        for (name, command) in commands {
            try damage()
            let r = try command()
            expectFine(r, name)
            if name == "cache stats --json" {
                let counters = integerCounters(r.stdout)
                #expect(counters.count == 3, "\(r.stdout)")
                #expect(counters["saved_us"] == .max, "\(r.stdout)")
                #expect((counters["hits"] ?? 0) >= 6, "\(r.stdout)")
            }
            if name == "cold run" { #expect(r.stdout == "cold\n") }
            if name == "warm run" { #expect(r.stdout == "hello, ribbon\n") }
        }
        // What is left: integers in the table, and no side file but the log the warm run wrote.
        let db = try Database(path: CacheStore.databasePath(in: cache))
        let types = try db.prepare("SELECT DISTINCT typeof(value) FROM counters")
        var seen: [String] = []
        while try types.step() { seen.append(types.text(0)) }
        #expect(seen == ["integer"])
        db.close()
        try damage()
        expectFine(try ribbon(["cache", "clear"]), "cache clear")
        let left = try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix("hits.log") }
        #expect(left.isEmpty, "\(left)")
    }
}
