#if canImport(Glibc)
import Glibc
#endif
import RibbonCache
import RibbonDriver
import RibbonSystem

/// Runs `Driver.build` over many files on up to `jobs` threads. Each build has its own cache
/// connection (SQLite's locks and the busy timeout order their writes); results come back in
/// the order of `files`.
enum BuildScheduler {
    static func build(
        _ files: [String], options: BuildOptions, jobs: Int, progress: @escaping (Int, String) -> Void
    ) -> [BuildResult] {
        let state = State(count: files.count)
        let worker = {
            while let index = state.next(reporting: { progress($0, files[$1]) }) {
                let result = Driver.build(path: files[index], options: options)
                state.finish(index, result)
            }
        }
        let threads = (1..<min(max(jobs, 1), max(files.count, 1))).map { _ in BackgroundTask(worker) }
        worker()
        for thread in threads { thread.wait() }
        return state.results.map { $0! }
    }

    /// What the threads share, behind one mutex.
    private final class State {
        /// On the heap: a pthread mutex must stay where it was initialized, and `&property`
        /// is an inout access Swift may make through a temporary (ThreadSanitizer also counts
        /// each one as a modifying access of the property).
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private var nextIndex = 0
        /// Read only after every thread has been joined.
        private(set) var results: [BuildResult?]

        init(count: Int) {
            results = Array(repeating: nil, count: count)
            pthread_mutex_init(mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        /// Takes the next file, and calls `report` with how many have started (this one
        /// included) and its index, under the mutex: each count is reported once, in order
        /// (the count used to be read after the unlock, so two threads could report the same).
        func next(reporting report: (Int, Int) -> Void) -> Int? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            guard nextIndex < results.count else { return nil }
            nextIndex += 1
            report(nextIndex, nextIndex - 1)
            return nextIndex - 1
        }

        func finish(_ index: Int, _ result: BuildResult) {
            pthread_mutex_lock(mutex)
            results[index] = result
            pthread_mutex_unlock(mutex)
        }
    }
}
