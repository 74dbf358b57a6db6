import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache stats`: the cache's counters and sizes, as fields or one JSON object.
extension CacheCommand {
    struct Stats: CacheSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Show hits, misses, entries, sizes and the time the cache has saved.")

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
            let store = try options.openExisting(directory)
            let build = CacheKeys.ribbonBuild
            let s = try store?.statistics(currentBuild: build) ?? CacheStore.Statistics()
            let database = CacheStore.databasePath(in: directory)
            if options.json {
                let object: JSON = .object([
                    ("directory", .string(directory)),
                    ("database", .string(database)),
                    ("exists", .bool(store != nil)),
                    ("units", .int(s.units)),
                    ("machine_code_blobs", .int(s.machineCodeBlobs)),
                    ("bytes", .int(s.bytesOnDisk)),
                    ("bytes_database", .int(s.databaseFileBytes)),
                    ("bytes_wal", .int(s.walFileBytes)),
                    ("bytes_stored", .int(s.compressedBytes)),
                    ("bytes_uncompressed", .int(s.uncompressedBytes)),
                    ("compression_ratio", .ratio(s.compressionRatio)),
                    ("hits", .int(s.hits)),
                    ("misses", .int(s.misses)),
                    ("hit_rate", .ratio(s.hitRate)),
                    ("saved_us", .int(s.savedMicroseconds)),
                    ("stored_compile_us", .int(s.storedCompileMicroseconds)),
                    ("stored_jit_us", .int(s.storedJITMicroseconds)),
                    ("units_of_other_builds", .int(s.unitsOfOtherBuilds)),
                    ("source_digests", .int(s.sourceDigests)),
                ])
                print(object.text)
                return
            }
            var rows: [(String, String)] = [("cache", database + (store == nil ? " (not created yet)" : ""))]
            let other = s.unitsOfOtherBuilds > 0 ? " (\(s.unitsOfOtherBuilds) of other ribbon builds; `ribbon cache gc` removes them)" : ""
            rows.append(("units", "\(s.units)" + other))
            rows.append(("machine code", plural(s.machineCodeBlobs, "blob")))
            rows.append(("hits", "\(s.hits)"))
            rows.append(("misses", "\(s.misses)"))
            rows.append(("hit rate", s.hitRate.map { percent($0) } ?? "-"))
            rows.append(
                ("on disk",
                 ByteSize.format(s.bytesOnDisk)
                    + " (database \(ByteSize.format(s.databaseFileBytes)), write-ahead log \(ByteSize.format(s.walFileBytes)))"))
            let ratio = s.compressionRatio.map { ", compression ratio " + decimal($0, places: 2) } ?? ""
            rows.append(
                ("entries",
                 "\(ByteSize.format(s.compressedBytes)) stored, \(ByteSize.format(s.uncompressedBytes)) uncompressed" + ratio))
            rows.append(("time saved", TimeText.milliseconds(s.savedMicroseconds) + " of parsing, compiling and JIT, by \(plural(Int(s.hits), "hit"))"))
            rows.append(
                ("time stored",
                 TimeText.milliseconds(s.storedCompileMicroseconds + s.storedJITMicroseconds)
                    + " (compile \(TimeText.milliseconds(s.storedCompileMicroseconds)), JIT \(TimeText.milliseconds(s.storedJITMicroseconds))): what one hit on every entry saves"))
            rows.append(("source digests", "\(s.sourceDigests)"))
            output(fields(rows))
        }
    }
}
