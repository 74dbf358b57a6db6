/// Turns source bytes into tokens, including the layout tokens (`newline`, `indent`, `dedent`).
///
/// The lexer walks `[UInt8]` with an integer index. Columns count Unicode scalars: the lexer
/// counts UTF-8 continuation bytes seen on the current line (they can only occur in strings,
/// comments and stray characters) and subtracts them from the byte offset.
///
/// Errors (a tab in indentation, a bad escape, a malformed number, an unknown character) are
/// reported and lexing goes on with a token that keeps the parser in step, so one mistake
/// gives one diagnostic.
public struct Lexer {
    /// The source, borrowed for the duration of `tokenize` (which owns the array).
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var line = 1
    /// Byte offset of the start of the current line.
    var lineStart = 0
    /// UTF-8 continuation bytes between `lineStart` and `position`.
    var continuationBytes = 0
    /// Indentation widths of the open blocks; the bottom is always 0.
    var indentStack: [Int] = [0]
    var tokens: [Token] = []
    var names = NameTable()
    /// Bytes of the string literals, indexed by `TokenKind.string`.
    var strings: [[UInt8]] = []
    var diagnostics: [Diagnostic] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// What lexing a file produces.
    public struct Output: Sendable {
        /// Ends with `endOfFile`, preceded by the `dedent`s that close open blocks.
        public var tokens: [Token]
        public var names: NameTable
        public var strings: [[UInt8]]
        public var diagnostics: [Diagnostic]
    }

    /// Tokenises the whole input.
    public static func tokenize(_ source: [UInt8]) -> Output {
        source.withUnsafeBufferPointer { tokenize(bytes: $0) }
    }

    static func tokenize(bytes: UnsafeBufferPointer<UInt8>) -> Output {
        var lexer = Lexer(bytes: bytes)
        lexer.tokens.reserveCapacity(bytes.count / 4)
        while !lexer.isFinished {
            lexer.lexMore()
        }
        return Output(tokens: lexer.tokens, names: lexer.names, strings: lexer.strings, diagnostics: lexer.diagnostics)
    }

    /// Whether `endOfFile` has been appended to `tokens`.
    private(set) var isFinished = false
    /// Where the last `newline` was (layout tokens at the end of input point there).
    var lastNewline = SourceLocation(line: 1, column: 1)

    /// Appends the tokens of the next line with code to `tokens`, or the closing `dedent`s and
    /// `endOfFile` at the end of the input. The parser calls this on demand, so the whole
    /// token stream never exists at once.
    mutating func lexMore() {
        let count = tokens.count
        while position < bytes.count && tokens.count == count {
            lexLine()
        }
        guard tokens.count == count, !isFinished else { return }
        for _ in 1..<indentStack.count {
            tokens.append(Token(.dedent, at: lastNewline))
        }
        indentStack = [0]
        tokens.append(Token(.endOfFile, at: lastNewline))
        isFinished = true
    }

    @inline(__always)
    var location: SourceLocation {
        SourceLocation(line: line, column: position - lineStart - continuationBytes + 1)
    }

