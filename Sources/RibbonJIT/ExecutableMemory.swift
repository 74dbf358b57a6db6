#if canImport(Glibc)
import Glibc
#endif

/// Pages holding machine code: written while read-write, then switched to read-execute with
/// `mprotect`. Never writable and executable at once. Unmapped when released.
package final class ExecutableMemory {
    package let base: UnsafeMutableRawPointer
    package let size: Int

    /// Why code could not be placed in memory (never fatal: the caller keeps interpreting).
    package struct Failure: Error, CustomStringConvertible {
        package var call: String
        package var errno: Int32
        package var description: String { "\(call) failed: \(String(cString: strerror(errno)))" }
    }

    /// Maps fresh read-write pages, copies `code` into them and lets `patch` fix them up (apply
    /// relocations) before the pages become read-execute.
    package init(
        copying code: UnsafeRawBufferPointer, patch: (UnsafeMutableRawPointer) throws -> Void
    ) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        size = max(page, (code.count + page - 1) / page * page)
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { throw Failure(call: "mmap", errno: errno) }
        base = mapped
        if let source = code.baseAddress { base.copyMemory(from: source, byteCount: code.count) }
        do {
            try patch(base)
        } catch {
            munmap(base, size)
            throw error
        }
        guard mprotect(base, size, PROT_READ | PROT_EXEC) == 0 else {
            let e = errno
            munmap(base, size)
            throw Failure(call: "mprotect", errno: e)
        }
    }

    deinit {
        munmap(base, size)
    }
}
