import RibbonCore

/// A runtime error that stopped the program: the message of LANGUAGE.md and where it happened.
package struct Trap: Error, Sendable, Equatable {
    /// One frame of the backtrace, innermost first.
    package struct Frame: Sendable, Equatable {
        package var function: String
        package var path: String
        package var line: Int
    }

    package var code: TrapCode
    /// The message after `runtime error: `.
    package var reason: String
    package var backtrace: [Frame]

    /// The text printed on standard error: the message, then `  at f (file:line)` per frame
    /// (the middle of very deep backtraces elided).
    package var rendered: String {
        var out = "runtime error: \(reason)\n"
        let shown = 12
        for (i, f) in backtrace.enumerated() {
            if backtrace.count > 2 * shown, i == shown {
                out += "  ... \(backtrace.count - 2 * shown) more frames ...\n"
            }
            if backtrace.count > 2 * shown, i >= shown, i < backtrace.count - shown { continue }
            out += "  at \(f.function) (\(f.path):\(f.line))\n"
        }
        return out
    }

    /// The message for a trap code and its operands, as LANGUAGE.md words it.
    static func reason(_ code: TrapCode, _ a: Int64, _ b: Int64) -> String {
        switch code {
        case .none: "no error"
        case .divisionByZero: "division by zero"
        case .indexOutOfRange: "index \(a) out of range for array of length \(b)"
        case .negativeArrayLength: "negative array length \(a)"
        case .stackOverflow: "stack overflow"
        case .cannotConvertToI64: "cannot convert \(formatF64(Double(bitPattern: UInt64(bitPattern: a)))) to I64"
        case .outOfMemory: "out of memory allocating an array of length \(a)"
        case .foreignCallUnavailable: "a foreign function was called before its call glue was installed"
        case .invalidInstruction: "invalid instruction"
        }
    }
}