    func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    mutating func report(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    // MARK: Lines and layout

    /// Lexes one physical line, from its first byte through its `\n`.
    mutating func lexLine() {
        lineStart = position
        continuationBytes = 0

        var width = 0
        var tabLocation: SourceLocation?
        while let byte = byte(at: position) {
            if byte == UInt8(ascii: " ") {
                width += 1
            } else if byte == UInt8(ascii: "\t") {
                if tabLocation == nil { tabLocation = location }
                // Recover as if the tab reached the next multiple of four columns.
                width = (width / 4 + 1) * 4
            } else {
                break
            }
            position += 1
        }

        if isBlankRest() {
            skipToNextLine()
            return
        }
        if let tabLocation {
            report("tab in indentation (indent with spaces)", at: tabLocation)
        }
        applyIndentation(width)

        while let byte = byte(at: position), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
                position += 1
            } else if byte == UInt8(ascii: ";"), self.byte(at: position + 1) == UInt8(ascii: ";") {
                skipComment()
            } else {
                lexToken()
            }
        }
        lastNewline = location
        tokens.append(Token(.newline, at: lastNewline))
        if position < bytes.count { newLine() }
    }

    /// Whether the rest of the line holds nothing but spaces and perhaps a comment.
    func isBlankRest() -> Bool {
        var offset = position
        while let byte = byte(at: offset) {
            switch byte {
            case UInt8(ascii: "\n"): return true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): offset += 1
            case UInt8(ascii: ";"): return self.byte(at: offset + 1) == UInt8(ascii: ";")
            default: return false
            }
        }
        return true
    }

    mutating func skipToNextLine() {
        while let byte = byte(at: position), byte != UInt8(ascii: "\n") { position += 1 }
        if position < bytes.count { newLine() }
    }

    mutating func skipComment() {
        while let byte = byte(at: position), byte != UInt8(ascii: "\n") { position += 1 }
    }

    /// Steps over the `\n` at `position` and starts counting a new line.
    mutating func newLine() {
        position += 1
        line += 1
        lineStart = position
        continuationBytes = 0
    }

    /// Emits `indent` or `dedent`s for a line with code indented by `width` spaces.
    mutating func applyIndentation(_ width: Int) {
        let here = location
        if width > indentStack[indentStack.count - 1] {
            indentStack.append(width)
            tokens.append(Token(.indent, at: here))
            return
        }
        while width < indentStack[indentStack.count - 1] {
            indentStack.removeLast()
            tokens.append(Token(.dedent, at: here))
        }
        if width != indentStack[indentStack.count - 1] {
            // The line sits between two levels; treat it as being at the enclosing one.
            report("indentation does not match any enclosing block", at: here)
        }
    }

    // MARK: Tokens

    mutating func lexToken() {
        let start = location
        let byte = bytes[position]
        let next = position + 1 < bytes.count ? bytes[position + 1] : 0
        let kind: TokenKind
        var length = 1
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            return lexIdentifier()
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return lexNumber()
        case UInt8(ascii: "\""):
            return lexString()
        case UInt8(ascii: "("): kind = .leftParen
        case UInt8(ascii: ")"): kind = .rightParen
        case UInt8(ascii: "["): kind = .leftBracket
        case UInt8(ascii: "]"): kind = .rightBracket
        case UInt8(ascii: ","): kind = .comma
        case UInt8(ascii: ";"): kind = .semicolon
        case UInt8(ascii: "."): kind = .dot
        case UInt8(ascii: "+"): kind = .plus
        case UInt8(ascii: "*"): kind = .star
        case UInt8(ascii: "/"): kind = .slash
        case UInt8(ascii: "%"): kind = .percent
        case UInt8(ascii: "-"):
            if next == UInt8(ascii: ">") { kind = .arrow; length = 2 } else { kind = .minus }
        case UInt8(ascii: ":"):
            if next == UInt8(ascii: "=") { kind = .declare; length = 2 } else { kind = .colon }
        case UInt8(ascii: "="):
            if next == UInt8(ascii: "=") { kind = .equal; length = 2 } else { kind = .assign }
        case UInt8(ascii: "<"):
            if next == UInt8(ascii: "=") { kind = .lessEqual; length = 2 } else { kind = .less }
        case UInt8(ascii: ">"):
            if next == UInt8(ascii: "=") { kind = .greaterEqual; length = 2 } else { kind = .greater }
        case UInt8(ascii: "!") where next == UInt8(ascii: "="):
            kind = .notEqual
            length = 2
        default:
            // An unknown character: report it and skip the whole UTF-8 sequence.
            let end = scalarEnd(from: position)
            let text = String(decoding: bytes[position..<end], as: UTF8.self)
            report("unexpected character `\(text)`", at: start)
            continuationBytes += end - position - 1
            position = end
            return
        }
        position += length
        tokens.append(Token(kind, at: start))
    }

    /// The end of the UTF-8 sequence that starts at `offset`: the lead byte and the
    /// continuation bytes after it (at most three, never past a newline).
    func scalarEnd(from offset: Int) -> Int {
        var end = offset + 1
        while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return end
    }

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    mutating func lexIdentifier() {
        let start = location
        let first = position
        while position < bytes.count, Lexer.isIdentifierByte(bytes[position]) { position += 1 }
        let name = names.intern(UnsafeBufferPointer(rebasing: bytes[first..<position]))
        let kind = name.id < NameTable.keywordCount ? NameTable.keywords[Int(name.id)].1 : .identifier(name)
        tokens.append(Token(kind, at: start))
    }
}
