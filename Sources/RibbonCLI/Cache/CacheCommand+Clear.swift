import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache clear`: every entry removed, or a damaged database file deleted.
extension CacheCommand {
    struct Clear: CacheSubcommand {
        static let configuration = CommandConfiguration(abstract: "Remove every entry, counter and remembered source digest.")

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
            let report: CacheStore.ClearReport?
            var damaged: String? = nil
            do {
                report = try options.openExisting(directory, damagedFileIsAnError: false)?.clear()
            } catch where CacheStore.isDamagedFile(error) {
                // A file SQLite cannot read: start afresh.
                damaged = (error as? CacheError)?.message ?? "\(error)"
                var r = CacheStore.ClearReport()
                r.bytesBefore = CacheStore.removeDatabaseFiles(in: directory)
                report = r
            }
            if let damaged, !options.json {
                output("the cache database was damaged (\(damaged)); removed it\n")
                return
            }
            if options.json {
                let r = report ?? CacheStore.ClearReport()
                print(
                    JSON.object([
                        ("exists", .bool(report != nil)), ("damaged_file_removed", .bool(damaged != nil)),
                        ("units_removed", .int(r.units)),
                        ("machine_code_blobs_removed", .int(r.machineCodeBlobs)),
                        ("source_digests_removed", .int(r.sourceDigests)),
                        ("bytes_before", .int(r.bytesBefore)), ("bytes_after", .int(r.bytesAfter)),
                    ]).text)
            } else if let r = report {
                output(
                    "removed \(plural(r.units, "unit")), \(plural(r.machineCodeBlobs, "machine-code blob")), "
                        + "\(plural(r.sourceDigests, "source digest")) and the counters; "
                        + "on disk: \(ByteSize.format(r.bytesBefore)) before, \(ByteSize.format(r.bytesAfter)) after\n")
            } else {
                output("no cache at \(directory); nothing to remove\n")
            }
        }
    }
}
