#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// Memory set-up for compiling a large file in this process.
///
/// Compiling a 55,000-line file allocates tens of MB in large arrays (token buffers, syntax and
/// checked trees, code), and a fresh process pays a page fault per 4 KiB page touched: about a
/// fifth of the compile time. For a large source this makes glibc serve big arrays from the
/// heap rather than fresh mappings (so memory freed by one phase is reused by the next), grows
/// the heap once to about what the compile will need, and asks for transparent huge pages on it
/// (one fault per 2 MiB). The same as running with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`
/// and larger mmap/top-pad thresholds; measured on the 5,000-function program: 61 ms -> 47 ms.
/// Small sources skip it: clearing 2 MiB pages would cost more than they save.
enum CompilerMemory {
    /// Sources smaller than this compile with the allocator as it is.
    static let largeSourceBytes = 256 << 10
    private nonisolated(unsafe) static var prepared = false
    /// `build --jobs` compiles on several threads: the first to get here prepares.
    private nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()

    static func prepare(forSourceBytes count: Int) {
        guard count >= largeSourceBytes else { return }
        // About 32 bytes of compiler data per source byte, at most 512 MiB.
        prepare(reserving: min(count * 32, 512 << 20))
    }

    /// The same for loading a large unit image from the cache: the compressed blob, the image
    /// and the loaded copy are each the image's size, all fresh memory (one fault per 4 KiB
    /// page otherwise: ~1,500 faults for a 2.7 MB image).
    static func prepare(forLoadingImageBytes count: Int) {
        guard count >= largeSourceBytes else { return }
        prepare(reserving: min(count * 4, 512 << 20))
    }

    private static func prepare(reserving reserve: Int) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard !prepared else { return }
        prepared = true
        // `mallopt` is not in Swift's Glibc module; its option numbers are fixed by glibc's
        // ABI (malloc.h: M_TRIM_THRESHOLD -1, M_TOP_PAD -2, M_MMAP_THRESHOLD -3).
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-3, 1 << 30)
            _ = mallopt(-1, 1 << 30)
            _ = mallopt(-2, 64 << 20)
        }
        // The heap grows by the 64 MiB top pad beyond the reserve.
        guard let block = malloc(reserve) else { return }
        let start = UInt(bitPattern: block)
        free(block)  // stays in the heap (trim threshold), reused by the compile
        HugePages.advise(from: start, to: UInt(bitPattern: sbrk(0)))
    }
}
