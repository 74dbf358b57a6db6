import RibbonBytecode
import RibbonCore
import X86Assembler

/// Byte offsets of the `RibbonFiberHeader` fields native code touches (C layout).
enum FiberField {
    static let frame = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.frame)!)
    static let stackLimit = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.stackLimit)!)
    static let trapCode = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.trapCode)!)
    static let trapOperands = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.trapOperands)!)
    static let callStackTop = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.callStackTop)!)
    static let callStackLimit = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.callStackLimit)!)
    static let trapFunction = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.trapFunction)!)
    static let trapPC = Int32(MemoryLayout<FiberHeader>.offset(of: \FiberHeader.trapPC)!)
    static let recordSize = Int32(MemoryLayout<RibbonCallRecord>.stride)
}

/// Compiles one verified bytecode function to machine code with the builtin ABI.
///
/// Register plan (all callee-saved, so calls keep them): `rbx` the frame (bytecode register
/// `r` is the 8 bytes at `rbx + 8r`), `r12` the fiber header, `r13` the unit's AddressTable.
/// `rax`, `rcx`, `rdx`, `rsi`, `rdi`, `xmm0`, `xmm1` are scratch within one instruction.
/// Every bytecode instruction becomes a short run of x86 instructions that reads and writes
/// the frame, so any instruction boundary is a consistent state (what traps, calls into the
/// interpreter and backtraces rely on).
public struct JITCompiler {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unsupported(String)
        case assembler(String)

