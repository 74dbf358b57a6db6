import Testing

@testable import RibbonSyntax

@Suite struct DiagnosticTests {
    @Test func renderedHasThreeLines() {
        let file = SourceFile(path: "dir/x.rib", text: "main := fun () -> I64.\n    y := (1 + 2\n    0\n")
        let diagnostic = Diagnostic("expected `)`, found end of line", at: SourceLocation(line: 2, column: 16))
        #expect(
            diagnostic.rendered(in: file) == """
                dir/x.rib:2:16: error: expected `)`, found end of line
                    y := (1 + 2
                               ^
                """)
    }

    @Test func renderedAtFirstColumnAndLastLineWithoutNewline() {
        let file = SourceFile(path: "a.rib", text: "x\r\nbad")
        #expect(Diagnostic("m", at: SourceLocation(line: 2, column: 1)).rendered(in: file) == "a.rib:2:1: error: m\nbad\n^")
        #expect(Diagnostic("m", at: SourceLocation(line: 1, column: 2)).rendered(in: file) == "a.rib:1:2: error: m\nx\n ^")
    }

    @Test func sortedByLocationKeepsOrderOfEqualPositions() {
        let a = Diagnostic("a", at: SourceLocation(line: 2, column: 1))
        let b = Diagnostic("b", at: SourceLocation(line: 1, column: 5))
        let c = Diagnostic("c", at: SourceLocation(line: 2, column: 1))
        #expect([a, b, c].sortedByLocation().map(\.message) == ["b", "a", "c"])
    }

    @Test func sourceFileLines() {
        let file = SourceFile(path: "p", text: "one\ntwo\n")
        #expect(file.lineCount == 2)
        #expect(file.lineText(2) == "two")
        #expect(file.lineText(9) == "")
        #expect(SourceFile(path: "p", text: "").lineCount == 1)
    }
}
