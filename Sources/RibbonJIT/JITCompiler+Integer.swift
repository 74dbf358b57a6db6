import RibbonCore
import X86Assembler

/// I64 and Bool instructions: arithmetic, division (guarded against the hardware's faults),
/// shifts, immediates, and comparisons into a register.
extension JITCompiler {
    /// `i_add64` … `i_mul64`: computed in `d`'s own register when it has one, else in rax.
    mutating func emitIntegerArithmetic(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        let operation = op.integerOperation
        let commutative = op != .iSub64
        if case .gpr(let g) = location(d), location(b) != .gpr(g) {
            load(g, a)  // no-op when a is already in g
            alu(operation, g, b)
        } else if case .gpr(let g) = location(d), commutative, location(a) != .gpr(g) {
            alu(operation, g, a)  // g holds b
        } else {
            load(.rax, a)
            alu(operation, .rax, b)
            store(d, .rax)
        }
    }

    /// `s_div64`, `s_rem64`: never reaches idiv with a zero divisor or with MIN / -1 (a
    /// hardware fault).
    mutating func emitDivision(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int, at: Int) {
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
    }

    /// `i_shl64`, `s_shr64`: the count in cl (the CPU masks it to 6 bits, as the ISA says).
    mutating func emitShift(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        load(.rcx, b)
        load(.rax, a)
        if op == .iShl64 { asm.shlByCL(.rax) } else { asm.sarByCL(.rax) }
        store(d, .rax)
    }

    mutating func emitNegate(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.neg(.rax)
        store(d, .rax)
    }

    /// `i_abs64`: rcx = -a; take a where -a is negative (a > 0, or a = MIN, which wraps to itself).
    mutating func emitAbsolute(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.mov(.rcx, .rax)
        asm.neg(.rcx)
        asm.cmov(.s, .rcx, .rax)
        store(d, .rcx)
    }

    mutating func emitAddImmediate(_ d: Int, _ a: Int, _ imm: Int32) {
        if case .gpr(let source) = location(a), case .frame = location(d) {
            asm.lea(.rax, .base(source, imm))
            store(d, .rax)
        } else if case .gpr(let g) = location(d) {
            load(g, a)
            asm.add(g, imm)
        } else {
            load(.rax, a)
            asm.add(.rax, imm)
            store(d, .rax)
        }
    }

    mutating func emitMultiplyImmediate(_ d: Int, _ a: Int, _ imm: Int32) {
        load(.rax, a)
        asm.imul(.rax, .rax, imm)
        store(d, .rax)
    }

    /// `i_eq64`, `i_ne64`, `s_lt64`, `s_le64`: 1 or 0 into `d`.
    mutating func emitIntegerCompare(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        load(.rax, a)
        alu(.cmp, .rax, b)
        storeCondition(op.condition, d)
    }

    /// `b_not`: flips a Bool (0 or 1).
    mutating func emitNot(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.xor(.rax, 1)
        store(d, .rax)
    }
}
