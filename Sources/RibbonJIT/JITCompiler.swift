import CRibbonABI
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
///
/// This file holds the compiler's state and the function around the instructions: prologue,
/// entries (external and on-stack replacement), epilogue and trap stubs. `+Dispatch` maps each
/// opcode to its translation, which lives by category (`+Integer`, `+Float`, `+Branches`,
/// `+Calls`, `+Arrays`, `+Moves`); `+Operands` reads and writes bytecode registers wherever
/// the plan put them, and `Opcode+X86` says which x86 instruction or condition each opcode is.
package struct JITCompiler {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case unsupported(String)
        case assembler(String)

        package var description: String {
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

    static let fp = GPR.rbx
    static let header = GPR.r12
    static let table = GPR.r13

    /// Compiles `function` (already verified by the loader) for a CPU with `features`: code
    /// uses an instruction beyond the x86-64 baseline only where `features` has it.
    package static func compile(
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

}
