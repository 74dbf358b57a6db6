// The one JSON writer: `--stats`, `build --json` and every `cache … --json` print through it.
// Values with object keys in the order given, so output is stable field for field (tests and
// tools/bench parse it). Writing only; nothing in ribbon reads JSON.

/// A JSON value with object keys in the order given (no Foundation): what `--json` prints.
package enum JSON {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    package static func int(_ value: Int) -> JSON { .int(Int64(value)) }
    package static func optional(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }
    /// A ratio rounded to 4 decimals, or null.
    package static func ratio(_ value: Double?) -> JSON {
        guard let value, value.isFinite else { return .null }
        return .double((value * 10_000).rounded() / 10_000)
    }

    /// The value as compact JSON text: no spaces, no newline.
    package var text: String {
        switch self {
        case .string(let s): return Self.quoted(s)
        case .int(let n): return "\(n)"
        case .double(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.map { Self.quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped.
    package static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u" + Hex.padded(scalar.value, width: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
