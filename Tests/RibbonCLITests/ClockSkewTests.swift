import Foundation
import Testing

/// A remembered source digest is trusted by the file system's clock, not the process's
/// (issue 12, item 6). On a file system with 1-second timestamps (ext4 with 128-byte inodes,
/// on a loop device), with the process's clock 3 s ahead (`RIBBON_TEST_CLOCK_OFFSET_SECONDS`,
/// a test hook), a source rewritten in place in the same second with the same size: every
/// run after must print the new program. Before, the margin compared the process's clock with
/// the file's times, trusted the digest at once, and every run printed the old one.
@Suite struct ClockSkewTests {
    static func shell(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command + " >/dev/null 2>&1"]
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Whether this process may make and loop-mount an ext4 image (root with loop devices, as
    /// on CI).
    static let canMountLoop: Bool = {
        let dir = Faults.temporaryDirectory("loop-probe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard shell("truncate -s 8M \(dir)/fs.img && mkfs.ext4 -q -I 128 -O ^has_journal \(dir)/fs.img") == 0 else { return false }
        mkdir(dir + "/m", 0o700)
        guard shell("mount -o loop \(dir)/fs.img \(dir)/m") == 0 else { return false }
        umount2(dir + "/m", Int32(MNT_DETACH))
        return true
    }()

    static func program(printing n: Int) -> String {
        "main := fun () -> I64.\n    print \"version \(n)\"\n    0\n"
    }

    static func status(_ path: String) -> stat {
        var st = stat()
        _ = stat(path, &st)
        return st
    }

    @Test(.enabled(if: canMountLoop, "needs root and a loop device"))
    func aRewriteInTheSameSecondIsSeenWhateverTheProcessClockSays() throws {
        let dir = Faults.temporaryDirectory("clock-skew")
        let point = dir + "/m"
        mkdir(point, 0o700)
        try #require(Self.shell("truncate -s 16M \(dir)/fs.img && mkfs.ext4 -q -I 128 -O ^has_journal \(dir)/fs.img") == 0)
        try #require(Self.shell("mount -o loop \(dir)/fs.img \(point)") == 0)
        defer {
            umount2(point, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: dir)
        }
        let cache = point + "/cache"
        let skew = ["RIBBON_TEST_CLOCK_OFFSET_SECONDS": "3"]
        var checked = 0
        for attempt in 0..<6 where checked == 0 {
            let source = point + "/p\(attempt).rib"
            // Start just after a second begins, so that the write, a run and the rewrite fit
            // in one second; if they did not (the times differ), try again.
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            usleep(useconds_t((1_000_000_000 - Int(now.tv_nsec)) / 1000 + 5_000))
            try Self.program(printing: 1).write(toFile: source, atomically: false, encoding: .utf8)
            let before = Self.status(source)
            let first = try Faults.ribbon(["run", source], cache: cache, environment: skew)
            #expect(first.stdout == "version 1\n", "\(first.stderr)")
            // In place: same inode, same size.
            let fd = open(source, O_WRONLY)
            let bytes = Array(Self.program(printing: 2).utf8)
            #expect(pwrite(fd, bytes, bytes.count, 0) == bytes.count)
            close(fd)
            let after = Self.status(source)
            try #require(after.st_ino == before.st_ino && after.st_size == before.st_size)
            guard after.st_ctim.tv_sec == before.st_ctim.tv_sec, after.st_mtim.tv_sec == before.st_mtim.tv_sec else { continue }
            #expect(after.st_ctim.tv_nsec == 0, "the file system has whole-second times")
            for run in 0..<3 {
                let r = try Faults.ribbon(["run", source], cache: cache, environment: skew)
                #expect(r.stdout == "version 2\n", "run \(run) after the rewrite: \(r.stderr)")
            }
            checked += 1
        }
        #expect(checked == 1, "never managed a write, a run and a rewrite within one second")
    }
}
