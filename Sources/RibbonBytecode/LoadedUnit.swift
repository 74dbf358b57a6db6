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
        guard let id = unit.symbols[name], unit.entryKinds[Int(id)] == kind else { return nil }
        return ImportedSymbol(address: unit.addressTable[Int(id)], unit: unit, id: id)
    }
}

/// A unit image placed in fresh memory and relocated: the AddressTable holds absolute
/// addresses, function headers point at it, globals are initialised. Owns its memory.
///
/// Memory layout of one allocation: `[AddressTable][globals][code][data]`, 16-byte aligned.
public final class LoadedUnit {
    public let sourcePath: String
    /// The AddressTable: one 8-byte entry per Id.
    public let addressTable: UnsafeMutablePointer<UInt64>
    public let entryCount: Int
    /// The kind of each Id.
    public let entryKinds: [AddressTableEntryKind]
    /// Entry names for builtins, foreign symbols and imports (by Id), for disassembly.
    public let entryNames: [Int: String]
    /// What each imported entry names: `.function` or `.global` (by Id).
    public let importedKinds: [Int: AddressTableEntryKind]
    /// The image's `interface` section: what files that use this one are checked against.
    public let interface: [UInt8]
    /// What the verifier checks registers against: each function's declared signature, and
    /// what each Id holds or takes. Units that import from this one check their uses with it.
    public let kinds: UnitKinds
    /// The units this one imports from (kept alive: its slots hold their addresses).
    public let importedUnits: [LoadedUnit]
    /// For each of this unit's functions that other units import: their slots, which
    /// `setEntry` keeps equal to this unit's own.
    private var importerSlots: [UInt32: [UnsafeMutablePointer<UInt64>]] = [:]
    /// This unit's imported function slots, as registered with their exporters (undone at deinit).
    private var linkedSlots: [(exporter: LoadedUnit, id: UInt32, slot: UnsafeMutablePointer<UInt64>)] = []
    /// Name → Id (functions and globals this unit defines). Built on first use: a warm run of
    /// a large program only looks up `main` (`symbol(named:)`).
    public private(set) lazy var symbols: [String: UInt32] = Dictionary(
        symbolList.map { ($0.name, $0.id) }, uniquingKeysWith: { _, last in last })
    /// The SymbolTable in image order.
    public let symbolList: [(name: String, id: UInt32)]
    public private(set) var functions: [FunctionInfo]
    /// The C functions this unit calls, by Id: signature and `dlsym` address.
    public let foreignFunctions: [Int: ForeignFunction]
    private let memory: UnsafeMutableRawPointer
    private let memorySize: Int

    /// A C function a unit calls: how to call it and where it is.
    public struct ForeignFunction: Sendable {
        public var signature: ForeignSignature
        public var address: UInt64
    }

    /// What the runtime needs to know about one function besides its header.
    public struct FunctionInfo {
        public var id: UInt32
        public var name: String
        /// Address of the function's `FunctionHeader` in loaded memory.
        public var header: UnsafeMutablePointer<FunctionHeader>
        /// (word index, line) rows, ascending by word (a slice of the unit's one line table).
        public var lines: ArraySlice<(word: UInt32, line: UInt32)>

        /// The source line of the instruction at `word`.
        public func line(atWord word: Int) -> Int {
            var result = lines.first.map { Int($0.line) } ?? 0
            for row in lines {
                if Int(row.word) > word { break }
                result = Int(row.line)
            }
            return result
        }
    }

    /// Decodes, verifies and relocates `image`. Throws `ImageError` on anything malformed or
    /// unresolvable; never reads outside `image` and never traps on bad input.
    ///
    /// `sourcePath` replaces the path stored in the image (backtraces name the file as this
    /// run found it: an image from the cache may have been compiled from another place).
    public convenience init(image: UnitImage, resolver: SymbolResolver, sourcePath: String? = nil) throws(ImageError) {
        let loaded: LoadedParts
        do {
            loaded = try image.bytes.withUnsafeBytes { raw in
                try LoadedUnit.decode(ByteReader(base: raw), resolver: resolver, lazy: nil)
            }
        } catch let error as ImageError {
            throw error
        } catch {
            throw .truncated
        }
        self.init(loaded, source: nil, sourcePath: sourcePath)
    }

