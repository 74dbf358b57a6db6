/// What an AddressTable Id refers to.
///
/// A unit's Ids index one table holding every function, global, constant, builtin and foreign
/// symbol it refers to. In a unit image each entry is stored as a kind plus an offset or a
/// symbol name; loading turns each into an absolute address (`UnitImage` format docs).
public enum AddressTableEntryKind: UInt8, Sendable {
    /// A bytecode function of this unit: offset of its `FunctionHeader` in the code section.
    case function = 1
    /// A global of this unit: its index (the cell lives in the loaded unit's globals area).
    case global = 2
    /// Constant data of this unit (string bytes): offset in the data section.
    case constant = 3
    /// A runtime builtin, resolved by name at load.
    case builtin = 4
    /// A C function, resolved with `dlsym` at load.
    case foreign = 5
    /// A function or global of another unit, resolved by name through its SymbolTable.
    case imported = 6
}
