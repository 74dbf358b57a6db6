import RibbonCore
import X86Assembler

/// F64 instructions (SSE2 scalar doubles, `roundsd` where the CPU has SSE4.1): arithmetic,
/// sign operations on the bits, floor, conversions, and comparisons into a register.
extension JITCompiler {
    /// `f_add64` … `f_div64`. Never commuted, not even add and mul: when both operands are
    /// NaNs, SSE keeps the first operand's payload and sign, and so does the interpreter's
    /// `a * b`. (Ribbon prints every NaN as `nan`, but bytecode can read a NaN's bits.)
    mutating func emitFloatArithmetic(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        let operation = op.scalarDoubleOperation
        if case .xmm(let x) = location(d), location(b) != .xmm(x) {
            loadFloat(x, a)  // no-op when a is already in x
            sse(operation, x, b)
        } else {
            loadFloat(.xmm0, a)
            sse(operation, .xmm0, b)
            storeFloat(d, .xmm0)
        }
    }

    /// `f_mul_add64`, `f_mul_sub64`: two roundings, as the separate instructions (mulsd then
    /// addsd/subsd; not FMA).
    mutating func emitMultiplyAdd(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int, _ c: Int) {
        let second: X86Assembler.ScalarDoubleOperation = op == .fMulAdd64 ? .add : .sub
        if case .xmm(let x) = location(d), location(b) != .xmm(x), location(c) != .xmm(x) {
            loadFloat(x, a)
            sse(.mul, x, b)
            sse(second, x, c)
        } else {
            loadFloat(.xmm0, a)
            sse(.mul, .xmm0, b)
            sse(second, .xmm0, c)
            storeFloat(d, .xmm0)
        }
    }

    /// `f_neg64`: flips the sign bit (exact for every value, NaN and -0.0 included).
    mutating func emitFloatNegate(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.movImmediate(.rcx, Int64.min)
        asm.xor(.rax, .rcx)
        store(d, .rax)
    }

    /// `f_abs64`: clears the sign bit.
    mutating func emitFloatAbsolute(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.shl(.rax, 1)
        asm.shr(.rax, 1)
        store(d, .rax)
    }

    mutating func emitSquareRoot(_ d: Int, _ a: Int) {
        sse(.sqrt, .xmm0, a)
        storeFloat(d, .xmm0)
    }

    mutating func emitFloor(_ d: Int, _ a: Int) {
        loadFloat(.xmm0, a)
        if features.contains(.sse4_1) {
            asm.roundsd(.xmm0, .xmm0, .down)
        } else {
            emitFloorSSE2()
        }
        storeFloat(d, .xmm0)
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

    /// `s_to_f64`.
    mutating func emitIntegerToFloat(_ d: Int, _ a: Int) {
        let source: GPR
        if case .gpr(let g) = location(a) { source = g } else { load(.rax, a); source = .rax }
        if case .xmm(let x) = location(d) {
            asm.cvtsi2sd(x, source)
        } else {
            asm.cvtsi2sd(.xmm0, source)
            storeFloat(d, .xmm0)
        }
    }

    /// `f_to_s64`: in range exactly when -2^63 <= v < 2^63; NaN fails (unordered sets CF and PF).
    mutating func emitFloatToInteger(_ d: Int, _ a: Int, at: Int) {
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
    }

    /// `f_lt64`, `f_le64`: a < b is b > a: "above" is false when unordered.
    mutating func emitFloatOrder(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        loadFloat(.xmm0, b)
        sse(.compare, .xmm0, a)
        storeCondition(op.condition, d)
    }

    /// `f_eq64`, `f_ne64`: equal is ZF without PF (unordered sets both).
    mutating func emitFloatEquality(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int) {
        loadFloat(.xmm0, a)
        sse(.compare, .xmm0, b)
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
    }
}
