import RibbonCore
import Testing

@testable import RibbonBytecode

/// Hostile units, one for each rule of the verifier (Documentation/Bytecode.md, "What the
/// verifier guarantees"): each must be a load error, and a near twin that keeps the rule must
/// load, so that each test shows the rule and nothing else rejects it.
@Suite struct VerifierTests {
    static let resolver = SymbolResolver(builtin: { name in KindSignature.builtins[name] != nil ? 0x1000 : nil })

    /// Declared types, as the compiler's `ValueType`s map to kinds.
    enum T {
        case i64, f64, bool, str, unit, arrayI64, arrayF64, arrayBool

        var kind: ValueKind {
            switch self {
            case .i64, .f64, .bool, .unit: .scalar
            case .str: .string
            case .arrayI64, .arrayF64: .array64
            case .arrayBool: .array8
            }
        }
    }

    /// Declares the functions' signatures (by name) in `unit`, as the compiler does.
    static func declare(_ functions: [(name: String, parameters: [T], result: T)], in unit: inout UnitBuilder) {
        for f in functions {
            guard let id = unit.functions.first(where: { $0.name == f.name })?.id else { continue }
            unit.setSignature(KindSignature(parameters: f.parameters.map(\.kind), result: f.result.kind), ofFunction: id)
        }
    }

    /// A unit whose function `f` (declared `parameters -> result`) has the body `build` emits,
    /// with a builtin, a global of each kind, a constant, a foreign function and a helper `g`
    /// (declared `(Array I64, Str) -> Array I64`, returning its first argument) to use.
    struct Fixture {
        var unit = UnitBuilder()
        var f: UInt32 = 0
        var g: UInt32 = 0
        var number: UInt32 = 0
        var text: UInt32 = 0
        var constant: UInt32 = 0
        var puts: UInt32 = 0

        mutating func builtin(_ name: String) -> UInt32 { unit.builtin(name) }
    }

    static func image(
        parameters: [T] = [], result: T = .i64, frameSize: Int = 4, declare: Bool = true, name: String = "f",
        _ build: (inout FunctionBuilder, inout Fixture) -> Void
    ) -> UnitImage {
        var x = Fixture()
        x.f = x.unit.declareFunction(name: name, parameterCount: parameters.count)
        x.g = x.unit.declareFunction(name: "g", parameterCount: 2)
        x.constant = x.unit.constant(Array("hello".utf8))
        x.number = x.unit.addGlobal(name: "number", initialValue: .bits(7))
        x.text = x.unit.addGlobal(name: "text", initialValue: .constantAddress(x.constant))
        x.puts = x.unit.declareForeign(ForeignSignature(symbol: "puts", parameters: [.str], result: .i64))
        if declare {
            Self.declare([(name, parameters, result), ("g", [.arrayI64, .str], .arrayI64)], in: &x.unit)
        }
        var code = FunctionBuilder()
        build(&code, &x)
        code.finish()
        x.unit.define(function: x.f, frameSize: frameSize, code: code)
        var g = FunctionBuilder()
        g.emit(.ret, 0)
        g.finish()
        x.unit.define(function: x.g, frameSize: 2, code: g)
        return x.unit.encode()
    }

    /// `image` fails to load with `expected`.
    static func rejects(_ image: UnitImage, _ expected: ImageError, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try LoadedUnit(image: image, resolver: resolver)
            Issue.record("loaded, but should fail with \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error == expected, "\(error)", sourceLocation: sourceLocation)
        }
    }

    /// `image` fails to load because the verifier rejects a word of it for `problem`.
    static func rejects(_ image: UnitImage, _ problem: ImageError.Problem, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try LoadedUnit(image: image, resolver: resolver)
            Issue.record("loaded, but should fail with …\(problem)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.rejectedWord == problem, "\(error)", sourceLocation: sourceLocation)
        }
    }

