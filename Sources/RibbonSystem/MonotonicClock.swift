// The one monotonic clock: `--stats` times, the cache's phases, JIT compile times, fuzz
// campaigns and the language's `clock` builtin all read `CLOCK_MONOTONIC` through here.
// `@inlinable`, so the VM's builtin costs what the `clock_gettime` call it wraps costs.

#if canImport(Glibc)
import Glibc
#endif

package enum MonotonicClock {
    /// Nanoseconds on the monotonic clock (an arbitrary origin, the same for the whole run).
    @inlinable @inline(__always)
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// Microseconds on the monotonic clock.
    @inlinable @inline(__always)
    public static func microseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int(ts.tv_sec) * 1_000_000 + Int(ts.tv_nsec) / 1000
    }
}
