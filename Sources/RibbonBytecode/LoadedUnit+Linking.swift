#if canImport(Glibc)
import Glibc
#endif
import RibbonCore

/// How a loader finds what a unit refers to by name.
public struct SymbolResolver {
    /// Address of a runtime builtin (a `BuiltinFunction`), by name.
    public var builtin: (String) -> UInt64?
    /// Address of a C function, by symbol; the default asks `dlsym`.
    public var foreign: (String) -> UInt64?
    /// A function or global (the kind asked for) that another unit exports, by the imported
    /// entry's name (`PATH:NAME`, see `UnitBuilder.importFunction`); nil when there is none.
    public var imported: (String, AddressTableEntryKind) -> ImportedSymbol?

    public init(
        builtin: @escaping (String) -> UInt64?,
        foreign: @escaping (String) -> UInt64? = SymbolResolver.dlsymLookup,
        imported: @escaping (String, AddressTableEntryKind) -> ImportedSymbol? = { _, _ in nil }
    ) {
        self.builtin = builtin
        self.foreign = foreign
        self.imported = imported
    }

    /// The builtin a foreign entry's slot holds until glue is installed (it traps).
    public static let foreignUnavailableName = "foreign_unavailable"

    /// `dlsym(RTLD_DEFAULT, symbol)`: the process and the libraries it has loaded (libc, libm).
    public static func dlsymLookup(_ symbol: String) -> UInt64? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), symbol) else { return nil }
        return UInt64(UInt(bitPattern: address))
    }
}

/// What an imported entry resolves to: normally a function or global of a loaded unit.
public struct ImportedSymbol {
    /// What the importing slot starts with: the exporter's AddressTable entry (a function's
    /// tagged header or machine code, a global's cell).
    public var address: UInt64
    /// The unit that defines it, which keeps the importing slot in step when the JIT swaps its
    /// function's entry; nil for a placeholder (inspection tools).
    public var unit: LoadedUnit?
    public var id: UInt32

    public init(address: UInt64, unit: LoadedUnit?, id: UInt32) {
        self.address = address
        self.unit = unit
        self.id = id
    }

    /// The symbol `name` of `unit` if it is of `kind` (a function or a global).
    public static func export(_ name: String, of unit: LoadedUnit, kind: AddressTableEntryKind) -> ImportedSymbol? {
        guard let id = unit.exportedId(named: name), unit.entryKinds[Int(id)] == kind else { return nil }
        return ImportedSymbol(address: unit.addressTable[Int(id)], unit: unit, id: id)
    }
}


/// Linking between units: importers' slots kept equal to the exporter's entry.
extension LoadedUnit {
    /// Sets a function's AddressTable entry, and every other unit's slot that imports it: how
    /// the JIT swaps machine code in (calls from other units go through their own slots).
    public func setEntry(_ id: UInt32, to value: UInt64) {
        addressTable[Int(id)] = value
        for slot in importerSlots[id] ?? [] { slot.pointee = value }
    }
}