    static func loads(_ image: UnitImage, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: Never.self, sourceLocation: sourceLocation) { _ = try LoadedUnit(image: image, resolver: resolver) }
    }

    /// Replaces word `index` of the first function's code (at the start of the code section).
    static func patching(_ image: UnitImage, word index: Int, with word: UInt64) -> UnitImage {
        var bytes = image.bytes
        let sectionTable = 32 + UnitImage.Section.code.rawValue * 8
        let code = Int(bytes[sectionTable]) | Int(bytes[sectionTable + 1]) << 8 | Int(bytes[sectionTable + 2]) << 16
        let at = code + functionHeaderWords * 8 + index * 8
        for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i))) }
        return UnitImage(bytes: bytes)
    }

    // MARK: Structure

    @Test func structureRules() {
        let two = Self.image { c, _ in
            c.emit(.constI32, 0, imm: 1)
            c.emit(.ret, 0)
        }
        Self.loads(two)
        Self.rejects(Self.image { _, _ in }, .emptyFunction)
        Self.rejects(Self.patching(two, word: 0, with: 0xFF), .undefinedOpcode(255))
        Self.rejects(Self.patching(two, word: 0, with: UInt64(Opcode.numberLimit)), .undefinedOpcode(Opcode.numberLimit))
        Self.rejects(Self.patching(two, word: 0, with: UInt64(Opcode.osrEnter.rawValue)), .undefinedOpcode(Opcode.osrEnter.rawValue))
        Self.rejects(Self.patching(two, word: 0, with: UInt64(Opcode.loadCode.rawValue)), .undefinedOpcode(Opcode.loadCode.rawValue))
        Self.rejects(Self.patching(two, word: 0, with: 0x100 | UInt64(Opcode.nop.rawValue)), .undefinedOpcode(0x100 | Opcode.nop.rawValue))
        Self.rejects(Self.patching(two, word: 1, with: InstructionWord.encode(.const64, 0)), .immediateMissing)
        Self.rejects(Self.image { c, _ in c.emit(.constI32, 0, imm: 1) }, .noTerminator)
        // Unused bits: `ret r0` with byte 3 set, `nop` with a stray high byte.
        Self.rejects(Self.patching(two, word: 1, with: InstructionWord.encode(.ret, 0) | 1 << 24), .bitsOutsideOperands(.ret))
        Self.rejects(Self.patching(two, word: 0, with: InstructionWord.encode(.nop) | 1 << 63), .bitsOutsideOperands(.nop))
    }

    @Test func registersInsideTheFrame() {
        Self.rejects(Self.image(frameSize: 2) { c, _ in
            c.emit(.constI32, 0, imm: 1)
            c.emit(.iAdd64, 1, 0, 2)
            c.emit(.ret, 1)
        }, .registerOutsideFrame(register: 2, frameSize: 2))
        Self.rejects(Self.image(frameSize: 2) { c, x in
            c.emit(.constI32, 0, imm: 1)
            c.emitCall(.call, result: 0, base: 2, id: x.builtin("clock"))
            c.emit(.ret, 0)
        }, .registerOutsideFrame(register: 2, frameSize: 2))
        Self.rejects(Self.image(frameSize: 2) { c, x in
            c.emit(.constI32, 0, imm: 1)
            c.emitCall(.call, result: 7, base: 1, id: x.builtin("clock"))
            c.emit(.ret, 0)
        }, .registerOutsideFrame(register: 7, frameSize: 2))
    }

    @Test func branchesLandOnInstructions() {
        // [const_i32 r0][const_i32 r1][br_if r0, +k][const64 r1, imm (2 words)][ret r1]
        func branch(_ offset: Int32) -> UnitImage {
            let base = Self.image { c, _ in
                c.emit(.constI32, 0, imm: 1)
                c.emit(.constI32, 1, imm: 2)
                c.emit(.nop)
                c.emit(.const64, 1, imm64: 5)
                c.emit(.ret, 1)
            }
            return Self.patching(base, word: 2, with: InstructionWord.encode(.brIf, 0, high32: UInt32(bitPattern: offset)))
        }
        Self.loads(branch(3))  // to `ret`
        Self.loads(branch(0))  // to itself: a loop (see InterpreterBudgetTests)
        Self.rejects(branch(2), .branchTargetNotInstruction(target: 4))  // the immediate word
        Self.rejects(branch(4), .branchTargetNotInstruction(target: 6))  // past the end
        Self.rejects(branch(-3), .branchTargetNotInstruction(target: -1))
    }

    @Test func idsOfTheRightKind() {
        Self.rejects(Self.image { c, _ in
            c.emit(.globalGet, 0, id: 99)
            c.emit(.ret, 0)
        }, .idOutOfRange(id: 99))
        Self.rejects(Self.image { c, x in
            c.emitCall(.call, result: 0, base: 0, id: x.number)  // a global is not callable
            c.emit(.ret, 0)
        }, .idOfWrongKind(.call, id: 3, kind: .global))
        Self.rejects(Self.image { c, x in
            c.emit(.constAddr, 0, id: x.constant)
            c.emitCall(.callC, result: 0, base: 0, id: x.builtin("print_str"))  // call_c needs a foreign entry
            c.emit(.ret, 0)
        }, .idOfWrongKind(.callC, id: 6, kind: .builtin))
        Self.rejects(Self.image { c, x in
            c.emit(.globalGet, 0, id: x.constant)  // a constant is not a cell
            c.emit(.ret, 0)
        }, .idOfWrongKind(.globalGet, id: 2, kind: .constant))
        Self.rejects(Self.image { c, x in
            c.emit(.constAddr, 0, id: x.f)  // a function's header is not constant data
            c.emit(.ret, 0)
        }, .idOfWrongKind(.constAddr, id: 0, kind: .function))
    }

    // MARK: Kinds

    @Test func everyReadIsWrittenFirst() {
        Self.rejects(Self.image { c, _ in
            c.emit(.iAdd64, 0, 1, 1)
            c.emit(.ret, 0)
        }, .readBeforeWritten(register: 1))
        // Written on one path only.
        Self.rejects(Self.image(parameters: [.i64]) { c, _ in
            let skip = c.makeLabel()
            c.emitBranch(.brIf, 0, to: skip)
            c.emit(.constI32, 1, imm: 5)
            c.bind(skip)
            c.emit(.ret, 1)
        }, .readBeforeWritten(register: 1))
        Self.loads(Self.image(parameters: [.i64]) { c, _ in
            let skip = c.makeLabel()
            c.emit(.constI32, 1, imm: 4)
            c.emitBranch(.brIf, 0, to: skip)
            c.emit(.constI32, 1, imm: 5)
            c.bind(skip)
            c.emit(.ret, 1)
        })
        // A call may overwrite every register from its base up.
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 0, imm: 1)
            c.emit(.constI32, 2, imm: 2)
            c.emitCall(.call, result: 0, base: 1, id: x.builtin("clock"))
            c.emit(.ret, 2)
        }, .readBeforeWritten(register: 2))
    }

    @Test func arraysAreArraysOfTheirElementSize() {
        // An integer used as an array: the interpreter would read or write at that address.
        Self.rejects(Self.image { c, _ in
            c.emit(.constI32, 0, imm: 4096)
            c.emit(.constI32, 1, imm: 0)
            c.emit(.arrayLoad64, 2, 0, 1)
            c.emit(.ret, 2)
        }, .wrongKind(use: .arrayLoad, needs: .array64, register: 0, holds: .scalar))
        Self.rejects(Self.image { c, _ in
            c.emit(.constI32, 0, imm: 4096)
            c.emit(.constI32, 1, imm: 0)
            c.emit(.arrayStore8, 0, 1, 1)
            c.emit(.ret, 1)
        }, .wrongKind(use: .arrayStore, needs: .array8, register: 0, holds: .scalar))
        Self.rejects(Self.image { c, x in
            c.emit(.constAddr, 0, id: x.constant)  // a Str's bytes are no length and elements
            c.emit(.arrayLen, 1, 0)
            c.emit(.ret, 1)
        }, .arrayLenNeedsArray(register: 0, holds: .string))
        // An `Array Bool` (1-byte elements) read 8 bytes at a time would run past its end.
        func loadFromBoolArray(_ op: Opcode) -> UnitImage {
            Self.image { c, x in
                c.emit(.constI32, 1, imm: 10)
                c.emit(.constI32, 2, imm: 0)
                c.emitCall(.call, result: 0, base: 1, id: x.builtin("array_bool"))
                c.emit(.constI32, 1, imm: 9)
                c.emit(op, 2, 0, 1)
                c.emit(.ret, 2)
            }
        }
        Self.rejects(loadFromBoolArray(.arrayLoad64), .wrongKind(use: .arrayLoad, needs: .array64, register: 0, holds: .array8))
        Self.loads(loadFromBoolArray(.arrayLoad8))
        // Paths that disagree: an array on one, an integer on the other.
        Self.rejects(Self.image(parameters: [.i64]) { c, x in
            let join = c.makeLabel()
            c.emit(.constI32, 3, imm: 4096)
            c.emitBranch(.brIf, 0, to: join)
            c.emit(.constI32, 1, imm: 3)
            c.emit(.constI32, 2, imm: 0)
            c.emitCall(.call, result: 3, base: 1, id: x.builtin("array_i64"))
            c.bind(join)
            c.emit(.arrayLen, 0, 3)
            c.emit(.ret, 0)
        }, .arrayLenNeedsArray(register: 3, holds: .scalar))
    }

    @Test func callsPassWhatTheCalleeTakes() {
        // Arity: `g` takes 2 arguments; from base r3 a frame of 4 has room for 1.
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 3, imm: 1)
            c.emitCall(.call, result: 0, base: 3, id: x.g)
            c.emit(.ret, 0)
        }, .argumentsOutsideFrame(count: 2, base: 3, frameSize: 4))
        Self.rejects(Self.image(frameSize: 3) { c, x in
            c.emit(.constI32, 2, imm: 1)
            c.emitCall(.call, result: 0, base: 2, id: x.builtin("array_i64"))  // reads base[1]
            c.emit(.ret, 0)
        }, .argumentsOutsideFrame(count: 2, base: 2, frameSize: 3))
        // Arity: the second argument is never written.
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 0, imm: 1)
            c.emit(.constI32, 1, imm: 0)
            c.emitCall(.call, result: 2, base: 0, id: x.builtin("array_i64"))
            c.emitCall(.call, result: 0, base: 2, id: x.g)
            c.emit(.ret, 0)
        }, .readBeforeWritten(register: 3))
        // Kinds: `g` takes (Array I64, Str); passing (Array I64, I64) is refused, and what
        // it returns is an array.
        func callG(second: (inout FunctionBuilder, Fixture) -> Void) -> UnitImage {
            Self.image(frameSize: 5) { c, x in
                c.emit(.constI32, 2, imm: 1)
                c.emit(.constI32, 3, imm: 0)
                c.emitCall(.call, result: 0, base: 2, id: x.builtin("array_i64"))
                c.emit(.mov, 2, 0)
                second(&c, x)
                c.emitCall(.call, result: 1, base: 2, id: x.g)
                c.emit(.arrayLen, 0, 1)
                c.emit(.ret, 0)
            }
        }
        Self.loads(callG { c, x in c.emit(.constAddr, 3, id: x.constant) })
        Self.rejects(callG { c, _ in c.emit(.constI32, 3, imm: 4096) }, .wrongKind(use: .argument(1), needs: .string, register: 3, holds: .scalar))
        // Builtins: print_str of an integer would print from that address.
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 0, imm: 4096)
            c.emitCall(.call, result: 0, base: 0, id: x.builtin("print_str"))
            c.emit(.ret, 0)
        }, .wrongKind(use: .argument(0), needs: .string, register: 0, holds: .scalar))
        // C functions: `puts/s/i` gets a Str, not an integer.
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 0, imm: 4096)
            c.emitCall(.callC, result: 0, base: 0, id: x.puts)
            c.emit(.ret, 0)
        }, .wrongKind(use: .argument(0), needs: .string, register: 0, holds: .scalar))
        // Results: `clock` returns an integer, which is no array.
        Self.rejects(Self.image { c, x in
            c.emitCall(.call, result: 0, base: 0, id: x.builtin("clock"))
            c.emit(.arrayLen, 0, 0)
            c.emit(.ret, 0)
        }, .arrayLenNeedsArray(register: 0, holds: .scalar))
    }

    @Test func returnsAndGlobalsKeepTheirKinds() {
        // Declared `-> Array I64`: returning an integer would hand callers an address.
        Self.rejects(Self.image(result: .arrayI64) { c, _ in
            c.emit(.constI32, 0, imm: 4096)
            c.emit(.ret, 0)
        }, .wrongKind(use: .ret, needs: .array64, register: 0, holds: .scalar))
        // `ret_unit` leaves the caller's result register as it was: only for scalar results.
        Self.rejects(Self.image(result: .str) { c, _ in c.emit(.retUnit) }, .retUnit(declaredResult: .string))
        Self.loads(Self.image(result: .unit) { c, _ in c.emit(.retUnit) })
        // A Str global only ever holds Strs (readers pass it to print_str).
        Self.rejects(Self.image { c, x in
            c.emit(.constI32, 0, imm: 4096)
            c.emit(.globalSet, 0, id: x.text)
            c.emit(.ret, 0)
        }, .wrongKind(use: .globalSet, needs: .string, register: 0, holds: .scalar))
        Self.loads(Self.image { c, x in
            c.emit(.globalGet, 0, id: x.text)
            c.emitCall(.call, result: 0, base: 0, id: x.builtin("print_str"))
            c.emit(.ret, 0)
        })
        Self.rejects(Self.image { c, x in
            c.emit(.globalGet, 0, id: x.number)
            c.emitCall(.call, result: 0, base: 0, id: x.builtin("print_str"))
            c.emit(.ret, 0)
        }, .wrongKind(use: .argument(0), needs: .string, register: 0, holds: .scalar))
    }

    @Test func signaturesComeFromDeclarations() {
        // Parameters have their declared kinds: an `Array I64` parameter may be indexed…
        func indexParameter(_ declared: T?) -> UnitImage {
            Self.image(parameters: [declared ?? .i64], declare: declared != nil) { c, _ in
                c.emit(.constI32, 1, imm: 0)
                c.emit(.arrayLoad64, 2, 0, 1)
                c.emit(.ret, 2)
            }
        }
        Self.loads(indexParameter(.arrayI64))
        // …an undeclared one (no signature: a hostile image) is only bits.
        Self.rejects(indexParameter(nil), .wrongKind(use: .arrayLoad, needs: .array64, register: 0, holds: .scalar))
        Self.rejects(indexParameter(.arrayBool), .wrongKind(use: .arrayLoad, needs: .array64, register: 0, holds: .array8))
        // A declaration must match the function's parameter count.
        var unit = UnitBuilder()
        let h = unit.declareFunction(name: "h", parameterCount: 1)
        Self.declare([("h", [.i64, .i64], .i64)], in: &unit)
        var code = FunctionBuilder()
        code.emit(.ret, 0)
        code.finish()
        unit.define(function: h, frameSize: 1, code: code)
        Self.rejects(unit.encode(), .malformed(.parameterCountMismatch(function: "h", declared: 2, actual: 1)))
        // `main` is called with no arguments.
        Self.rejects(Self.image(parameters: [.i64], name: "main") { c, _ in c.emit(.ret, 0) }, .malformed(.mainTakesParameters(1)))
    }

    @Test func importsHaveTheirExportersKinds() throws {
        // lib: `first := fun (xs: Array I64) -> I64.` — main passes it an integer.
        var lib = UnitBuilder()
        let first = lib.declareFunction(name: "first", parameterCount: 1)
        Self.declare([("first", [.arrayI64], .i64)], in: &lib)
        var body = FunctionBuilder()
        body.emit(.constI32, 1, imm: 0)
        body.emit(.arrayLoad64, 0, 0, 1)
        body.emit(.ret, 0)
        body.finish()
        lib.define(function: first, frameSize: 2, code: body)
        let library = try LoadedUnit(image: lib.encode(), resolver: Self.resolver)
        func user(passing build: (inout FunctionBuilder, inout UnitBuilder) -> Void) -> UnitImage {
            var u = UnitBuilder()
            let main = u.declareFunction(name: "main", parameterCount: 0)
            let imported = u.importFunction("lib.rib:first")
            var c = FunctionBuilder()
            build(&c, &u)
            c.emitCall(.call, result: 0, base: 0, id: imported)
            c.emit(.ret, 0)
            c.finish()
            u.define(function: main, frameSize: 2, code: c)
            return u.encode()
        }
        let resolver = SymbolResolver(
            builtin: { name in KindSignature.builtins[name] != nil ? 0x1000 : nil },
            imported: { name, kind in ImportedSymbol.export("first", of: library, kind: kind) })
        #expect(throws: Never.self) {
            _ = try LoadedUnit(image: user { c, u in
                c.emit(.constI32, 0, imm: 3)
                c.emit(.constI32, 1, imm: 0)
                c.emitCall(.call, result: 0, base: 0, id: u.builtin("array_i64"))
            }, resolver: resolver)
        }
        #expect {
            _ = try LoadedUnit(image: user { c, _ in c.emit(.constI32, 0, imm: 4096) }, resolver: resolver)
        } throws: { ($0 as? ImageError)?.rejectedWord == .wrongKind(use: .argument(0), needs: .array64, register: 0, holds: .scalar) }
    }

    /// A lazily loaded unit verifies each function when it is placed: a hostile function fails
    /// there (the interpreter then stops with `invalid instruction`), the others still load.
    @Test func lazyPlacementVerifiesKinds() throws {
        let hostile = Self.image { c, _ in
            c.emit(.constI32, 0, imm: 4096)
            c.emit(.arrayLen, 1, 0)
            c.emit(.ret, 1)
        }
        let source = ImageBytes(hostile.bytes)
        let unit = try LoadedUnit(lazy: source, resolver: Self.resolver)
        let f = try #require(unit.functions.first { $0.name == "f" })
        let g = try #require(unit.functions.first { $0.name == "g" })
        #expect(!unit.placeCode(f))
        #expect(unit.placeCode(g))
    }

    /// Ids below the image's function prefix are function entries of their own rows, which a
    /// lazy load does not read: it gives them the stub. An entry there that is not (hostile or
    /// damaged bytes) is refused when its function is placed; an eager load refuses it at once.
    @Test func aBadEntryInTheFunctionPrefixIsRefusedWhenUsed() throws {
        let image = Self.image { c, _ in
            c.emit(.constI32, 0, imm: 1)
            c.emit(.ret, 0)
        }
        let bytes = image.bytes
        func u32(_ at: Int) -> Int { bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) } }
        let entries = u32(32)
        #expect(u32(120) == 2)  // f and g
        func damaged(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
            var copy = bytes
            change(&copy)
            return copy
        }
        let variants = [
            damaged { $0[entries + 16] = 2 },  // g's entry (Id 1) says global
            damaged { $0[entries + 16 + 4] = 0 },  // g's entry claims f's row
            damaged { $0[entries + 16 + 2] = 9 },  // more parameters than registers
        ]
        for variant in variants {
            #expect(throws: ImageError.self) { _ = try LoadedUnit(image: UnitImage(bytes: variant), resolver: Self.resolver) }
            let unit = try LoadedUnit(lazy: ImageBytes(variant), resolver: Self.resolver)
            #expect(unit.placed(id: 0) != nil)
            #expect(unit.placed(id: 1) == nil)
            #expect(unit.function(id: 1) == nil)
        }
        // A prefix longer than the functions: refused by both.
        let tooLong = damaged { $0[120] = 3 }
        #expect(throws: ImageError.self) { _ = try LoadedUnit(image: UnitImage(bytes: tooLong), resolver: Self.resolver) }
        #expect(throws: ImageError.self) { _ = try LoadedUnit(lazy: ImageBytes(tooLong), resolver: Self.resolver) }
    }
}

/// A whole image in memory, as a lazy unit's source.
final class ImageBytes: UnitImageSource {
    let storage: UnsafeMutableRawBufferPointer
    init(_ bytes: [UInt8]) {
        storage = .allocate(byteCount: bytes.count, alignment: 16)
        storage.copyBytes(from: bytes)
    }
    deinit { storage.deallocate() }
    var count: Int { storage.count }
    var base: UnsafeRawPointer { UnsafeRawPointer(storage.baseAddress!) }
    func ensure(_ range: Range<Int>) throws {}
}

extension ImageError {
    /// Why the verifier rejected a word, if that is why the image was refused.
    var rejectedWord: Problem? {
        guard case .malformed(.rejectedWord(_, _, let problem)) = self else { return nil }
        return problem
    }
}
