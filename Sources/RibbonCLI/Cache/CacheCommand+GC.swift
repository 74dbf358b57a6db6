import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache gc`: what `CacheStore.collectGarbage` removed, and why.
extension CacheCommand {
    struct GC: CacheSubcommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove entries of other ribbon builds, unused ones, and the least recently used beyond a size.",
            discussion: """
                Entries written by another ribbon build are always removed: no run of this build \
                can read them. Then, with --older-than, those not used for that long; then the \
                least recently used until the database fits --max-size (default \
                $RIBBON_CACHE_MAX_SIZE, else 1G). The file is compacted when anything went.
                """)

        @Option(name: .customLong("max-size"), help: ArgumentHelp("Keep the database within this size (512M, 1G, …).", valueName: "size"))
        var maxSize: ByteSizeArgument?

        @Option(name: .customLong("older-than"), help: ArgumentHelp("Remove entries not used for this long (30s, 10m, 12h, 7d, 2w).", valueName: "age"))
        var olderThan: AgeArgument?

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
            guard let store = try options.openExisting(directory) else {
                output(options.json ? Self.json(nil) + "\n" : "no cache at \(directory); nothing to remove\n")
                return
            }
            var limit = maxSize?.bytes ?? CacheStore.defaultMaxBytes
            if maxSize == nil, let raw = Environment.value("RIBBON_CACHE_MAX_SIZE"), let parsed = ByteSize.parse(raw) {
                limit = parsed
            }
            let report = try store.collectGarbage(
                currentBuild: CacheKeys.ribbonBuild, unusedSince: olderThan.map { TimeText.now() - $0.seconds },
                maxBytes: limit)
            output(options.json ? Self.json(report) + "\n" : Self.text(report))
        }

        static func reason(_ reason: CacheStore.RemovalReason, _ unit: CacheStore.UnitSummary, now: Int64) -> String {
            switch reason {
            case .otherBuild: "another ribbon build"
            case .unused: "unused, last used \(TimeText.relative(unit.lastUsedAt, now: now))"
            case .size: "least recently used, over the size limit"
            }
        }

        static func text(_ r: CacheStore.GarbageReport) -> String {
            guard !r.removed.isEmpty else { return "nothing to remove; \(ByteSize.format(r.bytesAfter)) on disk\n" }
            let now = TimeText.now()
            let blobs = r.removed.reduce(0) { $0 + $1.unit.machineCodeBlobs }
            var out = "removed \(plural(r.removed.count, "unit")) and \(plural(blobs, "machine-code blob"))\n"
            out += table(
                ["KEY", "SIZE", "WHY", "PATH"],
                r.removed.map { [$0.unit.shortKey, ByteSize.format($0.unit.storedBytes), reason($0.reason, $0.unit, now: now), $0.unit.sourcePath] },
                right: [1], indent: "  ")
            out += "on disk: \(ByteSize.format(r.bytesBefore)) before, \(ByteSize.format(r.bytesAfter)) after\n"
            return out
        }

        static func json(_ r: CacheStore.GarbageReport?) -> String {
            let removed = r?.removed ?? []
            return JSON.object([
                ("exists", .bool(r != nil)),
                ("units_removed", .int(removed.count)),
                ("machine_code_blobs_removed", .int(removed.reduce(0) { $0 + $1.unit.machineCodeBlobs })),
                ("removed",
                 .array(removed.map {
                     .object([
                         ("key", .string($0.unit.keyHex)), ("path", .string($0.unit.sourcePath)),
                         ("bytes", .int($0.unit.storedBytes)), ("machine_code_blobs", .int($0.unit.machineCodeBlobs)),
                         ("reason", .string($0.reason.rawValue)),
                     ])
                 })),
                ("bytes_before", .int(r?.bytesBefore ?? 0)),
                ("bytes_after", .int(r?.bytesAfter ?? 0)),
            ]).text
        }
    }
}
