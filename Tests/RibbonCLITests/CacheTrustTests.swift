import CacheCodecs
import Foundation
import RibbonJIT
import SQLiteSupport
import Testing

/// No one else's code runs (issue 6): a cache whose directory or files have been replaced by
/// symbolic links, or given to someone else, is not used; and machine code is mapped only from
/// bytes whose SHA-256 matched, and only after every offset and relocation in it was checked.
@Suite struct CacheTrustTests {
    static let fib = "../shared/examples/fib.rib"

    /// Size, modification time and contents of a file (to show it was neither read into the
    /// cache nor written through a link).
    static func fingerprint(_ path: String) -> String {
        var st = stat()
        guard lstat(path, &st) == 0 else { return "missing" }
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()
        return "\(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(SHA256.hash(Array(bytes)).hex)"
    }

    /// A cache that fib.rib ran in twice (so every file exists: database, WAL, index, hit log).
    static func usedCache(_ directory: String) throws -> String {
        let cache = directory + "/cache"
        for _ in 0..<2 {
            let r = try Faults.ribbon(["run", Self.fib], cache: cache)
            try #require(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        }
        for name in ["cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm", "hits.log"] {
            try #require(FileManager.default.fileExists(atPath: cache + "/" + name), "\(name)")
        }
        return cache
    }

    /// A run in an untrusted cache: right output, one warning naming `reason`, no cache used;
    /// `cache stats` refuses it (exit 74) with the same reason, and `build` exits 74.
    static func expectRefused(_ cache: String, reason: String, context: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let r = try Faults.ribbon(["run", "--stats", Self.fib], cache: cache)
        #expect(r.status == 0 && r.stdout == "832040\n", "\(context): \(r.stderr)", sourceLocation: sourceLocation)
        let warnings = Faults.warnings(r.stderr)
        #expect(warnings.count == 1 && r.stderr.split(separator: "\n").count == 2, "\(context): \(r.stderr)",
            sourceLocation: sourceLocation)
        #expect(warnings.first?.contains(reason) == true, "\(context): \(r.stderr)", sourceLocation: sourceLocation)
        #expect((try r.stats())["unit"] as? String == "off", "\(context)", sourceLocation: sourceLocation)
        // A build that cannot store what it was asked to build exits 74, its one line the warning.
        let build = try Faults.ribbon(["build", "--jit", Self.fib], cache: cache)
        #expect(build.status == 74 && Faults.warnings(build.stderr).count == 1, "\(context): \(build.stderr)",
            sourceLocation: sourceLocation)
        let stats = try Faults.ribbon(["cache", "stats"], cache: cache)
        #expect(stats.status == 74 && stats.stderr.contains(reason), "\(context): \(stats.stderr)",
            sourceLocation: sourceLocation)
    }

    @Test(arguments: ["", "cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm", "cache.sqlite-journal", "hits.log"])
    func aSymbolicLinkInPlaceOfTheCacheOrAnyOfItsFilesIsRefused(_ name: String) throws {
        let directory = Faults.temporaryDirectory("trust-link")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = try Self.usedCache(directory)
        let elsewhere = directory + "/elsewhere"
        mkdir(elsewhere, 0o700)
        // The link points at what was there (a real cache, a real file): only the link is wrong.
        let original = cache + (name.isEmpty ? "" : "/" + name)
        let target = elsewhere + "/" + (name.isEmpty ? "cache" : name)
        if name == "cache.sqlite-journal" {
            try Data().write(to: URL(fileURLWithPath: target))
            chmod(target, 0o600)
        } else {
            try #require(rename(original, target) == 0)
        }
        try #require(symlink(target, original) == 0)
        let before = Self.fingerprint(name.isEmpty ? target + "/cache.sqlite" : target)
        try Self.expectRefused(cache, reason: "is a symbolic link; not using it", context: name.isEmpty ? "directory" : name)
        #expect(Self.fingerprint(name.isEmpty ? target + "/cache.sqlite" : target) == before, "written through the link")
    }

    @Test func cacheFilesOthersCouldWriteAreRefused() throws {
        for (name, change) in [("cache.sqlite-wal", "group-writable"), ("hits.log", "world-writable"), ("cache.sqlite-shm", "another user")] {
            if change == "another user", getuid() != 0 { continue }  // only root can give a file away
            let directory = Faults.temporaryDirectory("trust-mode")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let cache = try Self.usedCache(directory)
            let path = cache + "/" + name
            switch change {
            case "group-writable": chmod(path, 0o620)
            case "world-writable": chmod(path, 0o602)
            default: chown(path, 12345, 12345)
            }
            let reason = change == "another user" ? "belongs to another user" : "is writable by group or others"
            try Self.expectRefused(cache, reason: reason, context: "\(name) \(change)")
        }
    }

    // MARK: Machine code is mapped only from verified bytes

    /// Rewrites the stored machine code of `fib` (function 0 of fib.rib) with `change` applied to
    /// its decoded form, stored consistently: a new LZ4 frame, size and SHA-256, so that only
    /// the loader's own checks stand between the row and the processor.
    static func tamper(cache: String, _ change: (inout MachineCode) -> Void) throws {
        let db = try Faults.database(cache)
        let read = try db.statement("SELECT id, blob, blob_size FROM machine_code WHERE function_id = 0")
        try #require(try read.step())
        let id = read.int64(0)
        let bytes = try LZ4Frame.decompress(read.blob(1), expectedSize: Int(read.int64(2)))
        read.reset()
        var code = try MachineCode(serialized: bytes)
        change(&code)
        let blob = code.serialized()
        let write = try db.statement("UPDATE machine_code SET blob = ?1, blob_size = ?2, blob_sha256 = ?3 WHERE id = ?4")
        try write.bind(try LZ4Frame.compress(blob), at: 1)
        try write.bind(Int64(blob.count), at: 2)
        try write.bind(SHA256.hash(blob).bytes, at: 3)
        try write.bind(id, at: 4)
        try write.run()
        #expect(db.changes == 1)
    }

    /// One way of making a stored blob wrong, and the words of the warning it must give.
    struct Tampering: CustomTestStringConvertible, Sendable {
        var name: String
        var warning: String
        var change: @Sendable (String) throws -> Void
        var testDescription: String { name }
    }

    static let tamperings: [Tampering] = [
        // Valid code under a hash that is not its own: not decoded, let alone mapped.
        Tampering(name: "hash of other bytes", warning: "failed its checks") { cache in
            let db = try Faults.database(cache)
            try db.execute("UPDATE machine_code SET blob_sha256 = zeroblob(32) WHERE function_id = 0")
        },
        Tampering(name: "relocation past the code", warning: "failed its checks") { cache in
            try tamper(cache: cache) { $0.relocations[0].offset = $0.bytes.count - 4 }
        },
        Tampering(name: "entry past the code", warning: "failed its checks") { cache in
            try tamper(cache: cache) { $0.entryOffset = $0.bytes.count + 64 }
        },
        Tampering(name: "relocation to a function the unit lacks", warning: "did not relocate") { cache in
            try tamper(cache: cache) { $0.relocations[0].target = .functionHeader(9999) }
        },
        Tampering(name: "relocation past the function's bytecode", warning: "did not relocate") { cache in
            try tamper(cache: cache) { $0.relocations[0].target = .bytecodeWord(function: 0, word: 1 << 30) }
        },
        Tampering(name: "relocation to an unknown runtime helper", warning: "did not relocate") { cache in
            try tamper(cache: cache) { $0.relocations[0].target = .runtimeHelper("system") }
        },
        Tampering(name: "loop entry for a loop the function lacks", warning: "did not relocate") { cache in
            try tamper(cache: cache) { $0.loopEntries[1 << 20] = 0 }
        },
    ]

    @Test(arguments: tamperings)
    func machineCodeIsMappedOnlyFromVerifiedBytes(_ tampering: Tampering) throws {
        let directory = Faults.temporaryDirectory("trust-blob")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let built = try Faults.ribbon(["build", "--jit", Self.fib], cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        try tampering.change(cache)

        let r = try Faults.ribbon(["run", "--jit", "eager", "--stats", Self.fib], cache: cache)
        #expect(r.status == 0 && r.stdout == "832040\n", "\(r.stderr)")
        let warnings = Faults.warnings(r.stderr)
        #expect(warnings.count == 1 && warnings.first?.contains(tampering.warning) == true, "\(r.stderr)")
        let stats = try r.stats()
        #expect(stats["unit"] as? String == "hit")
        #expect(stats["jit_loaded"] as? Int == 1)  // main; fib was compiled again
        #expect(stats["jit_compiled"] as? Int == 1)
        // The compiled fib replaced the bad row.
        try Faults.expectSound(cache, tampering.name)
        try Faults.expectWarm(try Faults.program(Self.fib), cache: cache)
    }

    /// A unit image is stored in 4 KiB chunks (`ImageChunks`), each with its SHA-256 in an index
    /// that carries its own hash. The chunk index of a large program rewritten so that every
    /// chunk's hash is another's and the index's own hash matches: the bytes are valid, but the
    /// first chunk read fails its check and none is used; the run recompiles, warns once, and
    /// replaces the entry.
    @Test func imageChunksAreUsedOnlyIfTheirHashesMatch() throws {
        let directory = Faults.temporaryDirectory("trust-chunks")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let program = try Faults.largeProgram(functions: 600, seed: 31, in: directory)
        let built = try Faults.ribbon(["build", program.path], cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        do {
            let db = try Faults.database(cache)
            let read = try db.statement("SELECT image_chunks FROM units")
            try #require(try read.step())
            var index = read.blob(0)
            read.reset()
            let count = Int(index[12]) | Int(index[13]) << 8 | Int(index[14]) << 16 | Int(index[15]) << 24
            // Then the warm set: a count and that many chunk numbers (none: nothing ran).
            let warmAt = 16 + count * 40
            let warm = Int(index[warmAt]) | Int(index[warmAt + 1]) << 8
            try #require(count > 1 && index.count == warmAt + 4 + warm * 4 + 32)
            // Chunk i gets chunk i+1's hash (the last the first's).
            let hashes = (0..<count).map { Array(index[16 + $0 * 40 + 8..<16 + $0 * 40 + 40]) }
            for i in 0..<count { index.replaceSubrange(16 + i * 40 + 8..<16 + i * 40 + 40, with: hashes[(i + 1) % count]) }
            index.replaceSubrange(index.count - 32..<index.count, with: SHA256.hash(Array(index.dropLast(32))).bytes)
            let write = try db.statement("UPDATE units SET image_chunks = ?1")
            try write.bind(index, at: 1)
            try write.run()
        }
        let r = try Faults.ribbon(["run", "--stats", program.path], cache: cache)
        #expect(r.stdout == program.stdout && r.status == program.status)
        let warnings = Faults.warnings(r.stderr)
        #expect(warnings.count == 1 && warnings.first?.contains("failed its hash check") == true, "\(r.stderr)")
        try Faults.expectSound(cache, "after the run replaced the entry")
        try Faults.expectWarm(program, cache: cache)
    }

    /// A row stored before images were chunked is loaded whole; a large image is decoded while
    /// its SHA-256 is computed on a second thread. Valid bytes under a hash not theirs are still
    /// never used.
    @Test func aWholeImageIsUsedOnlyIfItsHashMatches() throws {
        let directory = Faults.temporaryDirectory("trust-image")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let program = try Faults.largeProgram(functions: 600, seed: 32, in: directory)
        let built = try Faults.ribbon(["build", program.path], cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        do {
            // Rewrite the row as an unchunked one: the whole image in one LZ4 frame.
            let db = try Faults.database(cache)
            let read = try db.statement("SELECT image, image_chunks, image_size FROM units")
            try #require(try read.step())
            let frames = read.blob(0)
            let index = read.blob(1)
            let size = Int(read.int64(2))
            read.reset()
            #expect(size >= 256 << 10, "the image is hashed on a second thread only from 256 KiB")
            let count = Int(index[12]) | Int(index[13]) << 8 | Int(index[14]) << 16 | Int(index[15]) << 24
            var image: [UInt8] = []
            for i in 0..<count {
                func u32(_ at: Int) -> Int {
                    Int(index[at]) | Int(index[at + 1]) << 8 | Int(index[at + 2]) << 16 | Int(index[at + 3]) << 24
                }
                let offset = u32(16 + i * 40)
                let length = u32(16 + i * 40 + 4)
                image += try LZ4Frame.decompress(
                    Array(frames[offset..<offset + length]), expectedSize: min(4096, size - i * 4096))
            }
            try #require(image.count == size)
            let write = try db.statement("UPDATE units SET image = ?1, image_chunks = NULL, image_sha256 = ?2")
            try write.bind(try LZ4Frame.compress(image), at: 1)
            try write.bind(SHA256.hash(image + [0]).bytes, at: 2)
            try write.run()
        }
        let r = try Faults.ribbon(["run", "--stats", program.path], cache: cache)
        #expect(r.stdout == program.stdout && r.status == program.status)
        let warnings = Faults.warnings(r.stderr)
        #expect(warnings.count == 1 && warnings.first?.contains("unit image failed its hash check") == true, "\(r.stderr)")
        #expect((try r.stats())["unit"] as? String == "miss")
        #expect((try r.stats())["units_compiled"] as? Int == 1)
        let again = try Faults.ribbon(["run", "--stats", program.path], cache: cache)
        #expect(again.stdout == program.stdout && Faults.warnings(again.stderr).isEmpty, "\(again.stderr)")
        #expect((try again.stats())["unit"] as? String == "hit")
    }

    /// `--cache-dir 'file:…'` is a relative path like any other, checked and opened as that
    /// (issue 12, item 7). Debian's SQLite accepts URI file names: the cache
    /// `./file:/x/cache.sqlite` was checked while `/x/cache.sqlite` (or, with a query, any file
    /// the URI named) was opened and created, outside the trust checks.
    @Test(arguments: ["", "/victim.db?x="])
    func aCacheDirectoryStartingWithFileIsAPlainPath(_ tail: String) throws {
        let directory = Faults.temporaryDirectory("uri")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let victim = directory + "/victim"
        let work = directory + "/work"
        mkdir(victim, 0o755)
        mkdir(work, 0o700)
        let hello = try Faults.program("examples/hello.rib")
        let absolute = CLITests.packageRoot.path + "/examples/hello.rib"
        let cache = "file:" + victim + tail
        for _ in 0..<2 {
            let r = try Faults.wrapped(
                ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", work], ["run", absolute], cache: cache
            ).wait()
            #expect(r.stdout == hello.stdout && r.stderr.isEmpty, "\(r.stderr)")
        }
        let created = try FileManager.default.contentsOfDirectory(atPath: victim)
        #expect(created.isEmpty, "opened a file the trust checks never saw: \(created)")
        #expect(FileManager.default.fileExists(atPath: work + "/" + cache + "/cache.sqlite"))
        try Faults.expectWarm(Faults.Program(path: absolute, stdout: hello.stdout, status: 0), cache: work + "/" + cache)
    }
}
