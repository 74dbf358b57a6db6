// A failed system call with its `errno`, and the `EINTR` retry every call site shares (the
// model: swift-system's `Errno` and its `retryOnInterrupt`). Separate from the helpers that
// use it so that any module can throw it without taking the file system along.

#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, on what, and `errno`.
package struct SystemError: Error, Sendable, CustomStringConvertible {
    package var call: String
    package var path: String
    package var errno: Int32

    package var description: String {
        "cannot \(call) \(path): \(String(cString: strerror(errno)))"
    }

    /// `errno` defaults to the calling thread's, read at once after the failed call.
    package init(call: String, path: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }
}

/// Calls `body` again while it fails (returns -1) with `EINTR`, as swift-system's system calls
/// do: a signal that arrives during a blocking call is not a failure of the call.
@inlinable
public func retryingInterrupts<Result: FixedWidthInteger>(_ body: () -> Result) -> Result {
    while true {
        let result = body()
        if result != -1 || errno != EINTR { return result }
    }
}
