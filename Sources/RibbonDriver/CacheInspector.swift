#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonCore
import RibbonJIT
import RibbonSystem
import RibbonVM

/// The half of `ribbon cache` that decodes what the cache holds: `verify` (images and blobs
/// decoded and checked as a run would), `show` (symbols, functions, listings) and
/// `key --explain` (why a file misses). Rows, sizes and deletes are `CacheStore`'s.
public enum CacheInspector {
    // MARK: Decoding

    /// Resolves names as a run would, except that a foreign symbol this host lacks, and an
    /// import, get a placeholder address instead of failing the load: the unit is inspected,
    /// never run, and a C library missing here is not damage to the cache.
    final class InspectionResolver {
        private(set) var missingForeignSymbols: [String] = []

        var resolver: SymbolResolver {
            SymbolResolver(
                builtin: Builtins.address(named:),
                foreign: { [self] symbol in
                    if let address = SymbolResolver.dlsymLookup(symbol) { return address }
                    missingForeignSymbols.append(symbol)
                    return 1
                },
                imported: { _, _ in ImportedSymbol(address: 1, unit: nil, id: 0) })
        }
    }

    /// An image decoded, verified and relocated (as `LoadedUnit` does for a run), with the C
    /// symbols this host lacks.
    struct DecodedUnit {
        var unit: LoadedUnit
        var missingForeignSymbols: [String]
    }

    static func decode(_ image: [UInt8]) -> Result<DecodedUnit, ImageError> {
        let names = InspectionResolver()
        do {
            let unit = try LoadedUnit(image: UnitImage(bytes: image), resolver: names.resolver)
            return .success(DecodedUnit(unit: unit, missingForeignSymbols: names.missingForeignSymbols))
        } catch {
            return .failure(error)
        }
    }

    // MARK: verify

    /// One thing `verify` found, about a unit or one of its machine-code rows.
    public struct Finding: Sendable, Equatable {
        public enum Subject: Sendable, Equatable {
            case unit
            case machineCode(functionId: UInt32, functionName: String?, jitIdentity: String, features: String)
        }
        /// The unit's key (the blob's unit key for machine code), as hex.
        public var key: String
        /// The unit's source path; empty for machine code whose unit is not stored.
        public var sourcePath: String
        public var subject: Subject
        public var message: String
    }

    public struct VerifyReport: Sendable, Equatable {
        public var unitsChecked = 0
        public var machineCodeChecked = 0
        /// Units written by another build: their hashes are checked, not their decoding (this
        /// build's decoder is not theirs; `cache gc` removes them).
        public var unitsOfOtherBuilds = 0
        /// Rows that fail a check: never loadable.
        public var bad: [Finding] = []
        /// Worth knowing, not damage: a C symbol this host lacks.
        public var notes: [Finding] = []
        /// `PRAGMA quick_check` messages: damage to the file itself, which `--repair`
        /// cannot mend (`cache clear` can).
        public var databaseProblems: [String] = []
        /// Whether the bad rows were deleted (`--repair`).
        public var repaired = false
        public var microseconds = 0

        /// Nothing bad is left: true for a sound cache, and for one whose bad rows were repaired.
        public var isSound: Bool { databaseProblems.isEmpty && (bad.isEmpty || repaired) }
    }

    /// Checks every row as a run would before using it, and more: decompression to the stored
    /// size, the SHA-256, the unit key against its stored factors, image decoding and
    /// verification, blob decoding, relocation bounds and targets, that each blob's function
    /// exists in its unit and that its recorded features are the code's own. With `repair`,
    /// deletes what is bad: a bad unit with its machine code, a bad blob alone.
    public static func verify(
        _ store: CacheStore, repair: Bool, currentBuild: String = CacheKeys.ribbonBuild
    ) throws -> VerifyReport {
        let t0 = MonotonicClock.microseconds()
        var report = VerifyReport()
        do {
            try verifyRows(store, repair: repair, currentBuild: currentBuild, into: &report)
        } catch {
            // A file SQLite cannot read is one finding, not a failure to verify.
            guard CacheStore.isDamagedFile(error) else { throw error }
            report.databaseProblems.append((error as? CacheError)?.message ?? "\(error)")
            report.repaired = false
        }
        report.microseconds = MonotonicClock.microseconds() - t0
        return report
    }

