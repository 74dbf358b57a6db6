import Foundation
import X86Assembler

/// Runs GNU `as` once over a list of Intel-syntax instructions and returns the code and where
/// each instruction starts.
///
/// Every instruction gets a label `iN` before it; `nm` reports their offsets, so the two sides
/// can be compared instruction by instruction even when one encoding has the wrong length.
/// The labels `start` (offset 0) and `end` (after the last instruction) are there for jumps and
/// RIP-relative operands.
enum GNUAssembler {
    struct Output {
        var bytes: [UInt8]
        /// Start offset of each instruction, plus the end of the last one.
        var offsets: [Int]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func assemble(_ instructions: [String]) throws -> Output {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("x86asm-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var source = ".intel_syntax noprefix\n.text\nstart:\n"
        for (i, instruction) in instructions.enumerated() {
            source += "i\(i):\n    \(instruction)\n"
        }
        source += "i\(instructions.count):\nend:\n"
        let sourcePath = directory.appendingPathComponent("x.s").path
        let objectPath = directory.appendingPathComponent("x.o").path
        let binaryPath = directory.appendingPathComponent("x.bin").path
        try source.write(toFile: sourcePath, atomically: false, encoding: .utf8)

        _ = try run("as", ["--64", "-o", objectPath, sourcePath])
        _ = try run("objcopy", ["-O", "binary", "-j", ".text", objectPath, binaryPath])
        let symbols = try run("nm", ["--defined-only", objectPath])

        var offsets = [Int](repeating: -1, count: instructions.count + 1)
        for line in symbols.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[2].first == "i", let index = Int(fields[2].dropFirst()),
                let offset = Int(fields[0], radix: 16)
            else { continue }
            offsets[index] = offset
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: binaryPath)))
        return Output(bytes: bytes, offsets: offsets)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "\(tool) failed (\(process.terminationStatus)):\n"
                    + String(decoding: errorData.prefix(4000), as: UTF8.self))
        }
        return String(decoding: outputData, as: UTF8.self)
    }
}

/// Intel-syntax names for the operands, as GNU `as` spells them.
enum Syntax {
    static func q(_ r: GPR) -> String { "\(r)" }

    static func d(_ r: GPR) -> String {
        r.rawValue < 8 ? ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"][Int(r.rawValue)] : "\(r)d"
    }

    static func b(_ r: GPR) -> String {
        r.rawValue < 8 ? ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"][Int(r.rawValue)] : "\(r)b"
    }

    static func x(_ r: XMM) -> String { "\(r)" }

    /// `[base + index*scale + displacement]`, with RIP-relative labels named by `labels`.
    static func memory(_ m: Memory, _ size: String, labels: [Label: String]) -> String {
        var parts: [String] = []
        if let label = m.ripTarget {
            parts = ["rip", labels[label]!]
        } else {
            if let base = m.base { parts.append(q(base)) }
            if let index = m.index { parts.append("\(q(index))*\(m.scale)") }
            if parts.isEmpty { return "\(size) ptr ds:\(m.displacement)" }
        }
        var text = parts.joined(separator: " + ")
        if m.displacement > 0 {
            text += " + \(m.displacement)"
        } else if m.displacement < 0 {
            text += " - \(-Int64(m.displacement))"
        }
        return "\(size) ptr [\(text)]"
    }
}
