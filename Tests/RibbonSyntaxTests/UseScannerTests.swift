import Foundation
import Testing

@testable import RibbonSyntax

/// `scanUses` finds a file's `use` declarations without parsing it (a warm run needs them
/// before it knows whether to compile). On every file that parses cleanly it must agree with
/// the parser exactly.
@Suite struct UseScannerTests {
    func parsedUses(_ text: String) -> [UseDeclaration]? {
        let (syntax, diagnostics) = parse(SourceFile(path: "t.rib", text: text))
        return diagnostics.isEmpty ? syntax.uses : nil
    }

    @Test(arguments: [
        "use \"a.rib\"\nmain := fun () -> I64.\n    0\n",
        "x := 1; use \"a.rib\"; use \"b.rib\"\n",
        ";; use \"commented.rib\"\nuse \"real.rib\" ;; use \"not.rib\"\n",
        "s := \"use \\\"inside a string.rib\\\"\"\nuse \"after.rib\"\n",
        "use \"esc\\x41\\\\ped \\\"q\\\".rib\"\n",
        "reuse := 1\nuse_count := 2\n_use := 3\nuse1 := 4\n",
        "f := fun (n: I64) -> I64.\n    n\n\nuse \"late.rib\"\n",
        "é := 0\n",
        "g := \"é\"; use \"after_multibyte.rib\"\n",
        "use\t\"tab.rib\"\n",
        "use \"same.rib\"\nuse \"same.rib\"\n",
    ])
    func agreesWithTheParser(_ text: String) {
        let scanned = scanUses(Array(text.utf8))
        guard let parsed = parsedUses(text) else {
            return  // a file with errors: the scan may differ (it only costs a cache miss)
        }
        #expect(scanned == parsed, "\(text)")
    }

    @Test func findsPathsAndPositions() {
        let scanned = scanUses(Array("x := 1; use \"lib/a.rib\"\n\nuse \"b\\x2erib\"\n".utf8))
        #expect(scanned.map(\.path) == ["lib/a.rib", "b.rib"])
        #expect(scanned.map(\.location) == [SourceLocation(line: 1, column: 9), SourceLocation(line: 3, column: 1)])
    }

    /// Every example of this repository and of ../shared, and the files they use.
    @Test func agreesWithTheParserOnEveryExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var checked = 0
        for directory in [root.appendingPathComponent("examples"), root.appendingPathComponent("../shared/examples")] {
            guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where url.pathExtension == "rib" {
                let bytes = Array(try Data(contentsOf: url))
                let (syntax, diagnostics) = parse(SourceFile(path: url.path, bytes: bytes))
                guard diagnostics.isEmpty else { continue }
                #expect(scanUses(bytes) == syntax.uses, "\(url.path)")
                checked += 1
            }
        }
        #expect(checked > 40)
    }
}
