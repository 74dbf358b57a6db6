import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// `ribbon cache verify`: `CacheInspector.verify`'s findings, rendered, and the exit status they
/// make.
extension CacheCommand {
    struct Verify: CacheSubcommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry: decompression, SHA-256, key, image and machine-code decoding.",
            discussion: "Exits 1 naming each bad entry; with --repair, deletes them (a bad unit with its machine code, a bad blob alone) and exits 0 when all are gone.")

        @Flag(help: "Delete the bad entries.")
        var repair = false

        @OptionGroup var options: CacheOptions

        func run(in directory: String) throws {
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
}
