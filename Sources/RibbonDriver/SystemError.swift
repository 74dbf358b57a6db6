#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and `errno`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var path: String
    public var errno: Int32

    public var description: String {
        "cannot \(call) \(path): \(String(cString: strerror(errno)))"
    }
}

/// Reading whole files with `open`/`read`, retrying `EINTR` (no Foundation at start-up).
public enum FileSystem {
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw SystemError(call: "read", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(call: "read", path: path, errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SystemError(call: "read", path: path, errno: EISDIR) }
        // Read straight into the array, sized by `fstat` and grown if the file is longer (it
        // grew, or `/proc`): a program of many files reads thousands of small ones, and a
        // 64 KiB staging buffer each cost more than the reads.
        var bytes = [UInt8](repeating: 0, count: max(Int(st.st_size), 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: max(bytes.count, 1 << 16)) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }
}

extension FileSystem {
    /// Writes `contents` to `path` through a temporary file renamed over it, so a reader never
    /// sees half a file (depfiles are read by Make and Ninja while other builds run).
    public static func writeFile(_ path: String, contents: String) throws(SystemError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError(call: "write", path: path, errno: errno) }
        var bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(temporary)
                throw SystemError(call: "write", path: path, errno: e)
            }
            offset += n
        }
        bytes = []
        guard close(fd) == 0, rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw SystemError(call: "write", path: path, errno: e)
        }
    }
}

/// Microseconds on the monotonic clock.
@inline(__always)
func monotonicMicroseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int(ts.tv_sec) * 1_000_000 + Int(ts.tv_nsec) / 1000
}
