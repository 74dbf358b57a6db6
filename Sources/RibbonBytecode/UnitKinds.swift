import RibbonCore

/// What the kind check checks against: value kinds, function signatures, and each unit's
/// table of what its Ids hold or take (read from the image's `kinds` section). Separate from
/// the check itself (`Verifier+Kinds.swift`), which other units never see.
/// What a 64-bit value is, as far as memory safety goes: besides computing on its bits, the
/// interpreter and machine code only ever dereference a register, and each dereference expects
/// one layout.
public enum ValueKind: UInt8, Sendable, CustomStringConvertible {
    /// Any bits: `I64`, `F64`, `Bool`, `Unit`. Never dereferenced.
    case scalar = 1
    /// The address of NUL-terminated bytes (`Str`).
    case string = 2
    /// The address of an `I64` length and that many 8-byte elements (`Array I64`, `Array F64`).
    case array64 = 3
    /// The address of an `I64` length and that many 1-byte elements (`Array Bool`).
    case array8 = 4

    public var description: String {
        switch self {
        case .scalar: "a scalar"
        case .string: "a Str"
        case .array64: "an array of 8-byte elements"
        case .array8: "an array of 1-byte elements"
        }
    }
}

/// The kinds a function takes and returns.
public struct KindSignature: Sendable, Hashable {
    public var parameters: [ValueKind]
    public var result: ValueKind

    public init(parameters: [ValueKind], result: ValueKind) {
        self.parameters = parameters
        self.result = result
    }

    /// A function that nothing declares: it takes and returns bits, so no caller can hand it a
    /// pointer it would dereference, and nothing it returns is dereferenced.
    static func scalars(_ count: Int) -> KindSignature {
        KindSignature(parameters: Array(repeating: .scalar, count: count), result: .scalar)
    }

    /// The parameter and result kinds of each runtime builtin the verifier knows: how many
    /// argument registers it reads, which it dereferences, what its result is. Builtin names
    /// are part of the image format, so this table is too.
    public static let builtins: [String: KindSignature] = [
        "print_i64": .init(parameters: [.scalar], result: .scalar),
        "print_f64": .init(parameters: [.scalar], result: .scalar),
        "print_bool": .init(parameters: [.scalar], result: .scalar),
        "print_str": .init(parameters: [.string], result: .scalar),
        "write_i64": .init(parameters: [.scalar], result: .scalar),
        "write_f64": .init(parameters: [.scalar], result: .scalar),
        "write_bool": .init(parameters: [.scalar], result: .scalar),
        "write_str": .init(parameters: [.string], result: .scalar),
        "array_i64": .init(parameters: [.scalar, .scalar], result: .array64),
        "array_f64": .init(parameters: [.scalar, .scalar], result: .array64),
        "array_bool": .init(parameters: [.scalar, .scalar], result: .array8),
        "clock": .init(parameters: [], result: .scalar),
        "foreign_unavailable": .init(parameters: [], result: .scalar),
    ]
}

/// What the kind check knows about a unit: the declared signature of each of its functions,
/// and what each AddressTable Id holds or takes. Each Id's entry is worked out the first time
/// a check asks for it (a warm run of a large program checks only the functions it runs, and
/// they name few Ids) and kept; units that import from this one read their imports' kinds
/// from it (`LoadedUnit.kinds`).
public final class UnitKinds {
    /// What one Id is, for the kind check.
    public enum Entry: Sendable, Equatable {
        /// A constant (its address is a `Str`).
        case constant
        /// A global cell holding values of this kind (its own or, imported, its exporter's).
        case global(ValueKind)
        /// A callee with this signature: a function of this unit or another, a builtin, a C
        /// function.
        case callee(KindSignature)
        /// A builtin the verifier has no signature for: only a host that registers its own
        /// builtins resolves one, and such a builtin's contract is the host's. Its result is
        /// bits; its arguments are not checked.
        case unknownBuiltin
        /// An import resolved to a placeholder (inspection tools, which never run the unit):
        /// nothing is known, nothing is checked.
        case unchecked
    }

    /// By Id, once asked for (a dictionary: a warm run asks for a few of thousands).
    private var entries: [Int: Entry] = [:]
    private let count: Int
    /// Works out one Id's entry (reading the image's `kinds` section for a function).
    private let compute: (Int) throws(ImageError) -> Entry

    /// An empty table (a unit with no Ids).
    public convenience init() {
        self.init(count: 0) { _ throws(ImageError) in .unchecked }
    }

