import Testing

@testable import RibbonSyntax

/// Token kinds of `source`, identifiers spelled out as `.identifier` with their text checked
/// separately where it matters.
func lex(_ source: String) -> Lexer.Output {
    Lexer.tokenize(Array(source.utf8))
}

func kinds(_ source: String) -> [TokenKind] {
    lex(source).tokens.map(\.kind)
}

func messages(_ output: Lexer.Output) -> [String] {
    output.diagnostics.map { "\($0.location): \($0.message)" }
}

@Suite struct LexerTests {
    @Test func operatorsAndPunctuation() {
        #expect(
            kinds("( ) [ ] , : ; . -> := = + - * / % == != < <= > >=")
                == [
                    .leftParen, .rightParen, .leftBracket, .rightBracket, .comma, .colon, .semicolon, .dot,
                    .arrow, .declare, .assign, .plus, .minus, .star, .slash, .percent, .equal, .notEqual,
                    .less, .lessEqual, .greater, .greaterEqual, .newline, .endOfFile,
                ])
    }

    @Test func keywordsAndIdentifiers() {
        let output = lex("fun foreign use if else while return break continue and or not true false x_1 _y")
        let expected: [TokenKind] = [
            .keywordFun, .keywordForeign, .keywordUse, .keywordIf, .keywordElse, .keywordWhile,
            .keywordReturn, .keywordBreak, .keywordContinue, .keywordAnd, .keywordOr, .keywordNot,
            .keywordTrue, .keywordFalse,
        ]
        #expect(Array(output.tokens.map(\.kind).prefix(14)) == expected)
        guard case .identifier(let first) = output.tokens[14].kind, case .identifier(let second) = output.tokens[15].kind
        else {
            Issue.record("expected identifiers")
            return
        }
        #expect(output.names[first] == "x_1")
        #expect(output.names[second] == "_y")
        // The same spelling interns to the same name.
        let again = lex("abc abc abd").tokens.map(\.kind)
        #expect(again[0] == again[1])
        #expect(again[0] != again[2])
    }

    @Test func integerLiterals() {
        #expect(kinds("123 0xFF 0Xff 1_000_000 0xFFFF_FFFF 0")
            == [.integer(123), .integer(255), .integer(255), .integer(1_000_000), .integer(0xFFFF_FFFF), .integer(0), .newline, .endOfFile])
        // Too large for UInt64: saturates (the checker reports it).
        #expect(kinds("99999999999999999999999")[0] == .integer(.max))
        #expect(kinds("9223372036854775808")[0] == .integer(9_223_372_036_854_775_808))
    }

    @Test func floatLiterals() {
        #expect(kinds("1.5 2.0e-3 1e9 1_000.5 3E+2 0.1")
            == [.float(1.5), .float(2.0e-3), .float(1e9), .float(1000.5), .float(300), .float(0.1), .newline, .endOfFile])
    }

    @Test func dotNeedsDigitsOnBothSides() {
        // `2.` is the integer 2 and a header dot; `.5` is a dot and 5.
        #expect(kinds("2. n") .prefix(3) == [.integer(2), .dot, .identifier(Name(id: NameTable.keywordCount))])
        #expect(kinds(".5").prefix(2) == [.dot, .integer(5)])
    }

    @Test func malformedNumbers() {
        for (source, column) in [("x 1__0", 3), ("1_", 1), ("0x_FF", 1), ("12ab", 1), ("1.5e", 1), ("0x", 1), ("1_.5", 1)] {
            let output = lex(source)
            #expect(messages(output).count == 1, "\(source)")
            #expect(output.diagnostics.first?.message.hasPrefix("malformed number") == true, "\(source)")
            #expect(output.diagnostics.first?.location.column == column, "\(source)")
        }
    }

    @Test func stringEscapes() {
        let output = lex(#""a\n\t\\\"\0\x41z""#)
        guard case .string(let index) = output.tokens[0].kind else {
            Issue.record("expected a string")
            return
        }
        #expect(output.strings[Int(index)] == [97, 10, 9, 92, 34, 0, 0x41, 122])
        #expect(output.diagnostics.isEmpty)
    }

    @Test func badEscapes() {
        #expect(messages(lex(#"x := "ab\qc""#)) == [#"1:9: invalid escape sequence `\q`"#])
        #expect(messages(lex(#"x := "\x4""#)) == [#"1:7: invalid escape sequence `\x`: expected two hex digits"#])
    }

    @Test func unterminatedString() {
        let output = lex("x := \"abc\ny := 1")
        #expect(messages(output) == ["1:6: unterminated string literal"])
        // The next line still lexes normally.
        #expect(output.tokens.map(\.kind).contains(.integer(1)))
    }

    @Test func unknownCharacters() {
        #expect(messages(lex("x := 1 @ 2")) == ["1:8: unexpected character `@`"])
        #expect(messages(lex("x := \"é\" $")) == ["1:10: unexpected character `$`"])
        #expect(messages(lex("λ")) == ["1:1: unexpected character `λ`"])
        #expect(messages(lex("x ! y")) == ["1:3: unexpected character `!`"])
    }

    @Test func columnsCountUnicodeScalars() {
        // "é" is two bytes but one column.
        let output = lex("\"é\" + 1")
        #expect(output.tokens[1].location == SourceLocation(line: 1, column: 5))
    }

    @Test func commentsAndBlankLines() {
        #expect(kinds(";; only a comment\n\n   \n;; another\nx ;; trailing\n") == [.identifier(Name(id: NameTable.keywordCount)), .newline, .endOfFile])
        #expect(kinds("") == [.endOfFile])
    }

    @Test func indentation() {
        let source = """
            a
                b
                    c

                ;; comment at another depth
                d
            e
            """
        let layout = kinds(source).filter { if case .identifier = $0 { false } else { true } }
        #expect(layout == [.newline, .indent, .newline, .indent, .newline, .dedent, .newline, .dedent, .newline, .endOfFile])
    }

    @Test func dedentSeveralLevelsAndAtEnd() {
        let layout = kinds("a\n  b\n    c\nd\n  e").filter { if case .identifier = $0 { false } else { true } }
        #expect(layout == [.newline, .indent, .newline, .indent, .newline, .dedent, .dedent, .newline, .indent, .newline, .dedent, .endOfFile])
    }

    @Test func inconsistentDedent() {
        let output = lex("a\n    b\n  c\n")
        #expect(messages(output) == ["3:3: indentation does not match any enclosing block"])
    }

    @Test func tabInIndentation() {
        let output = lex("a\n\tb\n    c\n")
        #expect(messages(output) == ["2:1: tab in indentation (indent with spaces)"])
        // The tab counts as four columns, so `c` stays in the same block.
        let layout = output.tokens.map(\.kind).filter { if case .identifier = $0 { false } else { true } }
        #expect(layout == [.newline, .indent, .newline, .newline, .dedent, .endOfFile])
        // A tab between tokens is only whitespace.
        #expect(lex("a\tb").diagnostics.isEmpty)
    }

    @Test func crlfLineEndings() {
        let output = lex("a\r\n    b\r\n")
        #expect(output.diagnostics.isEmpty)
        #expect(output.tokens.map(\.kind).filter { if case .identifier = $0 { false } else { true } } == [.newline, .indent, .newline, .dedent, .endOfFile])
    }

    @Test func endOfFileLocation() {
        // Layout tokens at the end point at the end of the last line with code.
        let output = lex("ab\n\n;; c\n")
        #expect(output.tokens.last?.location == SourceLocation(line: 1, column: 3))
    }
}
