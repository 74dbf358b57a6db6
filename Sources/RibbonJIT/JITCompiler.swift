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
/// Register plan: `rbx` holds the frame (bytecode register `r` lives at `rbx + 8r` unless the
/// `RegisterPlan` pins it to a machine register), `r12` the fiber header, `r13` the unit's
/// AddressTable; all three are callee-saved, so calls keep them. `rax`, `rcx`, `rdx`, `xmm0`
/// and `xmm1` are scratch within one instruction (`rsi`/`rdi` too, around calls). Each
/// bytecode instruction becomes a short run of x86-64; pinned registers never need writing
/// back because nothing reads a frame below a call's argument window.
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
    let plan: RegisterPlan
    var asm = X86Assembler()
    var relocations: [Relocation] = []
    /// The native position of each bytecode word that starts an instruction.
    var wordLabels: [CodeLabel] = []
    /// Which words start an instruction (the second word of `const64` does not).
    var isInstructionStart: [Bool] = []
    var entry: CodeLabel
    var epilogue: CodeLabel
    var trapSites: [TrapSite] = []
    /// Where the current bytecode instruction's machine code starts.
    var instructionStart = 0
    /// The bytecode register rax holds at `instructionStart`, if known (see `load`).
    var raxHolds: Int? = nil
    /// The last `store(r, .rax)`: register and the position right after it.
    var lastStore: (register: Int, end: Int)? = nil
    /// Words some branch jumps to (control can arrive there with anything in rax).
    var isBranchTarget: [Bool] = []
    var callTrapSites: [(label: CodeLabel, word: Int)] = []

    struct TrapSite {
        var label: CodeLabel
        var code: TrapCode
        var word: Int
        /// Registers holding `trapOperands[0]` and `[1]` when the trap is taken.
        var operands: (GPR?, GPR?)
    }

    /// Instructions whose code has no internal join (trap stubs are out of line and never
    /// come back): see `raxHolds`.
    static let straightLine: Set<Opcode> = [
        .mov, .const64, .iAdd64, .iSub64, .iMul64, .iAnd64, .iOr64, .iXor64, .iShl64, .sShr64, .iNeg64,
        .iAdd64Imm, .iMul64Imm, .fNeg64, .fAbs64, .iEq64, .iNe64, .sLt64, .sLe64, .fLt64, .fLe64, .fEq64,
        .fNe64, .bNot, .globalGet, .constAddr, .arrayLen, .arrayLoad64, .arrayLoad8, .fToS64,
    ]

    static let fp = GPR.rbx
    static let header = GPR.r12
    static let table = GPR.r13

    /// Compiles `function` (already verified by the loader) for a CPU with `features`: code
    /// uses an instruction beyond the x86-64 baseline only where `features` has it.
    public static func compile(
        _ function: LoadedUnit.FunctionInfo, features: CPUFeatures = JITEngine.hostFeatures
    ) throws -> MachineCode {
        let h = function.header.pointee
        let words = UnsafeRawPointer(function.header).advanced(by: functionHeaderWords * 8)
            .assumingMemoryBound(to: UInt64.self)
        var compiler = JITCompiler(
            functionId: function.id, code: UnsafeBufferPointer(start: words, count: Int(h.codeWords)),
            frameSize: Int(h.frameSize), features: features)
        return try compiler.compileFunction()
    }

    /// What every x86-64 CPU has; not recorded as a requirement.
    static let baseline: CPUFeatures = [.sse2]

    let features: CPUFeatures

    init(functionId: UInt32, code: UnsafeBufferPointer<UInt64>, frameSize: Int, features: CPUFeatures) {
        self.functionId = functionId
        self.code = code
        self.frameSize = frameSize
        self.features = features
        plan = RegisterPlan(code: code, frameSize: frameSize)
        entry = asm.makeLabel()
        epilogue = asm.makeLabel()
        wordLabels = (0..<code.count).map { _ in asm.makeLabel() }
        isInstructionStart = [Bool](repeating: false, count: code.count)
        isBranchTarget = [Bool](repeating: false, count: code.count)
        var at = 0
        while at < code.count {
            isInstructionStart[at] = true
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(code[at]))!
            if op.format.hasBranchOffset {
                let target = at + Int(InstructionWord.int32(code[at]))
                if target >= 0, target < code.count { isBranchTarget[target] = true }
            }
            at += op.format.wordCount
        }
        // Loop heads are also entered from on-stack replacement; word 0 from the prologue.
        for i in 0..<code.count where isInstructionStart[i] && i > 0 {
            if Opcode(rawValue: InstructionWord.opcodeNumber(code[i - 1])) == .jitLoopHeader { isBranchTarget[i] = true }
        }
        if !code.isEmpty { isBranchTarget[0] = true }
    }

    func slot(_ r: Int) -> Memory { .base(Self.fp, Int32(r * 8)) }
    func field(_ offset: Int32) -> Memory { .base(Self.header, offset) }
    func location(_ r: Int) -> Location { plan.locations[r] }

    // MARK: Moving values between bytecode registers and scratch

    /// Integer value of `r` into `dst`.
    mutating func load(_ dst: GPR, _ r: Int) {
        // The previous instruction ended by storing rax to r, and nothing has been emitted
        // since (this instruction's first action, not a branch target): rax still holds it.
        if dst == .rax, raxHolds == r, asm.position == instructionStart { return }
        switch location(r) {
        case .frame: asm.mov(dst, slot(r))
        case .gpr(let g): if g != dst { asm.mov(dst, g) }
        case .xmm(let x): asm.movq(dst, x)
        }
    }

    /// `src` into `r`.
    mutating func store(_ r: Int, _ src: GPR) {
        defer { if src == .rax { lastStore = (r, asm.position) } }
        switch location(r) {
        case .frame: asm.mov(slot(r), src)
        case .gpr(let g): if g != src { asm.mov(g, src) }
        case .xmm(let x): asm.movq(x, src)
        }
    }

    mutating func loadFloat(_ dst: XMM, _ r: Int) {
        switch location(r) {
        case .frame: asm.movsd(dst, slot(r))
        case .xmm(let x): if x != dst { asm.movapd(dst, x) }
        case .gpr(let g): asm.movq(dst, g)
        }
    }

    mutating func storeFloat(_ r: Int, _ src: XMM) {
        switch location(r) {
        case .frame: asm.movsd(slot(r), src)
        case .xmm(let x): if x != src { asm.movapd(x, src) }
        case .gpr(let g): asm.movq(g, src)
        }
    }

    /// An integer ALU operation `dst op= r`, reading `r` where it lives.
    mutating func alu(_ op: Opcode, _ dst: GPR, _ r: Int) {
        switch location(r) {
        case .frame:
            let m = slot(r)
            switch op {
            case .iAdd64: asm.add(dst, m)
            case .iSub64: asm.sub(dst, m)
            case .iAnd64: asm.and(dst, m)
            case .iOr64: asm.or(dst, m)
            case .iXor64: asm.xor(dst, m)
            case .iMul64: asm.imul(dst, m)
            default: asm.cmp(dst, m)
            }
        case .gpr(let g):
            switch op {
            case .iAdd64: asm.add(dst, g)
            case .iSub64: asm.sub(dst, g)
            case .iAnd64: asm.and(dst, g)
            case .iOr64: asm.or(dst, g)
            case .iXor64: asm.xor(dst, g)
            case .iMul64: asm.imul(dst, g)
            default: asm.cmp(dst, g)
            }
        case .xmm:
            load(.rcx, r)
            alu(op, dst, rcx: ())
        }
    }

    /// The `alu` fallback for an operand already in rcx.
    mutating func alu(_ op: Opcode, _ dst: GPR, rcx: ()) {
        switch op {
        case .iAdd64: asm.add(dst, .rcx)
        case .iSub64: asm.sub(dst, .rcx)
        case .iAnd64: asm.and(dst, .rcx)
        case .iOr64: asm.or(dst, .rcx)
        case .iXor64: asm.xor(dst, .rcx)
        case .iMul64: asm.imul(dst, .rcx)
        default: asm.cmp(dst, .rcx)
        }
    }

    /// A scalar-double operation `dst op= r`.
    mutating func sse(_ op: Opcode, _ dst: XMM, _ r: Int) {
        switch location(r) {
        case .frame:
            let m = slot(r)
            switch op {
            case .fAdd64: asm.addsd(dst, m)
            case .fSub64: asm.subsd(dst, m)
            case .fMul64: asm.mulsd(dst, m)
            case .fDiv64: asm.divsd(dst, m)
            case .fSqrt64: asm.sqrtsd(dst, m)
            default: asm.ucomisd(dst, m)
            }
        case .xmm(let x):
            switch op {
            case .fAdd64: asm.addsd(dst, x)
            case .fSub64: asm.subsd(dst, x)
            case .fMul64: asm.mulsd(dst, x)
            case .fDiv64: asm.divsd(dst, x)
            case .fSqrt64: asm.sqrtsd(dst, x)
            default: asm.ucomisd(dst, x)
            }
        case .gpr:
            loadFloat(.xmm1, r)
            switch op {
            case .fAdd64: asm.addsd(dst, .xmm1)
            case .fSub64: asm.subsd(dst, .xmm1)
            case .fMul64: asm.mulsd(dst, .xmm1)
            case .fDiv64: asm.divsd(dst, .xmm1)
            case .fSqrt64: asm.sqrtsd(dst, .xmm1)
            default: asm.ucomisd(dst, .xmm1)
            }
        }
    }

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

    // MARK: Function

    mutating func compileFunction() throws -> MachineCode {
        // External entry (the builtin ABI, what AddressTable callers use): set up the header
        // and table registers, which every frame of the unit shares, then call the internal
        // entry with the frame in rsi. Calls of this function by itself go straight to the
        // internal entry.
        emitExternalEntry(calling: entry)

        // Internal entry: r12 and r13 set, rsi = frame.
        asm.align(to: 16)
        asm.bind(entry)
        let (saved, padding) = emitFramePrologue()
        // No check that the frame fits in the register stack: `Fiber.stackWords` is sized so
        // that the call-depth limit, checked at every call, always comes first.
        loadPinnedRegisters()

        var at = 0
        while at < code.count {
            asm.bind(wordLabels[at])
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            instructionStart = asm.position
            // Control can arrive at a branch target with anything in rax: forget the last
            // store for good (an instruction here may emit nothing, and the next one would
            // start at the same position and take it up again).
            if isBranchTarget[at] { lastStore = nil }
            if let last = lastStore, last.end == asm.position {
                raxHolds = last.register
            } else {
                raxHolds = nil
            }
            try emit(op, w, at)
            // Only straight-line code (no join inside: other paths could reach the end with
            // something else in rax) may hand its final store on to the next instruction.
            if !Self.straightLine.contains(op) { lastStore = nil }
            at += op.format.wordCount
        }

        asm.bind(epilogue)
        if padding != 0 { asm.add(.rsp, padding) }
        for g in saved.reversed() { asm.pop(g) }
        asm.ret()

        emitTrapStubs()

        // Loop entries for on-stack replacement: the interpreter's frame is entirely in memory
        // at an instruction boundary, so entering at a loop's first word only needs the
        // prologue, the pinned registers loaded, and a jump. The loop's first word is the one
        // after each `jit_loop_header` hint (back-edges target it).
        var loopEntries: [UInt32: Int] = [:]
        for at in 0..<code.count where isInstructionStart[at] && Opcode(rawValue: InstructionWord.opcodeNumber(code[at])) == .jitLoopHeader {
            let loop = at + 1
            guard loop < code.count else { continue }
            let internalEntry = asm.makeLabel()
            asm.align(to: 16)
            loopEntries[UInt32(loop)] = asm.position
            emitExternalEntry(calling: internalEntry)
            asm.bind(internalEntry)
            _ = emitFramePrologue()
            loadPinnedRegisters()
            asm.jmp(wordLabels[loop])
        }
        do {
            let bytes = try asm.finish()
            return MachineCode(
                bytes: bytes, entryOffset: 0, features: Set(asm.usedFeatures.subtracting(Self.baseline).names),
                relocations: relocations, loopEntries: loopEntries)
        } catch {
            throw Failure.assembler("\(error)")
        }
    }

    /// A builtin-ABI entry: rdi = header. Two pushes and 8 bytes keep the call aligned.
    mutating func emitExternalEntry(calling internalEntry: CodeLabel) {
        asm.push(Self.header)
        asm.push(Self.table)
        asm.sub(.rsp, 8)
        asm.mov(Self.header, .rdi)
        load(Self.table, address: .addressTable)
        asm.mov(.rsi, field(FiberField.frame))
        asm.call(internalEntry)
        asm.add(.rsp, 8)
        asm.pop(Self.table)
        asm.pop(Self.header)
        asm.ret()
    }

    /// Saves what differs per frame (rbx and the callee-saved registers the plan pins) and sets
    /// rbx from rsi. An odd number of pushes (padded) keeps every call it makes 16-byte aligned.
    mutating func emitFramePrologue() -> (saved: [GPR], padding: Int32) {
        let saved: [GPR] = [Self.fp] + plan.savedGPRs
        for g in saved { asm.push(g) }
        let padding = saved.count % 2 == 0 ? Int32(8) : 0
        if padding != 0 { asm.sub(.rsp, padding) }
        asm.mov(Self.fp, .rsi)
        return (saved, padding)
    }

    mutating func loadPinnedRegisters() {
        for (r, location) in plan.pinned {
            switch location {
            case .gpr(let g): asm.mov(g, slot(r))
            case .xmm(let x): asm.movsd(x, slot(r))
            case .frame: break
            }
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

    // MARK: Instructions

    mutating func emit(_ op: Opcode, _ w: UInt64, _ at: Int) throws {
        let d = InstructionWord.byte(w, 2)
        let a = InstructionWord.byte(w, 3)
        let b = InstructionWord.byte(w, 4)
        switch op {
        case .nop, .jitCold:
            break
        case .jitLoopHeader:
            // The loop's first instruction follows; back-edges jump to it. Align it so each
            // iteration starts on a fresh fetch block.
            asm.align(to: 16)
        case .mov:
            if case .xmm(let x) = location(d) {
                loadFloat(x, a)
            } else if case .xmm = location(a) {
                load(.rax, a)
                store(d, .rax)
            } else if case .gpr(let g) = location(d) {
                load(g, a)
            } else {
                load(.rax, a)
                store(d, .rax)
            }
        case .constI32:
            switch location(d) {
            case .frame: asm.mov(slot(d), InstructionWord.int32(w))
            case .gpr(let g): asm.movImmediate(g, Int64(InstructionWord.int32(w)))
            case .xmm:
                asm.movImmediate(.rax, Int64(InstructionWord.int32(w)))
                store(d, .rax)
            }
        case .const64:
            asm.movImmediate(.rax, Int64(bitPattern: code[at + 1]))
            store(d, .rax)

        case .iAdd64, .iSub64, .iAnd64, .iOr64, .iXor64, .iMul64:
            let commutative = op != .iSub64
            if case .gpr(let g) = location(d), location(b) != .gpr(g) {
                load(g, a)  // no-op when a is already in g
                alu(op, g, b)
            } else if case .gpr(let g) = location(d), commutative, location(a) != .gpr(g) {
                alu(op, g, a)  // g holds b
            } else {
                load(.rax, a)
                alu(op, .rax, b)
                store(d, .rax)
            }
        case .sDiv64, .sRem64:
            // Never reaches idiv with a zero divisor or with MIN / -1 (a hardware fault).
            let minusOne = asm.makeLabel()
            let done = asm.makeLabel()
            load(.rcx, b)
            asm.test(.rcx, .rcx)
            asm.jcc(.e, trap(.divisionByZero, word: at))
            asm.cmp(.rcx, -1)
            asm.jcc(.e, minusOne)
            load(.rax, a)
            asm.cqo()
            asm.idiv(.rcx)
            store(d, op == .sDiv64 ? .rax : .rdx)
            asm.jmp(done)
            asm.bind(minusOne)
            if op == .sDiv64 {
                load(.rax, a)
                asm.neg(.rax)
                store(d, .rax)
            } else {
                asm.zero(.rax)
                store(d, .rax)
            }
            asm.bind(done)
        case .iShl64, .sShr64:
            load(.rcx, b)
            load(.rax, a)
            if op == .iShl64 { asm.shlByCL(.rax) } else { asm.sarByCL(.rax) }
            store(d, .rax)
        case .iNeg64:
            load(.rax, a)
            asm.neg(.rax)
            store(d, .rax)
        case .iAbs64:
            // rcx = -a; take a where -a is negative (a > 0, or a = MIN, which wraps to itself).
            load(.rax, a)
            asm.mov(.rcx, .rax)
            asm.neg(.rcx)
            asm.cmov(.s, .rcx, .rax)
            store(d, .rcx)
        case .iAdd64Imm:
            if case .gpr(let source) = location(a), case .frame = location(d) {
                asm.lea(.rax, .base(source, InstructionWord.int32(w)))
                store(d, .rax)
            } else if case .gpr(let g) = location(d) {
                load(g, a)
                asm.add(g, InstructionWord.int32(w))
            } else {
                load(.rax, a)
                asm.add(.rax, InstructionWord.int32(w))
                store(d, .rax)
            }
        case .iMul64Imm:
            load(.rax, a)
            asm.imul(.rax, .rax, InstructionWord.int32(w))
            store(d, .rax)

        case .fAdd64, .fSub64, .fMul64, .fDiv64:
            // Never commuted, not even add and mul: when both operands are NaNs, SSE keeps the
            // first operand's payload and sign, and so does the interpreter's `a * b`. (Ribbon
            // prints every NaN as `nan`, but bytecode can read a NaN's bits.)
            if case .xmm(let x) = location(d), location(b) != .xmm(x) {
                loadFloat(x, a)  // no-op when a is already in x
                sse(op, x, b)
            } else {
                loadFloat(.xmm0, a)
                sse(op, .xmm0, b)
                storeFloat(d, .xmm0)
            }
        case .fMulAdd64, .fMulSub64:
            // Two roundings, as the separate instructions (mulsd then addsd/subsd; not FMA).
            let c = InstructionWord.byte(w, 5)
            let second: Opcode = op == .fMulAdd64 ? .fAdd64 : .fSub64
            if case .xmm(let x) = location(d), location(b) != .xmm(x), location(c) != .xmm(x) {
                loadFloat(x, a)
                sse(.fMul64, x, b)
                sse(second, x, c)
            } else {
                loadFloat(.xmm0, a)
                sse(.fMul64, .xmm0, b)
                sse(second, .xmm0, c)
                storeFloat(d, .xmm0)
            }
        case .fNeg64:
            // Flip the sign bit (exact for every value, NaN and -0.0 included).
            load(.rax, a)
            asm.movImmediate(.rcx, Int64.min)
            asm.xor(.rax, .rcx)
            store(d, .rax)
        case .fAbs64:
            load(.rax, a)
            asm.shl(.rax, 1)
            asm.shr(.rax, 1)
            store(d, .rax)
        case .fSqrt64:
            sse(.fSqrt64, .xmm0, a)
            storeFloat(d, .xmm0)
        case .fFloor64:
            loadFloat(.xmm0, a)
            if features.contains(.sse4_1) {
                asm.roundsd(.xmm0, .xmm0, .down)
            } else {
                emitFloorSSE2()
            }
            storeFloat(d, .xmm0)

        case .sToF64:
            let source: GPR
            if case .gpr(let g) = location(a) { source = g } else { load(.rax, a); source = .rax }
            if case .xmm(let x) = location(d) {
                asm.cvtsi2sd(x, source)
            } else {
                asm.cvtsi2sd(.xmm0, source)
                storeFloat(d, .xmm0)
            }
        case .fToS64:
            // In range exactly when -2^63 <= v < 2^63; NaN fails (unordered sets CF and PF).
            load(.rdx, a)  // the trap's operand: the value's bits
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
            store(d, .rax)

        case .iEq64, .iNe64, .sLt64, .sLe64:
            load(.rax, a)
            alu(.iEq64, .rax, b)  // cmp
            let cc: Condition = op == .iEq64 ? .e : op == .iNe64 ? .ne : op == .sLt64 ? .l : .le
            asm.setcc(cc, .rax)
            asm.movzx8(.rax, .rax)
            store(d, .rax)
        case .fLt64, .fLe64:
            // a < b is b > a: "above" is false when unordered.
            loadFloat(.xmm0, b)
            sse(.fEq64, .xmm0, a)  // ucomisd
            asm.setcc(op == .fLt64 ? .a : .ae, .rax)
            asm.movzx8(.rax, .rax)
            store(d, .rax)
        case .fEq64, .fNe64:
            loadFloat(.xmm0, a)
            sse(.fEq64, .xmm0, b)
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
            store(d, .rax)
        case .bNot:
            load(.rax, a)
            asm.xor(.rax, 1)
            store(d, .rax)

        case .br:
            asm.jmp(target(w, at))
        case .brIf, .brIfnot:
            compareImmediate(d, 0)
            asm.jcc(op == .brIf ? .ne : .e, target(w, at))
        case .brIEq64, .brINe64, .brSLt64, .brSLe64:
            if case .gpr(let g) = location(d) {
                alu(.iEq64, g, a)  // cmp
            } else {
                load(.rax, d)
                alu(.iEq64, .rax, a)  // cmp
            }
            let cc: Condition = op == .brIEq64 ? .e : op == .brINe64 ? .ne : op == .brSLt64 ? .l : .le
            asm.jcc(cc, target(w, at))
        case .brIEq64Imm, .brINe64Imm, .brSLt64Imm, .brSLe64Imm, .brSGt64Imm, .brSGe64Imm:
            compareImmediate(d, Int32(InstructionWord.int8(w)))
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
            if case .xmm(let x) = location(a) {
                sse(.fEq64, x, d)  // ucomisd
            } else {
                loadFloat(.xmm0, a)
                sse(.fEq64, .xmm0, d)
            }
            let cc: Condition
            switch op {
            case .brFLt64: cc = .a
            case .brFLe64: cc = .ae
            case .brFNlt64: cc = .be
            default: cc = .b
            }
            asm.jcc(cc, target(w, at))
        case .brFEq64, .brFNe64:
            loadFloat(.xmm0, d)
            sse(.fEq64, .xmm0, a)
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
            load(.rax, d)
            asm.mov(slot(0), .rax)
            asm.zero(.rax)
            asm.jmp(epilogue)
        case .retUnit:
            asm.zero(.rax)
            asm.jmp(epilogue)

        case .globalGet:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            asm.mov(.rax, .base(.rax))
            store(d, .rax)
        case .globalSet:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            load(.rcx, d)
            asm.mov(.base(.rax), .rcx)
        case .constAddr:
            asm.mov(.rax, .base(Self.table, Int32(InstructionWord.id(w) * 8)))
            store(d, .rax)

        case .arrayLen:
            load(.rax, a)
            asm.mov(.rax, .base(.rax))
            store(d, .rax)
        case .arrayLoad64, .arrayLoad8:
            // Unsigned compare: a negative index is a huge one, out of range too.
            load(.rax, a)
            load(.rcx, b)
            asm.mov(.rdx, .base(.rax))
            asm.cmp(.rcx, .rdx)
            asm.jcc(.ae, trap(.indexOutOfRange, word: at, .rcx, .rdx))
            if op == .arrayLoad64 {
                asm.mov(.rax, .indexed(.rax, .rcx, scale: 8, displacement: 8))
            } else {
                asm.movzx8(.rax, .indexed(.rax, .rcx, scale: 1, displacement: 8))
            }
            store(d, .rax)
        case .arrayStore64, .arrayStore8:
            load(.rax, d)
            load(.rcx, a)
            asm.mov(.rdx, .base(.rax))
            asm.cmp(.rcx, .rdx)
            asm.jcc(.ae, trap(.indexOutOfRange, word: at, .rcx, .rdx))
            load(.rdx, b)
            if op == .arrayStore64 {
                asm.mov(.indexed(.rax, .rcx, scale: 8, displacement: 8), .rdx)
            } else {
                asm.mov8(.indexed(.rax, .rcx, scale: 1, displacement: 8), .rdx)
            }
        default:
            throw Failure.unsupported(op.name)
        }
    }

    /// floor(xmm0) into xmm0 with SSE2 only (for CPUs without SSE4.1's `roundsd`). Values of
    /// magnitude 2^52 or more are already integers (or inf/NaN) and ±0 is its own floor; the rest
    /// truncate exactly through an integer, minus one when truncation rounded up (x < 0).
    mutating func emitFloorSSE2() {
        let keep = asm.makeLabel()
        let have = asm.makeLabel()
        asm.movq(.rax, .xmm0)
        asm.mov(.rcx, .rax)
        asm.shl(.rcx, 1)  // drop the sign: |x|'s bits, shifted
        asm.movImmediate(.rdx, Int64(bitPattern: 0x4330_0000_0000_0000 << 1))  // 2^52
        asm.cmp(.rcx, .rdx)
        asm.jcc(.ae, keep)
        asm.test(.rcx, .rcx)
        asm.jcc(.e, keep)
        asm.cvttsd2si(.rax, .xmm0)
        asm.cvtsi2sd(.xmm1, .rax)
        asm.ucomisd(.xmm1, .xmm0)
        asm.jcc(.be, have)
        asm.sub(.rax, 1)
        asm.cvtsi2sd(.xmm1, .rax)
        asm.bind(have)
        asm.movapd(.xmm0, .xmm1)
        asm.bind(keep)
    }

    /// `cmp r, imm` (flags as for `r - imm`), wherever `r` lives.
    mutating func compareImmediate(_ r: Int, _ imm: Int32) {
        switch location(r) {
        case .frame: asm.cmp(slot(r), imm)
        case .gpr(let g): asm.cmp(g, imm)
        case .xmm:
            load(.rax, r)
            asm.cmp(.rax, imm)
        }
    }

    /// A call through the AddressTable, pushing this frame's call record like the interpreter
    /// does (same depth limit, same backtraces). A native callee is called directly; a bytecode
    /// callee (bit 63 set) through the interpreter's entry for native code; a call of this very
    /// function goes straight to its entry (recursion without re-dispatch).
    mutating func emitCall(result d: Int, base: Int, id: Int, at: Int, alwaysNative: Bool = false) {
        let returned = asm.makeLabel()
        let trapped = asm.makeLabel()
        callTrapSites.append((trapped, at))
        let record = FiberField.recordSize
        asm.mov(.rax, field(FiberField.callStackTop))
        asm.cmp(.rax, field(FiberField.callStackLimit))
        asm.jcc(.e, trap(.stackOverflow, word: at))
        load(.rcx, address: .bytecodeWord(function: functionId, word: UInt32(at)))
        asm.mov(.base(.rax, 0), .rcx)
        // The record's `frame` is read only by the interpreter, for records it pushed itself;
        // backtraces need the call position and the function.
        load(.rcx, address: .functionHeader(functionId))
        asm.mov(.base(.rax, 16), .rcx)
        asm.add(.rax, record)
        asm.mov(field(FiberField.callStackTop), .rax)
        asm.lea(.rsi, slot(base))
        if id == Int(functionId) && !alwaysNative {
            asm.call(entry)  // the internal entry: header and table registers are already right
        } else {
            asm.mov(field(FiberField.frame), .rsi)
            asm.mov(.rdi, Self.header)
            asm.mov(.rax, .base(Self.table, Int32(id * 8)))
            if alwaysNative {
                asm.call(.rax)
            } else {
                let bytecodeCallee = asm.makeLabel()
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
        }
        asm.bind(returned)
        asm.test32(.rax, .rax)  // the signal is a uint32 in eax; the upper half is undefined
        asm.jcc(.ne, trapped)
        asm.sub(field(FiberField.callStackTop), record)
        if location(d) != .frame(base) {
            asm.mov(.rax, slot(base))
            store(d, .rax)
        }
    }
}