    /// Loads a unit lazily from `source`: the AddressTable, globals, symbols, data and every
    /// function's header now, each function's code (verified) only when it first runs or is
    /// compiled (`placeCode`), its line rows only when a backtrace needs them. Until then the
    /// function's first word is the VM-internal `load_code`. Throws as `init(image:)` for what
    /// it reads now.
    public convenience init(lazy source: UnitImageSource, resolver: SymbolResolver, sourcePath: String? = nil) throws(ImageError) {
        let loaded = try LoadedUnit.decode(
            ByteReader(base: UnsafeRawBufferPointer(start: source.base, count: source.count)), resolver: resolver,
            lazy: source)
        self.init(loaded, source: source, sourcePath: sourcePath)
    }

    private init(_ loaded: LoadedParts, source: UnitImageSource?, sourcePath: String?) {
        lazySource = source
        lazyParts = loaded.lazy
        placed = Array(repeating: source == nil, count: loaded.functions.count)
        verifier = Verifier(entryKinds: loaded.verifiedKinds, kinds: loaded.kinds)
        kinds = loaded.kinds
        self.sourcePath = sourcePath ?? loaded.sourcePath
        addressTable = loaded.table
        entryCount = loaded.entryKinds.count
        entryKinds = loaded.entryKinds
        entryNames = loaded.entryNames
        importedKinds = loaded.importedKinds
        interface = loaded.interface
        symbolList = loaded.symbols
        functions = loaded.functions
        foreignFunctions = loaded.foreign
        memory = loaded.memory
        memorySize = loaded.memorySize
        var byId = [Int32](repeating: -1, count: entryCount)
        for (i, f) in functions.enumerated() { byId[Int(f.id)] = Int32(i) }
        functionIndexById = byId
        var exporters: [LoadedUnit] = []
        for link in loaded.imports {
            guard let exporter = link.symbol.unit, !exporters.contains(where: { $0 === exporter }) else { continue }
            exporters.append(exporter)
        }
        importedUnits = exporters
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        for f in functions {
            f.header.pointee.unit = unmanaged
        }
        for link in loaded.imports where loaded.importedKinds[link.slot] == .function {
            guard let exporter = link.symbol.unit else { continue }
            let slot = loaded.table + link.slot
            exporter.importerSlots[link.symbol.id, default: []].append(slot)
            linkedSlots.append((exporter, link.symbol.id, slot))
        }
    }

    deinit {
        for (exporter, id, slot) in linkedSlots {
            exporter.importerSlots[id]?.removeAll { $0 == slot }
        }
        memory.deallocate()
    }

    /// Sets a function's AddressTable entry, and every other unit's slot that imports it: how
    /// the JIT swaps machine code in (calls from other units go through their own slots).
    public func setEntry(_ id: UInt32, to value: UInt64) {
        addressTable[Int(id)] = value
        for slot in importerSlots[id] ?? [] { slot.pointee = value }
    }

    /// Index into `functions` by Id (-1: not a function); the JIT resolves thousands.
    private let functionIndexById: [Int32]

    /// The function with this Id, if the Id names one of this unit's functions.
    public func function(id: UInt32) -> FunctionInfo? {
        guard Int(id) < functionIndexById.count else { return nil }
        let index = functionIndexById[Int(id)]
        return index < 0 ? nil : functions[Int(index)]
    }

    /// The function whose header is at `header` (for backtraces and tier-up).
    public func function(header: UnsafePointer<FunctionHeader>) -> FunctionInfo? {
        guard let f = function(id: header.pointee.functionId), UnsafePointer(f.header) == header else { return nil }
        return f
    }

    /// The Id of a function or global this unit defines, by name (no dictionary is built).
    public func symbol(named name: String) -> UInt32? {
        symbolList.first { $0.name == name }?.id
    }

    /// The unit a function header belongs to.
    public static func owning(_ header: UnsafePointer<FunctionHeader>) -> LoadedUnit? {
        guard let unit = header.pointee.unit else { return nil }
        return Unmanaged<LoadedUnit>.fromOpaque(unit).takeUnretainedValue()
    }

