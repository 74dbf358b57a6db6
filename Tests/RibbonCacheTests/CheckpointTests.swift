import CSQLite
import CacheCodecs
import Foundation
import SQLiteSupport
import Testing

@testable import RibbonCache

/// Counts the calls of a connection's busy handler: a statement that waits for another
/// connection's lock calls it (SQLite's busy timeout is such a handler, which sleeps), one that
/// gives up at once does not. Returning 0 makes the statement give up, so nothing here sleeps.
final class BusyCounter {
    var calls = 0

    func install(on handle: OpaquePointer?) {
        sqlite3_busy_handler(handle, { context, _ in
            Unmanaged<BusyCounter>.fromOpaque(context!).takeUnretainedValue().calls += 1
            return 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// A checkpoint never holds writers hostage to a reader (issue 12, item 9). A TRUNCATE
/// checkpoint takes the write lock, then waits for every reader to finish: with the busy
/// timeout (5 s) it did so after every store while one process held a read transaction, and
/// every other writer waited behind it (two cold runs took 5.0 s and 9.6 s).
@Suite struct CheckpointTests {
    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : -1
    }

    @Test func aStoreBesideAReaderCheckpointsWithoutWaiting() throws {
        let directory = CacheStoreTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CacheStore(directory: directory)
        let key = CacheStoreTests.key
        // Another connection (another process, as far as SQLite's locks go) in a read transaction.
        let reader = try Database(path: store.databasePath)
        try reader.execute("BEGIN")
        let count = try reader.statement("SELECT count(*) FROM units")
        #expect(try count.step())
        count.reset()

        let busy = BusyCounter()
        busy.install(on: store.db.handle)
        let image = [UInt8](repeating: 7, count: 100_000)
        try store.store(
            key: key, sourcePath: "a.rib", image: image, compileMicroseconds: 1, ribbonBuild: "b1",
            jitIdentity: "j", machineCode: [])
        // Stored, and the checkpoint gave up on the reader instead of waiting for it.
        #expect(busy.calls == 0, "the checkpoint waited for the reader")
        #expect(Self.fileSize(store.databasePath + "-wal") > 0)
        #expect(try store.load(key: key, jitIdentity: "j", hostFeatures: []) == .hit(image: image, machineCode: [], badMachineCode: 0))

        // Once the reader is gone, the next checkpoint empties the log.
        try reader.execute("COMMIT")
        store.checkpoint()
        #expect(Self.fileSize(store.databasePath + "-wal") == 0)
    }
}

/// The default cache directory follows the XDG Base Directory rules (issue 12, item 9): a
/// relative `XDG_CACHE_HOME` is invalid and ignored, and so is a relative `HOME`.
@Suite struct DefaultCacheDirectoryTests {
    static func path(_ environment: [String: String]) -> String? {
        CacheDirectory.defaultPath(environment: { environment[$0] })
    }

    @Test func relativeXDGCacheHomeAndHomeAreIgnored() {
        #expect(Self.path(["XDG_CACHE_HOME": "/x/cache", "HOME": "/h"]) == "/x/cache/ribbon")
        #expect(Self.path(["XDG_CACHE_HOME": "cache", "HOME": "/h"]) == "/h/.cache/ribbon")
        #expect(Self.path(["XDG_CACHE_HOME": "./cache", "HOME": "/h"]) == "/h/.cache/ribbon")
        #expect(Self.path(["XDG_CACHE_HOME": "", "HOME": "/h"]) == "/h/.cache/ribbon")
        #expect(Self.path(["XDG_CACHE_HOME": "cache", "HOME": "home"]) == nil)
        #expect(Self.path(["HOME": "~"]) == nil)
        #expect(Self.path(["RIBBON_CACHE_DIR": "here", "XDG_CACHE_HOME": "cache"]) == "here")
    }
}
