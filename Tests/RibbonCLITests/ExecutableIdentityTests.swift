import Foundation
import Testing

@testable import RibbonDriver

@Suite struct ExecutableIdentityTests {
    /// The build-id read from memory is the one `readelf -n` shows for this test executable.
    @Test func buildIDMatchesReadelf() throws {
        let id = try #require(ExecutableIdentity.buildID)
        #expect(id.count >= 16)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/readelf")
        process.arguments = ["-n", "/proc/self/exe".replacingOccurrences(of: "self", with: "\(getpid())")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.contains("Build ID: \(id)"))
    }
}