    static func verifyRows(
        _ store: CacheStore, repair: Bool, currentBuild: String, into report: inout VerifyReport
    ) throws {
        report.databaseProblems = try store.integrityProblems()
        var badUnits: [[UInt8]] = []
        var badCode: [CacheStore.StoredMachineCode] = []
        for summary in try store.units(orderedBy: .path) {
            guard let payload = try store.image(key: summary.key) else { continue }  // deleted meanwhile
            report.unitsChecked += 1
            let ownBuild = summary.ribbonBuild == currentBuild
            if !ownBuild { report.unitsOfOtherBuilds += 1 }
            var unitProblems: [String] = []
            if let mismatch = keyMismatch(summary) { unitProblems.append(mismatch) }
            var decoded: DecodedUnit? = nil
            switch payload {
            case .damaged(let why):
                unitProblems.append("unit image: \(why)")
            case .intact(let image) where ownBuild:
                switch decode(image) {
                case .success(let unit):
                    decoded = unit
                    for symbol in unit.missingForeignSymbols {
                        report.notes.append(
                            Finding(
                                key: summary.keyHex, sourcePath: summary.sourcePath, subject: .unit,
                                message: "foreign symbol `\(symbol)` is not available on this host (not damage: a run here fails to load it)"))
                    }
                case .failure(let error):
                    unitProblems.append("unit image does not decode: \(error)")
                }
            case .intact:
                break
            }
            for message in unitProblems {
                report.bad.append(Finding(key: summary.keyHex, sourcePath: summary.sourcePath, subject: .unit, message: message))
            }
            if !unitProblems.isEmpty { badUnits.append(summary.key) }
            for row in try store.machineCode(unitKey: summary.key) {
                report.machineCodeChecked += 1
                let (problems, notes) = check(row, unit: ownBuild ? decoded : nil, decodeBlob: ownBuild)
                let subject = Finding.Subject.machineCode(
                    functionId: row.functionId, functionName: decoded?.unit.function(id: row.functionId)?.name,
                    jitIdentity: row.jitIdentity, features: row.featuresText)
                for message in problems {
                    report.bad.append(Finding(key: summary.keyHex, sourcePath: summary.sourcePath, subject: subject, message: message))
                }
                for message in notes {
                    report.notes.append(Finding(key: summary.keyHex, sourcePath: summary.sourcePath, subject: subject, message: message))
                }
                if !problems.isEmpty, unitProblems.isEmpty { badCode.append(row) }
            }
        }
        for row in try store.orphanedMachineCode() {
            report.machineCodeChecked += 1
            report.bad.append(
                Finding(
                    key: Hex.encode(row.unitKey), sourcePath: "",
                    subject: .machineCode(
                        functionId: row.functionId, functionName: nil, jitIdentity: row.jitIdentity,
                        features: row.featuresText),
                    message: "machine code for a unit that is not stored"))
            badCode.append(row)
        }
        if repair, !report.bad.isEmpty {
            try store.deleteUnits(badUnits)
            try store.deleteMachineCode(badCode)
            report.repaired = true
        }
    }

    /// Whether the unit's key is the hash of the factors stored with it (nil when it is, or
    /// when the row has no factors or they do not read back exactly).
    static func keyMismatch(_ summary: CacheStore.UnitSummary) -> String? {
        guard !summary.factors.isEmpty else { return nil }
        let pairs = UnitKeyFactors.parseStored(summary.factors)
        guard pairs.map({ "\($0.name)\t\($0.value)" }).joined(separator: "\n") == summary.factors else { return nil }
        let recomputed = UnitKeyFactors.key(of: pairs)
        guard recomputed.bytes != summary.key else { return nil }
        return "the key is not the hash of the factors stored with it (they hash to \(recomputed.hex.prefix(12)))"
    }

