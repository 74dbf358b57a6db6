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

    /// The most errors one compile reports; past them, `too many errors` ends the list.
    public static let maximumErrors = 50
    /// The widest a source line is shown in a message, in columns.
    public static let maximumLineColumns = 200

    /// The three-line form: `PATH:LINE:COL: error: MESSAGE`, the source line (at most 200
    /// columns of it, unprintable bytes as `\xHH`), and a caret under the column (joined by
    /// `"\n"`, no trailing newline).
    public func rendered(in file: SourceFile) -> String {
        let header = "\(file.path):\(location.line):\(location.column): error: \(Self.printable(message))"
        let (sourceLine, caretColumn) = file.displayedLine(location.line, column: location.column)
        let caret = String(repeating: " ", count: caretColumn) + "^"
        return header + "\n" + sourceLine + "\n" + caret
    }

    public var description: String { "\(location): \(message)" }

    /// The line that ends a list cut at `maximumErrors`: the compile stops there.
    public static let tooManyErrors = "ribbon: too many errors (\(maximumErrors) shown)"

    /// `text` with control characters (tab aside) as `\xHH`, as a terminal should see a
    /// message that quotes a hostile file.
    static func printable(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 && scalar.value != 0x09 || scalar.value == 0x7F {
                out += SourceFile.escaped(UInt8(scalar.value))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension Array where Element == Diagnostic {
    /// Each diagnostic rendered (`Diagnostic.rendered(in:)`), at most `maximumErrors` of them,
    /// then `ribbon: too many errors (50 shown)` if there were more.
    public func rendered(in file: SourceFile) -> [String] {
        var lines = prefix(Diagnostic.maximumErrors).map { $0.rendered(in: file) }
        if count > Diagnostic.maximumErrors {
            lines.append(Diagnostic.tooManyErrors)
        }
        return lines
    }

    /// The diagnostics ordered by position; diagnostics at the same position keep their order.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated()
            .sorted { ($0.element.location, $0.offset) < ($1.element.location, $1.offset) }
            .map(\.element)
    }
}
