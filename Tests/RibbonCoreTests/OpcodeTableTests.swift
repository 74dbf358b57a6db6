import Foundation
import Testing

@testable import RibbonCore

@Suite struct OpcodeTableTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test func generatedFileMatchesTheTable() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "tools/gen_opcodes.py", "--check"]
        process.currentDirectoryURL = Self.packageRoot
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "regenerate with python3 tools/gen_opcodes.py: \(output)")
    }

    /// The interpreter reinterprets the low byte of a word as an `Opcode`: that is only sound
    /// while the enum is one byte and its case index equals the number.
    @Test func enumTagEqualsOpcodeNumber() {
        #expect(MemoryLayout<Opcode>.size == 1)
        for op in Opcode.allCases {
            let tag = unsafeBitCast(op, to: UInt8.self)
            #expect(UInt16(tag) == op.rawValue)
        }
        #expect(Opcode.allCases.count == Int(Opcode.numberLimit))
    }

    @Test func namesAreUniqueAndTerminatorsEndBlocks() {
        #expect(Set(Opcode.allCases.map(\.name)).count == Opcode.allCases.count)
        #expect(Opcode.ret.isTerminator && Opcode.br.isTerminator && Opcode.retUnit.isTerminator)
        #expect(!Opcode.brIf.isTerminator)
        #expect(Opcode.jitLoopHeader.isJITHint && !Opcode.nop.isJITHint)
        #expect(Opcode.osrEnter.isInternal && !Opcode.call.isInternal)
    }

    @Test func wordFieldsRoundTrip() {
        let w = InstructionWord.encode(.call, 7, 200, high32: 0xDEAD_BEEF)
        #expect(InstructionWord.opcodeNumber(w) == Opcode.call.rawValue)
        #expect(InstructionWord.byte(w, 2) == 7)
        #expect(InstructionWord.byte(w, 3) == 200)
        #expect(InstructionWord.id(w) == 0xDEAD_BEEF)
        let b = InstructionWord.encode(.brSLt64Imm, 3, UInt8(bitPattern: -5), high32: UInt32(bitPattern: -12))
        #expect(InstructionWord.int8(b) == -5)
        #expect(InstructionWord.int32(b) == -12)
    }
}