    init(count: Int, compute: @escaping (Int) throws(ImageError) -> Entry) {
        self.count = count
        self.compute = compute
    }

    /// What Id `id` is; throws when the image's record of it is malformed or cannot be read.
    public func entry(_ id: Int) throws(ImageError) -> Entry {
        guard id >= 0, id < count else { throw .malformed(.idOutOfRange(id: id)) }
        if let known = entries[id] { return known }
        let entry = try compute(id)
        entries[id] = entry
        return entry
    }

    /// The declared signature of the function with this Id, if it is one of this unit's.
    public func signature(ofFunctionId id: UInt32) -> KindSignature? {
        guard case .callee(let s)? = try? entry(Int(id)) else { return nil }
        return s
    }

    /// The kind a global entry of this unit holds.
    public func kind(ofGlobalId id: UInt32) -> ValueKind? {
        guard case .global(let k)? = try? entry(Int(id)) else { return nil }
        return k
    }
}

extension UnitKinds {
    /// The kinds of a unit being loaded: each function's signature from the image's `kinds`
    /// section (`signature(functionIndex)`), and what each other Id is (an import as its
    /// exporter declares it).
    convenience init(
        entryKinds: [AddressTableEntryKind], entryNames: [Int: String], globalIsString: @escaping (Int) -> Bool,
        imports: [(slot: Int, symbol: ImportedSymbol)], importedKinds: [Int: AddressTableEntryKind],
        functionIndex: @escaping (Int) -> Int?, signature: @escaping (Int) throws(ImageError) -> KindSignature
    ) {
        var imported: [Int: ImportedSymbol] = [:]
        for link in imports { imported[link.slot] = link.symbol }
        self.init(count: entryKinds.count) { id throws(ImageError) -> Entry in
            switch entryKinds[id] {
            case .function:
                guard let index = functionIndex(id) else { return .unchecked }
                return .callee(try signature(index))
            case .global:
                return .global(globalIsString(id) ? .string : .scalar)
            case .constant:
                return .constant
            case .builtin:
                return KindSignature.builtins[entryNames[id] ?? ""].map(Entry.callee) ?? .unknownBuiltin
            case .foreign:
                guard let s = entryNames[id].flatMap(ForeignSignature.init(entryName:)) else {
                    throw .malformed(.badForeignSignature(id: id))
                }
                func kind(_ k: ForeignSignature.ValueKind) -> ValueKind { k == .str ? .string : .scalar }
                return .callee(KindSignature(parameters: s.parameters.map(kind), result: kind(s.result)))
            case .imported:
                guard let symbol = imported[id], let exporter = symbol.unit else {
                    return .unchecked  // a placeholder: inspection only, never run
                }
                if importedKinds[id] == .global {
                    guard let k = exporter.kinds.kind(ofGlobalId: symbol.id) else {
                        throw .malformed(.importedGlobalMissing(id: id))
                    }
                    return .global(k)
                }
                guard let s = exporter.kinds.signature(ofFunctionId: symbol.id) else {
                    throw .malformed(.importedFunctionMissing(id: id))
                }
                return .callee(s)
            }
        }
    }

    /// Decodes the signature at `offset` of a `kinds` section (`UnitImage`) for a function
    /// with `parameterCount` parameters.
    static func signature(
        in kinds: UnsafeRawBufferPointer, at offset: Int, parameterCount: Int, functionName: @autoclosure () -> String
    ) throws(ImageError) -> KindSignature {
        guard offset >= 0, kinds.count >= 3, offset <= kinds.count - 3 else {
            throw .malformed(.noSignature(function: functionName()))
        }
        let count = Int(kinds[offset]) | Int(kinds[offset + 1]) << 8
        guard count == parameterCount else {
            throw .malformed(.parameterCountMismatch(function: functionName(), declared: count, actual: parameterCount))
        }
        guard count <= kinds.count - offset - 3 else { throw .malformed(.noSignature(function: functionName())) }
        guard let result = ValueKind(rawValue: kinds[offset + 2]) else {
            throw .malformed(.badSignature(function: functionName()))
        }
        var parameters: [ValueKind] = []
        parameters.reserveCapacity(count)
        for i in 0..<count {
            guard let k = ValueKind(rawValue: kinds[offset + 3 + i]) else {
                throw .malformed(.badSignature(function: functionName()))
            }
            parameters.append(k)
        }
        return KindSignature(parameters: parameters, result: result)
    }
}
