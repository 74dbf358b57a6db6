import Foundation
import Testing

@testable import SQLiteSupport

/// A database is opened by exactly the path given, as a plain file name (issue 12, item 7).
/// Debian's SQLite is built with `SQLITE_USE_URI=1`: without care, a name starting with `file:`
/// is a URI, so `file:/x/victim.db` opened `/x/victim.db` (created mode 0644), not the relative
/// path `./file:/x/victim.db` that the caller had checked.
@Suite struct FileNameTests {
    @Test(arguments: ["", "?mode=rwc", "?vfs=unix-none&x=/cache.sqlite"])
    func aNameStartingWithFileIsARelativePathNotAURI(_ query: String) throws {
        try withTemporaryDirectory { dir in
            let victim = dir + "/victim.db"
            // Relative to the test's working directory, which has no `file:` directory: the
            // plain path cannot be opened, and nothing else may be.
            #expect(!FileManager.default.fileExists(atPath: "file:"))
            #expect(throws: SQLiteError.self) { try Database(path: "file:" + victim + query) }
            #expect(!FileManager.default.fileExists(atPath: victim), "SQLite opened the name as a URI")
        }
    }
}