    /// The checks of one machine-code row: (problems, notes). Without `decodeBlob` only the
    /// payload is checked; without `unit`, nothing that needs the unit.
    static func check(
        _ row: CacheStore.StoredMachineCode, unit decoded: DecodedUnit?, decodeBlob: Bool
    ) -> (problems: [String], notes: [String]) {
        guard let blob = row.payload.bytes else {
            if case .damaged(let why) = row.payload { return (["machine-code blob: \(why)"], []) }
            return ([], [])
        }
        guard decodeBlob else { return ([], []) }
        let code: MachineCode
        do {
            code = try MachineCode(serialized: blob)
        } catch {
            return (["machine-code blob does not decode: \(error)"], [])
        }
        var problems: [String] = []
        var notes: [String] = []
        var missing: Set<String> = []
        let defects = code.defects(
            recordedFeatures: row.features, spelled: row.featuresText, asFunction: row.functionId, of: decoded?.unit)
        for defect in defects {
            if defect.isDamage {
                problems.append("\(defect)")
            } else if case .unavailableSymbol(let symbol) = defect, missing.insert(symbol).inserted {
                notes.append("\(defect)")
            }
        }
        return (problems, notes)
    }

    // MARK: show

    /// Finds `cache show`'s ENTRY: a key prefix of at least 4 hex digits, or a source path
    /// (the most recently used unit stored for it), or the end of one (`fib.rib`).
    public enum EntryLookup: Sendable, Equatable {
        case found(CacheStore.UnitSummary)
        case ambiguous([CacheStore.UnitSummary])
        case notFound
        /// Hex digits too few to be a prefix, and no such path.
        case tooShort
    }

    public static let minimumKeyPrefix = 4

    public static func findEntry(_ text: String, in store: CacheStore) throws -> EntryLookup {
        let isHex = !text.isEmpty && text.allSatisfy { $0.isHexDigit }
        if isHex, text.count >= minimumKeyPrefix {
            let matches = try store.units(keyPrefix: text)
            if matches.count == 1 { return .found(matches[0]) }
            if matches.count > 1 { return .ambiguous(matches) }
        }
        if let newest = try units(storedFor: text, in: store).first { return .found(newest) }
        // The end of a stored path: `fib.rib`, `examples/fib.rib`. One path may have several
        // units (one per version of the file); more than one path is ambiguous.
        var suffix = Substring(text)
        while suffix.hasPrefix("./") { suffix = suffix.dropFirst(2) }
        if !suffix.isEmpty, !suffix.hasPrefix("/") {
            let matches = try store.units(sourcePathSuffix: String(suffix))
            var newestByPath: [String: CacheStore.UnitSummary] = [:]
            for unit in matches where newestByPath[unit.sourcePath] == nil { newestByPath[unit.sourcePath] = unit }
            if newestByPath.count == 1, let only = matches.first { return .found(only) }
            if newestByPath.count > 1 { return .ambiguous(newestByPath.values.sorted { $0.sourcePath < $1.sourcePath }) }
        }
        return isHex && text.count < minimumKeyPrefix ? .tooShort : .notFound
    }

    /// The units stored for the file at `path`, the most recently used first. `run` stores the
    /// path made absolute from its working directory, as given; this also finds it when it is
    /// written another way (`./`, `..`, through a symbolic link).
    static func units(storedFor path: String, in store: CacheStore) throws -> [CacheStore.UnitSummary] {
        let exact = try store.units(sourcePath: CacheKeys.storedSourcePath(path))
        if !exact.isEmpty { return exact }
        let wanted = Set([lexicallyNormalized(CacheKeys.storedSourcePath(path))] + [resolvedPath(path)].compactMap { $0 })
        return try store.units(orderedBy: .lastUsed).filter { unit in
            wanted.contains(lexicallyNormalized(unit.sourcePath)) || resolvedPath(unit.sourcePath).map(wanted.contains) == true
        }
    }

    /// An absolute path without `.`, `..` and repeated slashes (symbolic links left alone).
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `realpath`: the path with every symbolic link resolved; nil when it does not exist.
    static func resolvedPath(_ path: String) -> String? { FileSystem.resolvedPath(path) }

    /// One AddressTable entry, with what it names.
    public struct SymbolRow: Sendable, Equatable {
        public var id: Int
        /// "function", "global", "constant", "builtin", "foreign", "imported".
        public var kind: String
        /// The name (or a constant's text, quoted).
        public var name: String
        /// Whether the SymbolTable exports the name (functions and globals).
        public var exported: Bool
    }

