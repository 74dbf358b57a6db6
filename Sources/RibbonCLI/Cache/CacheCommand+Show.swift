import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache show ENTRY`: one unit as `CacheInspector.describe` reads it (key factors,
/// symbols, functions, machine code, listings), rendered as text or JSON.
extension CacheCommand {
    struct Show: CacheSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one unit: key factors, sizes, symbols, functions and machine code.",
            discussion: "ENTRY is a key prefix of at least 4 hex digits (as `ribbon cache ls` prints) or a source path (its most recently used unit).")

        @Argument(help: "A key prefix or a source path.")
        var entry: String

        @Flag(help: "Also print the bytecode and each blob's machine code as assembly.")
        var disasm = false

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
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
                : fields(d.factors.map { ($0.factor.storedName, $0.value.isEmpty ? "(none)" : $0.value) }, indent: "  ")
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
            fields.append(("factors", .array(d.factors.map { .object([("name", .string($0.factor.storedName)), ("value", .string($0.value))]) })))
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
}

extension String {
    /// "sse2,sse4.1" as "sse2 sse4.1".
    fileprivate func replacingCommas() -> String { split(separator: ",").joined(separator: " ") }
}
