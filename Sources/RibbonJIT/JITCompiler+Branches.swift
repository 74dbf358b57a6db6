import RibbonCore
import X86Assembler

/// Conditional branches: a compare (or test) and a `jcc` to the target word's label. Taken
/// branches are the interpreter's; every condition comes from `Opcode.condition`.
extension JITCompiler {
    /// `br_i_eq64` … `br_s_le64`: compares `d` with `a`.
    mutating func emitIntegerBranch(_ op: Opcode, _ d: Int, _ a: Int, _ target: CodeLabel) {
        let left: GPR
        if case .gpr(let g) = location(d) { left = g } else { load(.rax, d); left = .rax }
        alu(.cmp, left, a)
        asm.jcc(op.condition, target)
    }

    /// `br_i_eq64_imm` … `br_s_ge64_imm`: compares `d` with a sign-extended 8-bit immediate;
    /// `br_if` and `br_ifnot` with 0 (a Bool is true when nonzero).
    mutating func emitIntegerBranch(_ op: Opcode, _ d: Int, immediate: Int32, _ target: CodeLabel) {
        compareImmediate(d, immediate)
        asm.jcc(op.condition, target)
    }

    /// `br_f_lt64` … `br_f_nle64`: compare b with a: "above" (a < b) and "above or equal"
    /// (a <= b) are false when unordered, so their negations jump on NaN as the interpreter's
    /// `!(a < b)` does.
    mutating func emitFloatOrderBranch(_ op: Opcode, _ d: Int, _ a: Int, _ target: CodeLabel) {
        let left: XMM
        if case .xmm(let x) = location(a) { left = x } else { loadFloat(.xmm0, a); left = .xmm0 }
        sse(.compare, left, d)
        asm.jcc(op.condition, target)
    }

    /// `br_f_eq64`, `br_f_ne64`: equal is ZF without PF (unordered sets both).
    mutating func emitFloatEqualityBranch(_ op: Opcode, _ d: Int, _ a: Int, _ target: CodeLabel) {
        loadFloat(.xmm0, d)
        sse(.compare, .xmm0, a)
        if op == .brFEq64 {
            let skip = asm.makeLabel()
            asm.jcc(.p, skip)
            asm.jcc(.e, target)
            asm.bind(skip)
        } else {
            asm.jcc(.p, target)
            asm.jcc(.ne, target)
        }
    }
}
