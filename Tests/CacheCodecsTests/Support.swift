import Foundation

/// Deterministic bytes, so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var bytes = [UInt8]()
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        withUnsafeBytes(of: generator.next().littleEndian) { bytes.append(contentsOf: $0) }
    }
    return Array(bytes.prefix(count))
}

/// Text-like bytes that compress well: a 4 KiB page of words drawn at random, repeated, with one
/// byte in every 512 changed.
func compressibleBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    let words = ["func ", "let ", "return ", "x + 1", "\n", "    ", "ribbon", "(a, b)", "; "]
        .map { Array($0.utf8) }
    var page = [UInt8]()
    while page.count < 4096 {
        page.append(contentsOf: words[Int(generator.next() % UInt64(words.count))])
    }
    page = Array(page.prefix(4096))
    var bytes = [UInt8]()
    bytes.reserveCapacity(count + page.count)
    while bytes.count < count { bytes.append(contentsOf: page) }
    bytes = Array(bytes.prefix(count))
    for index in stride(from: 511, to: count, by: 512) {
        bytes[index] = UInt8(truncatingIfNeeded: generator.next())
    }
    return bytes
}

/// A scratch directory removed when the value is dropped.
final class ScratchDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("CacheCodecsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    deinit { try? FileManager.default.removeItem(at: url) }
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs a tool found on PATH with stdout going to `output` (a file), and returns its exit status.
@discardableResult
func runTool(_ arguments: [String], stdout output: URL) throws -> Int32 {
    FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return process.terminationStatus
}

func readBytes(_ url: URL) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: url))
}

func writeBytes(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}