        public var description: String {
            switch self {
            case .unsupported(let what): "cannot compile \(what) yet"
            case .assembler(let why): "assembler: \(why)"
            }
        }
    }

    let functionId: UInt32
    let code: UnsafeBufferPointer<UInt64>
    let frameSize: Int
    var asm = X86Assembler()
    var relocations: [Relocation] = []
    /// The native position of each bytecode word that starts an instruction.
    var wordLabels: [CodeLabel] = []
    var epilogue: CodeLabel
    var trapSites: [TrapSite] = []
    var callTrapSites: [(label: CodeLabel, word: Int)] = []

    struct TrapSite {
        var label: CodeLabel
        var code: TrapCode
        var word: Int
        /// Registers holding `trapOperands[0]` and `[1]` when the trap is taken.
        var operands: (GPR?, GPR?)
    }

    static let fp = GPR.rbx
    static let header = GPR.r12
    static let table = GPR.r13

    /// Compiles `function` of `unit` (already verified by the loader).
    public static func compile(_ function: LoadedUnit.FunctionInfo) throws -> MachineCode {
        let h = function.header.pointee
        let words = UnsafeRawPointer(function.header).advanced(by: functionHeaderWords * 8)
            .assumingMemoryBound(to: UInt64.self)
        var compiler = JITCompiler(
            functionId: function.id, code: UnsafeBufferPointer(start: words, count: Int(h.codeWords)),
            frameSize: Int(h.frameSize))
        return try compiler.compileFunction()
    }

    init(functionId: UInt32, code: UnsafeBufferPointer<UInt64>, frameSize: Int) {
        self.functionId = functionId
        self.code = code
        self.frameSize = frameSize
        epilogue = asm.makeLabel()
        wordLabels = (0..<code.count).map { _ in asm.makeLabel() }
    }

    func reg(_ r: Int) -> Memory { .base(Self.fp, Int32(r * 8)) }
    func field(_ offset: Int32) -> Memory { .base(Self.header, offset) }

    /// `movabs dst, <address of target>`, recorded as a relocation.
    mutating func load(_ dst: GPR, address target: RelocationTarget) {
        let offset = asm.movabs(dst, 0)
        relocations.append(Relocation(offset: offset, target: target))
    }

    mutating func trap(_ code: TrapCode, word: Int, _ a: GPR? = nil, _ b: GPR? = nil) -> CodeLabel {
        let label = asm.makeLabel()
        trapSites.append(TrapSite(label: label, code: code, word: word, operands: (a, b)))
        return label
    }

    mutating func compileFunction() throws -> MachineCode {
        // Prologue: six pushes and 8 bytes keep rsp 16-byte aligned at every call we make.
        asm.push(.rbp)
        asm.mov(.rbp, .rsp)
        asm.push(.rbx)
        asm.push(.r12)
        asm.push(.r13)
        asm.push(.r14)
        asm.push(.r15)
        asm.sub(.rsp, 8)
        asm.mov(Self.header, .rdi)
        asm.mov(Self.fp, field(FiberField.frame))
        load(Self.table, address: .addressTable)
        // The frame must fit in the register stack.
        asm.lea(.rax, .base(Self.fp, Int32(frameSize * 8)))
        asm.cmp(.rax, field(FiberField.stackLimit))
        asm.jcc(.a, trap(.stackOverflow, word: 0))

        var at = 0
        while at < code.count {
            asm.bind(wordLabels[at])
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            try emit(op, w, at)
            at += op.format.wordCount
        }

        asm.bind(epilogue)
        asm.add(.rsp, 8)
        asm.pop(.r15)
        asm.pop(.r14)
        asm.pop(.r13)
        asm.pop(.r12)
        asm.pop(.rbx)
        asm.pop(.rbp)
        asm.ret()

        emitTrapStubs()
        do {
            let bytes = try asm.finish()
            return MachineCode(
                bytes: bytes, entryOffset: 0, features: Set(asm.usedFeatures.names), relocations: relocations)
        } catch {
            throw Failure.assembler("\(error)")
        }
    }

    /// Out-of-line trap paths: describe the trap in the header and return the trap signal.
    mutating func emitTrapStubs() {
        for site in trapSites {
            asm.bind(site.label)
            if let a = site.operands.0 { asm.mov(field(FiberField.trapOperands), a) }
            if let b = site.operands.1 { asm.mov(field(FiberField.trapOperands + 8), b) }
            asm.mov32(field(FiberField.trapCode), Int32(site.code.rawValue))
            load(.rax, address: .functionHeader(functionId))
            asm.mov(field(FiberField.trapFunction), .rax)
            load(.rax, address: .bytecodeWord(function: functionId, word: UInt32(site.word)))
            asm.mov(field(FiberField.trapPC), .rax)
            asm.movImmediate(.rax, Int64(RibbonSignalTrap.rawValue))
            asm.jmp(epilogue)
        }
        // A callee returned the trap signal. A builtin leaves the location empty: then this call
        // is the innermost frame and its record comes off; otherwise the callee described it.
        for site in callTrapSites {
            asm.bind(site.label)
            let propagate = asm.makeLabel()
            asm.cmp(field(FiberField.trapFunction), 0)
            asm.jcc(.ne, propagate)
            load(.rax, address: .functionHeader(functionId))
            asm.mov(field(FiberField.trapFunction), .rax)
            load(.rax, address: .bytecodeWord(function: functionId, word: UInt32(site.word)))
            asm.mov(field(FiberField.trapPC), .rax)
            asm.sub(field(FiberField.callStackTop), FiberField.recordSize)
            asm.bind(propagate)
            asm.movImmediate(.rax, Int64(RibbonSignalTrap.rawValue))
            asm.jmp(epilogue)
        }
    }

    func target(_ w: UInt64, _ at: Int) -> CodeLabel { wordLabels[at + Int(InstructionWord.int32(w))] }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func emit(_ op: Opcode, _ w: UInt64, _ at: Int) throws {
        let d = InstructionWord.byte(w, 2)
        let a = InstructionWord.byte(w, 3)
        let b = InstructionWord.byte(w, 4)
        switch op {
        case .nop, .jitLoopHeader, .jitCold:
            break
        case .mov:
            asm.mov(.rax, reg(a))
            asm.mov(reg(d), .rax)
        case .constI32:
            asm.mov(reg(d), InstructionWord.int32(w))
        case .const64:
            asm.movImmediate(.rax, Int64(bitPattern: code[at + 1]))
            asm.mov(reg(d), .rax)

        case .iAdd64, .iSub64, .iAnd64, .iOr64, .iXor64, .iMul64:
            asm.mov(.rax, reg(a))
            switch op {
            case .iAdd64: asm.add(.rax, reg(b))
            case .iSub64: asm.sub(.rax, reg(b))
            case .iAnd64: asm.and(.rax, reg(b))
            case .iOr64: asm.or(.rax, reg(b))
            case .iXor64: asm.xor(.rax, reg(b))
            default: asm.imul(.rax, reg(b))
            }
            asm.mov(reg(d), .rax)
        case .sDiv64, .sRem64:
            // Never reaches idiv with a zero divisor or with MIN / -1 (a hardware fault).
            let minusOne = asm.makeLabel()
            let done = asm.makeLabel()
            asm.mov(.rcx, reg(b))
            asm.test(.rcx, .rcx)
            asm.jcc(.e, trap(.divisionByZero, word: at))
            asm.cmp(.rcx, -1)
            asm.jcc(.e, minusOne)
            asm.mov(.rax, reg(a))
            asm.cqo()
            asm.idiv(.rcx)
            asm.mov(reg(d), op == .sDiv64 ? .rax : .rdx)
            asm.jmp(done)
            asm.bind(minusOne)
            if op == .sDiv64 {
                asm.mov(.rax, reg(a))
                asm.neg(.rax)
                asm.mov(reg(d), .rax)
            } else {
                asm.mov(reg(d), 0)
            }
            asm.bind(done)
        case .iShl64, .sShr64:
            asm.mov(.rcx, reg(b))
            asm.mov(.rax, reg(a))
            if op == .iShl64 { asm.shlByCL(.rax) } else { asm.sarByCL(.rax) }
            asm.mov(reg(d), .rax)
        case .iNeg64:
            asm.mov(.rax, reg(a))
            asm.neg(.rax)
            asm.mov(reg(d), .rax)
        case .iAbs64:
            // rcx = -a; take a where -a is negative (a > 0, or a = MIN, which wraps to itself).
            asm.mov(.rax, reg(a))
            asm.mov(.rcx, .rax)
            asm.neg(.rcx)
            asm.cmov(.s, .rcx, .rax)
            asm.mov(reg(d), .rcx)
        case .iAdd64Imm:
            asm.mov(.rax, reg(a))
            asm.add(.rax, InstructionWord.int32(w))
            asm.mov(reg(d), .rax)
        case .iMul64Imm:
            asm.mov(.rax, reg(a))
            asm.imul(.rax, .rax, InstructionWord.int32(w))
            asm.mov(reg(d), .rax)

        case .fAdd64, .fSub64, .fMul64, .fDiv64:
            asm.movsd(.xmm0, reg(a))
            switch op {
            case .fAdd64: asm.addsd(.xmm0, reg(b))
            case .fSub64: asm.subsd(.xmm0, reg(b))
            case .fMul64: asm.mulsd(.xmm0, reg(b))
            default: asm.divsd(.xmm0, reg(b))
            }
            asm.movsd(reg(d), .xmm0)
        case .fNeg64:
            // Flip the sign bit (exact for every value, NaN and -0.0 included).
            asm.mov(.rax, reg(a))
            asm.movImmediate(.rcx, Int64.min)
            asm.xor(.rax, .rcx)
            asm.mov(reg(d), .rax)
        case .fAbs64:
            asm.mov(.rax, reg(a))
            asm.shl(.rax, 1)
            asm.shr(.rax, 1)
            asm.mov(reg(d), .rax)
        case .fSqrt64:
            asm.sqrtsd(.xmm0, reg(a))
            asm.movsd(reg(d), .xmm0)
        case .fFloor64:
            asm.movsd(.xmm0, reg(a))
            asm.roundsd(.xmm0, .xmm0, .down)
            asm.movsd(reg(d), .xmm0)

        case .sToF64:
            asm.mov(.rax, reg(a))
            asm.cvtsi2sd(.xmm0, .rax)
            asm.movsd(reg(d), .xmm0)
        case .fToS64:
            // In range exactly when -2^63 <= v < 2^63; NaN fails (unordered sets CF and PF).
            asm.mov(.rdx, reg(a))  // the trap's operand: the value's bits
            asm.movq(.xmm0, .rdx)
            let out = trap(.cannotConvertToI64, word: at, .rdx)
            asm.movImmediate(.rax, Int64(bitPattern: (-9_223_372_036_854_775_808.0).bitPattern))
            asm.movq(.xmm1, .rax)
            asm.ucomisd(.xmm0, .xmm1)
            asm.jcc(.p, out)
            asm.jcc(.b, out)
            asm.movImmediate(.rax, Int64(bitPattern: (9_223_372_036_854_775_808.0).bitPattern))
            asm.movq(.xmm1, .rax)
            asm.ucomisd(.xmm1, .xmm0)
            asm.jcc(.be, out)
            asm.cvttsd2si(.rax, .xmm0)
            asm.mov(reg(d), .rax)

        case .iEq64, .iNe64, .sLt64, .sLe64:
            asm.mov(.rax, reg(a))
            asm.cmp(.rax, reg(b))
            let cc: Condition = op == .iEq64 ? .e : op == .iNe64 ? .ne : op == .sLt64 ? .l : .le
            asm.setcc(cc, .rax)
            asm.movzx8(.rax, .rax)
            asm.mov(reg(d), .rax)
        case .fLt64, .fLe64:
            // a < b is b > a: "above" is false when unordered.
            asm.movsd(.xmm0, reg(b))
            asm.ucomisd(.xmm0, reg(a))
            asm.setcc(op == .fLt64 ? .a : .ae, .rax)
            asm.movzx8(.rax, .rax)
            asm.mov(reg(d), .rax)
        case .fEq64, .fNe64:
            asm.movsd(.xmm0, reg(a))
            asm.ucomisd(.xmm0, reg(b))
            if op == .fEq64 {
                asm.setcc(.e, .rax)
                asm.setcc(.np, .rcx)
                asm.and(.rax, .rcx)
            } else {
                asm.setcc(.ne, .rax)
                asm.setcc(.p, .rcx)
                asm.or(.rax, .rcx)
            }
            asm.movzx8(.rax, .rax)
            asm.mov(reg(d), .rax)
        case .bNot:
            asm.mov(.rax, reg(a))
            asm.xor(.rax, 1)
            asm.mov(reg(d), .rax)

        case .br:
            asm.jmp(target(w, at))
        case .brIf, .brIfnot:
            asm.cmp(reg(d), 0)
            asm.jcc(op == .brIf ? .ne : .e, target(w, at))
        case .brIEq64, .brINe64, .brSLt64, .brSLe64:
            asm.mov(.rax, reg(d))
            asm.cmp(.rax, reg(a))
            let cc: Condition = op == .brIEq64 ? .e : op == .brINe64 ? .ne : op == .brSLt64 ? .l : .le
            asm.jcc(cc, target(w, at))
        case .brIEq64Imm, .brINe64Imm, .brSLt64Imm, .brSLe64Imm, .brSGt64Imm, .brSGe64Imm:
            asm.cmp(reg(d), Int32(InstructionWord.int8(w)))
            let cc: Condition
            switch op {
            case .brIEq64Imm: cc = .e
            case .brINe64Imm: cc = .ne
            case .brSLt64Imm: cc = .l
            case .brSLe64Imm: cc = .le
            case .brSGt64Imm: cc = .g
            default: cc = .ge
            }
            asm.jcc(cc, target(w, at))
        case .brFLt64, .brFLe64, .brFNlt64, .brFNle64:
            // Compare b with a: "above" (a < b) and "above or equal" (a <= b) are false when
            // unordered, so their negations jump on NaN as the interpreter's `!(a < b)` does.
            asm.movsd(.xmm0, reg(a))
            asm.ucomisd(.xmm0, reg(d))
            let cc: Condition
            switch op {
            case .brFLt64: cc = .a
            case .brFLe64: cc = .ae
            case .brFNlt64: cc = .be
            default: cc = .b
            }
            asm.jcc(cc, target(w, at))
        case .brFEq64, .brFNe64:
            asm.movsd(.xmm0, reg(d))
            asm.ucomisd(.xmm0, reg(a))
            if op == .brFEq64 {
                let skip = asm.makeLabel()
                asm.jcc(.p, skip)
                asm.jcc(.e, target(w, at))
                asm.bind(skip)
            } else {
                asm.jcc(.p, target(w, at))
                asm.jcc(.ne, target(w, at))
            }

        case .call:
            emitCall(result: d, base: a, id: InstructionWord.id(w), at: at)
        case .callC:
            // The slot holds the function's System V glue: always a native callee.
            emitCall(result: d, base: a, id: InstructionWord.id(w), at: at, alwaysNative: true)
        case .ret:
            asm.mov(.rax, reg(d))
            asm.mov(reg(0), .rax)
            asm.xor(.rax, .rax)
            asm.jmp(epilogue)
        case .retUnit:
            asm.xor(.rax, .rax)
            asm.jmp(epilogue)

        case .globalGet:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            asm.mov(.rax, .base(.rax))
            asm.mov(reg(d), .rax)
        case .globalSet:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            asm.mov(.rcx, reg(d))
            asm.mov(.base(.rax), .rcx)
        case .constAddr:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            asm.mov(reg(d), .rax)

        case .arrayLen:
            asm.mov(.rax, reg(a))
            asm.mov(.rax, .base(.rax))
            asm.mov(reg(d), .rax)
        case .arrayLoad64, .arrayLoad8:
            // Unsigned compare: a negative index is a huge one, out of range too.
            asm.mov(.rax, reg(a))
            asm.mov(.rcx, reg(b))
            asm.mov(.rdx, .base(.rax))
            asm.cmp(.rcx, .rdx)
            asm.jcc(.ae, trap(.indexOutOfRange, word: at, .rcx, .rdx))
            if op == .arrayLoad64 {
                asm.mov(.rax, .indexed(.rax, .rcx, scale: 8, displacement: 8))
            } else {
                asm.movzx8(.rax, .indexed(.rax, .rcx, scale: 1, displacement: 8))
            }
            asm.mov(reg(d), .rax)
        case .arrayStore64, .arrayStore8:
            asm.mov(.rax, reg(d))
            asm.mov(.rcx, reg(a))
            asm.mov(.rdx, .base(.rax))
            asm.cmp(.rcx, .rdx)
            asm.jcc(.ae, trap(.indexOutOfRange, word: at, .rcx, .rdx))
            asm.mov(.rdx, reg(b))
            if op == .arrayStore64 {
                asm.mov(.indexed(.rax, .rcx, scale: 8, displacement: 8), .rdx)
            } else {
                asm.mov8(.indexed(.rax, .rcx, scale: 1, displacement: 8), .rdx)
            }
        default:
            throw Failure.unsupported(op.name)
        }
    }

    /// A call through the AddressTable, pushing this frame's call record like the interpreter
    /// does (same depth limit, same backtraces). A native callee is called directly; a bytecode
    /// callee (bit 63 set) through the interpreter's entry for native code.
    mutating func emitCall(result d: Int, base: Int, id: Int, at: Int, alwaysNative: Bool = false) {
        let bytecodeCallee = asm.makeLabel()
        let returned = asm.makeLabel()
        let trapped = asm.makeLabel()
        callTrapSites.append((trapped, at))
        let record = FiberField.recordSize
        asm.mov(.rax, field(FiberField.callStackTop))
        asm.cmp(.rax, field(FiberField.callStackLimit))
        asm.jcc(.e, trap(.stackOverflow, word: at))
        load(.rcx, address: .bytecodeWord(function: functionId, word: UInt32(at)))
        asm.mov(.base(.rax, 0), .rcx)
        asm.mov(.base(.rax, 8), Self.fp)
        load(.rcx, address: .functionHeader(functionId))
        asm.mov(.base(.rax, 16), .rcx)
        asm.add(.rax, record)
        asm.mov(field(FiberField.callStackTop), .rax)
        asm.lea(.rsi, reg(base))
        asm.mov(field(FiberField.frame), .rsi)
        asm.mov(.rax, .base(Self.table, Int32(id * 8)))
        asm.mov(.rdi, Self.header)
        if alwaysNative {
            asm.call(.rax)
        } else {
            asm.test(.rax, .rax)
            asm.jcc(.s, bytecodeCallee)
            asm.call(.rax)
            asm.jmp(returned)
            asm.bind(bytecodeCallee)
            asm.shl(.rax, 1)
            asm.shr(.rax, 1)
            asm.mov(.rsi, .rax)
            load(.rax, address: .runtimeHelper(JITRuntime.callBytecodeName))
            asm.call(.rax)
        }
        asm.bind(returned)
        asm.mov32(.rax, .rax)  // the signal is a uint32 in eax; the upper half is undefined
        asm.test(.rax, .rax)
        asm.jcc(.ne, trapped)
        asm.sub(field(FiberField.callStackTop), record)
        asm.mov(.rax, reg(base))
        asm.mov(reg(d), .rax)
    }
}
