/// Turns source bytes into tokens, including the layout tokens (`newline`, `indent`, `dedent`).
///
/// The lexer walks the bytes with an integer index (kept in a local in the hot loops). Columns count Unicode scalars: the lexer
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
    /// The tokens produced and not yet dropped: `tokenCount` of them from `tokenBase`, in
    /// storage of `tokenCapacity` that the lexer owns (freed by `releaseTokens`). A raw buffer
    /// rather than an array: appending is then a store and an increment, with no uniqueness
    /// check, and the parser reads it by plain index.
    var tokenBase: UnsafeMutablePointer<Token>
    var tokenCount = 0
    var tokenCapacity: Int
    var names = NameTable()
    /// Bytes of the string literals, indexed by `TokenKind.string`.
    var strings: [[UInt8]] = []
    var diagnostics: [Diagnostic] = []

    /// How many tokens `lexMore` produces at least per call (unless the input ends): enough to
    /// make refills rare, few enough that the buffer stays in cache.
    static let batch = 512

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        tokenCapacity = 2 * Lexer.batch
        tokenBase = .allocate(capacity: tokenCapacity)
    }

    /// Frees the token storage; the lexer must not be used afterwards.
    mutating func releaseTokens() {
        tokenBase.deinitialize(count: tokenCount)
        tokenBase.deallocate()
        tokenCount = 0
        tokenCapacity = 0
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
        lexer.reserveTokens(bytes.count / 4)
        while !lexer.isFinished {
            lexer.lexMore()
        }
        let tokens = Array(UnsafeBufferPointer(start: lexer.tokenBase, count: lexer.tokenCount))
        lexer.releaseTokens()
        return Output(tokens: tokens, names: lexer.names, strings: lexer.strings, diagnostics: lexer.diagnostics)
    }

    /// Whether `endOfFile` has been appended to the tokens.
    private(set) var isFinished = false
    /// Where the last `newline` was (layout tokens at the end of input point there).
    var lastNewline = SourceLocation(line: 1, column: 1)

    // MARK: Token storage

    /// Makes room for at least `count` tokens in all.
    mutating func reserveTokens(_ count: Int) {
        guard count > tokenCapacity else { return }
        let grown = UnsafeMutablePointer<Token>.allocate(capacity: count)
        grown.moveInitialize(from: tokenBase, count: tokenCount)
        tokenBase.deallocate()
        tokenBase = grown
        tokenCapacity = count
    }

    @inline(__always)
    mutating func append(_ token: Token) {
        if tokenCount == tokenCapacity { reserveTokens(tokenCapacity * 2) }
        (tokenBase + tokenCount).initialize(to: token)
        tokenCount += 1
    }

    /// Drops the first `count` tokens, moving the rest to the front.
    mutating func dropTokens(_ count: Int) {
        guard count > 0 else { return }
        tokenBase.moveUpdate(from: tokenBase + count, count: tokenCount - count)
        tokenCount -= count
    }

    /// Appends the tokens of the next lines with code (at least `batch` tokens' worth, or up to
    /// the end of the input) and, at the end of the input, the closing `dedent`s and
    /// `endOfFile`. The parser calls this on demand, so the whole token stream never exists
    /// at once.
    mutating func lexMore() {
        guard !isFinished else { return }
        let target = tokenCount + Lexer.batch
        while position < bytes.count && tokenCount < target {
            lexLine()
        }
        guard position >= bytes.count else { return }
        for _ in 1..<indentStack.count {
            append(Token(.dedent, at: lastNewline))
        }
        indentStack = [0]
        append(Token(.endOfFile, at: lastNewline))
        isFinished = true
    }

    @inline(__always)
    var location: SourceLocation {
        SourceLocation(line: line, column: position - lineStart - continuationBytes + 1)
    }

    /// The byte at `offset`, or 0 past the end (0 means nothing to any rule of the lexer; a NUL
    /// inside the input is an unknown character, handled where it is lexed as a token).
    @inline(__always)
    func byte(at offset: Int) -> UInt8 {
        offset < bytes.count ? bytes[offset] : 0
    }

    mutating func report(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    // MARK: Lines and layout

    /// Lexes one physical line, from its first byte through its `\n`.
    mutating func lexLine() {
        let end = bytes.count
        var p = position
        lineStart = p
        continuationBytes = 0

        var width = 0
        var tabLocation: SourceLocation?
        while p < end {
            let byte = bytes[p]
            if byte == UInt8(ascii: " ") {
                width += 1
            } else if byte == UInt8(ascii: "\t") {
                if tabLocation == nil { tabLocation = SourceLocation(line: line, column: p - lineStart + 1) }
                // Recover as if the tab reached the next multiple of four columns.
                width = (width / 4 + 1) * 4
            } else {
                break
            }
            p += 1
        }
        position = p

        if isBlankRest() {
            skipToNextLine()
            return
        }
        if let tabLocation {
            report("tab in indentation (indent with spaces)", at: tabLocation)
        }
        if width != indentStack[indentStack.count - 1] {
            applyIndentation(width)
        }

        let line = self.line
        while p < end {
            let byte = bytes[p]
            if Lexer.isIdentifierStart(byte) {
                // Identifiers are most tokens: scanned and hashed here, in registers.
                let first = p
                var hash = NameTable.hashSeed
                repeat {
                    hash = NameTable.hash(hash, bytes[p])
                    p += 1
                } while p < end && Lexer.isIdentifierByte(bytes[p])
                let name = names.intern(UnsafeBufferPointer(rebasing: bytes[first..<p]), hash: hash)
                let kind = name.id < NameTable.keywordCount ? NameTable.keywordKind(name.id) : .identifier(name)
                append(Token(kind, at: SourceLocation(line: line, column: first - lineStart - continuationBytes + 1)))
                continue
            }
            // Single-byte punctuation, the next most common, is also handled here.
            let single: TokenKind
            switch byte {
            case UInt8(ascii: "("): single = .leftParen
            case UInt8(ascii: ")"): single = .rightParen
            case UInt8(ascii: "["): single = .leftBracket
            case UInt8(ascii: "]"): single = .rightBracket
            case UInt8(ascii: ","): single = .comma
            case UInt8(ascii: "+"): single = .plus
            case UInt8(ascii: "*"): single = .star
            case UInt8(ascii: "/"): single = .slash
            case UInt8(ascii: "%"): single = .percent
            case UInt8(ascii: "\n"):
                position = p
                lastNewline = location
                append(Token(.newline, at: lastNewline))
                newLine()
                return
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                p += 1
                continue
            case UInt8(ascii: ";") where p + 1 < end && bytes[p + 1] == UInt8(ascii: ";"):
                // A comment: skip to the end of the line.
                p += 2
                while p < end && bytes[p] != UInt8(ascii: "\n") { p += 1 }
                continue
            default:
                position = p
                lexToken()
                p = position
                continue
            }
            append(Token(single, at: SourceLocation(line: line, column: p - lineStart - continuationBytes + 1)))
            p += 1
        }
        position = p
        lastNewline = location
        append(Token(.newline, at: lastNewline))
    }

    /// Whether the rest of the line holds nothing but spaces and perhaps a comment.
    func isBlankRest() -> Bool {
        var offset = position
        while offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: "\n"): return true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): offset += 1
            case UInt8(ascii: ";"): return byte(at: offset + 1) == UInt8(ascii: ";")
            default: return false
            }
        }
        return true
    }

    mutating func skipToNextLine() {
        var p = position
        while p < bytes.count && bytes[p] != UInt8(ascii: "\n") { p += 1 }
        position = p
        if position < bytes.count { newLine() }
    }

    /// Steps over the `\n` at `position` and starts counting a new line.
    @inline(__always)
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
            append(Token(.indent, at: here))
            return
        }
        while width < indentStack[indentStack.count - 1] {
            indentStack.removeLast()
            append(Token(.dedent, at: here))
        }
        if width != indentStack[indentStack.count - 1] {
            // The line sits between two levels; treat it as being at the enclosing one.
            report("indentation does not match any enclosing block", at: here)
        }
    }

    // MARK: Tokens

    /// A token other than an identifier, at `position` (not a space, comment or newline).
    mutating func lexToken() {
        let start = location
        let byte = bytes[position]
        let next = self.byte(at: position + 1)
        let kind: TokenKind
        var length = 1
        switch byte {
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
        append(Token(kind, at: start))
    }

    /// The end of the UTF-8 sequence that starts at `offset`: the lead byte and the
    /// continuation bytes after it (at most three, never past a newline).
    func scalarEnd(from offset: Int) -> Int {
        var end = offset + 1
        while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return end
    }

    /// `[A-Za-z_]`
    @inline(__always)
    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte == UInt8(ascii: "_")
    }

    /// `[A-Za-z0-9_]`
    @inline(__always)
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "_")
    }
}