    public struct FunctionRow: Sendable, Equatable {
        public var id: UInt32
        public var name: String
        public var parameters: Int
        public var registers: Int
        public var words: Int
        public var firstLine: Int
    }

    public struct MachineCodeRow: Sendable, Equatable {
        public var functionId: UInt32
        public var functionName: String?
        public var jitIdentity: String
        public var features: String
        public var compressedBytes: Int64
        public var size: Int64
        public var jitMicroseconds: Int64
        /// From the decoded blob (nil when it does not decode).
        public var codeBytes: Int?
        public var relocations: Int?
        public var loopEntries: Int?
        public var problem: String?
        /// The assembly (`--disasm`).
        public var listing: String?
    }

    /// What `cache show` prints about one unit.
    public struct EntryDescription: Sendable {
        public var summary: CacheStore.UnitSummary
        public var isCurrentBuild: Bool
        public var factors: [(name: String, value: String)]
        /// Why the image could not be read or decoded (then symbols and functions are empty).
        public var imageProblem: String?
        public var missingForeignSymbols: [String] = []
        public var symbols: [SymbolRow] = []
        public var functions: [FunctionRow] = []
        public var machineCode: [MachineCodeRow] = []
        /// The bytecode (`--disasm`).
        public var bytecodeListing: String?
    }

