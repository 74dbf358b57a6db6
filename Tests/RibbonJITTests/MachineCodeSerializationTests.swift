import CRibbonABI
import RibbonBytecode
import RibbonCore
import RibbonVM
import Testing

@testable import RibbonJIT

@Suite struct MachineCodeSerializationTests {
    static func sample() throws -> (MachineCode, LoadedUnit) {
        let unit = try JITCompilerTests.load(
            """
            c_labs := foreign "labs" (x: I64) -> I64
            g := fun (x: I64) -> I64.
                x
            f := fun (n: I64) -> I64.
                s := 0
                i := 0
                while i < n.
                    s = s + c_labs (i - 5) + f (0) + g (0)
                    i = i + 1
                s
            """)
        let f = try #require(unit.function(id: unit.symbols["f"]!))
        return (try JITCompiler.compile(f, features: [.sse2, .sse4_1]), unit)
    }

    @Test func roundTripsExactlyAndDeterministically() throws {
        let (code, _) = try Self.sample()
        #expect(code.relocations.contains { if case .runtimeHelper = $0.target { true } else { false } })
        #expect(!code.loopEntries.isEmpty)
        let bytes = code.serialized()
        #expect(bytes == code.serialized())
        let decoded = try MachineCode(serialized: bytes)
        #expect(decoded == code)
        #expect(decoded.serialized() == bytes)
    }

    /// A blob that went through the cache runs like the original.
    @Test func decodedCodeRuns() throws {
        let (code, unit) = try Self.sample()
        let engine = JITEngine()
        try engine.installForeignGlue(unit)
        let decoded = try MachineCode(serialized: code.serialized())
        let loaded = try LoadedMachineCode(decoded) { engine.resolve($0, unit: unit) }
        let (signal, result) = JITCompilerTests.callNative(loaded.entry, [10])
        #expect(signal == RibbonSignalReturn)
        #expect(result == 25)  // |0-5| + ... + |9-5| = 5+4+3+2+1+0+1+2+3+4
    }

    /// Every single-byte change and every truncation either decodes to a blob whose relocations
    /// all lie inside its code, or throws: never a crash.
    @Test func damagedBlobsAreErrorsNotCrashes() throws {
        let (code, _) = try Self.sample()
        let bytes = code.serialized()
        var rejected = 0
        for i in 0..<bytes.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = bytes
                damaged[i] ^= flip
                if let decoded = try? MachineCode(serialized: damaged) {
                    #expect(decoded.relocations.allSatisfy { $0.offset >= 0 && $0.offset + 8 <= decoded.bytes.count })
                    #expect(decoded.loopEntries.values.allSatisfy { $0 < decoded.bytes.count })
                } else {
                    rejected += 1
                }
            }
        }
        for length in 0..<bytes.count {
            #expect(throws: MachineCode.DecodingError.self) { _ = try MachineCode(serialized: Array(bytes[0..<length])) }
        }
        #expect(rejected > 0)
    }
}
