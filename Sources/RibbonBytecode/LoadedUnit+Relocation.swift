#if canImport(Glibc)
import Glibc
#endif
import RibbonCore

/// The relocation: a unit image holds no absolute address, so loading builds the AddressTable
/// from the image's `entries` — each function's header (or, lazily, the stub), each global's
/// cell, each constant's bytes, each builtin, C function and import resolved by name — and
/// writes the globals' initial values (a `Str` global: its constant's address). Separate from
/// the rest of decoding so that where a unit is relocated has one answer.
extension LoadedUnit {
    /// What relocating the AddressTable learnt about each Id.
    struct Relocation {
        var kinds: [AddressTableEntryKind]
        /// What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds: [AddressTableEntryKind]
        var names: [Int: String]
        var importedKinds: [Int: AddressTableEntryKind]
        var imports: [(slot: Int, symbol: ImportedSymbol)]
        var foreign: [Int: ForeignFunction]
        var numbering: FunctionNumbering
        /// The Ids of the globals whose initialiser is a constant's address (a `Str`).
        var globalIsString: [Int]
    }

    /// Fills the AddressTable at `into.table` (and the globals after it) from the image's
    /// entries and globals. Lazily, the function prefix's entries are not read: their slots
    /// get the stub (`into.stub`), as every function entry does until its function is placed.
    static func relocate(
        _ r: ByteReader, resolver: SymbolResolver, lazy: Bool, layout: Layout, globals: Range<Int>, data: Range<Int>,
        counts: (entries: Int, functions: Int, globals: Int, prefix: Int),
        into: (table: UnsafeMutablePointer<UInt64>, memory: UnsafeMutableRawPointer, codeAt: Int, dataAt: Int, stub: UInt64),
        string: (UInt32, UInt32) throws(ImageError) -> String
    ) throws(ImageError) -> Relocation {
        let (entryCount, functionCount, globalCount, functionPrefix) =
            (counts.entries, counts.functions, counts.globals, counts.prefix)
        let unreadPrefix = lazy ? functionPrefix : 0
        let (table, memory, codeAt, dataAt, stubEntry) = (into.table, into.memory, into.codeAt, into.dataAt, into.stub)
        let globalsBase = table + entryCount
        // Lazily, the function prefix is the stub, unread.
        var kinds = [AddressTableEntryKind](repeating: .function, count: unreadPrefix)
        kinds.reserveCapacity(entryCount)
        var names: [Int: String] = [:]
        var importedKinds: [Int: AddressTableEntryKind] = [:]
        var imports: [(slot: Int, symbol: ImportedSymbol)] = []
        // What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds = kinds
        verifiedKinds.reserveCapacity(entryCount)
        var foreign: [Int: ForeignFunction] = [:]
        // The row of each function entry past the prefix (below it, Id n is row n); each row
        // has one entry.
        var numbering = FunctionNumbering(prefix: functionPrefix, entryCount: entryCount, functionCount: functionCount)
        var rowClaimed = [Bool](repeating: false, count: functionCount - functionPrefix)
        table.update(repeating: stubEntry, count: unreadPrefix)
        var functionEntryCount = unreadPrefix
        // Global index of each global entry, by Id, for the kind check.
        var globalIndexById: [Int: Int] = [:]
        for id in unreadPrefix..<entryCount {
            let at = layout.entries.lowerBound + id * UnitImage.EntryRecord.size
            _ = try r.range(at, UnitImage.EntryRecord.size)
            let entry = UnitImage.EntryRecord(r.base, at: at)
            guard let kind = AddressTableEntryKind(rawValue: entry.kind) else {
                throw .malformed(.unknownEntryKind(id: id))
            }
            guard id >= functionPrefix || kind == .function else {
                throw .malformed(.prefixEntryNotFunction(id: id))
            }
            let (a, b) = (entry.a, entry.b)
            kinds.append(kind)
            var importedKind: AddressTableEntryKind? = nil
            if kind == .imported {
                importedKind = AddressTableEntryKind(rawValue: entry.k)
                guard importedKind == .function || importedKind == .global else {
                    throw .malformed(.importNamesNeither(id: id))
                }
            }
            verifiedKinds.append(importedKind ?? kind)
            switch kind {
            case .function:
                let (frameSize, parameterCount) = (entry.k, entry.p)
                let b = b & 0xFFFF_FFFF  // the header's offset (the high half: its signature's)
                guard b % 8 == 0, b <= UInt64(layout.code.count),
                    UInt64(layout.code.count) - b >= UInt64(functionHeaderWords * 8)
                else { throw .malformed(.functionEntryOutsideCode(id: id)) }
                guard Int(a) < functionCount, parameterCount <= frameSize,
                    id < functionPrefix ? Int(a) == id : Int(a) >= functionPrefix && !rowClaimed[Int(a) - functionPrefix]
                else {
                    throw .malformed(.functionEntryWithoutRow(id: id))
                }
                if id >= functionPrefix {
                    rowClaimed[Int(a) - functionPrefix] = true
                    numbering.set(id: id, row: Int(a))
                }
                functionEntryCount += 1
                if lazy {
                    // Lazily: the function starts as the stub, which places it when it is
                    // first called.
                    table[id] = stubEntry
                } else {
                    table[id] = UInt64(UInt(bitPattern: memory.advanced(by: codeAt + Int(b)))) | bytecodeEntryTag
                }
            case .global:
                guard Int(a) < globalCount else { throw .malformed(.globalEntryOutOfRange(id: id)) }
                globalIndexById[id] = Int(a)
                table[id] = UInt64(UInt(bitPattern: globalsBase + Int(a)))
            case .constant:
                guard b <= UInt64(data.count), UInt64(a) <= UInt64(data.count) - b, a > 0 else {
                    throw .malformed(.constantOutsideData(id: id))
                }
                // Str constants are read as C strings: the last byte must be the NUL.
                guard r.base[data.lowerBound + Int(b) + Int(a) - 1] == 0 else {
                    throw .malformed(.constantNotTerminated(id: id))
                }
                table[id] = UInt64(UInt(bitPattern: memory.advanced(by: dataAt + Int(b))))
            case .builtin, .foreign, .imported:
                guard b <= UInt64(UInt32.max) else { throw .truncated }
                let name = try string(UInt32(b), a)
                names[id] = name
                if kind == .foreign {
                    // The slot is called with the builtin ABI, so it never holds the C function
                    // itself: it gets System V glue later (`installForeignGlue`), and until then
                    // a stub that stops with a clear runtime error. The symbol is looked up now
                    // so an unknown one fails before the program starts.
                    guard let signature = ForeignSignature(entryName: name) else {
                        throw .malformed(.badForeignSignature(id: id))
                    }
                    guard let address = resolver.foreign(signature.symbol) else {
                        throw .unresolvedForeign(signature.symbol)
                    }
                    guard let stub = resolver.builtin(SymbolResolver.foreignUnavailableName) else {
                        throw .unresolvedBuiltin(SymbolResolver.foreignUnavailableName)
                    }
                    foreign[id] = ForeignFunction(signature: signature, address: address)
                    table[id] = stub
                    continue
                }
                let address: UInt64?
                switch kind {
                case .builtin: address = resolver.builtin(name)
                default:
                    let symbol = resolver.imported(name, importedKind!)
                    if let symbol {
                        importedKinds[id] = importedKind!
                        imports.append((id, symbol))
                    }
                    address = symbol?.address
                }
                guard let address else {
                    switch kind {
                    case .builtin: throw .unresolvedBuiltin(name)
                    default: throw .unresolvedImport(name)
                    }
                }
                table[id] = address
            }
        }
        // Each function row has exactly one entry (rows are claimed at most once above).
        guard functionEntryCount == functionCount else {
            throw .malformed(.functionEntriesMismatchRows)
        }

        // Globals' initial values.
        var globalIsString = [Bool](repeating: false, count: globalCount)
        for g in 0..<globalCount {
            let at = globals.lowerBound + g * UnitImage.GlobalRecord.size
            let kind = try r.u8(at + UnitImage.GlobalRecord.Field.kind)
            let value = try r.u64(at + UnitImage.GlobalRecord.Field.value)
            switch kind {
            case 0:
                globalsBase[g] = value
            case 1:
                guard value < UInt64(entryCount), kinds[Int(value)] == .constant else {
                    throw .malformed(.globalNotConstant(global: g))
                }
                globalsBase[g] = table[Int(value)]
                globalIsString[g] = true
            default:
                throw .malformed(.unknownGlobalInitialiser(global: g))
            }
        }
        return Relocation(
            kinds: kinds, verifiedKinds: verifiedKinds, names: names, importedKinds: importedKinds, imports: imports,
            foreign: foreign, numbering: numbering,
            globalIsString: globalIndexById.filter { globalIsString[$0.value] }.map(\.key))
    }
}
