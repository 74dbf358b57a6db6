#if canImport(Glibc)
import Glibc
#endif

/// One 64-bit word per function row, all zero at first, in memory that the kernel maps (zero
/// filled) only where it is written. A lazily loaded unit of 5,000 functions sets a few dozen
/// (the rows read, the headers placed); arrays of 5,000 were filled, page by page, before
/// `main` started.
final class ZeroFilledWords {
    private let words: UnsafeMutablePointer<UInt64>
    private let bytes: Int
    private let mapped: Bool
    let count: Int

    /// Below this many words, zeroing them costs less than a mapping (two system calls).
    static let mappingThreshold = 1024

    init(count: Int) {
        self.count = count
        bytes = max(8, count * 8)
        let memory = count < Self.mappingThreshold
            ? nil : mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        if let memory, memory != MAP_FAILED {
            words = memory.bindMemory(to: UInt64.self, capacity: max(1, count))
            mapped = true
        } else {
            // Small (or no mapping to be had): zeroed memory from the allocator.
            words = .allocate(capacity: max(1, count))
            words.initialize(repeating: 0, count: max(1, count))
            mapped = false
        }
    }

    deinit {
        if mapped { munmap(words, bytes) } else { words.deallocate() }
    }

    subscript(index: Int) -> UInt64 {
        get {
            precondition(index >= 0 && index < count)
            return words[index]
        }
        set {
            precondition(index >= 0 && index < count)
            words[index] = newValue
        }
    }
}
