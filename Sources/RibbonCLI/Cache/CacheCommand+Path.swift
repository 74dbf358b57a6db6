import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache path`: where the database is, without creating it.
extension CacheCommand {
    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where the cache database is (it is not created).")

        @OptionGroup var options: CacheOptions

        func run() throws {
            let directory = try options.directory()
            let database = CacheStore.databasePath(in: directory)
            let exists = FileSystem.exists(database)
            if options.json {
                print(
                    JSON.object([
                        ("database", .string(database)), ("directory", .string(directory)), ("exists", .bool(exists)),
                    ]).text)
            } else {
                output(fields([("database", database), ("directory", directory), ("exists", exists ? "yes" : "no")]))
            }
        }
    }
}
