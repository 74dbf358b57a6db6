import Foundation
import Testing

/// One conformance example: `NAME.rib`, its expected standard output `NAME.out`, and the
/// `;; exit: N` / `;; stderr: TEXT` header lines (../shared/examples/README.md).
struct ExampleFile: CustomTestStringConvertible, Sendable {
    let path: String
    let expectedOutput: String
    let expectedStatus: Int32
    let expectedStderr: [String]

    var testDescription: String { URL(fileURLWithPath: path).lastPathComponent }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// ../shared/examples, as a path.
    static let sharedExamples = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/examples").path

    /// Every example under ../shared/examples and the project's own examples/ (not `lib/`
    /// folders, which hold files other examples use, and not `v2/`: the version-2 language —
    /// arguments, input, text — is issue 14, not implemented yet).
    static func all() -> [ExampleFile] {
        let roots = [
            packageRoot.deletingLastPathComponent().appendingPathComponent("shared/examples"),
            packageRoot.appendingPathComponent("examples"),
        ]
        var found: [ExampleFile] = []
        for root in roots {
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where url.pathExtension == "rib" && !url.path.contains("/lib/") && !url.path.contains("/v2/") {
                found.append(load(url))
            }
        }
        return found.sorted { $0.path < $1.path }
    }

    static func load(_ url: URL) -> ExampleFile {
        let source = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var status: Int32 = 0
        var stderr: [String] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(";; exit: "), let n = Int32(line.dropFirst(9)) { status = n }
            if line.hasPrefix(";; stderr: ") { stderr.append(String(line.dropFirst(11))) }
        }
        let out = url.deletingPathExtension().appendingPathExtension("out")
        let expected = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        return ExampleFile(path: url.path, expectedOutput: expected, expectedStatus: status, expectedStderr: stderr)
    }

    /// Calls C through `foreign`: C writes to the real standard output, which in-process
    /// capture does not see, so its output is compared through the built binary (CLITests).
    var writesThroughC: Bool {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").contains("foreign \"")
    }
}
