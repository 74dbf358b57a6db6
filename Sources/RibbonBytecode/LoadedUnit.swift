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

/// A unit image placed in fresh memory and relocated: the AddressTable holds absolute
/// addresses, function headers point at it, globals are initialised. Owns its memory.
///
/// Memory layout of one allocation, 16-byte aligned: `[AddressTable][globals][code][data]`
/// when the image is loaded at once; `[AddressTable][globals][stub][data]` when it is loaded
/// lazily (`init(lazy:)`), where every function starts as the one stub — a header and one
/// `load_code` word — and gets memory of its own, with its verified code, when placed.
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
    /// The image's `interface` section: what files that use this one are checked against
    /// (read from the image on first use when loaded lazily; empty if it cannot be read).
    public var interface: [UInt8] {
        guard lazySource != nil else { return interfaceBytes }
        let range = layout.interface
        return read(range) { Array($0[range]) } ?? []
    }
    private let interfaceBytes: [UInt8]
    /// What the verifier checks registers against: each function's declared signature, and
    /// what each Id holds or takes. Units that import from this one check their uses with it.
    public private(set) var kinds = UnitKinds()
    /// The image's `kinds` section, when loaded at once (lazily it is read on demand).
    private let kindsBytes: [UInt8]
    /// What the verifier checks each Id against: an import counts as what it names.
    private let verifiedKinds: [AddressTableEntryKind]
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
    /// The SymbolTable in image order (read from the image on first use when loaded lazily).
    public private(set) lazy var symbolList: [(name: String, id: UInt32)] = readSymbols()
    /// Every function, in image order. For a lazily loaded unit this reads every function's
    /// row; a run asks `function(id:)` for the few it needs.
    public var functions: [FunctionInfo] { (0..<functionCount).compactMap { info(index: $0) } }
    public let functionCount: Int
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
        /// Address of the function's `FunctionHeader` in loaded memory: for a lazily loaded
        /// function not placed yet, its stub's (`LoadedUnit.placed(_:)` gives the placed one).
        public var header: UnsafeMutablePointer<FunctionHeader>
        /// Its instruction words (a stub's header says 1).
        public var codeWords: Int
        /// (word index, line) rows, ascending by word (a slice of the unit's one line table).
        public var lines: ArraySlice<(word: UInt32, line: UInt32)>
        /// Where its parts are in the image: its header in `code`, its rows in `lines`, its
        /// signature in `kinds`.
        var headerOffset: Int
        var firstLine: Int
        var lineCount: Int
        var kindsOffset: Int

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
    /// `sourcePath` is the file as this run found it, which backtraces name: an image holds no
    /// path (it may have been compiled from another spelling of it, or on another machine).
    public convenience init(image: UnitImage, resolver: SymbolResolver, sourcePath: String = "") throws(ImageError) {
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
        // Verify every function: its structure, then its kinds against the declared signatures
        // (`Verifier+Kinds.swift`). A lazily loaded unit verifies each function when it places it.
        for i in 0..<functionCount {
            let f = rows[i]!
            let code = UnsafeRawPointer(f.header).advanced(by: functionHeaderWords * 8).assumingMemoryBound(to: UInt64.self)
            try verifier.verify(
                code: UnsafeBufferPointer(start: code, count: f.codeWords), frameSize: Int(f.header.pointee.frameSize),
                functionName: f.name, signature: try signature(index: i))
        }
    }

    /// Loads a unit lazily from `source`: now only the AddressTable, the globals, the data and
    /// a stub per frame size; each function's row (name, lines, signature) when something asks
    /// for the function, its code (verified, in memory of its own) when it first runs or is
    /// compiled (`placed(_:)`), its line rows when a backtrace needs them, the symbols when one
    /// is looked up. Throws as `init(image:)` for what it reads now.
    public convenience init(lazy source: UnitImageSource, resolver: SymbolResolver, sourcePath: String = "") throws(ImageError) {
        let loaded = try LoadedUnit.decode(
            ByteReader(base: UnsafeRawBufferPointer(start: source.base, count: source.count)), resolver: resolver,
            lazy: source)
        self.init(loaded, source: source, sourcePath: sourcePath)
    }

    private init(_ loaded: LoadedParts, source: UnitImageSource?, sourcePath: String) {
        lazySource = source
        layout = loaded.layout
        functionCount = loaded.layout.functionCount
        rows = loaded.rows
        stub = loaded.stub
        numbering = loaded.numbering
        placedHeaders = PlacedHeaders(count: loaded.layout.functionCount)
        if source == nil {
            for i in 0..<loaded.layout.functionCount { placedHeaders[i] = loaded.rows[i]!.header }
        }
        verifiedKinds = loaded.verifiedKinds
        interfaceBytes = loaded.interface
        kindsBytes = loaded.kindsBytes
        self.sourcePath = sourcePath
        addressTable = loaded.table
        entryCount = loaded.entryKinds.count
        entryKinds = loaded.entryKinds
        entryNames = loaded.entryNames
        importedKinds = loaded.importedKinds
        foreignFunctions = loaded.foreign
        memory = loaded.memory
        memorySize = loaded.memorySize
        var exporters: [LoadedUnit] = []
        for link in loaded.imports {
            guard let exporter = link.symbol.unit, !exporters.contains(where: { $0 === exporter }) else { continue }
            exporters.append(exporter)
        }
        importedUnits = exporters
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        if let stub {
            stub.pointee.unit = unmanaged
        } else {
            for i in 0..<functionCount { rows[i]!.header.pointee.unit = unmanaged }
        }
        for link in loaded.imports where loaded.importedKinds[link.slot] == .function {
            guard let exporter = link.symbol.unit else { continue }
            let slot = loaded.table + link.slot
            exporter.importerSlots[link.symbol.id, default: []].append(slot)
            linkedSlots.append((exporter, link.symbol.id, slot))
        }
        if let symbols = loaded.symbols { symbolList = symbols }
        let stringGlobals = Set(loaded.globalIsString)
        kinds = UnitKinds(
            entryKinds: loaded.entryKinds, entryNames: loaded.entryNames, globalIsString: { stringGlobals.contains($0) },
            imports: loaded.imports, importedKinds: loaded.importedKinds,
            functionIndex: { [unowned self] id in numbering.row(ofId: id) },
            signature: { [unowned self] (index) throws(ImageError) in try signature(index: index) })
    }

    deinit {
        for (exporter, id, slot) in linkedSlots {
            exporter.importerSlots[id]?.removeAll { $0 == slot }
        }
        for block in placedMemory { block.deallocate() }
        LoadedUnit.release(memory, lazy: lazySource != nil, size: memorySize)
    }

    /// The unit's memory: from the allocator when loaded at once or small (zeroed when lazy:
    /// then the table and globals are not written now); a large lazy unit's, a mapping
    /// populated in one call (the AddressTable and the stub, all written now: one system call
    /// instead of a page fault per page). A program of many small files loads thousands of
    /// units, for which a mapping each cost two system calls and a page fault.
    static func allocate(_ size: Int, lazy: Bool) -> UnsafeMutableRawPointer? {
        guard lazy, size >= mappedBytes else {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(size, 16), alignment: 16)
            if lazy { memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 16)) }
            return memory
        }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        return mapped
    }

    static func release(_ memory: UnsafeMutableRawPointer, lazy: Bool, size: Int) {
        if lazy, size >= mappedBytes { munmap(memory, size) } else { memory.deallocate() }
    }

    /// Lazily loaded units at least this big are mapped (`allocate`).
    static let mappedBytes = 64 << 10

    /// Sets a function's AddressTable entry, and every other unit's slot that imports it: how
    /// the JIT swaps machine code in (calls from other units go through their own slots).
    public func setEntry(_ id: UInt32, to value: UInt64) {
        addressTable[Int(id)] = value
        for slot in importerSlots[id] ?? [] { slot.pointee = value }
    }

    /// Function rows by Id and Ids by row; the JIT resolves thousands.
    private let numbering: FunctionNumbering

    /// The function with this Id, if the Id names one of this unit's functions (nil too when
    /// a lazily loaded unit's row for it cannot be read).
    public func function(id: UInt32) -> FunctionInfo? {
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)) else { return nil }
        return info(index: index)
    }

    /// The function whose header is at `header`, for backtraces and tier-up (nil for a stub).
    public func function(header: UnsafePointer<FunctionHeader>) -> FunctionInfo? {
        let id = header.pointee.functionId
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)), let f = info(index: index) else {
            return nil
        }
        if UnsafePointer(f.header) == header { return f }
        return nil
    }

    /// The Id of a function or global this unit defines, by name (no dictionary is built; a
    /// lazily loaded unit compares the names' bytes in the image).
    /// Name → Id for linking a unit that uses this one: through the symbol index while a lazily
    /// loaded unit has not read its SymbolTable (a file links the few names it uses; building
    /// the whole dictionary for each of a thousand files was 3% of such a program's warm run),
    /// else the dictionary.
    public func exportedId(named name: String) -> UInt32? {
        if lazySource != nil, !symbolsRead { return symbol(named: name) }
        return symbols[name]
    }

    public func symbol(named name: String) -> UInt32? {
        guard lazySource != nil, !symbolsRead else { return symbolList.first { $0.name == name }?.id }
        var wanted = name
        return wanted.withUTF8 { wanted in findSymbol(wanted) }
    }

    /// The unit a function header belongs to.
    public static func owning(_ header: UnsafePointer<FunctionHeader>) -> LoadedUnit? {
        guard let unit = header.pointee.unit else { return nil }
        return Unmanaged<LoadedUnit>.fromOpaque(unit).takeUnretainedValue()
    }

    // MARK: Lazy loading

    /// Where a lazily loaded unit's image comes from (nil: everything was loaded at once).
    private let lazySource: UnitImageSource?
    /// Where the image's sections are.
    private let layout: Layout
    /// Per function (row index): its row, once read (all of them when loaded at once).
    private let rows: RowTable
    /// Lazily: the stub every function's entry holds until the function is placed.
    private let stub: UnsafeMutablePointer<FunctionHeader>?
    /// Lazily: the rows whose function entry was read (for the warm set, `usedImageRanges`).
    private var entriesRead: [Int] = []
    /// Per function (row index): its header once its code is placed (all of them when eager).
    private let placedHeaders: PlacedHeaders
    /// The memory of each placed function (lazily), freed with the unit.
    private var placedMemory: [UnsafeMutableRawPointer] = []
    private var symbolsRead = false
    private lazy var verifier = Verifier(entryKinds: verifiedKinds, kinds: kinds)
    /// Gives the same image compiled afresh from the source, for when a part of the lazy one
    /// fails its checks (or its row is gone) in the middle of a run. It must give exactly the
    /// stored bytes — the caller proves it by the stored image's SHA-256 — or nil: parts of two
    /// different images must never be spliced into one unit.
    public var fallbackImage: (() -> UnitImage?)? = nil
    private var fallbackBytes: [UInt8]?? = nil
    /// A part of the lazy image failed its checks and the fallback was used: the stored entry
    /// should be replaced.
    public private(set) var damaged = false
    /// A part of the lazy image could not be read and there was no identical fallback (the
    /// source changed since the key was made, or it no longer compiles): what the unit was
    /// asked for then is missing — a function stays unplaced, a name unknown — so the run
    /// cannot go on faithfully. The driver stops it with an internal error (`Driver.execute`).
    public private(set) var unavailable = false

    /// Called with a function's Id right after it is placed (lazily loaded units only), before
    /// it runs: the driver installs the function's machine code from the cache here, so that
    /// machine code loads only for functions that run (`Driver.installCachedCodeOnPlacement`).
    public var onPlaced: ((UInt32) -> Void)? = nil

    /// A stub: a function header and one `load_code` word.
    static let stubBytes = functionHeaderWords * 8 + 8

    /// A lazily loaded unit's functions all start as one stub: its header has frame size 0 (the
    /// caller's stack check passes; `load_code` checks the placed function's own frame) and
    /// this Id, which is no function's, and its one word is `load_code`, which finds the
    /// function from the call that got there (`placedCallee`). So loading writes the same
    /// value into every function's slot and reads none of their entries.
    public static let stubId = UInt32.max

    /// What function `i`'s AddressTable entry says: its Id, frame size, parameter count, and
    /// where its header is in `code` and its signature in `kinds`. Lazily from the entry itself
    /// (the entries stay in the image's mapping); when loaded at once, from its row and header.
    struct FunctionEntry {
        var id: UInt32
        var frameSize: UInt32
        var parameterCount: UInt32
        var headerOffset: Int
        var kindsOffset: Int
    }

    /// Nil if a lazily read entry is not a function entry for row `i` with its header inside
    /// `code` (the function prefix's entries are first read here; the others were checked at
    /// load, and are checked again).
    private func entry(ofFunction i: Int) -> FunctionEntry? {
        guard lazySource != nil else {
            let f = rows[i]!
            return FunctionEntry(
                id: f.id, frameSize: f.header.pointee.frameSize, parameterCount: f.header.pointee.parameterCount,
                headerOffset: f.headerOffset, kindsOffset: f.kindsOffset)
        }
        let id = numbering.id(ofRow: i)
        let at = layout.entries.lowerBound + Int(id) * UnitImage.entrySize
        let code = layout.code
        entriesRead.append(i)
        return read(at..<at + UnitImage.entrySize) { image -> FunctionEntry? in
            let frameSize = image.load(fromByteOffset: at + 1, as: UInt8.self)
            let parameterCount = image.load(fromByteOffset: at + 2, as: UInt8.self)
            let b = UInt64(littleEndian: image.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
            let headerOffset = Int(b & 0xFFFF_FFFF)
            guard image.load(fromByteOffset: at, as: UInt8.self) == AddressTableEntryKind.function.rawValue,
                UInt32(littleEndian: image.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)) == UInt32(i),
                parameterCount <= frameSize, headerOffset % 8 == 0,
                headerOffset <= code.count - functionHeaderWords * 8
            else { return nil }
            return FunctionEntry(
                id: id, frameSize: UInt32(frameSize), parameterCount: UInt32(parameterCount),
                headerOffset: headerOffset, kindsOffset: Int(b >> 32))
        }
    }

    /// For the interpreter's `load_code` in the stub: the function that the `call` word
    /// at `callPC` of the function `caller` calls, placed (its own, or the one it imports).
    public static func placedCallee(
        callPC: UnsafePointer<UInt64>, caller: UnsafePointer<FunctionHeader>
    ) -> UnsafeMutablePointer<FunctionHeader>? {
        guard let unit = owning(caller) else { return nil }
        let id = Int(truncatingIfNeeded: callPC.pointee >> 32)
        guard id >= 0, id < unit.entryCount else { return nil }
        switch unit.entryKinds[id] {
        case .function:
            guard let index = unit.numbering.row(ofId: id) else { return nil }
            return unit.place(index: index)
        case .imported:
            guard let link = unit.linkedSlots.first(where: { $0.slot == unit.addressTable + id }) else { return nil }
            let exporter = link.exporter
            guard Int(link.id) < exporter.entryCount, let index = exporter.numbering.row(ofId: Int(link.id)) else {
                return nil
            }
            return exporter.place(index: index)
        default:
            return nil
        }
    }

    /// Function rows by index, as far as they have been read: the rows read, and a slot per
    /// index (its place in `read` plus one; 0: not read yet), in zero-filled memory that a
    /// lazily loaded unit of 5,000 functions touches only for the rows it reads.
    final class RowTable {
        private let slots: ZeroFilledWords
        private var read: [FunctionInfo] = []

        init(count: Int) { slots = ZeroFilledWords(count: count) }

        init(all: [FunctionInfo]) {
            read = all
            slots = ZeroFilledWords(count: all.count)
            for i in 0..<all.count { slots[i] = UInt64(i + 1) }
        }

        subscript(index: Int) -> FunctionInfo? {
            get { slots[index] == 0 ? nil : read[Int(slots[index]) - 1] }
            set {
                guard let newValue else { return }
                if slots[index] == 0 {
                    read.append(newValue)
                    slots[index] = UInt64(read.count)
                } else {
                    read[Int(slots[index]) - 1] = newValue
                }
            }
        }
    }

    /// Per function row: its header once its code is placed (all of them when loaded at once),
    /// in zero-filled memory like `RowTable`'s slots.
    struct PlacedHeaders {
        private let words: ZeroFilledWords

        init(count: Int) { words = ZeroFilledWords(count: count) }

        subscript(index: Int) -> UnsafeMutablePointer<FunctionHeader>? {
            get { UnsafeMutablePointer(bitPattern: UInt(words[index])) }
            nonmutating set { words[index] = UInt64(UInt(bitPattern: newValue)) }
        }

        /// How many are placed (reads every slot).
        var count: Int { (0..<words.count).reduce(0) { $0 + (words[$1] == 0 ? 0 : 1) } }
    }

    /// Where the sections of the image are, and how many functions and symbols it has.
    struct Layout {
        var functionCount = 0
        var symbolCount = 0
        var entries = 0..<0
        var symbolIndex = 0..<0
        var symbols = 0..<0
        var functions = 0..<0
        var code = 0..<0
        var strings = 0..<0
        var lines = 0..<0
        var interface = 0..<0
        var kinds = 0..<0
    }

    /// The parts of the image this run has used, for the cache to read first next time: the
    /// code and signature of every function that was called (or placed), the entries that were
    /// read (those functions' and their callees'), and what finding and calling `main` reads
    /// (its symbol-index slots, symbol, name and row).
    public func usedImageRanges() -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        let main = symbol(named: "main").flatMap { Int($0) < entryCount ? numbering.row(ofId: Int($0)) : nil }
        for i in Set(entriesRead) {
            let at = layout.entries.lowerBound + Int(numbering.id(ofRow: i)) * UnitImage.entrySize
            ranges.append(at..<at + UnitImage.entrySize)
        }
        for i in 0..<functionCount {
            let called = lazySource == nil ? (rows[i]?.header.pointee.hotness ?? 0) > 0 : placedHeaders[i] != nil
            guard called || i == main, let entry = entry(ofFunction: i) else { continue }
            let parameters = Int(entry.parameterCount)
            let code = layout.code.lowerBound + entry.headerOffset
            let words = rows[i]?.codeWords ?? Int(placedHeaders[i]?.pointee.codeWords ?? 0)
            ranges.append(code..<code + functionHeaderWords * 8 + words * 8)
            let kinds = layout.kinds.lowerBound + entry.kindsOffset
            ranges.append(kinds..<kinds + 3 + parameters)
            if i == main {
                let row = layout.functions.lowerBound + i * UnitImage.functionSize
                ranges.append(row..<row + UnitImage.functionSize)
            }
        }
        // `symbol(named: "main")`: the first slots of its probe, the symbol rows, the name.
        if let mainSymbol = symbolList.firstIndex(where: { $0.name == "main" }) {
            let slots = layout.symbolIndex
            let slotCount = max(1, (slots.count - 4) / 4)
            if slots.count > 4, slotCount & (slotCount - 1) == 0 {
                let first = Int(UnitImage.nameHash("main".utf8)) & (slotCount - 1)
                ranges.append(slots.lowerBound..<slots.lowerBound + 4)
                ranges.append(slots.lowerBound + 4 + first * 4..<slots.lowerBound + 4 + min(slotCount, first + 8) * 4)
            }
            let symbol = layout.symbols.lowerBound + mainSymbol * UnitImage.symbolSize
            ranges.append(symbol..<symbol + UnitImage.symbolSize)
        }
        return ranges
    }

    /// Functions whose code has been placed (all of them when loaded at once).
    public var placedCount: Int { placedHeaders.count }

    /// Makes sure the function's code is in place, checked and verified (for a lazily loaded
    /// unit; always true otherwise). False only if neither the image nor the fallback gives
    /// code that passes the checks.
    @discardableResult
    public func placeCode(_ function: FunctionInfo) -> Bool {
        guard Int(function.id) < entryCount, let index = numbering.row(ofId: Int(function.id)) else { return false }
        return place(index: index) != nil
    }

    /// The function with its code in place, checked and verified (a lazily loaded unit places
    /// it now, in memory of its own, and points its AddressTable entry there unless machine
    /// code is already in it). Nil only if neither the image nor the fallback gives code that
    /// passes the checks.
    public func placed(_ function: FunctionInfo) -> FunctionInfo? { placed(id: function.id) }

    public func placed(id: UInt32) -> FunctionInfo? {
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)) else { return nil }
        guard place(index: index) != nil else { return nil }
        return info(index: index)
    }

    /// Places function `i` (lazily: its code from the image, checked against its stub,
    /// verified, in memory of its own; no row is read) and returns its header.
    private func place(index i: Int) -> UnsafeMutablePointer<FunctionHeader>? {
        if let header = placedHeaders[i] { return header }
        guard let stub, let entry = entry(ofFunction: i) else { return nil }
        let headerBytes = functionHeaderWords * 8
        let start = layout.code.lowerBound + entry.headerOffset
        let code = layout.code
        // The image's header says how many words follow it.
        guard let words = read(start..<start + headerBytes, body: { image -> Int? in
            let words = Int(image.loadUnaligned(fromByteOffset: start + 28, as: UInt32.self))
            return words > 0 && words <= (code.upperBound - start - headerBytes) / 8 ? words : nil
        }) else { return nil }
        let signature = try? signature(index: i, entry: entry)
        let block = UnsafeMutableRawPointer.allocate(byteCount: headerBytes + words * 8, alignment: 16)
        guard let signature, read(start..<start + headerBytes + words * 8, body: { image in
            place(i, entry: entry, words: words, signature: signature, from: image, at: start, into: block) ? true : nil
        }) != nil else {
            block.deallocate()
            return nil
        }
        placedMemory.append(block)
        let header = block.assumingMemoryBound(to: FunctionHeader.self)
        placedHeaders[i] = header
        rows[i]?.header = header
        // Callers now find the code; machine code already in the entry stays.
        if addressTable[Int(entry.id)] == UInt64(UInt(bitPattern: stub)) | bytecodeEntryTag {
            setEntry(entry.id, to: UInt64(UInt(bitPattern: header)) | bytecodeEntryTag)
        }
        // Placed first, so that machine code installed here finds the header it refers to.
        onPlaced?(entry.id)
        return header
    }

    /// Checks the function's image header against its stub, verifies its words, and copies
    /// header and words into `block`.
    private func place(
        _ i: Int, entry: FunctionEntry, words: Int, signature: KindSignature,
        from image: UnsafeRawBufferPointer, at start: Int, into block: UnsafeMutableRawPointer
    ) -> Bool {
        let headerBytes = functionHeaderWords * 8
        guard start >= 0, start + headerBytes + words * 8 <= image.count, let base = image.baseAddress else { return false }
        var header = base.advanced(by: start).loadUnaligned(as: FunctionHeader.self)
        guard header.frameSize == entry.frameSize, header.parameterCount == entry.parameterCount,
            header.functionId == entry.id, header.codeWords == UInt32(words)
        else { return false }
        let code = base.advanced(by: start + headerBytes).assumingMemoryBound(to: UInt64.self)
        do {
            try verifier.verify(
                code: UnsafeBufferPointer(start: code, count: words), frameSize: Int(header.frameSize),
                functionName: self.functionName(i), signature: signature)
        } catch {
            return false
        }
        header.addressTable = addressTable
        header.unit = Unmanaged.passUnretained(self).toOpaque()
        header.hotness = 0
        block.storeBytes(of: header, as: FunctionHeader.self)
        block.advanced(by: headerBytes).copyMemory(from: code, byteCount: words * 8)
        return true
    }

    /// Function `i`'s name (for messages), reading its row if need be.
    private func functionName(_ i: Int) -> String {
        info(index: i)?.name ?? "#\(i)"
    }

    /// `body` applied to the image once `ranges` of it can be read: the lazy image if they
    /// fetch and `body` accepts it (non-nil), else the fallback (then the unit counts as damaged).
    private func read<T>(_ ranges: Range<Int>..., body: (UnsafeRawBufferPointer) -> T?) -> T? {
        guard let source = lazySource, ranges.allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= source.count }) else {
            return nil
        }
        if ranges.allSatisfy({ (try? source.ensure($0)) != nil }),
            let result = body(UnsafeRawBufferPointer(start: source.base, count: source.count))
        {
            return result
        }
        // No fallback yet (a lookup placing what it expects to run): the caller tries again
        // when the function is needed, by then with one.
        guard fallbackImage != nil else { return nil }
        guard let fallback = fallback() else {
            unavailable = true
            return nil
        }
        let result = fallback.withUnsafeBytes { body($0) }
        if result != nil { damaged = true }
        return result
    }

    /// The fallback image's bytes (compiled once), if it has the lazy image's size (the caller
    /// of `fallbackImage` has checked its hash against the stored one).
    private func fallback() -> [UInt8]? {
        if fallbackBytes == nil {
            let bytes = fallbackImage?()?.bytes
            fallbackBytes = .some(bytes.flatMap { $0.count == lazySource?.count ? $0 : nil })
        }
        return fallbackBytes!
    }

    /// Function `i`'s row: read (and checked against its AddressTable entry) the first
    /// time something asks, when loaded lazily.
    private func info(index i: Int) -> FunctionInfo? {
        if let f = rows[i] { return f }
        guard let stub, let entry = entry(ofFunction: i) else { return nil }
        let at = layout.functions.lowerBound + i * UnitImage.functionSize
        let placedHeader = placedHeaders[i]
        let layout = self.layout
        let entryCount = self.entryCount
        let numbering = self.numbering
        guard var f = read(at..<at + UnitImage.functionSize, body: { image -> (FunctionInfo, Range<Int>)? in
            let r = ByteReader(base: image)
            guard let id = try? r.u32(at), Int(id) < entryCount, numbering.row(ofId: Int(id)) == i,
                let nameOffset = try? Int(r.u32(at + 4)), let nameLength = try? Int(r.u32(at + 8)),
                let headerOffset = try? Int(r.u32(at + 12)), let codeWords = try? Int(r.u32(at + 16)),
                let frameSize = try? r.u16(at + 20), let parameterCount = try? r.u16(at + 22),
                let firstLine = try? Int(r.u32(at + 24)), let lineCount = try? Int(r.u32(at + 28)),
                let kindsOffset = try? Int(r.u32(at + 32)),
                entry.headerOffset == headerOffset, entry.kindsOffset == kindsOffset,
                UInt32(frameSize) == entry.frameSize, UInt32(parameterCount) == entry.parameterCount,
                codeWords > 0, headerOffset % 8 == 0, headerOffset <= layout.code.count,
                codeWords <= (layout.code.count - headerOffset - functionHeaderWords * 8) / 8,
                nameOffset <= layout.strings.count, nameLength <= layout.strings.count - nameOffset
            else { return nil }
            let lineRows = layout.lines.count / UnitImage.lineSize
            guard firstLine <= lineRows, lineCount <= lineRows - firstLine else { return nil }
            let name = layout.strings.lowerBound + nameOffset
            return (FunctionInfo(
                id: id, name: "", header: placedHeader ?? stub, codeWords: codeWords, lines: [], headerOffset: headerOffset,
                firstLine: firstLine, lineCount: lineCount, kindsOffset: kindsOffset), name..<name + nameLength)
        }) else { return nil }
        guard let name = read(f.1, body: { image in String(decoding: UnsafeRawBufferPointer(rebasing: image[f.1]), as: UTF8.self) }),
            name != "main" || entry.parameterCount == 0  // the entry point is called with no arguments
        else { return nil }
        f.0.name = name
        rows[i] = f.0
        return f.0
    }

    /// Function `i`'s signature, from the `kinds` section (`UnitKinds` asks, once each; a
    /// lazily loaded unit finds it from the function's entry, without its row). `entry`: the
    /// function's entry when the caller has read it already (placing a function).
    private func signature(index i: Int, entry known: FunctionEntry? = nil) throws(ImageError) -> KindSignature {
        guard let entry = known ?? entry(ofFunction: i) else { throw .malformed(.badFunctionEntry(row: i)) }
        let parameterCount = Int(entry.parameterCount)
        func decode(_ section: UnsafeRawBufferPointer) -> Result<KindSignature, ImageError> {
            Result { () throws(ImageError) in
                try UnitKinds.signature(
                    in: section, at: entry.kindsOffset, parameterCount: parameterCount, functionName: self.functionName(i))
            }
        }
        guard lazySource != nil else { return try kindsBytes.withUnsafeBytes { decode($0) }.get() }
        // Only the record's bytes: a count, a result and a kind per parameter.
        let section = layout.kinds
        let start = section.lowerBound + min(entry.kindsOffset, section.count)
        let end = min(section.upperBound, start + 3 + parameterCount)
        var failure: ImageError? = nil
        let signature = read(start..<end) { image -> KindSignature? in
            switch decode(UnsafeRawBufferPointer(rebasing: image[section.lowerBound..<end])) {
            case .success(let s): return s
            case .failure(let error):
                failure = error
                return nil
            }
        }
        guard let signature else { throw failure ?? .malformed(.unreadableSignature(row: i)) }
        return signature
    }

    /// The source line of the instruction at `word` of `function`, reading the function's line
    /// rows first if the unit was loaded lazily.
    public func line(in function: FunctionInfo, atWord word: Int) -> Int {
        guard Int(function.id) < entryCount, let i = numbering.row(ofId: Int(function.id)) else {
            return function.line(atWord: word)
        }
        guard var f = info(index: i) else { return function.line(atWord: word) }
        if lazySource != nil && f.lines.isEmpty && f.lineCount > 0 {
            let start = layout.lines.lowerBound + f.firstLine * UnitImage.lineSize
            let range = start..<start + f.lineCount * UnitImage.lineSize
            let found = read(range) { image in
                let r = ByteReader(base: image)
                return try? stride(from: range.lowerBound, to: range.upperBound, by: UnitImage.lineSize).map { at in
                    (try r.u32(at), try r.u32(at + 4))
                }
            }
            f.lines = ArraySlice(found ?? [])
            rows[i]?.lines = f.lines
        }
        return f.line(atWord: word)
    }

    /// The SymbolTable of a lazily loaded unit, read whole (symbols naming a bad Id left out).
    private func readSymbols() -> [(name: String, id: UInt32)] {
        symbolsRead = true
        guard lazySource != nil else { return [] }
        let layout = self.layout
        let entryKinds = self.entryKinds
        let strings = layout.strings
        let found = read(layout.symbols, strings) { image -> [(name: String, id: UInt32)]? in
            var symbols: [(name: String, id: UInt32)] = []
            let r = ByteReader(base: image)
            for s in 0..<layout.symbolCount {
                let at = layout.symbols.lowerBound + s * UnitImage.symbolSize
                guard let offset = try? Int(r.u32(at)), let length = try? Int(r.u32(at + 4)), let id = try? r.u32(at + 8),
                    offset <= strings.count, length <= strings.count - offset, Int(id) < entryKinds.count,
                    entryKinds[Int(id)] == .function || entryKinds[Int(id)] == .global,
                    let name = try? r.string(strings.lowerBound + offset, length)
                else { continue }
                symbols.append((name, id))
            }
            return symbols
        }
        return found ?? []
    }

    /// `symbol(named:)` for a lazily loaded unit: looks the name up in the symbol index (a slot,
    /// a symbol and a name read per probe), comparing bytes.
    private func findSymbol(_ wanted: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let layout = self.layout
        let index = layout.symbolIndex
        guard let slotCount = read(index.lowerBound..<min(index.upperBound, index.lowerBound + 4), body: { image -> Int? in
            guard index.count >= 4 else { return nil }
            let count = Int(UInt32(littleEndian: image.loadUnaligned(fromByteOffset: index.lowerBound, as: UInt32.self)))
            // A power of two that fits the section (0: no index).
            return count & (count &- 1) == 0 && count <= (index.count - 4) / 4 ? count : nil
        }), slotCount > 0 else { return nil }
        var slot = Int(UnitImage.nameHash(wanted)) & (slotCount - 1)
        for _ in 0..<slotCount {
            let at = index.lowerBound + 4 + slot * 4
            // Found (.some(id)), not this symbol (.some(nil)), or nil: unreadable.
            guard let symbol = read(at..<at + 4, body: { image -> Int? in
                Int(UInt32(littleEndian: image.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            }) else { return nil }
            if symbol == 0 || symbol > layout.symbolCount { return nil }  // empty slot: not there
            if let id = symbolId(symbol - 1, ifNamed: wanted) { return id }
            slot = (slot + 1) & (slotCount - 1)
        }
        return nil
    }

    /// The Id of symbol `s` if its name is `wanted` (and it names a function or a global).
    private func symbolId(_ s: Int, ifNamed wanted: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let layout = self.layout
        let entryKinds = self.entryKinds
        let at = layout.symbols.lowerBound + s * UnitImage.symbolSize
        guard let row = read(at..<at + UnitImage.symbolSize, body: { image -> (Int, Int, UInt32)? in
            let r = ByteReader(base: image)
            guard let offset = try? Int(r.u32(at)), let length = try? Int(r.u32(at + 4)), let id = try? r.u32(at + 8) else {
                return nil
            }
            return (offset, length, id)
        }) else { return nil }
        let (offset, length, id) = row
        guard length == wanted.count, offset <= layout.strings.count, length <= layout.strings.count - offset,
            Int(id) < entryKinds.count, entryKinds[Int(id)] == .function || entryKinds[Int(id)] == .global
        else { return nil }
        let start = layout.strings.lowerBound + offset
        let same = read(start..<start + length) { image -> Bool? in
            length == 0 || memcmp(image.baseAddress! + start, wanted.baseAddress!, length) == 0
        }
        return same == true ? id : nil
    }

    private struct LoadedParts {
        var layout: Layout
        var rows: RowTable
        var stub: UnsafeMutablePointer<FunctionHeader>?
        var numbering: FunctionNumbering
        var table: UnsafeMutablePointer<UInt64>
        var entryKinds: [AddressTableEntryKind]
        /// What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds: [AddressTableEntryKind]
        var entryNames: [Int: String]
        var importedKinds: [Int: AddressTableEntryKind]
        var imports: [(slot: Int, symbol: ImportedSymbol)]
        /// The Ids of the globals whose initialiser is a constant's address (a `Str`).
        var globalIsString: [Int]
        var interface: [UInt8]
        var kindsBytes: [UInt8]
        /// Nil when loaded lazily (read on first use).
        var symbols: [(name: String, id: UInt32)]?
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
                throw .malformed(.sourceFailed("\(error)"))
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
        // Ids below the prefix are functions, Id n of row n. Lazily, their entries are not read
        // now: each is read and checked when its function is placed or called.
        let functionPrefix = Int(try r.u32(UnitImage.functionPrefixOffset))
        guard functionPrefix <= functionCount, functionPrefix <= entryCount else {
            throw .malformed(.functionPrefixTooLong)
        }
        let unreadPrefix = source == nil ? 0 : functionPrefix
        guard section(.entries).count == entryCount * UnitImage.entrySize,
            section(.symbols).count == symbolCount * UnitImage.symbolSize,
            section(.functions).count == functionCount * UnitImage.functionSize,
            section(.globals).count == globalCount * UnitImage.globalSize,
            section(.code).count % 8 == 0, section(.lines).count % UnitImage.lineSize == 0
        else { throw .malformed(.sectionSizesMismatch) }
        let layout = Layout(
            functionCount: functionCount, symbolCount: symbolCount, entries: section(.entries),
            symbolIndex: section(.symbolIndex), symbols: section(.symbols),
            functions: section(.functions), code: section(.code), strings: section(.strings), lines: section(.lines),
            interface: section(.interface), kinds: section(.kinds))
        // Now: the entries, globals and data. Lazily, the rest is read when it is needed, and of
        // the strings only the names of the entries that have one.
        try need(section(.entries).lowerBound + unreadPrefix * UnitImage.entrySize..<section(.entries).upperBound)
        for s in [UnitImage.Section.globals, .data] { try need(section(s)) }
        if source == nil {
            for s in UnitImage.Section.allCases { try need(section(s)) }
        }
        let strings = section(.strings)
        func string(_ offset: UInt32, _ length: UInt32) throws(ImageError) -> String {
            guard Int(offset) <= strings.count, Int(length) <= strings.count - Int(offset) else {
                throw .truncated
            }
            try need(strings.lowerBound + Int(offset)..<strings.lowerBound + Int(offset) + Int(length))
            return try r.string(strings.lowerBound + Int(offset), Int(length))
        }
        // Format 4 kept the source path here; an image holds none now.
        guard try r.u32(28) == 0 else { throw .malformed(.reservedHeaderWordNotZero) }

        // Allocate: table, globals, then code (or, lazily, the stub), then data.
        let tableBytes = entryCount * 8
        let globalsBytes = globalCount * 8
        let codeRange = section(.code)
        let dataRange = section(.data)
        let codeAt = tableBytes + globalsBytes
        let codeBytes = source == nil ? codeRange.count : stubBytes
        let dataAt = codeAt + codeBytes
        let total = dataAt + dataRange.count
        guard let memory = LoadedUnit.allocate(total, lazy: source != nil) else {
            throw .malformed(.cannotMap(bytes: total))
        }
        var ok = false
        defer { if !ok { LoadedUnit.release(memory, lazy: source != nil, size: total) } }
        // Zero the table and globals (a fresh mapping is zero already); code and data are
        // copied over whole (lazily: the stub now, each function's code when it is placed).
        if source == nil { memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(codeAt, 16)) }
        let table = memory.bindMemory(to: UInt64.self, capacity: entryCount + globalCount)
        let globalsBase = table + entryCount
        let stub: UnsafeMutablePointer<FunctionHeader>? = source == nil ? nil
            : memory.advanced(by: codeAt).bindMemory(to: FunctionHeader.self, capacity: 1)
        if let stub {
            stub.initialize(to: FunctionHeader(
                addressTable: table, unit: nil, frameSize: 0, parameterCount: 0,
                functionId: LoadedUnit.stubId, codeWords: 1, hotness: 0))
            UnsafeMutableRawPointer(stub).advanced(by: functionHeaderWords * 8).storeBytes(
                of: UInt64(Opcode.loadCode.rawValue), as: UInt64.self)
        }
        let stubEntry = stub.map { UInt64(UInt(bitPattern: $0)) | bytecodeEntryTag } ?? 0
        if source == nil {
            memory.advanced(by: codeAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: codeRange.lowerBound), byteCount: codeRange.count)
        }
        if !dataRange.isEmpty {
            memory.advanced(by: dataAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: dataRange.lowerBound), byteCount: dataRange.count)
        }

        // AddressTable. Lazily, the function prefix is the stub, unread.
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
            let at = section(.entries).lowerBound + id * UnitImage.entrySize
            guard let kind = AddressTableEntryKind(rawValue: try r.u8(at)) else {
                throw .malformed(.unknownEntryKind(id: id))
            }
            guard id >= functionPrefix || kind == .function else {
                throw .malformed(.prefixEntryNotFunction(id: id))
            }
            let a = try r.u32(at + 4)
            let b = try r.u64(at + 8)
            kinds.append(kind)
            var importedKind: AddressTableEntryKind? = nil
            if kind == .imported {
                importedKind = AddressTableEntryKind(rawValue: try r.u8(at + 1))
                guard importedKind == .function || importedKind == .global else {
                    throw .malformed(.importNamesNeither(id: id))
                }
            }
            verifiedKinds.append(importedKind ?? kind)
            switch kind {
            case .function:
                let frameSize = try r.u8(at + 1)
                let parameterCount = try r.u8(at + 2)
                let b = b & 0xFFFF_FFFF  // the header's offset (the high half: its signature's)
                guard b % 8 == 0, b <= UInt64(codeRange.count),
                    UInt64(codeRange.count) - b >= UInt64(functionHeaderWords * 8)
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
                if source != nil {
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
                guard b <= UInt64(dataRange.count), UInt64(a) <= UInt64(dataRange.count) - b, a > 0 else {
                    throw .malformed(.constantOutsideData(id: id))
                }
                // Str constants are read as C strings: the last byte must be the NUL.
                guard r.base[dataRange.lowerBound + Int(b) + Int(a) - 1] == 0 else {
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
            let at = section(.globals).lowerBound + g * UnitImage.globalSize
            let kind = try r.u8(at)
            let value = try r.u64(at + 8)
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
        let parts = { (rows: RowTable, symbols: [(name: String, id: UInt32)]?) in
            LoadedParts(
                layout: layout, rows: rows, stub: stub, numbering: numbering,
                table: table, entryKinds: kinds, verifiedKinds: verifiedKinds, entryNames: names,
                importedKinds: importedKinds, imports: imports,
                globalIsString: globalIndexById.filter { globalIsString[$0.value] }.map(\.key),
                interface: source == nil ? Array(r.base[section(.interface)]) : [],
                kindsBytes: source == nil ? Array(r.base[section(.kinds)]) : [], symbols: symbols, foreign: foreign,
                memory: memory, memorySize: total)
        }
        if source != nil {
            ok = true
            return parts(RowTable(count: functionCount), nil)
        }

        // Loaded at once: the SymbolTable and every function row now.
        var symbols: [(name: String, id: UInt32)] = []
        symbols.reserveCapacity(symbolCount)
        for s in 0..<symbolCount {
            let at = section(.symbols).lowerBound + s * UnitImage.symbolSize
            let name = try string(try r.u32(at), try r.u32(at + 4))
            let id = try r.u32(at + 8)
            guard Int(id) < entryCount, kinds[Int(id)] == .function || kinds[Int(id)] == .global else {
                throw .malformed(.symbolNamesBadId(name: name))
            }
            symbols.append((name, id))
        }

        // Functions: check each header against its row, fill in the absolute fields.
        let lineRange = section(.lines)
        let lineRowCount = lineRange.count / UnitImage.lineSize
        // One line table for the unit; each function gets a slice of it.
        var lineTable: [(word: UInt32, line: UInt32)] = []
        lineTable.reserveCapacity(lineRowCount)
        for row in 0..<lineRowCount {
            let rowAt = lineRange.lowerBound + row * UnitImage.lineSize
            lineTable.append((try r.u32(rowAt), try r.u32(rowAt + 4)))
        }
        var functions: [FunctionInfo] = []
        functions.reserveCapacity(functionCount)
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
            let kindsOffset = Int(try r.u32(at + 32))
            // Its entry (a function's, checked above) gives the same shape, row and offsets.
            let entry = section(.entries).lowerBound + Int(id) * UnitImage.entrySize
            guard Int(id) < entryCount, numbering.row(ofId: Int(id)) == f,
                Int(try r.u8(entry + 1)) == frameSize, Int(try r.u8(entry + 2)) == parameterCount,
                try r.u64(entry + 8) == UInt64(headerOffset) | UInt64(kindsOffset) << 32
            else {
                throw .malformed(.functionMismatchesEntry(function: name))
            }
            // The entry point is called with no arguments.
            if parameterCount != 0 && name == "main" {
                throw .malformed(.mainTakesParameters(parameterCount))
            }
            let headerBytes = functionHeaderWords * 8
            guard codeWords <= (codeRange.count - headerOffset - headerBytes) / 8 else {
                throw .malformed(.functionPastCode(function: name))
            }
            guard frameSize <= maximumFrameSize, parameterCount <= frameSize else {
                throw .malformed(.badFrameSize(function: name))
            }
            guard firstLine <= lineRowCount, lineCount <= lineRowCount - firstLine else {
                throw .malformed(.badLineRows(function: name))
            }
            let header = memory.advanced(by: codeAt + headerOffset).assumingMemoryBound(to: FunctionHeader.self)
            guard header.pointee.frameSize == UInt32(frameSize), header.pointee.parameterCount == UInt32(parameterCount),
                header.pointee.functionId == id, header.pointee.codeWords == UInt32(codeWords)
            else { throw .malformed(.headerDisagreesWithRow(function: name)) }
            header.pointee.addressTable = table
            header.pointee.hotness = 0
            functions.append(
                FunctionInfo(
                    id: id, name: name, header: header, codeWords: codeWords,
                    lines: lineTable[firstLine..<firstLine + lineCount], headerOffset: headerOffset, firstLine: firstLine,
                    lineCount: lineCount, kindsOffset: kindsOffset))
        }
        // No two functions' headers and code overlap: otherwise unverified words could be
        // reached, or verified words rewritten. (Each row has its own entry: checked above.)
        var extents = functions.map { f in (f.headerOffset, f.headerOffset + functionHeaderWords * 8 + f.codeWords * 8) }
        // The encoder writes functions in code order; sort only what is not.
        if zip(extents, extents.dropFirst()).contains(where: { $0.0 > $1.0 }) { extents.sort { $0.0 < $1.0 } }
        for (a, b) in zip(extents, extents.dropFirst()) where a.1 > b.0 {
            throw .malformed(.functionsOverlap)
        }
        ok = true
        return parts(RowTable(all: functions), symbols)
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
