#if canImport(Glibc)
import Glibc
#endif
import RibbonCore

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
    let interfaceBytes: [UInt8]
    /// What the verifier checks registers against: each function's declared signature, and
    /// what each Id holds or takes. Units that import from this one check their uses with it.
    public private(set) var kinds = UnitKinds()
    /// The image's `kinds` section, when loaded at once (lazily it is read on demand).
    let kindsBytes: [UInt8]
    /// What the verifier checks each Id against: an import counts as what it names.
    let verifiedKinds: [AddressTableEntryKind]
    /// The units this one imports from (kept alive: its slots hold their addresses).
    public let importedUnits: [LoadedUnit]
    /// For each of this unit's functions that other units import: their slots, which
    /// `setEntry` keeps equal to this unit's own.
    var importerSlots: [UInt32: [UnsafeMutablePointer<UInt64>]] = [:]
    /// This unit's imported function slots, as registered with their exporters (undone at deinit).
    var linkedSlots: [(exporter: LoadedUnit, id: UInt32, slot: UnsafeMutablePointer<UInt64>)] = []
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
    let memory: UnsafeMutableRawPointer
    let memorySize: Int

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


    /// The unit a function header belongs to.
    public static func owning(_ header: UnsafePointer<FunctionHeader>) -> LoadedUnit? {
        guard let unit = header.pointee.unit else { return nil }
        return Unmanaged<LoadedUnit>.fromOpaque(unit).takeUnretainedValue()
    }

    /// Function rows by Id and Ids by row; the JIT resolves thousands.
    let numbering: FunctionNumbering

    // MARK: Lazy loading

    /// Where a lazily loaded unit's image comes from (nil: everything was loaded at once).
    let lazySource: UnitImageSource?
    /// Where the image's sections are.
    let layout: Layout
    /// Per function (row index): its row, once read (all of them when loaded at once).
    let rows: RowTable
    /// Lazily: the stub every function's entry holds until the function is placed.
    let stub: UnsafeMutablePointer<FunctionHeader>?
    /// Lazily: the rows whose function entry was read (for the warm set, `usedImageRanges`).
    var entriesRead: [Int] = []
    /// Per function (row index): its header once its code is placed (all of them when eager).
    let placedHeaders: PlacedHeaders
    /// The memory of each placed function (lazily), freed with the unit.
    var placedMemory: [UnsafeMutableRawPointer] = []
    var symbolsRead = false
    lazy var verifier = Verifier(entryKinds: verifiedKinds, kinds: kinds)
    /// Gives the same image compiled afresh from the source, for when a part of the lazy one
    /// fails its checks (or its row is gone) in the middle of a run. It must give exactly the
    /// stored bytes — the caller proves it by the stored image's SHA-256 — or nil: parts of two
    /// different images must never be spliced into one unit.
    public var fallbackImage: (() -> UnitImage?)? = nil
    var fallbackBytes: [UInt8]?? = nil
    /// A part of the lazy image failed its checks and the fallback was used: the stored entry
    /// should be replaced.
    public internal(set) var damaged = false
    /// A part of the lazy image could not be read and there was no identical fallback (the
    /// source changed since the key was made, or it no longer compiles): what the unit was
    /// asked for then is missing — a function stays unplaced, a name unknown — so the run
    /// cannot go on faithfully. The driver stops it with an internal error (`Driver.execute`).
    public internal(set) var unavailable = false

    /// Called with a function's Id right after it is placed (lazily loaded units only), before
    /// it runs: the driver installs the function's machine code from the cache here, so that
    /// machine code loads only for functions that run (`Driver.installCachedCodeOnPlacement`).
    public var onPlaced: ((UInt32) -> Void)? = nil
}
