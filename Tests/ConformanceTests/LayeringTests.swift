import Foundation
import Testing

/// The layering rules of Documentation/Architecture.md, checked against the tree by
/// `tools/check_layers.py`: each module imports only what Package.swift declares for it, no
/// module above RibbonCache touches SQLiteSupport, no `@_exported import`, no Foundation in
/// engine modules, no file or type past its size bound, and `public` only where the rule allows.
@Suite struct LayeringTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func modulesKeepToTheirLayers() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "tools/check_layers.py"]
        process.currentDirectoryURL = Self.packageRoot
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 tools/check_layers.py:\n\(output)")
    }
}
