#if canImport(Glibc)
import Glibc
#endif
import RibbonCache
import RibbonDriver

/// Runs `Driver.build` over many files on up to `jobs` threads. Each build has its own cache
/// connection (SQLite's locks and the busy timeout order their writes); results come back in
/// the order of `files`.
enum BuildScheduler {
    static func build(
        _ files: [String], options: BuildOptions, jobs: Int, progress: @escaping (Int, String) -> Void
    ) -> [BuildResult] {
        let state = State(count: files.count)
        let worker = {
            while let index = state.next() {
                progress(state.started, files[index])
                let result = Driver.build(path: files[index], options: options)
                state.finish(index, result)
            }
        }
        let threads = (1..<min(max(jobs, 1), max(files.count, 1))).map { _ in BackgroundTask(worker) }
        worker()
        for thread in threads { thread.wait() }
        return state.results.map { $0! }
    }

    private final class State {
        private var mutex = pthread_mutex_t()
        private var nextIndex = 0
        private(set) var started = 0
        private(set) var results: [BuildResult?]

        init(count: Int) {
            results = Array(repeating: nil, count: count)
            pthread_mutex_init(&mutex, nil)
        }

        deinit { pthread_mutex_destroy(&mutex) }

        func next() -> Int? {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            guard nextIndex < results.count else { return nil }
            nextIndex += 1
            started += 1
            return nextIndex - 1
        }

        func finish(_ index: Int, _ result: BuildResult) {
            pthread_mutex_lock(&mutex)
            results[index] = result
            pthread_mutex_unlock(&mutex)
        }
    }
}
