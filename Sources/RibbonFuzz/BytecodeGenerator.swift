import RibbonBytecode
import RibbonCore

/// Random units of bytecode, decided by a fuzzer's bytes: most of them pass the verifier, so
/// that the interpreter runs code no compiler would write (`FuzzTarget.bytecode`).
///
/// The generator keeps a rough account of what each register holds (nothing, a scalar, a Str,
/// an array of either element size) along straight-line code, and mostly picks operands that
/// fit: calls with their arguments in place, arrays made before they are indexed, branches to
/// any instruction (loops included). Branches make the account approximate, and a tenth of the
/// operands are picked without looking at it (any register, any Id of the right kind), so a
/// good share of units are near misses that only the verifier can tell apart. Whatever the
/// verifier accepts must run without a memory error: that is the property under test.
package struct BytecodeGenerator {
    enum Kind: CaseIterable {
        case scalar, string, array64, array8
    }

    var input: FuzzBytes
    var unit = UnitBuilder()
    var functionIds: [UInt32] = []
    var parameterKinds: [[Kind]] = []
    /// nil: the function returns with `ret_unit`.
    var resultKinds: [Kind?] = []
    var builtins: [String: UInt32] = [:]
    var constants: [UInt32] = []
    var scalarGlobal: UInt32 = 0
    var stringGlobal: UInt32 = 0
    var foreign: UInt32 = 0

    static let binary: [Opcode] = [
        .iAdd64, .iSub64, .iMul64, .sDiv64, .sRem64, .iAnd64, .iOr64, .iXor64, .iShl64, .sShr64, .fAdd64, .fSub64,
        .fMul64, .fDiv64, .iEq64, .iNe64, .sLt64, .sLe64, .fEq64, .fNe64, .fLt64, .fLe64,
    ]
    static let unary: [Opcode] = [.iNeg64, .iAbs64, .fNeg64, .fSqrt64, .fFloor64, .fAbs64, .sToF64, .fToS64, .bNot]
    static let compareBranches: [Opcode] = [
        .brIEq64, .brINe64, .brSLt64, .brSLe64, .brFLt64, .brFLe64, .brFNlt64, .brFNle64, .brFEq64, .brFNe64,
    ]
    static let immediateBranches: [Opcode] = [
        .brIEq64Imm, .brINe64Imm, .brSLt64Imm, .brSLe64Imm, .brSGt64Imm, .brSGe64Imm,
    ]

    /// The unit the bytes decide. Function 0 takes no parameters: it is the one a run calls.
    package static func unit(from bytes: [UInt8]) -> UnitImage {
        var generator = BytecodeGenerator(input: FuzzBytes(bytes))
        return generator.generate()
    }

    mutating func kind() -> Kind {
        let k = input.below(10)
        return k < 5 ? .scalar : k < 7 ? .string : k < 9 ? .array64 : .array8
    }

    mutating func generate() -> UnitImage {
        let functionCount = 1 + input.below(4)
        for i in 0..<functionCount {
            let parameters = i == 0 ? 0 : input.below(4)
            functionIds.append(unit.declareFunction(name: "f\(i)", parameterCount: parameters))
            parameterKinds.append((0..<parameters).map { _ in kind() })
            resultKinds.append(input.chance(20) ? nil : kind())
        }
        for name in ["print_i64", "print_str", "write_str", "array_i64", "array_f64", "array_bool", "clock"] {
            builtins[name] = unit.builtin(name)
        }
        constants = [unit.constant(Array("fuzz".utf8)), unit.constant([])]
        scalarGlobal = unit.addGlobal(name: "counter", initialValue: .bits(UInt64(input.u32())))
        stringGlobal = unit.addGlobal(name: "text", initialValue: .constantAddress(constants[0]))
        foreign = unit.declareForeign(ForeignSignature(symbol: "labs", parameters: [.i64], result: .i64))
        // The functions' kinds, declared as the compiler declares them (most of the time: an
        // undeclared function takes and returns scalars).
        if input.chance(90) {
            for (i, id) in functionIds.enumerated() {
                unit.setSignature(
                    KindSignature(parameters: parameterKinds[i].map(valueKind), result: valueKind(resultKinds[i])),
                    ofFunction: id)
            }
        }
        for i in 0..<functionCount {
            var body = FunctionBody(index: i, parameterKinds: parameterKinds[i])
            body.frameSize = min(255, parameterKinds[i].count + 1 + input.below(12))
            generateBody(&body)
            unit.define(function: functionIds[i], frameSize: body.frameSize, code: body.code)
        }
        return unit.encode()
    }

    /// The verifier's kind for a generated one (nil: `Unit`, a scalar).
    func valueKind(_ kind: Kind?) -> ValueKind {
        switch kind {
        case nil, .scalar: .scalar
        case .string: .string
        case .array64: .array64
        case .array8: .array8
        }
    }

    struct FunctionBody {
        var index: Int
        var frameSize = 1
        var code = FunctionBuilder()
        /// What each register holds on the straight-line path being generated (nil: nothing).
        var registers: [Kind?] = Array(repeating: nil, count: 256)
        var labels: [Label] = []

        init(index: Int, parameterKinds: [Kind]) {
            self.index = index
            for (i, k) in parameterKinds.enumerated() { registers[i] = k }
        }
    }

    /// A register holding `kind`, if the account has one (mostly), or any register (a tenth).
    mutating func register(_ body: FunctionBody, holding kind: Kind?) -> UInt8? {
        if input.chance(10) { return UInt8(input.below(body.frameSize + (input.chance(5) ? 3 : 0)) & 0xFF) }
        let candidates = (0..<body.frameSize).filter { r in
            guard let held = body.registers[r] else { return false }
            return kind == nil || held == kind
        }
        guard !candidates.isEmpty else { return nil }
        return UInt8(candidates[input.below(candidates.count)])
    }

    mutating func target(_ body: FunctionBody) -> UInt8 {
        UInt8(input.below(body.frameSize))
    }

    /// Puts a value of `kind` in `r`; false when that cannot be done here (an array without room
    /// for the call that makes it).
    @discardableResult
    mutating func materialize(_ kind: Kind, into r: UInt8, _ body: inout FunctionBody) -> Bool {
        switch kind {
        case .scalar:
            body.code.emit(.constI32, r, imm: Int32(bitPattern: input.u32() & 0x8000_00FF))
        case .string:
            body.code.emit(.constAddr, r, id: constants[input.below(constants.count)])
        case .array64, .array8:
            // call r, base, array_*: the length and fill go in base, base + 1.
            let base = body.frameSize - 2
            guard base >= 0, Int(r) < body.frameSize else { return false }
            body.code.emit(.constI32, UInt8(base), imm: Int32(input.below(20)))
            body.code.emit(.constI32, UInt8(base + 1), imm: Int32(input.below(3)))
            let name = kind == .array8 ? "array_bool" : input.chance(50) ? "array_i64" : "array_f64"
            body.code.emitCall(.call, result: r, base: UInt8(base), id: builtins[name]!)
            for i in base..<body.frameSize { body.registers[i] = nil }
        }
        body.registers[Int(r)] = kind
        return true
    }

    mutating func generateBody(_ body: inout FunctionBody) {
        let actions = 1 + input.below(24)
        body.labels = (0...actions).map { _ in body.code.makeLabel() }
        if input.chance(60) {
            for r in parameterKinds[body.index].count..<body.frameSize { materialize(.scalar, into: UInt8(r), &body) }
        }
        for action in 0..<actions {
            body.code.bind(body.labels[action])
            generateAction(&body)
        }
        body.code.bind(body.labels[actions])
        // The return, of the function's result kind.
        if let kind = resultKinds[body.index] {
            if let r = register(body, holding: kind) {
                body.code.emit(.ret, r)
            } else {
                let r = UInt8(input.below(max(1, body.frameSize - 2)))
                if materialize(kind, into: r, &body) { body.code.emit(.ret, r) } else { body.code.emit(.retUnit) }
            }
        } else {
            body.code.emit(.retUnit)
        }
        body.code.finish()
    }

    mutating func generateAction(_ body: inout FunctionBody) {
        let d = target(body)
        switch input.below(16) {
        case 0:
            body.code.emit(.constI32, d, imm: Int32(bitPattern: input.u32()))
            body.registers[Int(d)] = .scalar
        case 1:
            body.code.emit(.const64, d, imm64: input.u64())
            body.registers[Int(d)] = .scalar
        case 2:
            guard let a = register(body, holding: .scalar), let b = register(body, holding: .scalar) else { return }
            body.code.emit(Self.binary[input.below(Self.binary.count)], d, a, b)
            body.registers[Int(d)] = .scalar
        case 3:
            guard let a = register(body, holding: .scalar) else { return }
            if input.chance(50) {
                body.code.emit(Self.unary[input.below(Self.unary.count)], d, a)
            } else {
                body.code.emit(input.chance(50) ? .iAdd64Imm : .iMul64Imm, d, a, imm: Int32(bitPattern: input.u32()))
            }
            body.registers[Int(d)] = .scalar
        case 4:
            guard let a = register(body, holding: nil) else { return }
            body.code.emit(.mov, d, a)
            body.registers[Int(d)] = body.registers[Int(a) & 0xFF]
        case 5:
            materialize(input.chance(50) ? .array64 : .array8, into: d, &body)
        case 6:
            // Array access on an array the account knows, with any scalar index.
            let wide = input.chance(60)
            guard let array = register(body, holding: wide ? .array64 : .array8),
                let index = register(body, holding: .scalar)
            else { return }
            switch input.below(3) {
            case 0:
                body.code.emit(wide ? .arrayLoad64 : .arrayLoad8, d, array, index)
                body.registers[Int(d)] = .scalar
            case 1:
                guard let value = register(body, holding: .scalar) else { return }
                body.code.emit(wide ? .arrayStore64 : .arrayStore8, array, index, value)
            default:
                body.code.emit(.arrayLen, d, array)
                body.registers[Int(d)] = .scalar
            }
        case 7:
            // print_str / write_str of a Str, or print_i64 of a scalar, at the top of the frame.
            let printString = input.chance(50)
            guard let value = register(body, holding: printString ? .string : .scalar) else { return }
            let base = UInt8(body.frameSize - 1)
            body.code.emit(.mov, base, value)
            let name = printString ? (input.chance(50) ? "print_str" : "write_str") : "print_i64"
            body.code.emitCall(.call, result: base, base: base, id: builtins[name]!)
            body.registers[Int(base)] = .scalar
        case 8:
            if input.chance(50) {
                let string = input.chance(50)
                body.code.emit(.globalGet, d, id: string ? stringGlobal : scalarGlobal)
                body.registers[Int(d)] = string ? .string : .scalar
            } else {
                let string = input.chance(50)
                guard let value = register(body, holding: string ? .string : .scalar) else { return }
                body.code.emit(.globalSet, value, id: string ? stringGlobal : scalarGlobal)
            }
        case 9, 10:
            generateCall(&body, d)
        case 11, 12:
            // A branch to any action, forward or back (loops end by the run's budget).
            let label = body.labels[input.below(body.labels.count)]
            switch input.below(4) {
            case 0:
                body.code.emitBranch(.br, to: label)
            case 1:
                guard let a = register(body, holding: .scalar) else { return }
                body.code.emitBranch(input.chance(50) ? .brIf : .brIfnot, a, to: label)
            case 2:
                guard let a = register(body, holding: .scalar), let b = register(body, holding: .scalar) else { return }
                body.code.emitBranch(Self.compareBranches[input.below(Self.compareBranches.count)], a, b, to: label)
            default:
                guard let a = register(body, holding: .scalar) else { return }
                body.code.emitBranch(
                    Self.immediateBranches[input.below(Self.immediateBranches.count)], a, input.byte(), to: label)
            }
        case 13:
            // call_c through a slot that traps (glue is never installed in a fuzz run).
            guard let a = register(body, holding: .scalar) else { return }
            let base = UInt8(body.frameSize - 1)
            body.code.emit(.mov, base, a)
            body.code.emitCall(.callC, result: d, base: base, id: foreign)
            body.registers[Int(base)] = nil
            body.registers[Int(d)] = .scalar
        case 14:
            body.code.emit([Opcode.nop, .jitLoopHeader, .jitCold][input.below(3)])
        default:
            // An early return of the function's kind.
            if let kind = resultKinds[body.index] {
                guard let r = register(body, holding: kind) else { return }
                body.code.emit(.ret, r)
            } else {
                body.code.emit(.retUnit)
            }
        }
    }

    /// A call of another generated function (or itself): arguments of its parameter kinds moved
    /// into a window at the top of the frame, then the call.
    mutating func generateCall(_ body: inout FunctionBody, _ d: UInt8) {
        let callee = input.below(functionIds.count)
        let kinds = parameterKinds[callee]
        var base = min(body.frameSize - kinds.count, body.frameSize - 1)  // `base` is in the frame
        if input.chance(10) { base = input.below(body.frameSize) }
        guard base >= 0 else { return }
        for (i, kind) in kinds.enumerated() where base + i < body.frameSize {
            guard let source = register(body, holding: kind) else {
                guard materialize(kind, into: UInt8(base + i), &body) else { return }
                continue
            }
            body.code.emit(.mov, UInt8(base + i), source)
        }
        body.code.emitCall(.call, result: d, base: UInt8(base), id: functionIds[callee])
        for r in base..<body.frameSize { body.registers[r] = nil }
        body.registers[Int(d)] = resultKinds[callee] ?? .scalar
    }
}
