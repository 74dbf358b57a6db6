/// A `use "path"` declaration: the path as written (after escapes) and where the `use` is.
public struct UseDeclaration: Sendable, Hashable {
    public var path: String
    public var location: SourceLocation

    public init(path: String, location: SourceLocation) {
        self.path = path
        self.location = location
    }
}

extension SourceFileSyntax {
    /// The file's `use` declarations, in order.
    public var uses: [UseDeclaration] {
        declarations.compactMap { declaration in
            guard case .use(let path, let location) = declaration else { return nil }
            return UseDeclaration(path: String(decoding: path, as: UTF8.self), location: location)
        }
    }
}

/// Finds the `use` declarations of a source without lexing or parsing it.
///
/// A warm run must know which files a program uses before it can compute their cache keys, and
/// it should not pay for lexing a large file it will not compile. This skips comments and
/// string literals the way the lexer does and reports each `use` keyword followed by a string
/// literal. For a file that parses without errors the result equals `parse(file).uses` (the
/// keyword is reserved, so in a valid file every `use` token starts a declaration); for any
/// other file it may differ, which only costs a cache miss: what is compiled and stored always
/// comes from the parser.
public func scanUses(_ bytes: [UInt8]) -> [UseDeclaration] {
    bytes.withUnsafeBufferPointer { bytes in
        var uses: [UseDeclaration] = []
        let end = bytes.count
        var p = 0
        var line = 1
        var lineStart = 0
        // UTF-8 continuation bytes since the line started (columns count scalars).
        var continuation = 0
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        let newline = UInt8(ascii: "\n")
        let semicolon = UInt8(ascii: ";")

        /// Skips a string literal starting at `p` (its opening quote); returns its bytes after
        /// escapes, or nil when it is unterminated.
        func string(_ p: inout Int) -> [UInt8]? {
            var value: [UInt8] = []
            p += 1
            while p < end {
                let byte = bytes[p]
                if byte == newline { return nil }
                if byte == quote {
                    p += 1
                    return value
                }
                if byte == backslash {
                    p += 1
                    guard p < end, bytes[p] != newline else { return nil }
                    let code = bytes[p]
                    p += 1
                    switch code {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "t"): value.append(0x09)
                    case backslash: value.append(backslash)
                    case quote: value.append(quote)
                    case UInt8(ascii: "0"): value.append(0)
                    case UInt8(ascii: "x"):
                        guard p + 1 < end, let high = Lexer.hexDigitValue(bytes[p]), let low = Lexer.hexDigitValue(bytes[p + 1])
                        else { return nil }
                        value.append(UInt8(high << 4 | low))
                        p += 2
                    default: return nil
                    }
                    continue
                }
                if byte & 0xC0 == 0x80 { continuation += 1 }
                value.append(byte)
                p += 1
            }
            return nil
        }

        while p < end {
            let byte = bytes[p]
            if byte == newline {
                p += 1
                line += 1
                lineStart = p
                continuation = 0
            } else if byte == quote {
                _ = string(&p)
            } else if byte == semicolon, p + 1 < end, bytes[p + 1] == semicolon {
                while p < end && bytes[p] != newline { p += 1 }
            } else if Lexer.isIdentifierByte(byte) {
                // A whole identifier, keyword or number: only the keyword `use` matters.
                let first = p
                repeat { p += 1 } while p < end && Lexer.isIdentifierByte(bytes[p])
                guard p - first == 3, bytes[first] == UInt8(ascii: "u"), bytes[first + 1] == UInt8(ascii: "s"),
                    bytes[first + 2] == UInt8(ascii: "e")
                else { continue }
                let location = SourceLocation(line: line, column: first - lineStart - continuation + 1)
                while p < end && (bytes[p] == UInt8(ascii: " ") || bytes[p] == UInt8(ascii: "\t") || bytes[p] == UInt8(ascii: "\r")) {
                    p += 1
                }
                guard p < end, bytes[p] == quote, let path = string(&p) else { continue }
                uses.append(UseDeclaration(path: String(decoding: path, as: UTF8.self), location: location))
            } else {
                if byte & 0xC0 == 0x80 { continuation += 1 }
                p += 1
            }
        }
        return uses
    }
}
