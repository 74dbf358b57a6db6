#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache ...`: look into the compilation cache and manage it (DESIGN.md, "Command line").
public struct CacheCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect and manage the compilation cache.",
        discussion: """
            The cache is one SQLite database in $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, \
            else ~/.cache/ribbon (or --cache-dir). Commands that only read never create it. \
            Exit status: 0; 1 when verify finds bad entries (or show finds none); 64 on a usage \
            error; 74 when the cache cannot be opened or read.
            """,
        subcommands: [
            Stats.self, List.self, Show.self, Verify.self, GC.self, Clear.self, Path.self, Key.self,
        ]
    )

    public init() {}
}

/// The options every `cache` subcommand takes.
struct CacheOptions: ParsableArguments {
    @Option(
        name: .customLong("cache-dir"),
        help: ArgumentHelp(
            "Cache directory (default $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, else ~/.cache/ribbon).",
            valueName: "dir"))
    var cacheDir: String?

    @Flag(help: "Print one JSON value on standard output instead of text.")
    var json = false

    /// The cache directory: `--cache-dir`, else the environment's.
    func directory() throws -> String {
        if let cacheDir { return cacheDir }
        guard let path = CacheDirectory.defaultPath() else {
            throw failure(
                "no cache directory: set RIBBON_CACHE_DIR, or XDG_CACHE_HOME or HOME to an absolute path, or pass --cache-dir",
                status: ExitStatus.ioError)
        }
        return path
    }

    /// The cache in `directory` if it has a database (nil: none, and none is created). An
    /// untrusted or unreadable cache is an error (74); with `damagedFileIsAnError` false, a
    /// file SQLite cannot read is rethrown as it is (`clear` removes it).
    func openExisting(_ directory: String, damagedFileIsAnError: Bool = true) throws -> CacheStore? {
        let store: CacheStore?
        do {
            store = try CacheStore.openExisting(
                directory: directory, busyTimeoutMilliseconds: CacheStore.maintenanceBusyTimeoutMilliseconds)
        } catch where error.kind == .untrusted {
            throw failure(error.description, status: ExitStatus.ioError)
        } catch where !damagedFileIsAnError && CacheStore.isDamagedFile(error) {
            throw error
        } catch {
            throw failure(
                "cannot open the cache database \(CacheStore.databasePath(in: directory)): \(error)",
                status: ExitStatus.ioError)
        }
        for warning in store?.warnings ?? [] { Driver.printError("ribbon: warning: cache: \(warning)") }
        // Warm runs record hits outside the database; folding them first makes `ls` and `show`
        // show true last uses. A busy database only leaves them for later.
        try? store?.foldHitLog()
        return store
    }
}

/// Runs a subcommand's body; any error that is not already an exit status (a SQLite failure
/// mid-way, say) becomes one `ribbon: error:` line and status 74.
func reportingCacheErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch where CacheStore.isDamagedFile(error) {
        let why = (error as? CacheError)?.message ?? "\(error)"
        throw failure("the cache database is damaged (\(why)); `ribbon cache clear` starts it afresh", status: ExitStatus.ioError)
    } catch {
        throw failure("cache: \(error)", status: ExitStatus.ioError)
    }
}

extension CacheCommand {
    // MARK: stats

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show hits, misses, entries, sizes and the time the cache has saved.")

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
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

    // MARK: ls

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the cached units, one line each.")

        @Option(help: ArgumentHelp("last-used (newest first), size (largest first), path, or created (newest first).", valueName: "order"))
        var sort: CacheStore.UnitOrder = .lastUsed

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
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