    // MARK: Lazy loading

    /// Where a lazily loaded unit's code comes from (nil: everything was loaded at once).
    private let lazySource: UnitImageSource?
    private var lazyParts: LazyParts?
    /// Per function (index in `functions`): its code has been placed (always true when eager).
    private var placed: [Bool]
    private var verifier: Verifier
    /// Gives the same image compiled afresh from the source, for when a part of the lazy one
    /// fails its checks in the middle of a run (compilation is deterministic: same bytes).
    public var fallbackImage: (() -> UnitImage?)? = nil
    private var fallbackBytes: [UInt8]?? = nil
    /// A part of the lazy image failed its checks and the fallback was used: the stored entry
    /// should be replaced.
    public private(set) var damaged = false

    struct LazyParts {
        var codeSection: Range<Int>
        var linesSection: Range<Int>
        /// Per function: its header's offset in the code section, first line row, row count.
        var headerOffsets: [Int]
        var firstLines: [Int]
        var lineCounts: [Int]
        var linesLoaded: [Bool]
    }

    /// Functions whose code has been placed (all of them when loaded at once).
    public var placedCount: Int { placed.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Makes sure the function's code is in place, checked and verified (for a lazily loaded
    /// unit; always true otherwise). False only if neither the image nor the fallback gives
    /// code that passes the checks.
    @discardableResult
    public func placeCode(header: UnsafePointer<FunctionHeader>) -> Bool {
        guard let f = function(header: header) else { return false }
        return placeCode(index: Int(functionIndexById[Int(f.id)]))
    }

    @discardableResult
    public func placeCode(_ function: FunctionInfo) -> Bool {
        guard Int(function.id) < functionIndexById.count, functionIndexById[Int(function.id)] >= 0 else { return false }
        return placeCode(index: Int(functionIndexById[Int(function.id)]))
    }

    private func placeCode(index i: Int) -> Bool {
        if placed[i] { return true }
        guard let source = lazySource, let parts = lazyParts else { return false }
        let f = functions[i]
        let start = parts.codeSection.lowerBound + parts.headerOffsets[i]
        let range = start..<start + functionHeaderWords * 8 + Int(f.header.pointee.codeWords) * 8
        var ok = false
        if (try? source.ensure(range)) != nil {
            ok = place(i, from: UnsafeRawBufferPointer(start: source.base, count: source.count), at: start)
        }
        if !ok, let fallback = fallback() {
            ok = fallback.withUnsafeBytes { place(i, from: $0, at: start) }
            damaged = damaged || ok
        }
        placed[i] = ok
        return ok
    }

    /// The fallback image's bytes (compiled once), if it has the lazy image's size.
    private func fallback() -> [UInt8]? {
        if fallbackBytes == nil {
            let bytes = fallbackImage?()?.bytes
            fallbackBytes = .some(bytes.flatMap { $0.count == lazySource?.count ? $0 : nil })
        }
        return fallbackBytes!
    }

    /// Checks the function's image header against its row, verifies its words, and copies them
    /// over the `load_code` stub.
    private func place(_ i: Int, from image: UnsafeRawBufferPointer, at start: Int) -> Bool {
        let header = functions[i].header
        let words = Int(header.pointee.codeWords)
        let headerBytes = functionHeaderWords * 8
        guard start >= 0, start + headerBytes + words * 8 <= image.count, let base = image.baseAddress else { return false }
        let imageHeader = base.advanced(by: start).assumingMemoryBound(to: FunctionHeader.self).pointee
        guard imageHeader.frameSize == header.pointee.frameSize, imageHeader.parameterCount == header.pointee.parameterCount,
            imageHeader.functionId == header.pointee.functionId, imageHeader.codeWords == header.pointee.codeWords
        else { return false }
        let code = base.advanced(by: start + headerBytes).assumingMemoryBound(to: UInt64.self)
        do {
            try verifier.verify(
                code: UnsafeBufferPointer(start: code, count: words), frameSize: Int(header.pointee.frameSize),
                functionName: functions[i].name, signature: kinds.signatures[i])
        } catch {
            return false
        }
        UnsafeMutableRawPointer(header).advanced(by: headerBytes).copyMemory(from: code, byteCount: words * 8)
        return true
    }

    /// The source line of the instruction at `word` of `function`, reading the function's line
    /// rows first if the unit was loaded lazily.
    public func line(in function: FunctionInfo, atWord word: Int) -> Int {
        guard Int(function.id) < functionIndexById.count, functionIndexById[Int(function.id)] >= 0 else {
            return function.line(atWord: word)
        }
        let i = Int(functionIndexById[Int(function.id)])
        if let parts = lazyParts, !parts.linesLoaded[i] { loadLines(i, parts) }
        return functions[i].line(atWord: word)
    }

    private func loadLines(_ i: Int, _ parts: LazyParts) {
        let range = parts.linesSection.lowerBound + parts.firstLines[i] * UnitImage.lineSize
            ..< parts.linesSection.lowerBound + (parts.firstLines[i] + parts.lineCounts[i]) * UnitImage.lineSize
        func rows(_ image: UnsafeRawBufferPointer) -> [(word: UInt32, line: UInt32)]? {
            guard range.upperBound <= image.count else { return nil }
            let r = ByteReader(base: image)
            return try? stride(from: range.lowerBound, to: range.upperBound, by: UnitImage.lineSize).map { at in
                (try r.u32(at), try r.u32(at + 4))
            }
        }
        var found: [(word: UInt32, line: UInt32)]? = nil
        if let source = lazySource, (try? source.ensure(range)) != nil {
            found = rows(UnsafeRawBufferPointer(start: source.base, count: source.count))
        }
        if found == nil, let fallback = fallback() {
            found = fallback.withUnsafeBytes { rows($0) }
            damaged = damaged || found != nil
        }
        functions[i].lines = ArraySlice(found ?? [])
        var updated = parts
        updated.linesLoaded[i] = true
        lazyParts = updated
    }

    private struct LoadedParts {
        var lazy: LazyParts?
        var sourcePath: String
        var table: UnsafeMutablePointer<UInt64>
        var entryKinds: [AddressTableEntryKind]
        /// What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds: [AddressTableEntryKind]
        var kinds: UnitKinds
        var entryNames: [Int: String]
        var importedKinds: [Int: AddressTableEntryKind]
        var imports: [(slot: Int, symbol: ImportedSymbol)]
        var interface: [UInt8]
        var symbols: [(name: String, id: UInt32)]
        var functions: [FunctionInfo]
        var foreign: [Int: ForeignFunction]
        var memory: UnsafeMutableRawPointer
        var memorySize: Int
    }

    private static func decode(
        _ r: ByteReader, resolver: SymbolResolver, lazy source: UnitImageSource?
    ) throws(ImageError) -> LoadedParts {
        guard r.base.count >= UnitImage.headerSize else { throw .truncated }
        // Lazily: fetch (and check) a range of the image before reading it.
        func need(_ range: Range<Int>) throws(ImageError) {
            guard let source else { return }
            do {
                try source.ensure(range)
            } catch {
                throw .malformed("unit image: \(error)")
            }
        }
        try need(0..<UnitImage.headerSize)
        for (i, m) in UnitImage.magic.enumerated() where try r.u8(i) != m { throw .badMagic }
        let version = try r.u32(8)
        guard version == UnitImage.formatVersion else { throw .unsupportedVersion(version) }
        let entryCount = Int(try r.u32(12))
        let symbolCount = Int(try r.u32(16))
        let functionCount = Int(try r.u32(20))
        let globalCount = Int(try r.u32(24))
        var sections: [Range<Int>] = []
        for s in UnitImage.Section.allCases {
            let offset = Int(try r.u32(32 + s.rawValue * 8))
            let length = Int(try r.u32(32 + s.rawValue * 8 + 4))
            sections.append(try r.range(offset, length))
        }
        func section(_ s: UnitImage.Section) -> Range<Int> { sections[s.rawValue] }
        guard section(.entries).count == entryCount * UnitImage.entrySize,
            section(.symbols).count == symbolCount * UnitImage.symbolSize,
            section(.functions).count == functionCount * UnitImage.functionSize,
            section(.globals).count == globalCount * UnitImage.globalSize,
            section(.code).count % 8 == 0, section(.lines).count % UnitImage.lineSize == 0
        else { throw .malformed("section sizes do not match their counts") }
        for s in UnitImage.Section.allCases where s != .code && s != .lines { try need(section(s)) }
        let strings = section(.strings)
        func string(_ offset: UInt32, _ length: UInt32) throws(ImageError) -> String {
            guard Int(offset) <= strings.count, Int(length) <= strings.count - Int(offset) else {
                throw .truncated
            }
            return try r.string(strings.lowerBound + Int(offset), Int(length))
        }
        // The source path is the first string; the header's last word holds its length.
        let pathLength = try r.u32(28)
        let sourcePath = try string(0, pathLength)

        // Allocate: table, globals, code, data.
        let tableBytes = entryCount * 8
        let globalsBytes = globalCount * 8
        let codeRange = section(.code)
        let dataRange = section(.data)
        let codeAt = tableBytes + globalsBytes
        let dataAt = codeAt + codeRange.count
        let total = dataAt + dataRange.count
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(total, 16), alignment: 16)
        var ok = false
        defer { if !ok { memory.deallocate() } }
        // Zero the table and globals; code and data are copied over whole (lazily: each
        // function's code when it is placed, `placeCode`).
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(codeAt, 16))
        let table = memory.bindMemory(to: UInt64.self, capacity: entryCount + globalCount)
        let globalsBase = table + entryCount
        if source == nil {
            memory.advanced(by: codeAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: codeRange.lowerBound), byteCount: codeRange.count)
        }
        if !dataRange.isEmpty {
            memory.advanced(by: dataAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: dataRange.lowerBound), byteCount: dataRange.count)
        }

        // AddressTable.
        var kinds: [AddressTableEntryKind] = []
        kinds.reserveCapacity(entryCount)
        var names: [Int: String] = [:]
        var importedKinds: [Int: AddressTableEntryKind] = [:]
        var imports: [(slot: Int, symbol: ImportedSymbol)] = []
        // What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds: [AddressTableEntryKind] = []
        verifiedKinds.reserveCapacity(entryCount)
        var foreign: [Int: ForeignFunction] = [:]
        // Header offset in code of each function entry, by Id (-1: not a function).
        var headerOffsetById = [Int](repeating: -1, count: entryCount)
        var functionEntryCount = 0
        // Global index of each global entry, by Id (-1: not a global), for the kind check.
        var globalIndexById = [Int](repeating: -1, count: entryCount)
        for id in 0..<entryCount {
            let at = section(.entries).lowerBound + id * UnitImage.entrySize
            guard let kind = AddressTableEntryKind(rawValue: try r.u8(at)) else {
                throw .malformed("entry \(id) has an unknown kind")
            }
            let a = try r.u32(at + 4)
            let b = try r.u64(at + 8)
            kinds.append(kind)
            var importedKind: AddressTableEntryKind? = nil
            if kind == .imported {
                importedKind = AddressTableEntryKind(rawValue: try r.u8(at + 1))
                guard importedKind == .function || importedKind == .global else {
                    throw .malformed("imported entry \(id) names neither a function nor a global")
                }
            }
            verifiedKinds.append(importedKind ?? kind)
            switch kind {
            case .function:
                guard b % 8 == 0, b <= UInt64(codeRange.count),
                    UInt64(codeRange.count) - b >= UInt64(functionHeaderWords * 8)
                else { throw .malformed("function entry \(id) is outside the code") }
                headerOffsetById[id] = Int(b)
                functionEntryCount += 1
                table[id] = UInt64(UInt(bitPattern: memory.advanced(by: codeAt + Int(b)))) | bytecodeEntryTag
            case .global:
                guard Int(a) < globalCount else { throw .malformed("global entry \(id) out of range") }
                globalIndexById[id] = Int(a)
                table[id] = UInt64(UInt(bitPattern: globalsBase + Int(a)))
            case .constant:
                guard b <= UInt64(dataRange.count), UInt64(a) <= UInt64(dataRange.count) - b, a > 0 else {
                    throw .malformed("constant entry \(id) is outside the data")
                }
                // Str constants are read as C strings: the last byte must be the NUL.
                guard r.base[dataRange.lowerBound + Int(b) + Int(a) - 1] == 0 else {
                    throw .malformed("constant entry \(id) is not NUL-terminated")
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
                        throw .malformed("foreign entry \(id) has a bad signature")
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

        // Globals' initial values.
        var globalIsString = [Bool](repeating: false, count: globalCount)
        for g in 0..<globalCount {
            let at = section(.globals).lowerBound + g * UnitImage.globalSize
            let kind = try r.u8(at)
            let value = try r.u64(at + 8)
            switch kind {
            case 0:
                globalsBase[g] = value
            case 1:
                guard value < UInt64(entryCount), kinds[Int(value)] == .constant else {
                    throw .malformed("global \(g) refers to a non-constant")
                }
                globalsBase[g] = table[Int(value)]
                globalIsString[g] = true
            default:
                throw .malformed("global \(g) has an unknown initialiser kind")
            }
        }

        // SymbolTable.
        var symbols: [(name: String, id: UInt32)] = []
        symbols.reserveCapacity(symbolCount)
        for s in 0..<symbolCount {
            let at = section(.symbols).lowerBound + s * UnitImage.symbolSize
            let name = try string(try r.u32(at), try r.u32(at + 4))
            let id = try r.u32(at + 8)
            guard Int(id) < entryCount, kinds[Int(id)] == .function || kinds[Int(id)] == .global else {
                throw .malformed("symbol `\(name)` names a bad Id")
            }
            symbols.append((name, id))
        }

        // Functions: check each header against its row, fill in the absolute fields, verify code.
        let lineRange = section(.lines)
        let lineRowCount = lineRange.count / UnitImage.lineSize
        // One line table for the unit; each function gets a slice of it.
        var lineTable: [(word: UInt32, line: UInt32)] = []
        lineTable.reserveCapacity(source == nil ? lineRowCount : 0)
        for row in 0..<(source == nil ? lineRowCount : 0) {
            let rowAt = lineRange.lowerBound + row * UnitImage.lineSize
            lineTable.append((try r.u32(rowAt), try r.u32(rowAt + 4)))
        }
        var functions: [FunctionInfo] = []
        functions.reserveCapacity(functionCount)
        var lazy = source.map { _ in
            LazyParts(
                codeSection: codeRange, linesSection: lineRange, headerOffsets: [], firstLines: [], lineCounts: [],
                linesLoaded: Array(repeating: false, count: functionCount))
        }
        var seen = [Bool](repeating: false, count: entryCount)
        for f in 0..<functionCount {
            let at = section(.functions).lowerBound + f * UnitImage.functionSize
            let id = try r.u32(at)
            let name = try string(try r.u32(at + 4), try r.u32(at + 8))
            let headerOffset = Int(try r.u32(at + 12))
            let codeWords = Int(try r.u32(at + 16))
            let frameSize = Int(try r.u16(at + 20))
            let parameterCount = Int(try r.u16(at + 22))
            let firstLine = Int(try r.u32(at + 24))
            let lineCount = Int(try r.u32(at + 28))
            guard Int(id) < entryCount, headerOffsetById[Int(id)] == headerOffset, !seen[Int(id)] else {
                throw .malformed("function `\(name)` does not match its AddressTable entry")
            }
            seen[Int(id)] = true
            let headerBytes = functionHeaderWords * 8
            guard codeWords <= (codeRange.count - headerOffset - headerBytes) / 8 else {
                throw .malformed("function `\(name)` runs past the code")
            }
            guard frameSize <= maximumFrameSize, parameterCount <= frameSize else {
                throw .malformed("function `\(name)` has a bad frame size")
            }
            guard firstLine <= lineRowCount, lineCount <= lineRowCount - firstLine else {
                throw .malformed("function `\(name)` has bad line rows")
            }
            let header = memory.advanced(by: codeAt + headerOffset).assumingMemoryBound(to: FunctionHeader.self)
            if source != nil {
                // Lazily: the header from the row (`placeCode` checks the image's against it),
                // and `load_code` where the code will go.
                guard codeWords > 0 else { throw .malformed("function `\(name)` is empty") }
                header.initialize(to: FunctionHeader(
                    addressTable: table, unit: nil, frameSize: UInt32(frameSize), parameterCount: UInt32(parameterCount),
                    functionId: id, codeWords: UInt32(codeWords), hotness: 0))
                UnsafeMutableRawPointer(header).advanced(by: headerBytes).storeBytes(
                    of: UInt64(Opcode.loadCode.rawValue), as: UInt64.self)
                lazy!.headerOffsets.append(headerOffset)
                lazy!.firstLines.append(firstLine)
                lazy!.lineCounts.append(lineCount)
                functions.append(FunctionInfo(id: id, name: name, header: header, lines: []))
                continue
            }
            guard header.pointee.frameSize == UInt32(frameSize), header.pointee.parameterCount == UInt32(parameterCount),
                header.pointee.functionId == id, header.pointee.codeWords == UInt32(codeWords)
            else { throw .malformed("function `\(name)` header disagrees with its row") }
            header.pointee.addressTable = table
            header.pointee.hotness = 0
            functions.append(
                FunctionInfo(id: id, name: name, header: header, lines: lineTable[firstLine..<firstLine + lineCount]))
        }
        // Each function entry has exactly one row, and no two functions' headers and code
        // overlap: otherwise unverified words could be reached, or verified words rewritten.
        // (Ids are unique: `seen` above.)
        guard functions.count == functionEntryCount else {
            throw .malformed("function entries and function rows do not match")
        }
        var extents = functions.map { f in
            let start = UnsafeRawPointer(f.header) - UnsafeRawPointer(memory.advanced(by: codeAt))
            return (start, start + functionHeaderWords * 8 + Int(f.header.pointee.codeWords) * 8)
        }
        // The encoder writes functions in code order; sort only what is not.
        if zip(extents, extents.dropFirst()).contains(where: { $0.0 > $1.0 }) { extents.sort { $0.0 < $1.0 } }
        for (a, b) in zip(extents, extents.dropFirst()) where a.1 > b.0 {
            throw .malformed("functions overlap in the code section")
        }
        // Verify: each function's structure, then its kinds against the declared signatures
        // (`Verifier+Kinds.swift`); lazily, each function when it is placed.
        let unitKinds = try UnitKinds(
            entryKinds: kinds, entryNames: names,
            globalIsString: globalIndexById.map { $0 >= 0 && globalIsString[$0] }, imports: imports,
            importedKinds: importedKinds,
            functions: functions.map { ($0.id, $0.name, Int($0.header.pointee.parameterCount)) },
            interface: Array(r.base[section(.interface)]))
        if source == nil {
            var verifier = Verifier(entryKinds: verifiedKinds, kinds: unitKinds)
            for (i, f) in functions.enumerated() {
                let code = UnsafeRawPointer(f.header).advanced(by: functionHeaderWords * 8)
                    .assumingMemoryBound(to: UInt64.self)
                try verifier.verify(
                    code: UnsafeBufferPointer(start: code, count: Int(f.header.pointee.codeWords)),
                    frameSize: Int(f.header.pointee.frameSize), functionName: f.name,
                    signature: unitKinds.signatures[i])
            }
        }
        ok = true
        return LoadedParts(
            lazy: lazy, sourcePath: sourcePath, table: table, entryKinds: kinds, verifiedKinds: verifiedKinds,
            kinds: unitKinds,
            entryNames: names, importedKinds: importedKinds, imports: imports,
            interface: Array(r.base[section(.interface)]), symbols: symbols,
            functions: functions, foreign: foreign, memory: memory, memorySize: total)
    }
}

/// Where a lazily loaded unit's image comes from (`LoadedUnit(lazy:resolver:)`): `count` bytes at
/// `base`, of which only the ranges `ensure` has made valid may be read. `ensure` must check
/// what it fetches (the cache hash-checks each chunk) and throw when it cannot.
public protocol UnitImageSource: AnyObject {
    var count: Int { get }
    var base: UnsafeRawPointer { get }
    func ensure(_ range: Range<Int>) throws
}
