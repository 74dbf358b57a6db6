import RibbonCore
import Testing

@testable import RibbonBytecode

@Suite struct UnitImageTests {
    static let resolver = SymbolResolver(builtin: { name in name == "print_i64" ? 0x1000 : nil })

    /// A unit with a function, a global, a string constant and a builtin reference.
    static func sampleImage() -> UnitImage {
        var unit = UnitBuilder()
        let f = unit.declareFunction(name: "answer", parameterCount: 1)
        let text = unit.constant(Array("hello".utf8))
        let g = unit.addGlobal(name: "greeting", initialValue: .constantAddress(text))
        let n = unit.addGlobal(name: "count", initialValue: .bits(42))
        let p = unit.builtin("print_i64")
        var code = FunctionBuilder()
        code.mark(line: 3)
        let skip = code.makeLabel()
        code.emitBranch(.brIfnot, 0, to: skip)
        code.emit(.globalGet, 1, id: n)
        code.emit(.globalGet, 2, id: g)
        code.emit(.constAddr, 2, id: text)
        code.emitCall(.call, result: 1, base: 1, id: p)
        code.mark(line: 4)
        code.bind(skip)
        code.emit(.const64, 0, imm64: 0x1234_5678_9ABC_DEF0)
        code.emit(.ret, 0)
        code.finish()
        unit.define(function: f, frameSize: 3, code: code)
        return unit.encode()
    }

    @Test func encodesDeterministically() {
        #expect(Self.sampleImage() == Self.sampleImage())
        #expect(Self.sampleImage().bytes.starts(with: Array("RIBNUNIT".utf8)))
    }

    @Test func loadRelocatesEveryEntry() throws {
        let unit = try LoadedUnit(image: Self.sampleImage(), resolver: Self.resolver, sourcePath: "sample.rib")
        #expect(unit.sourcePath == "sample.rib")
        #expect(unit.entryKinds == [.function, .constant, .global, .global, .builtin])
        #expect(unit.addressTable[4] == 0x1000)
        let answerId = try #require(unit.symbols["answer"])
        let answer = try #require(unit.function(id: answerId))
        #expect(unit.addressTable[0] == UInt64(UInt(bitPattern: answer.header)) | bytecodeEntryTag)
        #expect(answer.header.pointee.addressTable == unit.addressTable)
        let text = try #require(UnsafePointer<CChar>(bitPattern: UInt(unit.addressTable[1])))
        #expect(String(cString: text) == "hello")
        let greeting = try #require(UnsafePointer<UInt64>(bitPattern: UInt(unit.addressTable[2])))
        #expect(greeting.pointee == unit.addressTable[1])
        let count = try #require(UnsafePointer<UInt64>(bitPattern: UInt(unit.addressTable[3])))
        #expect(count.pointee == 42)
        #expect(answer.line(atWord: 0) == 3)
        #expect(answer.line(atWord: 5) == 4)
    }

    @Test func unresolvedBuiltinIsALoadError() {
        #expect(throws: ImageError.unresolvedBuiltin("print_i64")) {
            _ = try LoadedUnit(image: Self.sampleImage(), resolver: SymbolResolver(builtin: { _ in nil }))
        }
    }

    @Test func disassemblyNamesEveryOperand() throws {
        let unit = try LoadedUnit(image: Self.sampleImage(), resolver: Self.resolver)
        let text = Disassembler.disassemble(unit)
        #expect(text.contains("answer:"))
        #expect(text.contains("br_ifnot r0, @0005"))
        #expect(text.contains("call r1, r1, #4"))
        #expect(text.contains("print_i64 (builtin)"))
        #expect(text.contains("\"hello\""))
    }

    /// Every single-byte change and every truncation of an image either loads (the change hit
    /// something harmless, such as an immediate) or throws: never a crash.
    @Test func damagedImagesNeverCrashTheLoader() {
        let image = Self.sampleImage().bytes
        var loaded = 0
        var rejected = 0
        for i in 0..<image.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var bytes = image
                bytes[i] ^= flip
                do {
                    _ = try LoadedUnit(image: UnitImage(bytes: bytes), resolver: Self.resolver)
                    loaded += 1
                } catch {
                    rejected += 1
                }
            }
        }
        for length in stride(from: 0, to: image.count, by: 3) {
            #expect(throws: ImageError.self) {
                _ = try LoadedUnit(image: UnitImage(bytes: Array(image[0..<length])), resolver: Self.resolver)
            }
        }
        #expect(rejected > 0)
        #expect(loaded + rejected == image.count * 3)
    }

    @Test func verifierRejectsBadCode() throws {
        func image(_ build: (inout FunctionBuilder) -> Void, frameSize: Int = 2) -> UnitImage {
            var unit = UnitBuilder()
            let f = unit.declareFunction(name: "f", parameterCount: 0)
            var code = FunctionBuilder()
            build(&code)
            code.finish()
            unit.define(function: f, frameSize: frameSize, code: code)
            return unit.encode()
        }
        let cases: [(String, UnitImage)] = [
            ("register outside frame", image { $0.emit(.mov, 0, 5); $0.emit(.ret, 0) }),
            ("falls off the end", image { $0.emit(.mov, 0, 1) }),
            ("Id out of range", image { $0.emit(.globalGet, 0, id: 9); $0.emit(.ret, 0) }),
            ("wrong Id kind", image { $0.emitCall(.callC, result: 0, base: 0, id: 0); $0.emit(.ret, 0) }),
        ]
        for (why, bad) in cases {
            #expect(throws: ImageError.self, "\(why)") {
                _ = try LoadedUnit(image: bad, resolver: Self.resolver)
            }
        }
        // A branch into the middle of a two-word instruction: [nop][const64 r0, imm][ret r0],
        // then the nop is patched into `br +2`, which lands on the immediate word.
        var unit = UnitBuilder()
        let f = unit.declareFunction(name: "f", parameterCount: 0)
        var code = FunctionBuilder()
        code.emit(.nop)
        code.emit(.const64, 0, imm64: UInt64(Opcode.ret.rawValue))
        code.emit(.ret, 0)
        code.finish()
        unit.define(function: f, frameSize: 1, code: code)
        var bytes = unit.encode().bytes
        let nop = withUnsafeBytes(of: InstructionWord.encode(.nop).littleEndian, Array.init)
        let const64 = withUnsafeBytes(of: InstructionWord.encode(.const64, 0).littleEndian, Array.init)
        let at = try #require(stride(from: 0, to: bytes.count - 16, by: 8).first { i in
            bytes[i..<i + 8].elementsEqual(nop) && bytes[i + 8..<i + 16].elementsEqual(const64)
        })
        let branch = withUnsafeBytes(of: InstructionWord.encode(.br, high32: 2).littleEndian, Array.init)
        bytes.replaceSubrange(at..<at + 8, with: branch)
        #expect(throws: ImageError.self) {
            _ = try LoadedUnit(image: UnitImage(bytes: bytes), resolver: Self.resolver)
        }
    }
}
