// What `--stats` reports, in its own file (it used to hide in RunOptions.swift): the counts and
// times the driver and the program loader add to, and the one JSON line they make.

import RibbonSystem

/// What `--stats` reports (../shared/DESIGN.md, "Command line"): one JSON object on one line.
package struct RunStatistics: Sendable {
    /// "hit", "miss" or "off" for the file run.
    package var unit = "off"
    package var unitsCompiled = 0
    package var unitsLoaded = 0
    package var functionsCompiled = 0
    package var jitCompiled = 0
    package var jitLoaded = 0
    /// `time_us.parse`: parsing and type checking (the name predates the checker's own phase;
    /// the field keeps it).
    package var parseMicroseconds = 0
    package var compileMicroseconds = 0
    package var jitMicroseconds = 0
    package var cacheLoadMicroseconds = 0
    package var cacheStoreMicroseconds = 0
    package var runMicroseconds = 0
    /// What `cache_load` was spent on, in order (open, source, lookup, read, decompress, decode,
    /// hash, machine_code, install): `cache_phases_us`, only when the cache was used.
    package var cachePhases: [(name: String, microseconds: Int)] = []

    /// The `--stats` line (without its newline). Field order is part of the format: tests and
    /// tools/bench read it.
    package var json: String {
        var fields: [(String, JSON)] = [
            ("unit", .string(unit)),
            ("units_compiled", .int(unitsCompiled)),
            ("units_loaded", .int(unitsLoaded)),
            ("functions_compiled", .int(functionsCompiled)),
            ("jit_compiled", .int(jitCompiled)),
            ("jit_loaded", .int(jitLoaded)),
            (
                "time_us",
                .object([
                    ("parse", .int(parseMicroseconds)),
                    ("compile", .int(compileMicroseconds)),
                    ("jit", .int(jitMicroseconds)),
                    ("cache_load", .int(cacheLoadMicroseconds)),
                    ("cache_store", .int(cacheStoreMicroseconds)),
                    ("run", .int(runMicroseconds)),
                ])
            ),
        ]
        if !cachePhases.isEmpty {
            fields.append(("cache_phases_us", .object(cachePhases.map { ($0.name, .int($0.microseconds)) })))
        }
        return JSON.object(fields).text
    }
}
