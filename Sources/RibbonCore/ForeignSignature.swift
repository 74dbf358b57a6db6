/// A C function's parameter and result types, as the System V glue needs them.
///
/// In a unit image a foreign entry's name is `symbol/PARAMS/RESULT`, one letter per type
/// (`i` I64, `f` F64, `b` Bool, `s` Str): `pow/ff/f`, `puts/s/i`.
public struct ForeignSignature: Hashable, Sendable {
    public enum ValueKind: Character, Sendable {
        case i64 = "i", f64 = "f", bool = "b", str = "s"

        /// Passed in a general-purpose register (the rest go in SSE registers).
        public var isIntegerClass: Bool { self != .f64 }
    }

    public var symbol: String
    public var parameters: [ValueKind]
    public var result: ValueKind

    public init(symbol: String, parameters: [ValueKind], result: ValueKind) {
        self.symbol = symbol
        self.parameters = parameters
        self.result = result
    }

    /// The entry name stored in the image.
    public var entryName: String {
        symbol + "/" + String(parameters.map(\.rawValue)) + "/" + String(result.rawValue)
    }

    /// Parses an entry name; nil when it is not `symbol/PARAMS/RESULT` with known letters, or
    /// when it has more arguments than the System V registers hold (6 integer, 8 SSE).
    public init?(entryName: String) {
        let parts = entryName.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[2].count == 1 else { return nil }
        var parameters: [ValueKind] = []
        for c in parts[1] {
            guard let kind = ValueKind(rawValue: c) else { return nil }
            parameters.append(kind)
        }
        guard let result = ValueKind(rawValue: parts[2].first!) else { return nil }
        guard parameters.filter(\.isIntegerClass).count <= 6, parameters.filter({ !$0.isIntegerClass }).count <= 8
        else { return nil }
        self.init(symbol: String(parts[0]), parameters: parameters, result: result)
    }
}
