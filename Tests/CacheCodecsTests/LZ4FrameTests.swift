import CacheCodecs
import Foundation
import Testing

@Suite struct LZ4FrameTests {
    static let inputs: [(name: String, bytes: [UInt8])] = [
        ("empty", []),
        ("one byte", [0x42]),
        ("random 1 MiB", randomBytes(1 << 20, seed: 1)),
        ("compressible 4 MiB", compressibleBytes(4 << 20, seed: 2)),
    ]

    @Test func roundTrips() throws {
        for (name, bytes) in Self.inputs {
            let frame = try LZ4Frame.compress(bytes)
            #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18], "\(name): magic number")
            #expect(try LZ4Frame.decompress(frame, expectedSize: bytes.count) == bytes, "\(name)")
        }
        let compressible = Self.inputs[3].bytes
        #expect(try LZ4Frame.compress(compressible).count < compressible.count / 10)
        // The raw-buffer entry points are the same functions.
        let bytes = Self.inputs[2].bytes
        let frame = try bytes.withUnsafeBytes { try LZ4Frame.compress($0) }
        let back = try frame.withUnsafeBytes { try LZ4Frame.decompress($0, expectedSize: bytes.count) }
        #expect(back == bytes)
    }

    @Test func theLz4ToolReadsOurFrames() throws {
        let scratch = try ScratchDirectory()
        for (index, (name, bytes)) in Self.inputs.enumerated() {
            let frameFile = scratch.file("frame\(index).lz4")
            try writeBytes(try LZ4Frame.compress(bytes), to: frameFile)
            let output = scratch.file("out\(index)")
            try runTool(["lz4", "-d", "-c", frameFile.path], stdout: output)
            #expect(try readBytes(output) == bytes, "\(name)")
        }
    }

