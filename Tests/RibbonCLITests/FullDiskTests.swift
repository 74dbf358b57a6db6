import Foundation
import SQLiteSupport
import Testing

/// A cache that cannot grow (issue 6): a full file system (a small tmpfs, filled up) and a file
/// size limit (`ulimit -f`, so `write` fails with EFBIG). Either way a run prints its output and
/// exits with its status as without a cache, says so in at most one warning line, and every
/// entry stored before is still there, byte for byte, verifies and loads.
@Suite struct FullDiskTests {
    /// Whether this process may mount a tmpfs (root, or CAP_SYS_ADMIN): CI runs as root.
    static let canMountTmpfs: Bool = {
        let point = Faults.temporaryDirectory("mount-probe")
        defer { rmdir(point) }
        guard mount("tmpfs", point, "tmpfs", 0, "size=64k,mode=0700") == 0 else { return false }
        umount2(point, Int32(MNT_DETACH))
        return true
    }()

    /// Fills the file system holding `path` with one file until `write` fails with ENOSPC,
    /// then gives `slack` bytes back. Returns the file's size.
    @discardableResult
    static func fill(_ path: String, leaving slack: Int) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0xA5, count: 4096)
        var size = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            size += n
        }
        try #require(errno == ENOSPC, "filling \(path) stopped with errno \(errno)")
        size = max(0, size - slack)
        ftruncate(fd, off_t(size))
        return size
    }

    /// One run of `program` on a cache that cannot take its entry, checked: right output and
    /// status, one warning if (and only if) the entry was not stored. Returns the warning, nil
    /// when the entry was stored.
    static func expectUncachedRun(
        _ r: Faults.Outcome, _ program: Faults.Program, cache: String, context: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String? {
        #expect(r.stdout == program.stdout, "\(context)", sourceLocation: sourceLocation)
        #expect(r.status == program.status, "\(context): \(r.stderr)", sourceLocation: sourceLocation)
        let stored = try Faults.storedPaths(cache).contains(program.path)
        let warnings = Faults.warnings(r.stderr)
        #expect(warnings.count == (stored ? 0 : 1), "\(context): \(r.stderr)", sourceLocation: sourceLocation)
        // The stats line is the only other line: nothing else was printed.
        #expect(r.stderr.split(separator: "\n").count == warnings.count + 1, "\(context): \(r.stderr)",
            sourceLocation: sourceLocation)
        return stored ? nil : warnings.first.map { Self.gist(String($0)) } ?? "(no warning)"
    }

    /// A warning without the paths in it, to count kinds of failure.
    static func gist(_ warning: String) -> String {
        warning.split(separator: " ").filter { !$0.hasPrefix("/") }.joined(separator: " ")
    }

    @Test(.enabled(if: canMountTmpfs, "mounting a tmpfs needs root"))
    func aFullFileSystemIsOneWarningAndLosesNothing() throws {
        let sources = Faults.temporaryDirectory("full-disk-src")
        let point = Faults.temporaryDirectory("full-disk")
        try #require(mount("tmpfs", point, "tmpfs", 0, "size=4m,mode=0700") == 0, "mount: errno \(errno)")
        defer {
            umount2(point, Int32(MNT_DETACH))
            rmdir(point)
            try? FileManager.default.removeItem(atPath: sources)
        }
        let cache = point + "/cache"
        let examples = try Faults.examples()
        let built = try Faults.ribbon(["build", "--jit"] + examples.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Faults.rows(cache)
        let program = try Faults.largeProgram(functions: 300, seed: 21, in: sources)

        // Free space from none to more than the entry needs: the store fails (in its writes to
        // the WAL, or at COMMIT), until it fits.
        var failures: [String] = []
        var stored = false
        for slack in [0, 4 << 10, 16 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20] where !stored {
            try Self.fill(point + "/filler", leaving: slack)
            let r = try Faults.ribbon(["run", "--jit", "eager", "--stats", program.path], cache: cache)
            let failure = try Self.expectUncachedRun(r, program, cache: cache, context: "\(slack) bytes free")
            if let failure { failures.append("\(slack >> 10) KiB free: \(failure)") } else { stored = true }
            // What was stored before still loads, warm, with the file system still full.
            try Faults.expectWarm(examples[0], cache: cache)
            try Faults.expectSound(cache, "\(slack) bytes free")
            #expect(try Faults.rows(cache).filter { before[$0.key] != nil } == before, "\(slack) bytes free")
        }
        print("full disk (tmpfs): \(failures.count) runs could not store, then one could: \(stored)")
        for failure in failures { print("  " + failure) }
        #expect(failures.count >= 2)
        #expect(stored)

        unlink(point + "/filler")
        try Faults.expectSound(cache, "after freeing space")
        for example in examples { try Faults.expectWarm(example, cache: cache) }
        try Faults.expectWarm(program, cache: cache)
    }

    /// SQLite keeps the statement journals of a store's `INSERT OR REPLACE`s in memory
    /// (`temp_store=MEMORY`): a full temporary directory (`$SQLITE_TMPDIR`, else `/var/tmp`)
    /// on another file system does not stop a store into a cache that has room. Before, such a
    /// store into a database with free pages (after eviction or `cache gc`) failed.
    @Test(.enabled(if: canMountTmpfs, "mounting a tmpfs needs root"))
    func aFullTemporaryDirectoryDoesNotStopAStore() throws {
        let directory = Faults.temporaryDirectory("full-tmp")
        let point = Faults.temporaryDirectory("full-tmp-mount")
        try #require(mount("tmpfs", point, "tmpfs", 0, "size=64k,mode=0700") == 0, "mount: errno \(errno)")
        defer {
            umount2(point, Int32(MNT_DETACH))
            rmdir(point)
            try? FileManager.default.removeItem(atPath: directory)
        }
        try Self.fill(point + "/filler", leaving: 0)
        let cache = directory + "/cache"
        let programs = try (41...42).map { try Faults.largeProgram(functions: 300, seed: $0, in: directory) }
        let built = try Faults.ribbon(["build", "--jit"] + programs.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        try Faults.forget(programs[0].path, cache: cache)  // free pages, which the next store reuses
        let r = try Faults.ribbon(
            ["run", "--jit", "eager", programs[0].path], cache: cache, environment: ["SQLITE_TMPDIR": point])
        #expect(r.stdout == programs[0].stdout && r.status == programs[0].status)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        try Faults.expectWarm(programs[0], cache: cache)
    }

    /// Any write can fail, not only the ones a full tmpfs reaches: strace makes one write call
    /// of a cold run's fail as it starts — a `pwrite64` with ENOSPC (and every one after it: the
    /// disk is full from then on), a sync, truncation, unlink or rename with EIO — at points
    /// spread over the whole sequence (every one with `RIBBON_FAULT_KILL_POINTS=all`).
    @Test(.enabled(if: Faults.strace != nil, "needs strace"))
    func aWriteFailingAnywhereIsOneWarningAndLosesNothing() throws {
        let directory = Faults.temporaryDirectory("write-errors")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let examples = try Faults.examples()
        let built = try Faults.ribbon(["build", "--jit"] + examples.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Faults.rows(cache)
        let program = try Faults.largeProgram(functions: 300, seed: 23, in: directory)
        let arguments = ["run", "--jit", "eager", "--stats", program.path]
        let first = try Faults.ribbon(arguments, cache: cache)
        try #require(first.status == program.status && first.stdout == program.stdout, "\(first.stderr)")
        try Faults.forget(program.path, cache: cache)
        let calls = try Faults.traceWrites(arguments, cache: cache)
        try Faults.forget(program.path, cache: cache)

        let setting = ProcessInfo.processInfo.environment["RIBBON_FAULT_KILL_POINTS"]
        let count = setting == "all" ? calls.count : max((setting.flatMap(Int.init) ?? 40) / 3, 12)
        var outcomes: [String: Int] = [:]
        for call in Faults.spread(calls, count) {
            if try Faults.storedPaths(cache).contains(program.path) { try Faults.forget(program.path, cache: cache) }
            let full = call.name == "pwrite64"
            let r = try Faults.wrapped(
                try Faults.inject(call, full ? "error=ENOSPC" : "error=EIO", onward: full), arguments, cache: cache
            ).wait()
            let context = "\(call) failing"
            let failure = try Self.expectUncachedRun(r, program, cache: cache, context: context)
            outcomes[failure.map { "\(call.name): \($0)" } ?? "\(call.name): stored, no warning", default: 0] += 1
            try Faults.expectSound(cache, context)
            #expect(try Faults.rows(cache).filter { before[$0.key] != nil } == before, "\(context)")
        }
        print("write errors: \(calls.count) write calls in a cold run, \(min(count, calls.count)) made to fail:")
        for (outcome, n) in outcomes.sorted(by: { $0.key < $1.key }) { print("  \(n) × \(outcome)") }
        for example in examples { try Faults.expectWarm(example, cache: cache) }
    }

    /// The binary started by bash with `ulimit -f KIB` and SIGXFSZ ignored (as a shell would
    /// have it), so that writes past the limit fail with EFBIG instead of killing the process.
    static func ribbonLimited(_ arguments: [String], cache: String, fileSizeKiB: Int) throws -> Faults.Outcome {
        try Faults.wrapped(
            ["/bin/bash", "-c", "trap '' XFSZ; ulimit -f \(fileSizeKiB) && exec \"$@\"", "ribbon"], arguments, cache: cache
        ).wait()
    }

    /// ThreadSanitizer's runtime itself dies of SIGBUS in a process with a file size limit
    /// (in its shadow-memory access, before `main`): tools/sanitize sets TSAN_OPTIONS.
    @Test(.disabled(if: ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil, "ThreadSanitizer faults under ulimit -f"))
    func aFileSizeLimitIsOneWarningAndLosesNothing() throws {
        let directory = Faults.temporaryDirectory("file-limit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        let examples = try Faults.examples()
        let built = try Faults.ribbon(["build", "--jit"] + examples.map(\.path), cache: cache)
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Faults.rows(cache)
        let program = try Faults.largeProgram(functions: 300, seed: 22, in: directory)

        // The WAL, and the database file when a checkpoint grows it, may not pass the limit.
        var failures: [String] = []
        var stored = false
        for limit in [1, 16, 64, 128, 256, 512, 1024, 4096] where !stored {
            let r = try Self.ribbonLimited(
                ["run", "--jit", "eager", "--stats", program.path], cache: cache, fileSizeKiB: limit)
            let failure = try Self.expectUncachedRun(r, program, cache: cache, context: "ulimit -f \(limit)")
            if let failure { failures.append("ulimit -f \(limit): \(failure)") } else { stored = true }
            // A warm run writes nothing, but a first connection rebuilds the 32 KiB `-shm` index,
            // which a smaller limit refuses: then even reading is one warning and an uncached run.
            let warm = try Self.ribbonLimited(["run", examples[0].path], cache: cache, fileSizeKiB: limit)
            #expect(warm.stdout == examples[0].stdout && warm.status == 0, "\(warm.stderr)")
            let warnings = Faults.warnings(warm.stderr)
            #expect(warm.stderr.split(separator: "\n").count == warnings.count, "\(warm.stderr)")
            #expect(warnings.count == (limit < 32 ? 1 : 0), "ulimit -f \(limit): \(warm.stderr)")
            #expect(warnings.allSatisfy { $0.hasSuffix("running without the cache") }, "\(warm.stderr)")
            try Faults.expectSound(cache, "ulimit -f \(limit)")
            #expect(try Faults.rows(cache).filter { before[$0.key] != nil } == before, "ulimit -f \(limit)")
        }
        print("file size limit: \(failures.count) runs could not store, then one could: \(stored)")
        for failure in failures { print("  " + failure) }
        #expect(failures.count >= 2)
        #expect(stored)
        for example in examples { try Faults.expectWarm(example, cache: cache) }
        try Faults.expectWarm(program, cache: cache)
    }
}
