// Whole files read and written with `open`/`read`/`write` (no Foundation at start-up), and
// the questions asked of paths (`stat`, existence, size, `realpath`): one copy of each for
// every module, each retrying `EINTR`.

#if canImport(Glibc)
import Glibc
#endif

/// Reading whole files with `open`/`read`, retrying `EINTR` (no Foundation at start-up).
package enum FileSystem {
    /// Reads at most `limit` bytes: a longer file (or an endless one, `/dev/zero`) is `EFBIG`.
    package static func readFile(_ path: String, limit: Int = Int.max) throws(SystemError) -> [UInt8] {
        let fd = retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
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
            let n = retryingInterrupts { bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) } }
            if n < 0 { throw SystemError(call: "read", path: path, errno: errno) }
            if n == 0 { break }
            count += n
            if count > limit { throw SystemError(call: "read", path: path, errno: EFBIG) }
        }
        bytes.removeSubrange(count...)
        return bytes
    }
}

extension FileSystem {
    /// Writes `contents` to `path` through a temporary file renamed over it, so a reader never
    /// sees half a file (depfiles are read by Make and Ninja while other builds run).
    package static func writeFile(_ path: String, contents: String) throws(SystemError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = retryingInterrupts { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw SystemError(call: "write", path: path, errno: errno) }
        var bytes = Array(contents.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = retryingInterrupts { bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) } }
            if n < 0 {
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

extension FileSystem {
    /// `stat` of `path` (following symbolic links); the error names the call "stat".
    package static func status(_ path: String) throws(SystemError) -> stat {
        var st = stat()
        guard retryingInterrupts({ stat(path, &st) }) == 0 else { throw SystemError(call: "stat", path: path, errno: errno) }
        return st
    }

    /// `lstat` of `path` (the link itself, not what it points to), or nil when it fails.
    package static func linkStatus(_ path: String) -> stat? {
        var st = stat()
        return retryingInterrupts({ lstat(path, &st) }) == 0 ? st : nil
    }

    /// Whether anything (a dangling symbolic link included) is at `path`.
    package static func exists(_ path: String) -> Bool {
        linkStatus(path) != nil
    }

    /// Whether `status` describes a directory.
    package static func isDirectory(_ status: stat) -> Bool {
        (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of the file at `path`, 0 when it does not exist.
    package static func size(_ path: String) -> Int64 {
        (try? status(path)).map { Int64($0.st_size) } ?? 0
    }

    /// `realpath`: the path with every symbolic link resolved; nil when it does not exist.
    package static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The process environment, read when asked (nothing is cached at start-up).
package enum Environment {
    /// The value of the environment variable `name`, or nil when it is not set.
    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
