// Writing to standard error from modules in Swift 6 mode: C's `stdout` and `stderr` are
// mutable globals that strict concurrency checking will not let Swift read, so this writes to
// file descriptor 2 directly (what the unbuffered `stderr` does anyway) and flushes the
// buffered standard output with `fflush(NULL)`, which needs no stream.

#if canImport(Glibc)
import Glibc
#endif

/// Standard error, written whole with `write(2)`, retrying `EINTR` and short writes.
package enum StandardError {
    /// Writes `text`; with `flushingOutput`, first flushes what the program printed to
    /// standard output (stdio buffers it), so the two streams keep their order on a terminal.
    package static func write(_ text: String, flushingOutput: Bool = false) {
        if flushingOutput { fflush(nil) }
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = retryingInterrupts { Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset) }
                guard n > 0 else { return }  // nowhere to report a failure to write an error
                offset += n
            }
        }
    }
}
