// Transparent huge-page advice for large, still untouched memory (the compiler's heap reserve,
// the parser's tables): filling fresh memory otherwise costs one page fault per 4 KiB. One
// helper, so the rounding to whole huge pages is written once.

#if canImport(Glibc)
import Glibc
#endif

package enum HugePages {
    /// The size of a transparent huge page on x86-64.
    @inlinable public static var size: Int { 2 << 20 }

    /// Asks the kernel to back the whole huge pages inside `start..<end` with transparent huge
    /// pages (`start` rounded up, `end` down). Only a hint; harmless if ignored. Returns whether
    /// any whole huge page was inside.
    @discardableResult
    package static func advise(from start: UInt, to end: UInt) -> Bool {
        #if os(Linux)
        let page = UInt(size)
        let alignedStart = (start + page - 1) & ~(page - 1)
        let alignedEnd = end & ~(page - 1)
        guard alignedEnd > alignedStart, let pointer = UnsafeMutableRawPointer(bitPattern: alignedStart) else {
            return false
        }
        _ = madvise(pointer, Int(alignedEnd - alignedStart), MADV_HUGEPAGE)
        return true
        #else
        return false
        #endif
    }
}
