import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonSystem
import RibbonJIT
import RibbonVM

/// `cache verify`: every row checked as a run would check it before use, and more, with what
/// is bad and what is only worth knowing.
extension CacheInspector {
    /// One thing `verify` found, about a unit or one of its machine-code rows.
    package struct Finding: Sendable, Equatable {
        package enum Subject: Sendable, Equatable {
            case unit
            case machineCode(functionId: UInt32, functionName: String?, jitIdentity: String, features: String)
        }
        /// The unit's key (the blob's unit key for machine code), as hex.
        package var key: String
        /// The unit's source path; empty for machine code whose unit is not stored.
        package var sourcePath: String
        package var subject: Subject
        package var message: String
    }

    package struct VerifyReport: Sendable, Equatable {
        package var unitsChecked = 0
        package var machineCodeChecked = 0
        /// Units written by another build: their hashes are checked, not their decoding (this
        /// build's decoder is not theirs; `cache gc` removes them).
        package var unitsOfOtherBuilds = 0
        /// Rows that fail a check: never loadable.
        package var bad: [Finding] = []
        /// Worth knowing, not damage: a C symbol this host lacks.
        package var notes: [Finding] = []
        /// `PRAGMA quick_check` messages: damage to the file itself, which `--repair`
        /// cannot mend (`cache clear` can).
        package var databaseProblems: [String] = []
        /// Whether the bad rows were deleted (`--repair`).
        package var repaired = false
        package var microseconds = 0

        /// Nothing bad is left: true for a sound cache, and for one whose bad rows were repaired.
        package var isSound: Bool { databaseProblems.isEmpty && (bad.isEmpty || repaired) }
    }

    /// Checks every row as a run would before using it, and more: decompression to the stored
    /// size, the SHA-256, the unit key against its stored factors, image decoding and
    /// verification, blob decoding (which bounds entries and relocations), relocation targets
    /// (`MachineCode.defects`, the check a warm run makes too), that each blob's function
    /// exists in its unit and that its recorded features are the code's own. With `repair`,
    /// deletes what is bad: a bad unit with its machine code, a bad blob alone.
    package static func verify(
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
        guard UnitKeyFactors.storedText(of: pairs) == summary.factors else { return nil }
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
}
