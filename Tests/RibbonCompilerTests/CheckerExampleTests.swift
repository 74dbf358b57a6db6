import RibbonSyntax
import Testing

@testable import RibbonCompiler

/// The shared conformance examples, found from this file's path:
/// `<package root>/Tests/RibbonCompilerTests/X.swift` → `<package root>/../shared/examples`.
enum Examples {
    static let directory: String = {
        // Symlinks resolved, so a scratch package that links the test directory also works.
        let testFile = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let packageRoot = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent("../shared/examples").standardizedFileURL.path
    }()

    static func read(_ relativePath: String) -> SourceFile {
        let path = directory + "/" + relativePath
        return SourceFile(path: path, bytes: readBytes(path) ?? [])
    }

    /// The `.rib` files of a directory (not recursive), sorted.
    static func names(in subdirectory: String = "") -> [String] {
        let path = subdirectory.isEmpty ? directory : directory + "/" + subdirectory
        return listDirectory(path).filter { $0.hasSuffix(".rib") }.sorted()
            .map { subdirectory.isEmpty ? $0 : subdirectory + "/" + $0 }
    }

    /// `;; stderr: TEXT` header lines.
    static func expectedStderr(_ file: SourceFile) -> [String] {
        String(decoding: file.bytes, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(";; stderr: ") }
            .map { String($0.dropFirst(";; stderr: ".count)) }
    }
}

@Suite struct CheckerExampleTests {
    @Test func examplesAreFound() {
        #expect(Examples.names().count >= 6)
        #expect(Examples.names(in: "errors").count >= 5)
    }

    @Test(arguments: Examples.names())
    func exampleChecksCleanly(_ name: String) {
        let file = Examples.read(name)
        let (program, diagnostics) = check(file)
        #expect(diagnostics.isEmpty, "\(diagnostics.map { $0.rendered(in: file) })")
        #expect(program != nil)
        #expect(program?.mainFunction != nil)
    }

    /// Error examples: compile errors must be reported at the positions their `;; stderr:`
    /// headers name (`name.rib:LINE:` or `name.rib:LINE:COL:`); runtime-error examples check fine.
    @Test(arguments: Examples.names(in: "errors"))
    func errorExample(_ name: String) {
        let file = Examples.read(name)
        let fileName = String(name.split(separator: "/").last!)
        let positions = Examples.expectedStderr(file).filter { $0.hasPrefix(fileName + ":") }
        let (program, diagnostics) = check(file)
        if positions.isEmpty {
            #expect(diagnostics.isEmpty, "\(diagnostics)")
            #expect(program != nil)
            return
        }
        #expect(program == nil)
        #expect(diagnostics.count == positions.count, "\(diagnostics.map { $0.rendered(in: file) })")
        for position in positions {
            let rendered = diagnostics.map { SourceFile(path: fileName, bytes: file.bytes).map($0) }
            #expect(rendered.contains { $0.hasPrefix(position) }, "no diagnostic at \(position): \(rendered)")
        }
    }
}

extension SourceFile {
    fileprivate func map(_ diagnostic: Diagnostic) -> String { diagnostic.rendered(in: self) }
}

// Tests may read files with Foundation; the engine targets do not import it.
import Foundation

func readBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

func listDirectory(_ path: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
}
