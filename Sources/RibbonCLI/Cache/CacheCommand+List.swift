import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache ls`: one line per cached unit, in the order `--sort` names.
extension CacheCommand {
    struct List: CacheSubcommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the cached units, one line each.")

        @Option(help: ArgumentHelp("last-used (newest first), size (largest first), path, or created (newest first).", valueName: "order"))
        var sort: CacheStore.UnitOrder = .lastUsed

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
            let units = try options.openExisting(directory)?.units(orderedBy: sort) ?? []
            let build = CacheKeys.ribbonBuild
            if options.json {
                print(JSON.array(units.map { .object($0.jsonFields(currentBuild: build)) }).text)
                return
            }
            guard !units.isEmpty else {
                output("the cache is empty (\(CacheStore.databasePath(in: directory)))\n")
                return
            }
            let now = TimeText.now()
            let rows = units.map { u in
                [
                    u.shortKey, ByteSize.format(u.storedBytes), "\(u.machineCodeBlobs)",
                    TimeText.relative(u.lastUsedAt, now: now),
                    u.sourcePath + (u.ribbonBuild == build ? "" : "  (other build)"),
                ]
            }
            output(table(["KEY", "SIZE", "BLOBS", "LAST USED", "PATH"], rows, right: [1, 2]))
            let blobs = units.reduce(0) { $0 + $1.machineCodeBlobs }
            let bytes = units.reduce(Int64(0)) { $0 + $1.storedBytes }
            output("\(plural(units.count, "unit")), \(plural(blobs, "machine-code blob")), \(ByteSize.format(bytes))\n")
        }
    }
}
