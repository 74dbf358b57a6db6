/// Scalar double-precision floating point (SSE2, and `roundsd` from SSE4.1).
///
/// SSE2 is part of every x86-64 CPU; it is still recorded in `usedFeatures` so that a blob's
/// feature set lists what it uses.
extension X86Assembler {
    /// `prefix [REX] 0F op /r` with an xmm in the reg field.
    private mutating func sse(
        _ prefix: UInt8, _ opcode: UInt8, _ reg: UInt8, _ rm: RM, wide: Bool = false,
        feature: CPUFeatures = .sse2
    ) {
        use(feature)
        emit(prefix: prefix, wide: wide, opcode: [0x0F, opcode], reg: reg, rm: rm)
    }

    // MARK: Moves

    /// `movsd dst, qword ptr [src]`: loads a double and zeroes the upper half of `dst` (F2 0F 10 /r).
    package mutating func movsd(_ dst: XMM, _ src: Memory) { sse(0xF2, 0x10, dst.rawValue, .memory(src)) }

    /// `movsd qword ptr [dst], src`: stores the low double (F2 0F 11 /r).
    package mutating func movsd(_ dst: Memory, _ src: XMM) { sse(0xF2, 0x11, src.rawValue, .memory(dst)) }

    /// `movapd dst, src`: copies the whole register (66 0F 28 /r); the register-to-register move
    /// to use for doubles, because `movsd xmm, xmm` merges and so depends on the old `dst`.
    package mutating func movapd(_ dst: XMM, _ src: XMM) { sse(0x66, 0x28, dst.rawValue, .register(src.rawValue)) }

    /// `movq dst, src`: the 64 bits of a GPR into the low half of an xmm, upper half zeroed
    /// (66 REX.W 0F 6E /r). Moves a double's bit pattern from a VM register.
    package mutating func movq(_ dst: XMM, _ src: GPR) {
        sse(0x66, 0x6E, dst.rawValue, .register(src.rawValue), wide: true)
    }

    /// `movq dst, src`: the low 64 bits of an xmm into a GPR (66 REX.W 0F 7E /r).
    package mutating func movq(_ dst: GPR, _ src: XMM) {
        sse(0x66, 0x7E, src.rawValue, .register(dst.rawValue), wide: true)
    }

    // MARK: Arithmetic

    /// The scalar-double instructions that take an xmm or memory source, with their
    /// mandatory prefix and opcode byte (after 0F): the one table of their encodings.
    package enum ScalarDoubleOperation: Sendable {
        /// `addsd`, `subsd`, `mulsd`, `divsd` (F2 0F 58/5C/59/5E /r), `sqrtsd` (F2 0F 51 /r).
        case add, sub, mul, div, sqrt
        /// `ucomisd a, b`: compares doubles into ZF/PF/CF (66 0F 2E /r). Unordered (a NaN) sets
        /// all three, so "equal" is `e` and `np`; below/above use the unsigned conditions.
        case compare

        var encoding: (prefix: UInt8, opcode: UInt8) {
            switch self {
            case .add: (0xF2, 0x58)
            case .sub: (0xF2, 0x5C)
            case .mul: (0xF2, 0x59)
            case .div: (0xF2, 0x5E)
            case .sqrt: (0xF2, 0x51)
            case .compare: (0x66, 0x2E)
            }
        }
    }

    /// `op dst, src` for a source chosen at run time; the named forms below are this.
    package mutating func arithmetic(_ op: ScalarDoubleOperation, _ dst: XMM, _ src: Operand<XMM>) {
        sse(op.encoding.prefix, op.encoding.opcode, dst.rawValue, src.rm)
    }

