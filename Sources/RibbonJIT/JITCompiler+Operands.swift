import X86Assembler

/// Moving values between bytecode registers (wherever the `RegisterPlan` put them) and scratch
/// registers, and reading a register as an instruction's source operand: what every
/// instruction category builds on.
extension JITCompiler {
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

    /// An integer operation `dst op= r`, reading `r` where it lives (an xmm-pinned `r` through rcx).
    mutating func alu(_ op: X86Assembler.IntegerOperation, _ dst: GPR, _ r: Int) {
        guard case .xmm = location(r) else { return asm.arithmetic(op, dst, operand(r)) }
        load(.rcx, r)
        asm.arithmetic(op, dst, .register(.rcx))
    }

    /// A scalar-double operation `dst op= r`, reading `r` where it lives (a GPR-pinned `r`
    /// through xmm1).
    mutating func sse(_ op: X86Assembler.ScalarDoubleOperation, _ dst: XMM, _ r: Int) {
        guard case .gpr = location(r) else { return asm.arithmetic(op, dst, operand(r)) }
        loadFloat(.xmm1, r)
        asm.arithmetic(op, dst, .register(.xmm1))
    }

    /// `r` as a source operand: its frame slot, or the machine register it is pinned to (`alu`
    /// and `sse` first move a register of the other kind to scratch).
    func operand(_ r: Int) -> Operand<GPR> { if case .gpr(let g) = location(r) { .register(g) } else { .memory(slot(r)) } }
    func operand(_ r: Int) -> Operand<XMM> { if case .xmm(let x) = location(r) { .register(x) } else { .memory(slot(r)) } }

    /// 1 into `d` if the flags satisfy `condition`, else 0.
    mutating func storeCondition(_ condition: Condition, _ d: Int) {
        asm.setcc(condition, .rax)
        asm.movzx8(.rax, .rax)
        store(d, .rax)
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

    /// `movabs dst, <address of target>`, recorded as a relocation.
    mutating func load(_ dst: GPR, address target: RelocationTarget) {
        let offset = asm.movabs(dst, 0)
        relocations.append(Relocation(offset: offset, target: target))
    }
}
