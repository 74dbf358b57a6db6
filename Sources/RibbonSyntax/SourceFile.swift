/// A source file as the front end sees it: a path (used only in messages) and its UTF-8 bytes.
///
/// The lexer works on `bytes` with integer indices; nothing in the front end iterates Swift
/// `Character`s, so lexing stays linear and allocation-free outside identifiers and literals.
package struct SourceFile: Sendable {
    package let path: String
    package let bytes: [UInt8]

    package init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// Convenience for tests and tools: a file whose bytes are the UTF-8 encoding of `text`.
    package init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// The number of lines (a final line without a newline counts; an empty file has one).
    package var lineCount: Int {
        var count = 1
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") && offset + 1 < bytes.count {
            count += 1
        }
        return count
    }

    /// The text of line `line` (1-based) without its line terminator; empty past the end.
    ///
    /// This scans from the start of the file: it is meant for rendering diagnostics, not for
    /// hot paths.
    package func lineText(_ line: Int) -> String {
        var currentLine = 1
        var start = 0
        while currentLine < line {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return "" }
            start = newline + 1
            currentLine += 1
        }
        var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The length of line `line` in Unicode scalars (what columns count).
    package func lineLength(_ line: Int) -> Int {
        lineText(line).unicodeScalars.count
    }
}

/// A position in a source file. Both numbers are 1-based; `column` counts Unicode scalars
/// (not bytes) from the start of the line.
///
/// Stored as two `Int32`s (8 bytes): every token and syntax node carries one.
package struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    @usableFromInline var storedLine: Int32
    @usableFromInline var storedColumn: Int32

    @inlinable
    public var line: Int {
        get { Int(storedLine) }
        set { storedLine = Int32(clamping: newValue) }
    }

    @inlinable
    public var column: Int {
        get { Int(storedColumn) }
        set { storedColumn = Int32(clamping: newValue) }
    }

    @inlinable
    public init(line: Int, column: Int) {
        self.storedLine = Int32(clamping: line)
        self.storedColumn = Int32(clamping: column)
    }

    package static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// `LINE:COL`, as used in messages that point at a second place.
    package var description: String { "\(line):\(column)" }
}
