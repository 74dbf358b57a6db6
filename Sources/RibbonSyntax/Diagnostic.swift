/// A compile error: where it is and what is wrong.
///
/// Every phase of the front end (lexer, parser, checker) reports problems as `Diagnostic`s and
/// keeps going, so one run reports all the errors in a file.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ message: String, at location: SourceLocation) {
        self.location = location
        self.message = message
    }

    /// The three-line form: `PATH:LINE:COL: error: MESSAGE`, the source line as written, and a
    /// caret under the column (joined by `"\n"`, no trailing newline).
    public func rendered(in file: SourceFile) -> String {
        let header = "\(file.path):\(location.line):\(location.column): error: \(message)"
        let sourceLine = file.lineText(location.line)
        let caret = String(repeating: " ", count: max(location.column - 1, 0)) + "^"
        return header + "\n" + sourceLine + "\n" + caret
    }

    public var description: String { "\(location): \(message)" }
}

extension Array where Element == Diagnostic {
    /// The diagnostics ordered by position; diagnostics at the same position keep their order.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated()
            .sorted { ($0.element.location, $0.offset) < ($1.element.location, $1.offset) }
            .map(\.element)
    }
}
