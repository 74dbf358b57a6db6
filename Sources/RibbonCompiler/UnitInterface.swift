import RibbonSyntax

/// What a file offers the files that use it: each top-level name it defines (except `main`),
/// with its type and where it is defined.
///
/// Checking a file that uses others needs only their interfaces, never their sources, so a
/// dependency that comes from the cache is not parsed again: its unit image carries its
/// interface (`UnitImage`'s `interface` section, encoded by `encoded()`). A dependent's own
/// image refers to what it imports by name only, so it depends on its source and on these
/// interfaces, not on the bodies behind them.
public struct UnitInterface: Sendable, Equatable {
    public enum Entity: Sendable, Equatable {
        case function(parameters: [ValueType], result: ValueType)
        case global(ValueType)
        /// A C function: the dependent declares its own foreign entry for `symbol`.
        case foreign(symbol: String, parameters: [ValueType], result: ValueType)
    }

    public struct Definition: Sendable, Equatable {
        public var name: String
        public var entity: Entity
        /// Where the name is defined in its file (for messages about clashes).
        public var location: SourceLocation

        public init(name: String, entity: Entity, location: SourceLocation) {
            self.name = name
            self.entity = entity
            self.location = location
        }
    }

    /// In declaration order.
    public var definitions: [Definition]

    public init(definitions: [Definition] = []) {
        self.definitions = definitions
    }

    // MARK: Encoding

    /// Format of `encoded()`: u32 count, then per definition: u8 kind (1 function, 2 global,
    /// 3 foreign), u32 line, u32 column, the name (u32 length, UTF-8), for a foreign the
    /// symbol (same), then for a function or foreign u32 parameter count and one type byte per
    /// parameter, and last the type byte of the result or the global. Integers little-endian.
    static let formatTag: [UInt8] = Array("RIBI1".utf8)

    /// The interface as bytes, for the unit image.
    public func encoded() -> [UInt8] {
        var out = UnitInterface.formatTag
        func u32(_ v: Int) { for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> shift)) } }
        func string(_ s: String) {
            u32(s.utf8.count)
            out.append(contentsOf: s.utf8)
        }
        func types(_ parameters: [ValueType]) {
            u32(parameters.count)
            for p in parameters { out.append(p.code) }
        }
        u32(definitions.count)
        for d in definitions {
            switch d.entity {
            case .function: out.append(1)
            case .global: out.append(2)
            case .foreign: out.append(3)
            }
            u32(d.location.line)
            u32(d.location.column)
            string(d.name)
            switch d.entity {
            case .function(let parameters, let result):
                types(parameters)
                out.append(result.code)
            case .global(let type):
                out.append(type.code)
            case .foreign(let symbol, let parameters, let result):
                string(symbol)
                types(parameters)
                out.append(result.code)
            }
        }
        return out
    }

    /// Decodes `encoded()`'s bytes; nil when they are not a well-formed interface.
    public init?(encoded bytes: [UInt8]) {
        var at = 0
        func u8() -> UInt8? {
            guard at < bytes.count else { return nil }
            defer { at += 1 }
            return bytes[at]
        }
        func u32() -> Int? {
            guard bytes.count - at >= 4 else { return nil }
            var v = 0
            for i in 0..<4 { v |= Int(bytes[at + i]) << (8 * i) }
            at += 4
            return v
        }
        func string() -> String? {
            guard let length = u32(), bytes.count - at >= length else { return nil }
            defer { at += length }
            return String(decoding: bytes[at..<at + length], as: UTF8.self)
        }
        func type() -> ValueType? { u8().flatMap(ValueType.init(code:)) }
        func parameters() -> [ValueType]? {
            guard let count = u32(), count <= bytes.count - at else { return nil }
            var result: [ValueType] = []
            for _ in 0..<count {
                guard let t = type() else { return nil }
                result.append(t)
            }
            return result
        }
        guard bytes.starts(with: UnitInterface.formatTag) else { return nil }
        at = UnitInterface.formatTag.count
        guard let count = u32() else { return nil }
        var definitions: [Definition] = []
        for _ in 0..<count {
            guard let kind = u8(), let line = u32(), let column = u32(), let name = string() else { return nil }
            let entity: Entity
            switch kind {
            case 1:
                guard let parameters = parameters(), let result = type() else { return nil }
                entity = .function(parameters: parameters, result: result)
            case 2:
                guard let t = type() else { return nil }
                entity = .global(t)
            case 3:
                guard let symbol = string(), let parameters = parameters(), let result = type() else { return nil }
                entity = .foreign(symbol: symbol, parameters: parameters, result: result)
            default:
                return nil
            }
            definitions.append(Definition(name: name, entity: entity, location: SourceLocation(line: line, column: column)))
        }
        guard at == bytes.count else { return nil }
        self.definitions = definitions
    }
}

/// A file that the file being checked uses: how messages name it, and what it defines.
public struct UsedUnit: Sendable {
    /// The path messages use for it (as the driver found it: relative to where `ribbon` runs).
    public var displayPath: String
    public var interface: UnitInterface

    public init(displayPath: String, interface: UnitInterface) {
        self.displayPath = displayPath
        self.interface = interface
    }
}

extension ValueType {
    /// One byte per type in an encoded interface.
    var code: UInt8 {
        switch self {
        case .i64: 1
        case .f64: 2
        case .bool: 3
        case .str: 4
        case .unit: 5
        case .arrayI64: 6
        case .arrayF64: 7
        case .arrayBool: 8
        }
    }

    init?(code: UInt8) {
        switch code {
        case 1: self = .i64
        case 2: self = .f64
        case 3: self = .bool
        case 4: self = .str
        case 5: self = .unit
        case 6: self = .arrayI64
        case 7: self = .arrayF64
        case 8: self = .arrayBool
        default: return nil
        }
    }
}
