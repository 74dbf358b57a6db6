import RibbonBytecode
import RibbonCore

/// Whether a machine-code blob is valid as the code of one function of a unit: the one place
/// that decides it, for a warm run's install (`CacheSession` with the blob's row,
/// `JITEngine.installCached` with the unit) and for `ribbon cache verify`, which reports every
/// defect where an install stops at the first.
///
/// What `MachineCode(serialized:)` guarantees is not checked again: code that is not empty, the
/// entry and each loop entry at one of its bytes, each relocation's 8 bytes inside it and
/// apart from the others'. What is left needs the row or the unit: the features the row was
/// chosen by are the code's own; the function exists and each loop entry names one of its
/// words; each relocation names something that exists (`resolve(_:in:)`, which is also how
/// the install finds the addresses it writes, so nothing is looked up twice).
extension MachineCode {
    /// Why a blob cannot run as the code of a function of a unit.
    package enum Defect: Error, Equatable, Sendable, CustomStringConvertible {
        /// The row records other features than the code needs (`recorded` as the row spells it).
        case featuresDiffer(recorded: String, needed: String)
        /// The blob's function Id is not a function of the unit.
        case notAFunction(UInt32)
        /// A loop entry continues at a bytecode word past the function's code.
        case loopEntryPastCode(word: UInt32, codeWords: UInt32)
        case unknownHelper(String)
        /// A relocation names the header of a function the unit lacks.
        case missingFunction(UInt32)
        /// A relocation names bytecode of a function the unit lacks.
        case missingBytecode(function: UInt32)
        /// A relocation names a bytecode word past the end of `function`'s code.
        case wordPastCode(word: UInt32, function: String, codeWords: UInt32)
        /// A C function this host does not have: not damage (another host may run the blob),
        /// but this one cannot install it.
        case unavailableSymbol(String)

        /// Whether the blob (or its row) is wrong, on any host.
        package var isDamage: Bool {
            if case .unavailableSymbol = self { return false }
            return true
        }

        package var description: String {
            switch self {
            case .featuresDiffer(let recorded, let needed):
                "the row records features [\(recorded)] but the code needs [\(needed)]"
            case .notAFunction(let id): "function #\(id) is not a function of its unit"
            case .loopEntryPastCode(let word, let words):
                "loop entry at bytecode word \(word) is past the function's \(words) words"
            case .unknownHelper(let name): "relocation names unknown runtime helper `\(name)`"
            case .missingFunction(let id): "relocation names function #\(id), which the unit lacks"
            case .missingBytecode(let id): "relocation names bytecode of function #\(id), which the unit lacks"
            case .wordPastCode(let word, let name, let words):
                "relocation names word \(word) of `\(name)`, past its \(words) words"
            case .unavailableSymbol(let symbol): "foreign symbol `\(symbol)` is not available on this host (not damage)"
            }
        }
    }

    /// The blob against its cache row: nil when the features the row records (what a run chose
    /// it by) are the code's own. `spelled`: the row's text, for the message.
    package func defect(recordedFeatures: Set<String>, spelled: String? = nil) -> Defect? {
        guard features != recordedFeatures else { return nil }
        return .featuresDiffer(
            recorded: spelled ?? recordedFeatures.sorted().joined(separator: ","),
            needed: features.sorted().joined(separator: ","))
    }

    /// The function this code is for, placed (its code refers to its header and words), with
    /// every loop entry at one of its words; or the first defect.
    package func function(_ id: UInt32, of unit: LoadedUnit) -> Result<LoadedUnit.FunctionInfo, Defect> {
        guard let function = unit.placed(id: id) else { return .failure(.notAFunction(id)) }
        let words = function.header.pointee.codeWords
        if let word = loopEntries.keys.first(where: { $0 >= words }) {
            return .failure(.loopEntryPastCode(word: word, codeWords: words))
        }
        return .success(function)
    }

    /// The address `target` has in `unit` (placing the function it names), or why it has none.
    package static func resolve(_ target: RelocationTarget, in unit: LoadedUnit) -> Result<UInt64, Defect> {
        switch target {
        case .addressTable:
            return .success(UInt64(UInt(bitPattern: unit.addressTable)))
        case .runtimeHelper(let name):
            guard let address = JITRuntime.helper(named: name) else { return .failure(.unknownHelper(name)) }
            return .success(address)
        case .functionHeader(let id):
            guard let f = unit.placed(id: id) else { return .failure(.missingFunction(id)) }
            return .success(UInt64(UInt(bitPattern: f.header)))
        case .foreignSymbol(let symbol):
            guard let address = SymbolResolver.dlsymLookup(symbol) else { return .failure(.unavailableSymbol(symbol)) }
            return .success(address)
        case .bytecodeWord(let id, let word):
            guard let f = unit.placed(id: id) else { return .failure(.missingBytecode(function: id)) }
            let words = f.header.pointee.codeWords
            guard word < words else { return .failure(.wordPastCode(word: word, function: f.name, codeWords: words)) }
            return .success(UInt64(UInt(bitPattern: f.header)) + UInt64(functionHeaderWords * 8) + UInt64(word) * 8)
        }
    }

    /// Every defect, in the order `ribbon cache verify` reports them: the features against the
    /// row; then, with a unit, the function, its loop entries (by word) and each relocation.
    package func defects(
        recordedFeatures: Set<String>, spelled: String? = nil, asFunction id: UInt32, of unit: LoadedUnit?
    ) -> [Defect] {
        var found: [Defect] = []
        if let defect = defect(recordedFeatures: recordedFeatures, spelled: spelled) { found.append(defect) }
        guard let unit else { return found }
        guard let function = unit.placed(id: id) else { return found + [.notAFunction(id)] }
        let words = function.header.pointee.codeWords
        for word in loopEntries.keys.sorted() where word >= words {
            found.append(.loopEntryPastCode(word: word, codeWords: words))
        }
        for r in relocations {
            if case .failure(let defect) = Self.resolve(r.target, in: unit) { found.append(defect) }
        }
        return found
    }
}