    // MARK: show

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one unit: key factors, sizes, symbols, functions and machine code.",
            discussion: "ENTRY is a key prefix of at least 4 hex digits (as `ribbon cache ls` prints) or a source path (its most recently used unit).")

        @Argument(help: "A key prefix or a source path.")
        var entry: String

        @Flag(help: "Also print the bytecode and each blob's machine code as assembly.")
        var disasm = false

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
                guard let store = try options.openExisting(directory) else {
                    throw failure("no entry \(entry): there is no cache at \(directory)", status: ExitStatus.compileError)
                }
                let summary: CacheStore.UnitSummary
                switch try CacheInspector.findEntry(entry, in: store) {
                case .found(let found):
                    summary = found
                case .notFound:
                    throw failure("no cache entry matches \(entry) (a key prefix or a source path)", status: 1)
                case .tooShort:
                    throw failure(
                        "a key prefix needs at least \(CacheInspector.minimumKeyPrefix) hex digits: \(entry)",
                        status: ExitStatus.usage)
                case .ambiguous(let candidates):
                    let list = candidates.map { "\($0.keyHex.prefix(16)) \($0.sourcePath)" }.joined(separator: ", ")
                    throw failure("\(entry) is ambiguous: \(list)", status: ExitStatus.usage)
                }
                let d = try CacheInspector.describe(summary, in: store, disassemble: disasm)
                output(options.json ? Self.json(d) + "\n" : Self.text(d))
            }
        }

        static func text(_ d: CacheInspector.EntryDescription) -> String {
            let u = d.summary
            let now = TimeText.now()
            var out = fields([
                ("key", u.keyHex),
                ("source", u.sourcePath),
                ("ribbon build", u.ribbonBuild + (d.isCurrentBuild ? " (this build)" : " (another build: no run of this one reads it)")),
                ("created", "\(TimeText.iso8601(u.createdAt)) (\(TimeText.relative(u.createdAt, now: now)))"),
                ("last used", "\(TimeText.iso8601(u.lastUsedAt)) (\(TimeText.relative(u.lastUsedAt, now: now)))"),
                ("image", "\(ByteSize.format(u.imageBytes)) stored, \(ByteSize.format(u.imageSize)) uncompressed; compiling it took \(TimeText.milliseconds(u.compileMicroseconds))"),
                ("machine code", "\(plural(u.machineCodeBlobs, "blob")), \(ByteSize.format(u.machineCodeBytes)) stored, \(ByteSize.format(u.machineCodeSize)) uncompressed; JIT took \(TimeText.milliseconds(u.jitMicroseconds))"),
            ])
            out += "\nkey factors\n"
            out += d.factors.isEmpty
                ? "  (not recorded: stored by an older ribbon)\n"
                : fields(d.factors.map { ($0.name, $0.value.isEmpty ? "(none)" : $0.value) }, indent: "  ")
            if let problem = d.imageProblem {
                out += "\nimage: \(problem)\n"
            } else {
                out += "\nsymbols (AddressTable)\n"
                out += table(
                    ["ID", "KIND", "NAME"],
                    d.symbols.map { ["\($0.id)", $0.kind, $0.name + ($0.exported || $0.kind != "function" && $0.kind != "global" ? "" : "  (local)")] },
                    right: [0], indent: "  ")
                for symbol in d.missingForeignSymbols {
                    out += "  note: foreign symbol `\(symbol)` is not available on this host\n"
                }
                out += "\nfunctions\n"
                out += table(
                    ["ID", "NAME", "PARAMS", "REGISTERS", "WORDS", "LINE"],
                    d.functions.map { ["\($0.id)", $0.name, "\($0.parameters)", "\($0.registers)", "\($0.words)", "\($0.firstLine)"] },
                    right: [0, 2, 3, 4, 5], indent: "  ")
            }
            out += "\nmachine code\n"
            if d.machineCode.isEmpty {
                out += "  (none: run with --jit eager, or until functions get hot, to store some)\n"
            } else {
                out += table(
                    ["FUNCTION", "STORED", "SIZE", "CODE", "RELOCS", "FEATURES", "JIT TIME", "JIT"],
                    d.machineCode.map { m in
                        [
                            "\(m.functionName ?? "?") (#\(m.functionId))", ByteSize.format(m.compressedBytes),
                            ByteSize.format(m.size), m.codeBytes.map { ByteSize.format(Int64($0)) } ?? "-",
                            m.relocations.map { "\($0)" } ?? "-", m.features.isEmpty ? "baseline" : m.features,
                            TimeText.milliseconds(m.jitMicroseconds), m.jitIdentity,
                        ]
                    }, right: [1, 2, 3, 4, 6], indent: "  ")
                for m in d.machineCode {
                    if let problem = m.problem { out += "  \(m.functionName ?? "#\(m.functionId)"): \(problem)\n" }
                }
            }
            if let listing = d.bytecodeListing {
                out += "\nbytecode\n" + listing
            }
            for m in d.machineCode {
                guard let listing = m.listing else { continue }
                let features = m.features.isEmpty ? "" : ", needs \(m.features.replacingCommas())"
                out += "\n\(m.functionName ?? "#\(m.functionId)"):  ; machine code from the cache, \(m.codeBytes ?? 0) bytes, \(m.relocations ?? 0) relocations\(features)\n"
                out += listing
            }
            return out
        }

        static func json(_ d: CacheInspector.EntryDescription) -> String {
            var fields = d.summary.jsonFields(currentBuild: CacheKeys.ribbonBuild)
            fields.append(("factors", .array(d.factors.map { .object([("name", .string($0.name)), ("value", .string($0.value))]) })))
            fields.append(("image_problem", .optional(d.imageProblem)))
            fields.append(("missing_foreign_symbols", .array(d.missingForeignSymbols.map(JSON.string))))
            fields.append(
                ("symbols",
                 .array(d.symbols.map {
                     .object([("id", .int($0.id)), ("kind", .string($0.kind)), ("name", .string($0.name)), ("exported", .bool($0.exported))])
                 })))
            fields.append(
                ("functions",
                 .array(d.functions.map {
                     .object([
                         ("id", .int(Int64($0.id))), ("name", .string($0.name)), ("parameters", .int($0.parameters)),
                         ("registers", .int($0.registers)), ("words", .int($0.words)), ("line", .int($0.firstLine)),
                     ])
                 })))
            fields.append(
                ("machine_code",
                 .array(d.machineCode.map { m in
                     var f: [(String, JSON)] = [
                         ("function_id", .int(Int64(m.functionId))), ("function", .optional(m.functionName)),
                         ("jit_identity", .string(m.jitIdentity)),
                         ("features", .array(m.features.split(separator: ",").map { .string(String($0)) })),
                         ("bytes", .int(m.compressedBytes)), ("size", .int(m.size)), ("jit_us", .int(m.jitMicroseconds)),
                         ("code_bytes", m.codeBytes.map { .int($0) } ?? .null),
                         ("relocations", m.relocations.map { .int($0) } ?? .null),
                         ("loop_entries", m.loopEntries.map { .int($0) } ?? .null),
                         ("problem", .optional(m.problem)),
                     ]
                     if let listing = m.listing { f.append(("disassembly", .string(listing))) }
                     return .object(f)
                 })))
            if let listing = d.bytecodeListing { fields.append(("bytecode", .string(listing))) }
            return JSON.object(fields).text
        }
    }

    // MARK: verify

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry: decompression, SHA-256, key, image and machine-code decoding.",
            discussion: "Exits 1 naming each bad entry; with --repair, deletes them (a bad unit with its machine code, a bad blob alone) and exits 0 when all are gone.")

        @Flag(help: "Delete the bad entries.")
        var repair = false

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
                guard let store = try options.openExisting(directory) else {
                    output(options.json ? JSON.object([("ok", .bool(true)), ("exists", .bool(false))]).text + "\n"
                        : "no cache at \(directory); nothing to verify\n")
                    return
                }
                let report = try CacheInspector.verify(store, repair: repair)
                output(options.json ? Self.json(report) + "\n" : Self.text(report))
                if !report.databaseProblems.isEmpty {
                    throw failure(
                        "the cache database file is damaged (\(report.databaseProblems.first!)); `ribbon cache clear` starts it afresh",
                        status: 1)
                }
                if !report.bad.isEmpty, !report.repaired {
                    throw failure(
                        "\(plural(report.bad.count, "bad entry", "bad entries")) in the cache; `ribbon cache verify --repair` deletes them",
                        status: 1)
                }
            }
        }

        static func subject(_ f: CacheInspector.Finding) -> String {
            let path = f.sourcePath.isEmpty ? "(no unit)" : f.sourcePath
            switch f.subject {
            case .unit:
                return "\(f.key.prefix(12)) \(path)"
            case .machineCode(let id, let name, _, let features):
                let function = name.map { "\($0) (#\(id))" } ?? "#\(id)"
                return "\(f.key.prefix(12)) \(path), machine code of function \(function)"
                    + (features.isEmpty ? "" : " [\(features)]")
            }
        }

        static func text(_ r: CacheInspector.VerifyReport) -> String {
            var out = "checked \(plural(r.unitsChecked, "unit")) and \(plural(r.machineCodeChecked, "machine-code blob")) in \(TimeText.milliseconds(Int64(r.microseconds)))\n"
            if r.unitsOfOtherBuilds > 0 {
                out += "\(plural(r.unitsOfOtherBuilds, "unit")) of other ribbon builds: hashes checked, decoding not (`ribbon cache gc` removes them)\n"
            }
            for problem in r.databaseProblems { out += "bad: database file: \(problem)\n" }
            for f in r.bad { out += "bad: \(subject(f)): \(f.message)\n" }
            for f in r.notes { out += "note: \(subject(f)): \(f.message)\n" }
            if r.repaired {
                out += "repaired: deleted \(plural(r.bad.count, "bad entry", "bad entries")); the next run compiles them again\n"
            } else if r.bad.isEmpty, r.databaseProblems.isEmpty {
                out += "all entries are sound\n"
            }
            return out
        }

        static func json(_ r: CacheInspector.VerifyReport) -> String {
            func finding(_ f: CacheInspector.Finding) -> JSON {
                var fields: [(String, JSON)] = [("key", .string(f.key)), ("path", .string(f.sourcePath))]
                switch f.subject {
                case .unit:
                    fields.append(("entry", .string("unit")))
                case .machineCode(let id, let name, let jit, let features):
                    fields += [
                        ("entry", .string("machine_code")), ("function_id", .int(Int64(id))), ("function", .optional(name)),
                        ("jit_identity", .string(jit)), ("features", .string(features)),
                    ]
                }
                fields.append(("message", .string(f.message)))
                return .object(fields)
            }
            return JSON.object([
                ("ok", .bool(r.isSound)),
                ("exists", .bool(true)),
                ("units_checked", .int(r.unitsChecked)),
                ("machine_code_checked", .int(r.machineCodeChecked)),
                ("units_of_other_builds", .int(r.unitsOfOtherBuilds)),
                ("bad", .array(r.bad.map(finding))),
                ("notes", .array(r.notes.map(finding))),
                ("database_problems", .array(r.databaseProblems.map(JSON.string))),
                ("repaired", .bool(r.repaired)),
                ("time_us", .int(r.microseconds)),
            ]).text
        }
    }

    // MARK: gc

    struct GC: ParsableCommand {
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

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
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

    // MARK: clear

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every entry, counter and remembered source digest.")

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let directory = try options.directory()
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

    // MARK: path

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

    // MARK: key

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the cache key a file has now; --explain shows its factors and why it misses.")

        @Argument(help: "A .rib file.")
        var file: String

        @Flag(help: "Print every key factor, whether the cache has the key, and if not, how the nearest entry differs.")
        var explain = false

        @OptionGroup var options: CacheOptions

        func run() throws {
            try reportingCacheErrors {
                let store: CacheStore?
                if explain {
                    store = try options.openExisting(try options.directory())
                } else {
                    store = nil
                }
                let e: CacheInspector.KeyExplanation
                do {
                    e = try CacheInspector.explainKey(file: file, store: store)
                } catch let error as SystemError {
                    throw failure("\(error)", status: ExitStatus.ioError)
                }
                if options.json {
                    print(Self.json(e, explained: explain, cacheExists: store != nil))
                } else if explain {
                    output(Self.text(e, cacheExists: store != nil))
                } else {
                    print(e.key.hex)
                }
            }
        }

        /// Why a factor that differs makes a miss, in words.
        static func why(_ name: String) -> String {
            switch name {
            case "source": "the file's contents changed"
            case "compiler": "the unit-image, ISA or machine-code format changed"
            case "ribbon build": "ribbon was rebuilt, and no build reads another's entries (`ribbon cache gc` removes them)"
            case "options": "the compile options differ"
            default: name.hasPrefix("dependency") ? "a unit it uses changed" : "`\(name)` differs"
            }
        }

        static func text(_ e: CacheInspector.KeyExplanation, cacheExists: Bool) -> String {
            var out = fields([("file", e.file), ("key", e.key.hex)])
            out += "factors\n" + fields(e.factors.map { ($0.name, $0.value.isEmpty ? "(none)" : $0.value) }, indent: "  ")
            let now = TimeText.now()
            if let entry = e.entry {
                out += "cached: yes, \(entry.shortKey) \(entry.sourcePath), \(plural(entry.machineCodeBlobs, "machine-code blob")), last used \(TimeText.relative(entry.lastUsedAt, now: now))\n"
                return out
            }
            guard cacheExists else { return out + "cached: no (there is no cache yet)\n" }
            out += "cached: no\n"
            guard let nearest = e.nearest else {
                return out + "nearest entry: none (\(e.cacheIsEmpty ? "the cache is empty" : "no stored entry shares a factor"))\n"
            }
            let match: String
            switch nearest.match {
            case .samePath: match = "same source path"
            case .mostFactors(let shared): match = "shares \(plural(shared, "factor")); no entry for this path"
            }
            let u = nearest.summary
            out += "nearest entry: \(u.shortKey) \(u.sourcePath) (\(match); last used \(TimeText.relative(u.lastUsedAt, now: now)))\n"
            guard nearest.factorsRecorded else { return out + "  its factors were not recorded (stored by an older ribbon)\n" }
            for d in nearest.differences {
                out += "  \(d.name) differs\n"
                out += fields([("cached", d.cached.map { $0.isEmpty ? "(none)" : $0 } ?? "(absent)"), ("now", d.now.map { $0.isEmpty ? "(none)" : $0 } ?? "(absent)")], indent: "    ")
            }
            if !nearest.differences.isEmpty {
                out += "so it misses: " + nearest.differences.map { why($0.name) }.joined(separator: "; ") + "\n"
            }
            return out
        }

        static func json(_ e: CacheInspector.KeyExplanation, explained: Bool, cacheExists: Bool) -> String {
            var fields: [(String, JSON)] = [("file", .string(e.file)), ("key", .string(e.key.hex))]
            guard explained else { return JSON.object(fields).text }
            fields.append(("factors", .array(e.factors.map { .object([("name", .string($0.name)), ("value", .string($0.value))]) })))
            fields.append(("cache_exists", .bool(cacheExists)))
            fields.append(("cached", .bool(e.entry != nil)))
            if let entry = e.entry {
                fields.append(("entry", .object(entry.jsonFields(currentBuild: CacheKeys.ribbonBuild))))
            }
            if let n = e.nearest {
                let match: JSON
                switch n.match {
                case .samePath: match = .string("same-path")
                case .mostFactors: match = .string("most-factors")
                }
                fields.append(
                    ("nearest",
                     .object([
                         ("key", .string(n.summary.keyHex)), ("path", .string(n.summary.sourcePath)), ("match", match),
                         ("factors_recorded", .bool(n.factorsRecorded)),
                         ("differences",
                          .array(n.differences.map {
                              .object([("name", .string($0.name)), ("cached", .optional($0.cached)), ("now", .optional($0.now))])
                          })),
                     ])))
            } else {
                fields.append(("nearest", .null))
            }
            return JSON.object(fields).text
        }
    }
}

func percent(_ value: Double) -> String { decimal(value * 100, places: 1) + "%" }

/// A non-negative number with `places` decimals (no Foundation `String(format:)`).
func decimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int64((value * scale).rounded())
    let whole = scaled / Int64(scale)
    let fraction = String(scaled % Int64(scale))
    return places == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: places - fraction.count) + fraction
}

extension String {
    /// "sse2,sse4.1" as "sse2 sse4.1".
    func replacingCommas() -> String { split(separator: ",").joined(separator: " ") }
}
