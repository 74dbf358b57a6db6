import RibbonBytecode
import RibbonCache
import RibbonJIT

/// `cache show`: one stored unit decoded into its key factors, symbols, functions and machine
/// code, with listings on request.
extension CacheInspector {
    /// One AddressTable entry, with what it names.
    package struct SymbolRow: Sendable, Equatable {
        package var id: Int
        /// "function", "global", "constant", "builtin", "foreign", "imported".
        package var kind: String
        /// The name (or a constant's text, quoted).
        package var name: String
        /// Whether the SymbolTable exports the name (functions and globals).
        package var exported: Bool
    }

    package struct FunctionRow: Sendable, Equatable {
        package var id: UInt32
        package var name: String
        package var parameters: Int
        package var registers: Int
        package var words: Int
        package var firstLine: Int
    }

    package struct MachineCodeRow: Sendable, Equatable {
        package var functionId: UInt32
        package var functionName: String?
        package var jitIdentity: String
        package var features: String
        package var compressedBytes: Int64
        package var size: Int64
        package var jitMicroseconds: Int64
        /// From the decoded blob (nil when it does not decode).
        package var codeBytes: Int?
        package var relocations: Int?
        package var loopEntries: Int?
        package var problem: String?
        /// The assembly (`--disasm`).
        package var listing: String?
    }

    /// What `cache show` prints about one unit.
    package struct EntryDescription: Sendable {
        package var summary: CacheStore.UnitSummary
        package var isCurrentBuild: Bool
        package var factors: [(factor: UnitKeyFactor, value: String)]
        /// Why the image could not be read or decoded (then symbols and functions are empty).
        package var imageProblem: String?
        package var missingForeignSymbols: [String] = []
        package var symbols: [SymbolRow] = []
        package var functions: [FunctionRow] = []
        package var machineCode: [MachineCodeRow] = []
        /// The bytecode (`--disasm`).
        package var bytecodeListing: String?
    }

    package static func describe(
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