    public static func describe(
        _ summary: CacheStore.UnitSummary, in store: CacheStore, disassemble: Bool,
        currentBuild: String = CacheKeys.ribbonBuild
    ) throws -> EntryDescription {
        var description = EntryDescription(
            summary: summary, isCurrentBuild: summary.ribbonBuild == currentBuild,
            factors: UnitKeyFactors.parseStored(summary.factors))
        var decoded: DecodedUnit? = nil
        switch try store.image(key: summary.key) {
        case nil:
            description.imageProblem = "the unit was removed while reading it"
        case .damaged(let why):
            description.imageProblem = why
        case .intact(let image):
            switch decode(image) {
            case .success(let unit): decoded = unit
            case .failure(let error): description.imageProblem = "does not decode with this build: \(error)"
            }
        }
        if let decoded {
            let unit = decoded.unit
            description.missingForeignSymbols = decoded.missingForeignSymbols
            let exported = Dictionary(unit.symbols.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
            for id in 0..<unit.entryCount {
                let kind = unit.entryKinds[id]
                let name: String
                switch kind {
                case .function: name = unit.function(id: UInt32(id))?.name ?? exported[UInt32(id)] ?? "?"
                case .global: name = exported[UInt32(id)] ?? "?"
                case .constant: name = constantText(unit, id)
                case .builtin, .foreign, .imported: name = unit.entryNames[id] ?? "?"
                }
                description.symbols.append(
                    SymbolRow(id: id, kind: "\(kind)", name: name, exported: exported[UInt32(id)] != nil))
            }
            description.functions = unit.functions.map { f in
                let h = f.header.pointee
                return FunctionRow(
                    id: f.id, name: f.name, parameters: Int(h.parameterCount), registers: Int(h.frameSize),
                    words: Int(h.codeWords), firstLine: f.lines.first.map { Int($0.line) } ?? 0)
            }
            if disassemble { description.bytecodeListing = Disassembler.disassemble(unit) }
        }
        let name = { (id: UInt32) in decoded?.unit.function(id: id)?.name }
        for row in try store.machineCode(unitKey: summary.key) {
            var shown = MachineCodeRow(
                functionId: row.functionId, functionName: name(row.functionId), jitIdentity: row.jitIdentity,
                features: row.featuresText, compressedBytes: row.compressedBytes, size: row.size,
                jitMicroseconds: row.jitMicroseconds)
            switch row.payload {
            case .damaged(let why):
                shown.problem = why
            case .intact(let blob):
                do {
                    let code = try MachineCode(serialized: blob)
                    shown.codeBytes = code.bytes.count
                    shown.relocations = code.relocations.count
                    shown.loopEntries = code.loopEntries.count
                    if disassemble { shown.listing = MachineCodeListing.listing(code, functionName: name) }
                } catch {
                    shown.problem = "\(error)"
                }
            }
            description.machineCode.append(shown)
        }
        return description
    }

    /// A constant's text, quoted, shortened to 32 characters, newlines and tabs escaped.
    static func constantText(_ unit: LoadedUnit, _ id: Int) -> String {
        guard let p = UnsafePointer<CChar>(bitPattern: UInt(unit.addressTable[id])) else { return "constant" }
        var text = String(cString: p)
        if text.count > 32 { text = String(text.prefix(32)) + "…" }
        return "\"" + text.replacingOccurrences("\n", "\\n").replacingOccurrences("\t", "\\t") + "\""
    }

    // MARK: key --explain

    /// A factor that differs between a file's key and a stored entry's (nil: absent on that side).
    public struct FactorDifference: Sendable, Equatable {
        public var name: String
        public var cached: String?
        public var now: String?
    }

    /// The stored unit that comes closest to a key that misses.
    public struct NearestEntry: Sendable, Equatable {
        public enum Match: Sendable, Equatable {
            /// The newest entry stored for the same source path.
            case samePath
            /// No entry for the path: the one sharing most factors.
            case mostFactors(shared: Int)
        }
        public var summary: CacheStore.UnitSummary
        public var match: Match
        /// False for rows stored before factors were recorded (then `differences` is empty).
        public var factorsRecorded: Bool
        public var differences: [FactorDifference]
    }

    /// `ribbon cache key FILE --explain`.
    public struct KeyExplanation: Sendable {
        public var file: String
        /// Where `run` stores the file's unit.
        public var storedPath: String
        public var factors: [(name: String, value: String)]
        public var key: SHA256Digest
        /// The entry with this key, if the cache has it.
        public var entry: CacheStore.UnitSummary?
        /// When it has none: the nearest entry and what differs.
        public var nearest: NearestEntry?
        /// Whether the cache holds no unit at all (or does not exist).
        public var cacheIsEmpty = true
    }

    /// The key `run` would use for `file` and, with a cache, whether it is stored and if not,
    /// which stored entry is nearest and which factors differ. Throws `SystemError` when the
    /// file cannot be read.
    public static func explainKey(file: String, store: CacheStore?) throws -> KeyExplanation {
        let unitFactors = try CacheKeys.factors(forFile: file)
        var explanation = KeyExplanation(
            file: file, storedPath: CacheKeys.storedSourcePath(file), factors: unitFactors.factors,
            key: unitFactors.key)
        guard let store else { return explanation }
        explanation.entry = try store.unit(key: unitFactors.key.bytes)
        guard explanation.entry == nil else {
            explanation.cacheIsEmpty = false
            return explanation
        }
        let now = unitFactors.factors
        if let same = try units(storedFor: file, in: store).first {
            explanation.nearest = nearest(same, match: .samePath, now: now)
            explanation.cacheIsEmpty = false
            return explanation
        }
        var best: (summary: CacheStore.UnitSummary, shared: Int)? = nil
        let all = try store.units(orderedBy: .lastUsed)
        explanation.cacheIsEmpty = all.isEmpty
        for candidate in all where !candidate.factors.isEmpty {
            let stored = UnitKeyFactors.parseStored(candidate.factors)
            let shared = now.filter { factor in stored.contains { $0.name == factor.name && $0.value == factor.value } }.count
            if shared > (best?.shared ?? 0) { best = (candidate, shared) }
        }
        if let best { explanation.nearest = nearest(best.summary, match: .mostFactors(shared: best.shared), now: now) }
        return explanation
    }

    static func nearest(
        _ summary: CacheStore.UnitSummary, match: NearestEntry.Match, now: [(name: String, value: String)]
    ) -> NearestEntry {
        guard !summary.factors.isEmpty else {
            return NearestEntry(summary: summary, match: match, factorsRecorded: false, differences: [])
        }
        let stored = UnitKeyFactors.parseStored(summary.factors)
        var names = now.map(\.name)
        for (name, _) in stored where !names.contains(name) { names.append(name) }
        let differences = names.compactMap { name -> FactorDifference? in
            let cached = stored.first { $0.name == name }?.value
            let current = now.first { $0.name == name }?.value
            return cached == current ? nil : FactorDifference(name: name, cached: cached, now: current)
        }
        return NearestEntry(summary: summary, match: match, factorsRecorded: true, differences: differences)
    }
}

extension String {
    /// Every `target` replaced with `replacement` (no Foundation).
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
