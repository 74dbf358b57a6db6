import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache key FILE [--explain]`: the key `run` computes for a file, its factors, and why
/// the nearest stored entry misses (`CacheInspector.explainKey`).
extension CacheCommand {
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
        static func why(_ factor: UnitKeyFactor) -> String {
            switch factor {
            case .source: "the file's contents changed"
            case .dependency: "a unit it uses changed"
            case .compiler: "the unit-image, ISA or machine-code format changed"
            case .ribbonBuild: "ribbon was rebuilt, and no build reads another's entries (`ribbon cache gc` removes them)"
            case .options: "the compile options differ"
            // Another ribbon's name: its own dependency spelling reads as one still.
            case .unknown(let name): name.hasPrefix("dependency") ? "a unit it uses changed" : "`\(name)` differs"
            }
        }

        static func text(_ e: CacheInspector.KeyExplanation, cacheExists: Bool) -> String {
            var out = fields([("file", e.file), ("key", e.key.hex)])
            out += "factors\n" + fields(e.factors.map { ($0.factor.storedName, $0.value.isEmpty ? "(none)" : $0.value) }, indent: "  ")
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
                out += "  \(d.factor.storedName) differs\n"
                out += fields([("cached", d.cached.map { $0.isEmpty ? "(none)" : $0 } ?? "(absent)"), ("now", d.now.map { $0.isEmpty ? "(none)" : $0 } ?? "(absent)")], indent: "    ")
            }
            if !nearest.differences.isEmpty {
                out += "so it misses: " + nearest.differences.map { why($0.factor) }.joined(separator: "; ") + "\n"
            }
            return out
        }

        static func json(_ e: CacheInspector.KeyExplanation, explained: Bool, cacheExists: Bool) -> String {
            var fields: [(String, JSON)] = [("file", .string(e.file)), ("key", .string(e.key.hex))]
            guard explained else { return JSON.object(fields).text }
            fields.append(("factors", .array(e.factors.map { .object([("name", .string($0.factor.storedName)), ("value", .string($0.value))]) })))
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
                              .object([("name", .string($0.factor.storedName)), ("cached", .optional($0.cached)), ("now", .optional($0.now))])
                          })),
                     ])))
            } else {
                fields.append(("nearest", .null))
            }
            return JSON.object(fields).text
        }
    }
}
