import RibbonCore

/// The value a global cell starts with.
public enum GlobalInitializer: Hashable, Sendable {
    /// Raw 64-bit contents (I64, F64 bit pattern, Bool 0/1).
    case bits(UInt64)
    /// The address of the constant with this Id (a `Str` global).
    case constantAddress(UInt32)
}

/// Collects everything one Bytecode unit holds — AddressTable entries, symbols, functions,
/// globals, constant data — and encodes it as a position-independent `UnitImage`.
public struct UnitBuilder: Sendable {
    enum Entry: Hashable, Sendable {
        case function(index: Int)
        case global(index: Int)
        case constant(offset: Int, length: Int)
        case builtin(String)
        case foreign(String)
        /// A function or global (`kind`) of another unit, by name.
        case imported(String, kind: AddressTableEntryKind)
    }

    struct Function: Sendable {
        var id: UInt32
        var name: String
        var parameterCount: Int
        /// The kinds the verifier checks it and its callers against (nil: it takes and returns
        /// scalars, bits that nothing dereferences).
        var signature: KindSignature? = nil
        var frameSize: Int = 0
        var isDefined = false
        /// Its instruction words: a range of `code`.
        var words: Range<Int> = 0..<0
        /// Its line table rows: a range of `lines`.
        var lines: Range<Int> = 0..<0
    }

    var entries: [Entry] = []
    var symbols: [(name: String, id: UInt32)] = []
    var functions: [Function] = []
    var globals: [GlobalInitializer] = []
    var data: [UInt8] = []
    /// Instruction words of every defined function, back to back. `define` copies a function's
    /// words here, so the caller can reuse its `FunctionBuilder` for the next function.
    var code: [UInt64] = []
    /// Line table rows of every defined function, back to back, each as the image stores it:
    /// the word index in the low 32 bits, the source line in the high 32.
    var lines: [UInt64] = []
    private var constantIds: [[UInt8]: UInt32] = [:]
    private var namedIds: [Entry: UInt32] = [:]
    private var foreignIds: [String: UInt32] = [:]
    /// What files that use this one need to know to be checked, opaque here (the compiler's
    /// `UnitInterface`): the image's `interface` section.
    public var interface: [UInt8] = []

    /// No path: an image is a function of what its cache key covers (the source's bytes, the
    /// keys of the units it uses, the compiler), never of how its file was named, so the path
    /// comes from the loader (`LoadedUnit.sourcePath`).
    public init(interface: [UInt8] = []) {
        self.interface = interface
    }

    private mutating func add(_ entry: Entry) -> UInt32 {
        entries.append(entry)
        return UInt32(entries.count - 1)
    }

    /// Declares a function (its body comes later with `define`); exported under `name`.
    public mutating func declareFunction(name: String, parameterCount: Int) -> UInt32 {
        let id = add(.function(index: functions.count))
        functions.append(Function(id: id, name: name, parameterCount: parameterCount))
        symbols.append((name, id))
        return id
    }

    /// Declares the value kinds a function takes and returns (`KindSignature`), which the
    /// verifier checks its body and every call to it against: the compiler's types for it. A
    /// function without one takes and returns scalars. The image's `kinds` section holds them.
    public mutating func setSignature(_ signature: KindSignature, ofFunction id: UInt32) {
        guard case .function(let index) = entries[Int(id)] else { preconditionFailure("not a function Id") }
        functions[index].signature = signature
    }

    /// Supplies the body of a declared function.
    public mutating func define(function id: UInt32, frameSize: Int, code: FunctionBuilder) {
        guard case .function(let index) = entries[Int(id)] else { preconditionFailure("not a function Id") }
        precondition(frameSize <= maximumFrameSize && frameSize >= functions[index].parameterCount)
        functions[index].frameSize = frameSize
        functions[index].isDefined = true
        functions[index].words = self.code.count..<(self.code.count + code.words.count)
        self.code.append(contentsOf: code.words)
        let firstLine = lines.count
        for row in code.lineTable { lines.append(UInt64(row.word) | UInt64(row.line) << 32) }
        functions[index].lines = firstLine..<lines.count
    }

    /// Makes room for this many more instruction words (lowering knows roughly how many it
    /// will emit; growing the shared buffer step by step copies it several times).
    public mutating func reserveCodeCapacity(words: Int) {
        code.reserveCapacity(code.count + words)
    }

    /// Declares a global cell, exported under `name`.
    public mutating func addGlobal(name: String, initialValue: GlobalInitializer) -> UInt32 {
        let id = add(.global(index: globals.count))
        globals.append(initialValue)
        symbols.append((name, id))
        return id
    }

    /// Constant bytes (a NUL is appended: `Str` values are C strings). Equal constants share one Id.
    public mutating func constant(_ bytes: [UInt8]) -> UInt32 {
        if let id = constantIds[bytes] { return id }
        let offset = data.count
        data.append(contentsOf: bytes)
        data.append(0)
        while data.count % 8 != 0 { data.append(0) }
        let id = add(.constant(offset: offset, length: bytes.count + 1))
        constantIds[bytes] = id
        return id
    }

    /// The Id of a runtime builtin, by name (one Id per name).
    public mutating func builtin(_ name: String) -> UInt32 { named(.builtin(name)) }

    /// The Id of a function another unit defines, linked by name at load (one Id per name).
    /// The name is how the loader's `SymbolResolver.imported` finds it.
    public mutating func importFunction(_ name: String) -> UInt32 { named(.imported(name, kind: .function)) }

    /// The Id of a global another unit defines (its cell; one Id per name).
    public mutating func importGlobal(_ name: String) -> UInt32 { named(.imported(name, kind: .global)) }

    /// Declares a C function with its signature (one Id per symbol; see `ForeignSignature`).
    @discardableResult
    public mutating func declareForeign(_ signature: ForeignSignature) -> UInt32 {
        if let id = foreignIds[signature.symbol] { return id }
        let id = named(.foreign(signature.entryName))
        foreignIds[signature.symbol] = id
        return id
    }

    /// The Id of a C function declared with `declareForeign`.
    public mutating func foreign(_ symbol: String) -> UInt32 {
        guard let id = foreignIds[symbol] else { preconditionFailure("foreign `\(symbol)` was not declared") }
        return id
    }

    private mutating func named(_ entry: Entry) -> UInt32 {
        if let id = namedIds[entry] { return id }
        let id = add(entry)
        namedIds[entry] = id
        return id
    }

    /// Encodes the unit. Every declared function must have been defined.
    public func encode() -> UnitImage {
        UnitImage(encoding: self)
    }
}
