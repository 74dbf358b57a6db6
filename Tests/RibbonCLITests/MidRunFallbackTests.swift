import Foundation
import Testing

@testable import RibbonCache
import SQLiteSupport

/// A warm run reads a unit's image a chunk at a time while the program runs. When a chunk is
/// missing (its row was cleared, collected or evicted by another process) or fails its hash,
/// the run compiles the file again and goes on with that image — only if it is byte for byte
/// the stored one. An image holds nothing its key does not cover (no path), so a unit built
/// under one spelling of its path continues under any other; a file changed since is an
/// internal error, never a splice of two images (issue 12, item 1).
@Suite struct MidRunFallbackTests {
    /// A program whose `main` runs `command` through C's `system` (the mid-run event), then
    /// calls down a chain of 300 functions. The compiler lays them out after `main`, in the
    /// order the chain calls them, over a dozen chunks of the image that a run that did not
    /// call them before reads only when it calls them.
    static func program(command: String) -> String {
        var text = "c_system := foreign \"system\" (s: Str) -> I64\n"
        text += "f0 := fun (x: I64) -> I64.\n    x + 1\n"
        for i in 1..<300 {
            text += "f\(i) := fun (x: I64) -> I64.\n    y := x * 3 + \(i)\n    (f\(i - 1) (y % 1000)) + y % 7\n"
        }
        text += "main := fun () -> I64.\n    print 1\n    n := c_system \"\(command)\"\n    print (f299 n)\n    0\n"
        return text
    }

    /// The same file under another spelling: relative to the directory the tests run `ribbon`
    /// in (`CLITests.packageRoot`), with a `./` in it.
    static func relativeSpelling(_ absolute: String) -> String {
        let depth = CLITests.packageRoot.path.split(separator: "/").count
        let parts = absolute.split(separator: "/")
        return String(repeating: "../", count: depth) + parts.dropLast().joined(separator: "/") + "/./" + parts.last!
    }

    struct Setup {
        var cache: String
        var path: String
        /// What the program prints, as an uncached run gives it.
        var expected: String
    }

    /// Writes the program into a directory of its own and builds it into a fresh cache under
    /// its absolute path (with `--jit`: machine code for every function too).
    func setUp(command: (_ cache: String, _ path: String) -> String, jit: Bool) throws -> Setup {
        let cache = CacheRunTests.newCache()
        let directory = CacheRunTests.newCache()
        let path = directory + "/p.rib"
        try Self.program(command: command(cache, path)).write(toFile: path, atomically: true, encoding: .utf8)
        let uncached = try ribbon(["run", "--no-cache", path], cache: cache)
        #expect(uncached.status == 0, "\(uncached.stderr)")
        #expect(uncached.stdout.hasPrefix("1\n") && uncached.stdout.count > 2)
        let built = try ribbon(["build"] + (jit ? ["--jit"] : []) + [path], cache: cache)
        #expect(built.status == 0, "\(built.stderr)")
        return Setup(cache: cache, path: path, expected: uncached.stdout)
    }

    func ribbon(_ arguments: [String], cache: String) throws -> CacheRunTests.Outcome {
        try CacheRunTests.Running(arguments, cache: cache).wait()
    }

    static func quiet(_ command: String) -> String { command + " >/dev/null 2>&1" }

    @Test(arguments: ["off", "tier", "eager"])
    func aRowClearedMidRunIsCompiledAgainUnderAnotherSpelling(_ mode: String) throws {
        let binary = try #require(CLITests.binary)
        let setup = try setUp(
            command: { cache, _ in Self.quiet("\(binary.path) cache clear --cache-dir \(cache)") }, jit: mode != "off")
        let run = try ribbon(
            ["run", "--jit", mode, "--jit-threshold", "2", Self.relativeSpelling(setup.path)], cache: setup.cache)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == setup.expected)
        #expect(!run.stderr.contains("error"), "\(run.stderr)")
    }

    @Test func aDamagedChunkIsCompiledAgainUnderAnotherSpellingOnEveryRun() throws {
        let setup = try setUp(command: { _, _ in "true" }, jit: false)
        try Self.damageCodeAfterMain(databasePath: setup.cache + "/" + CacheDirectory.databaseName)
        let spelled = Self.relativeSpelling(setup.path)
        let first = try ribbon(["run", "--jit", "off", spelled], cache: setup.cache)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == setup.expected)
        #expect(first.stderr.contains("was damaged or removed mid-run; recompiled"), "\(first.stderr)")
        // The run replaced the entry with the image it compiled: the next one is clean.
        let second = try ribbon(["run", "--jit", "off", spelled], cache: setup.cache)
        #expect(second.stdout == setup.expected)
        #expect(second.stderr.isEmpty, "\(second.stderr)")
    }

    /// The file changed after the run looked its unit up: compiling it again gives another
    /// image, which must not stand in for the damaged part. The run stops with an internal
    /// error after what it printed, and the next run compiles the new file.
    @Test func aFileChangedMidRunStopsTheRunWithAnInternalError() throws {
        let setup = try setUp(command: { _, path in "echo ';; changed' >> \(path)" }, jit: false)
        try Self.damageCodeAfterMain(databasePath: setup.cache + "/" + CacheDirectory.databaseName)
        let run = try ribbon(["run", "--jit", "off", setup.path], cache: setup.cache)
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stdout == "1\n")
        #expect(run.stderr.contains("ribbon: error: internal: the cached unit of \(setup.path) failed its checks mid-run"))
        #expect(!run.stderr.contains("invalid instruction"), "\(run.stderr)")
        let again = try ribbon(["run", "--jit", "off", setup.path], cache: setup.cache)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == setup.expected)
    }

    /// Flips a byte in the middle of each chunk frame of the one unit stored that holds code
    /// past `main`'s (which comes first in the code section, and is well under 1 KiB), up to
    /// the chunk with the code section's end: the chain's code.
    static func damageCodeAfterMain(databasePath: String) throws {
        let db = try Database(path: databasePath)
        let q = try db.statement("SELECT id, image, image_chunks, image_size FROM units")
        #expect(try q.step())
        let id = q.int64(0)
        var frames = q.blob(1)
        let index = q.blob(2)
        let size = Int(q.int64(3))
        q.reset()
        let entries = try ImageChunks.decodeIndex(index, imageSize: size, framesSize: frames.count)
        let image = try frames.withUnsafeBytes { try ImageChunks.decompressAll($0, entries: entries, imageSize: size) }
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(image[at + $1]) << (8 * $1) } }
        // The code section: the fifth (offset, length) pair of the section table.
        let code = u32(32 + 4 * 8)..<u32(32 + 4 * 8) + u32(32 + 4 * 8 + 4)
        let first = (code.lowerBound + 1024) / ImageChunks.chunkSize + 1
        let last = (code.upperBound - 1) / ImageChunks.chunkSize
        #expect(first <= last)
        for i in first...last { frames[entries[i].offset + entries[i].length / 2] ^= 0xFF }
        let update = try db.statement("UPDATE units SET image = ?1 WHERE id = ?2")
        try update.bind(frames, at: 1)
        try update.bind(id, at: 2)
        try update.run()
    }
}
