/// A source file as the front end sees it: a path (used only in messages) and its UTF-8 bytes.
///
/// The lexer works on `bytes` with integer indices; nothing in the front end iterates Swift
/// `Character`s, so lexing stays linear and allocation-free outside identifiers and literals.
public struct SourceFile: Sendable {
    public let path: String
    public let bytes: [UInt8]

    /// The largest source file the runner reads (64 MiB; the 5,000-function benchmark program is
    /// 2.7 MB). A longer file, or an endless one such as `/dev/zero`, is a read error (`EFBIG`).
    public static let maximumBytes = 64 << 20

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// Convenience for tests and tools: a file whose bytes are the UTF-8 encoding of `text`.
    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// The number of lines (a final line without a newline counts; an empty file has one).
    public var lineCount: Int {
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
    public func lineText(_ line: Int) -> String {
        String(decoding: lineBytes(line), as: UTF8.self)
    }

    /// Line `line`'s bytes without its line terminator; empty past the end (`lineText`).
    public func lineBytes(_ line: Int) -> ArraySlice<UInt8> {
        var currentLine = 1
        var start = 0
        while currentLine < line {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return [] }
            start = newline + 1
            currentLine += 1
        }
        var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return bytes[start..<end]
    }

    /// The length of line `line` in Unicode scalars (what columns count).
    public func lineLength(_ line: Int) -> Int {
        lineText(line).unicodeScalars.count
    }
}

/// A position in a source file. Both numbers are 1-based; `column` counts Unicode scalars
/// (not bytes) from the start of the line.
///
/// Stored as two `Int32`s (8 bytes): every token and syntax node carries one.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
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

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// `LINE:COL`, as used in messages that point at a second place.
    public var description: String { "\(line):\(column)" }
}