    package mutating func addsd(_ dst: XMM, _ src: XMM) { arithmetic(.add, dst, .register(src)) }
    package mutating func addsd(_ dst: XMM, _ src: Memory) { arithmetic(.add, dst, .memory(src)) }
    package mutating func mulsd(_ dst: XMM, _ src: XMM) { arithmetic(.mul, dst, .register(src)) }
    package mutating func mulsd(_ dst: XMM, _ src: Memory) { arithmetic(.mul, dst, .memory(src)) }
    package mutating func subsd(_ dst: XMM, _ src: XMM) { arithmetic(.sub, dst, .register(src)) }
    package mutating func subsd(_ dst: XMM, _ src: Memory) { arithmetic(.sub, dst, .memory(src)) }
    package mutating func divsd(_ dst: XMM, _ src: XMM) { arithmetic(.div, dst, .register(src)) }
    package mutating func divsd(_ dst: XMM, _ src: Memory) { arithmetic(.div, dst, .memory(src)) }
    package mutating func sqrtsd(_ dst: XMM, _ src: XMM) { arithmetic(.sqrt, dst, .register(src)) }
    package mutating func sqrtsd(_ dst: XMM, _ src: Memory) { arithmetic(.sqrt, dst, .memory(src)) }

    /// `ucomisd a, b` (see `ScalarDoubleOperation.compare`).
    package mutating func ucomisd(_ a: XMM, _ b: XMM) { arithmetic(.compare, a, .register(b)) }
    package mutating func ucomisd(_ a: XMM, _ b: Memory) { arithmetic(.compare, a, .memory(b)) }

    // MARK: Bitwise (sign masks for abs and neg)

    /// `andpd dst, src` (66 0F 54 /r): with a mask of 0x7FF…F clears the sign bit (abs).
    package mutating func andpd(_ dst: XMM, _ src: XMM) { sse(0x66, 0x54, dst.rawValue, .register(src.rawValue)) }
    /// `andpd dst, xmmword ptr [src]`: the memory operand must be 16-byte aligned.
    package mutating func andpd(_ dst: XMM, _ src: Memory) { sse(0x66, 0x54, dst.rawValue, .memory(src)) }
    /// `xorpd dst, src` (66 0F 57 /r): with a mask of 0x800…0 flips the sign (neg); with itself, zero.
    package mutating func xorpd(_ dst: XMM, _ src: XMM) { sse(0x66, 0x57, dst.rawValue, .register(src.rawValue)) }
    /// `xorpd dst, xmmword ptr [src]`: the memory operand must be 16-byte aligned.
    package mutating func xorpd(_ dst: XMM, _ src: Memory) { sse(0x66, 0x57, dst.rawValue, .memory(src)) }

    // MARK: Conversions

    /// `cvtsi2sd dst, src`: Int64 to double, rounding by MXCSR (F2 REX.W 0F 2A /r).
    /// Writes only the low half of `dst`, so it depends on its old value; `xorpd dst, dst` first
    /// breaks that dependency.
    package mutating func cvtsi2sd(_ dst: XMM, _ src: GPR) {
        sse(0xF2, 0x2A, dst.rawValue, .register(src.rawValue), wide: true)
    }

    /// `cvttsd2si dst, src`: double to Int64, truncating (F2 REX.W 0F 2C /r). NaN and
    /// out-of-range values give 0x8000_0000_0000_0000 (the "integer indefinite").
    package mutating func cvttsd2si(_ dst: GPR, _ src: XMM) {
        sse(0xF2, 0x2C, dst.rawValue, .register(src.rawValue), wide: true)
    }

    /// The rounding of `roundsd` (imm8 bits 0–1; bit 3, set here, suppresses the precision
    /// exception).
    package enum RoundingMode: UInt8, Sendable {
        case nearest = 0b1000, down = 0b1001, up = 0b1010, towardZero = 0b1011
    }

    /// `roundsd dst, src, mode` (66 0F 3A 0B /r ib): `.down` is floor.
    ///
    /// Needs **SSE4.1** (recorded in `usedFeatures` as `.sse4_1`): code that uses it only loads
    /// on hosts with that feature; a JIT targeting older CPUs must floor another way.
    package mutating func roundsd(_ dst: XMM, _ src: XMM, _ mode: RoundingMode) {
        use(.sse4_1)
        emit(prefix: 0x66, wide: false, opcode: [0x0F, 0x3A, 0x0B], reg: dst.rawValue,
             rm: .register(src.rawValue), immediateSize: 1)
        bytes.append(mode.rawValue)
    }
}
