/// The kinds of token the lexer produces.
///
/// Layout is tokenised the way Python does it: every line with code ends in `newline`, and a
/// change of indentation produces `indent` / `dedent` before the first token of the line.
/// Blank and comment-only lines produce nothing.
public enum TokenKind: Equatable, Sendable {
    case identifier(Name)
    /// An integer literal's value; literals beyond `UInt64.max` saturate (the checker rejects
    /// anything above `Int64.max` except directly after a prefix `-`).
    case integer(UInt64)
    case float(Double)
    /// A string literal: an index into the lexer's table of literal bytes (after escapes).
    case string(Int32)

    case keywordFun, keywordForeign, keywordUse, keywordIf, keywordElse, keywordWhile
    case keywordReturn, keywordBreak, keywordContinue, keywordAnd, keywordOr, keywordNot
    case keywordTrue, keywordFalse

    case leftParen, rightParen, leftBracket, rightBracket
    case comma, colon, semicolon, dot, arrow
    /// `:=`
    case declare
    /// `=`
    case assign
    case plus, minus, star, slash, percent
    case equal, notEqual, less, lessEqual, greater, greaterEqual

    case newline, indent, dedent, endOfFile

    /// How messages name the token ("found `)`", "found end of line").
    public var description: String {
        switch self {
        case .identifier: "a name"
        case .integer, .float: "a number"
        case .string: "a string"
        case .keywordFun: "`fun`"
        case .keywordForeign: "`foreign`"
        case .keywordUse: "`use`"
        case .keywordIf: "`if`"
        case .keywordElse: "`else`"
        case .keywordWhile: "`while`"
        case .keywordReturn: "`return`"
        case .keywordBreak: "`break`"
        case .keywordContinue: "`continue`"
        case .keywordAnd: "`and`"
        case .keywordOr: "`or`"
        case .keywordNot: "`not`"
        case .keywordTrue: "`true`"
        case .keywordFalse: "`false`"
        case .leftParen: "`(`"
        case .rightParen: "`)`"
        case .leftBracket: "`[`"
        case .rightBracket: "`]`"
        case .comma: "`,`"
        case .colon: "`:`"
        case .semicolon: "`;`"
        case .dot: "`.`"
        case .arrow: "`->`"
        case .declare: "`:=`"
        case .assign: "`=`"
        case .plus: "`+`"
        case .minus: "`-`"
        case .star: "`*`"
        case .slash: "`/`"
        case .percent: "`%`"
        case .equal: "`==`"
        case .notEqual: "`!=`"
        case .less: "`<`"
        case .lessEqual: "`<=`"
        case .greater: "`>`"
        case .greaterEqual: "`>=`"
        case .newline: "end of line"
        case .indent: "indentation"
        case .dedent: "end of block"
        case .endOfFile: "end of file"
        }
    }
}

/// A token: its kind and where it starts. A `newline` is at the end of its line;
/// `indent`/`dedent` are at the first token of the line that changes the indentation.
///
/// Tokens are trivial values (no references), so the parser copies them for free; names and
/// string literals live in side tables (`NameTable`, `Lexer.strings`).
public struct Token: Sendable {
    public var kind: TokenKind
    public var location: SourceLocation

    public init(_ kind: TokenKind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// An interned identifier: equal names have equal ids within one file. `NameTable` (kept in
/// `SourceFileSyntax.names`) gives the text back.
public struct Name: Hashable, Sendable {
    public var id: Int32

    public init(id: Int32) {
        self.id = id
    }
}