    @Test func weReadTheLz4ToolsFrames() throws {
        let scratch = try ScratchDirectory()
        let variants: [[String]] = [
            [],                                  // the tool's defaults: no content size recorded
            ["--content-size"],
            ["-B4", "-BD", "--no-frame-crc"],    // 64 KiB linked blocks, no content checksum
            ["-9", "-B7", "-BX"],                // high compression, 4 MiB blocks, block checksums
        ]
        for (index, (name, bytes)) in Self.inputs.enumerated() {
            let input = scratch.file("in\(index)")
            try writeBytes(bytes, to: input)
            for (variantIndex, options) in variants.enumerated() {
                let frameFile = scratch.file("frame\(index)-\(variantIndex).lz4")
                try runTool(["lz4", "-c"] + options + [input.path], stdout: frameFile)
                let frame = try readBytes(frameFile)
                #expect(try LZ4Frame.decompress(frame, expectedSize: bytes.count) == bytes,
                        "\(name), lz4 \(options)")
                if bytes.count > 0 {
                    // Without a recorded size the wrong expectation is only found while decoding.
                    #expect(throws: CodecError.self, "\(name), lz4 \(options), one short") {
                        try LZ4Frame.decompress(frame, expectedSize: bytes.count - 1)
                    }
                }
                #expect(throws: CodecError.self, "\(name), lz4 \(options), one long") {
                    try LZ4Frame.decompress(frame, expectedSize: bytes.count + 1)
                }
            }
        }
    }

    /// A small frame with a few blocks' worth of structure: literals, matches, several blocks.
    static func smallFrame() throws -> (bytes: [UInt8], frame: [UInt8]) {
        let bytes = compressibleBytes(300, seed: 3) + randomBytes(40, seed: 4)
        return (bytes, try LZ4Frame.compress(bytes))
    }

    @Test func everyByteFlipIsCaught() throws {
        let (bytes, frame) = try Self.smallFrame()
        var harmless = 0
        var wrongOutput = 0
        for position in frame.indices {
            for mask: UInt8 in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] {
                var corrupt = frame
                corrupt[position] ^= mask
                do {
                    let output = try LZ4Frame.decompress(corrupt, expectedSize: bytes.count)
                    if output == bytes { harmless += 1 } else { wrongOutput += 1 }
                } catch is CodecError {
                } catch {
                    Issue.record("byte \(position) ^ \(mask): unexpected error \(error)")
                }
            }
        }
        #expect(wrongOutput == 0, "a corrupt frame decoded to different bytes without an error")
        // A flip can be genuinely harmless: in repetitive data a changed match offset can point
        // at an identical earlier copy, or a changed length can split literals and a match
        // differently, and the output (and so its checksum) is the same. Those must stay rare.
        #expect(harmless * 50 < frame.count * 9, "\(harmless) harmless flips")
    }

    @Test func everyTruncationIsCaught() throws {
        let (bytes, frame) = try Self.smallFrame()
        for length in 0..<frame.count {
            #expect(throws: CodecError.self, "first \(length) of \(frame.count) bytes") {
                try LZ4Frame.decompress(Array(frame.prefix(length)), expectedSize: bytes.count)
            }
        }
        #expect(try LZ4Frame.decompress(frame, expectedSize: bytes.count) == bytes)
    }

    @Test func trailingBytesAreRefused() throws {
        let (bytes, frame) = try Self.smallFrame()
        #expect(throws: CodecError.self) { try LZ4Frame.decompress(frame + [0], expectedSize: bytes.count) }
        // Even a second complete frame: one image is one frame.
        #expect(throws: CodecError.self) {
            try LZ4Frame.decompress(frame + frame, expectedSize: bytes.count)
        }
        #expect(throws: CodecError.self) {
            try LZ4Frame.decompress(frame + frame, expectedSize: 2 * bytes.count)
        }
    }

    @Test func garbageIsRefused() throws {
        var generator = SplitMix64(seed: 99)
        let magic: [UInt8] = [0x04, 0x22, 0x4D, 0x18]
        for count in [0, 1, 3, 4, 5, 7, 8, 15, 16, 19, 64, 100, 1000, 4096, 70_000] {
            for round in 0..<20 {
                let garbage = randomBytes(count, seed: generator.next())
                let expectedSize = Int(generator.next() % 100_000)
                #expect(throws: CodecError.self, "\(count) random bytes, round \(round)") {
                    try LZ4Frame.decompress(garbage, expectedSize: expectedSize)
                }
                // Past the magic-number check, into liblz4's header and block parsing.
                #expect(throws: CodecError.self, "magic + \(count) random bytes, round \(round)") {
                    try LZ4Frame.decompress(magic + garbage, expectedSize: expectedSize)
                }
            }
        }
        // A skippable frame is a valid LZ4 stream with no content, but not an image.
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]
        #expect(throws: CodecError.self) { try LZ4Frame.decompress(skippable, expectedSize: 0) }
    }

    @Test func wrongExpectedSizeIsRefused() throws {
        for (name, bytes) in Self.inputs {
            let frame = try LZ4Frame.compress(bytes)
            for wrong in [bytes.count - 1, bytes.count + 1, bytes.count / 2, bytes.count * 2 + 10, 0, -1] {
                guard wrong != bytes.count else { continue }
                #expect(throws: CodecError.self, "\(name) decoded as \(wrong) bytes") {
                    try LZ4Frame.decompress(frame, expectedSize: wrong)
                }
            }
        }
        let frame = try LZ4Frame.compress([1, 2, 3])
        #expect(throws: CodecError.self) {
            try LZ4Frame.decompress(frame, expectedSize: LZ4Frame.maximumSize + 1)
        }
        #expect(throws: CodecError.self) { try LZ4Frame.decompress(frame, expectedSize: Int.max) }
        #expect(throws: CodecError.self) { try LZ4Frame.decompress(frame, expectedSize: Int.min) }
    }

    @Test func errorsAreOneLine() throws {
        let (bytes, frame) = try Self.smallFrame()
        var corrupt = frame
        corrupt[corrupt.count - 2] ^= 1  // the content checksum
        let cases: [() throws -> [UInt8]] = [
            { try LZ4Frame.decompress(corrupt, expectedSize: bytes.count) },
            { try LZ4Frame.decompress(Array(frame.prefix(20)), expectedSize: bytes.count) },
            { try LZ4Frame.decompress(frame, expectedSize: bytes.count + 1) },
            { try LZ4Frame.decompress([1, 2, 3, 4, 5], expectedSize: 5) },
            { try LZ4Frame.decompress(frame + [0], expectedSize: bytes.count) },
        ]
        for (index, run) in cases.enumerated() {
            do {
                _ = try run()
                Issue.record("case \(index) did not throw")
            } catch let error as CodecError {
                #expect(!error.description.isEmpty && !error.description.contains("\n"), "case \(index)")
                #expect(error.description.hasPrefix("LZ4: "), "case \(index): \(error)")
            }
        }
    }
}
