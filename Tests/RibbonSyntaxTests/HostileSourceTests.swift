import Testing

@testable import RibbonSyntax

/// What a compile error shows of a file that is not a Ribbon program (LANGUAGE.md v2,
/// "Errors"): one error for a file that is not UTF-8, at most 50 errors, source lines at most
/// 200 columns wide with unprintable bytes escaped.
@Suite struct HostileSourceTests {
    @Test(arguments: [
        ([0x61, 0x62, 0xFF], 2),  // a byte that never starts UTF-8
        ([0xC0, 0x80], 0),  // overlong NUL
        ([0x41, 0xED, 0xA0, 0x80], 1),  // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], 0),  // past U+10FFFF
        ([0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xE2, 0x82], 9),  // cut short after an ASCII run
        ([0x80], 0),  // a lone continuation byte
    ] as [([UInt8], Int)])
    func firstBadByteIsFound(bytes: [UInt8], offset: Int) {
        #expect(SourceFile(path: "x", bytes: bytes).firstInvalidUTF8Offset() == offset)
    }

    @Test func wellFormedUTF8IsText() {
        let text = ";; é ñ € 𝄞 — comments may hold any text\nmain := fun () -> I64.\n    0\n"
        #expect(SourceFile(path: "x", text: text).firstInvalidUTF8Offset() == nil)
        #expect(SourceFile(path: "x", bytes: []).firstInvalidUTF8Offset() == nil)
    }

    @Test func aFileThatIsNotUTF8IsOneErrorAtItsFirstBadByte() {
        var bytes = Array("main := fun () -> I64.\n    é := 0\n    ".utf8)
        bytes += [0xFE, 0x01, 0xFF, 0x02] + Array(" junk junk ( ( ( \n".utf8)
        let (_, diagnostics) = parse(SourceFile(path: "bad.rib", bytes: bytes))
        #expect(diagnostics == [Diagnostic("the file is not UTF-8 text (byte 0xFE)", at: SourceLocation(line: 3, column: 5))])
    }

    @Test func aLongLineIsShownAtMost200ColumnsWideAroundTheCaret() {
        let line = "    x := " + String(repeating: "1 + ", count: 150) + "?"
        let file = SourceFile(path: "long.rib", text: "main := fun () -> I64.\n" + line + "\n")
        let column = line.count  // the `?`
        let lines = Diagnostic("unexpected character `?`", at: SourceLocation(line: 2, column: column))
            .rendered(in: file).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines[1].count <= Diagnostic.maximumLineColumns)
        #expect(lines[1].hasSuffix("1 + ?"))
        // The caret is under the `?` of the shown part.
        #expect(lines[2].count == lines[1].count)
        #expect(lines[2].last == "^")
    }

    @Test func controlBytesAreEscapedInTheLineAndTheMessageAndTheCaretFollows() {
        let file = SourceFile(path: "c.rib", bytes: Array("a\u{01}\u{1B}[2J = 1\tb".utf8))
        let rendered = Diagnostic("unexpected character `\u{01}`", at: SourceLocation(line: 1, column: 8))
            .rendered(in: file)
        #expect(rendered == "c.rib:1:8: error: unexpected character `\\x01`\na\\x01\\x1B[2J = 1\tb\n             ^")  // under the `=`
    }

    @Test func atMost50ErrorsAreShown() {
        let file = SourceFile(path: "m.rib", text: String(repeating: "?\n", count: 80))
        let diagnostics = (1...80).map { Diagnostic("unexpected character `?`", at: SourceLocation(line: $0, column: 1)) }
        let rendered = diagnostics.rendered(in: file)
        #expect(rendered.count == 51)
        #expect(rendered.last == "ribbon: too many errors (50 shown)")
        #expect(Array(diagnostics.prefix(3)).rendered(in: file).count == 3)
    }
}
