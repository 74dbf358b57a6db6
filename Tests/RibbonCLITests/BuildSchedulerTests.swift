import Foundation
import RibbonDriver
import Testing

@testable import RibbonCLI

/// `ribbon build --jobs N` in-process: the threads share one queue of files and one progress
/// count (ThreadSanitizer found the count read outside its mutex).
@Suite struct BuildSchedulerTests {
    /// Progress reports, collected under a lock of the test's own.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int] = []
        private var paths: [String] = []

        func add(_ count: Int, _ path: String) {
            lock.lock()
            counts.append(count)
            paths.append(path)
            lock.unlock()
        }

        var all: (counts: [Int], paths: [String]) {
            lock.lock()
            defer { lock.unlock() }
            return (counts, paths)
        }
    }

    @Test func eachStartIsReportedOnceInOrderAndResultsKeepTheFilesOrder() throws {
        let cache = Faults.temporaryDirectory("scheduler")
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let examples = ["../shared/examples/fib.rib", "../shared/examples/sieve.rib", "examples/hello.rib", "examples/arrays.rib"]
        let files = (0..<6).flatMap { _ in examples.map { CLITests.packageRoot.path + "/" + $0 } }
        var options = BuildOptions()
        options.cacheDirectory = cache
        let reports = Reports()
        let results = BuildScheduler.build(files, options: options, jobs: 4) { reports.add($0, $1) }
        #expect(results.map(\.path) == files)
        #expect(results.allSatisfy { $0.succeeded }, "\(results.flatMap(\.messages))")
        let (counts, paths) = reports.all
        #expect(counts == Array(1...files.count))
        #expect(paths == files)
    }
}
