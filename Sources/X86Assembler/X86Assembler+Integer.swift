/// Integer instructions on general-purpose registers.
extension X86Assembler {
    // MARK: Moves

    /// `mov dst, src` (64-bit; 89 /r).
    package mutating func mov(_ dst: GPR, _ src: GPR) { move(wide: true, dst, src) }
    /// `mov dst, qword ptr [src]` (8B /r).
    package mutating func mov(_ dst: GPR, _ src: Memory) { move(wide: true, dst, src) }
    /// `mov qword ptr [dst], src` (89 /r).
    package mutating func mov(_ dst: Memory, _ src: GPR) { move(wide: true, dst, src) }
    /// `mov qword ptr [dst], imm` with the immediate sign-extended to 64 bits (C7 /0 id).
    package mutating func mov(_ dst: Memory, _ imm: Int32) { move(wide: true, dst, imm) }

    /// `mov dst32, src32`: copies the low 32 bits and zeroes the upper 32 (89 /r).
    package mutating func mov32(_ dst: GPR, _ src: GPR) { move(wide: false, dst, src) }
    /// `mov dst32, dword ptr [src]`: loads 32 bits, zero-extended (8B /r).
    package mutating func mov32(_ dst: GPR, _ src: Memory) { move(wide: false, dst, src) }
    /// `mov dword ptr [dst], src32` (89 /r).
    package mutating func mov32(_ dst: Memory, _ src: GPR) { move(wide: false, dst, src) }
    /// `mov dword ptr [dst], imm32` (C7 /0 id).
    package mutating func mov32(_ dst: Memory, _ imm: Int32) { move(wide: false, dst, imm) }

    /// The four `mov` forms, 64-bit (REX.W) or 32-bit: one encoding each.
    private mutating func move(wide: Bool, _ dst: GPR, _ src: GPR) {
        emit(wide: wide, opcode: [0x89], reg: src.rawValue, rm: .register(dst.rawValue))
    }

    private mutating func move(wide: Bool, _ dst: GPR, _ src: Memory) {
        emit(wide: wide, opcode: [0x8B], reg: dst.rawValue, rm: .memory(src))
    }

    private mutating func move(wide: Bool, _ dst: Memory, _ src: GPR) {
        emit(wide: wide, opcode: [0x89], reg: src.rawValue, rm: .memory(dst))
    }

    private mutating func move(wide: Bool, _ dst: Memory, _ imm: Int32) {
        emit(wide: wide, opcode: [0xC7], reg: 0, rm: .memory(dst), immediateSize: 4)
        emitInt32(imm)
    }

    /// `movsxd dst, dword ptr [src]`: loads 32 bits, sign-extended (REX.W 63 /r).
    package mutating func movsxd(_ dst: GPR, _ src: Memory) {
        emit(wide: true, opcode: [0x63], reg: dst.rawValue, rm: .memory(src))
    }

    /// `movsxd dst, src32`: sign-extends the low 32 bits (REX.W 63 /r).
    package mutating func movsxd(_ dst: GPR, _ src: GPR) {
        emit(wide: true, opcode: [0x63], reg: dst.rawValue, rm: .register(src.rawValue))
    }

    /// Loads a 64-bit constant with the shortest correct encoding:
    /// - 0: `xor dst32, dst32` (2–3 bytes) — this **changes the flags**, so between a compare
    ///   and its `jcc`/`setcc`/`cmov` pass `preservingFlags: true`;
    /// - 1…2³²−1: `mov dst32, imm32` (5–6 bytes; the CPU zero-extends);
    /// - other values that fit a sign-extended imm32: `mov dst, simm32` (REX.W C7 /0, 7 bytes);
    /// - anything else: `movabs dst, imm64` (10 bytes).
    package mutating func movImmediate(_ dst: GPR, _ value: Int64, preservingFlags: Bool = false) {
        if value == 0 && !preservingFlags {
            emit(wide: false, opcode: [0x31], reg: dst.rawValue, rm: .register(dst.rawValue))
        } else if value >= 0 && value <= Int64(UInt32.max) {
            if dst.isExtended { bytes.append(0x41) }
            bytes.append(0xB8 + dst.low3)
            emitLittleEndian(UInt64(value), byteCount: 4)
        } else if let imm = Int32(exactly: value) {
            emit(wide: true, opcode: [0xC7], reg: 0, rm: .register(dst.rawValue), immediateSize: 4)
            emitInt32(imm)
        } else {
            _ = movabs(dst, value)
        }
    }

    /// `movabs dst, imm64`: always the 10-byte form (REX.W B8+r io), so the constant can be
    /// relocated. Returns the offset of the 8-byte immediate (for a relocation record).
    @discardableResult
    package mutating func movabs(_ dst: GPR, _ value: Int64) -> Int {
        bytes.append(dst.isExtended ? 0x49 : 0x48)
        bytes.append(0xB8 + dst.low3)
        let offset = position
        emitLittleEndian(UInt64(bitPattern: value), byteCount: 8)
        return offset
    }

    /// `movzx dst32, byte ptr [src]`: loads one byte, zero-extended to 64 bits (0F B6 /r).
    package mutating func movzx8(_ dst: GPR, _ src: Memory) {
        emit(wide: false, opcode: [0x0F, 0xB6], reg: dst.rawValue, rm: .memory(src))
    }

    /// `movzx dst32, src8`: zero-extends the low byte of `src` (e.g. a `setcc` result) to 64 bits
    /// (0F B6 /r; sil/dil/spl/bpl get an empty REX).
    package mutating func movzx8(_ dst: GPR, _ src: GPR) {
        emit(
            wide: false, byteRM: true, opcode: [0x0F, 0xB6], reg: dst.rawValue,
            rm: .register(src.rawValue))
    }

    /// `mov byte ptr [dst], src8`: stores the low byte of `src` (88 /r).
    package mutating func mov8(_ dst: Memory, _ src: GPR) {
        emit(wide: false, byteReg: true, opcode: [0x88], reg: src.rawValue, rm: .memory(dst))
    }

    /// `mov byte ptr [dst], imm8` (C6 /0 ib).
    package mutating func mov8(_ dst: Memory, _ imm: UInt8) {
        emit(wide: false, opcode: [0xC6], reg: 0, rm: .memory(dst), immediateSize: 1)
        bytes.append(imm)
    }

    /// `lea dst, [src]`: the address, without touching memory or flags (REX.W 8D /r).
    package mutating func lea(_ dst: GPR, _ src: Memory) {
        emit(wide: true, opcode: [0x8D], reg: dst.rawValue, rm: .memory(src))
    }

    // MARK: Arithmetic and logic

    /// The eight classic ALU operations; the value is the /n of 81/83 and selects opcode n*8+…
    enum ALU: UInt8 {
        case add = 0, or = 1, adc = 2, sbb = 3, and = 4, sub = 5, xor = 6, cmp = 7
    }

    /// `op dst, src` (n*8+1 /r, the form GNU as picks).
    mutating func alu(_ op: ALU, _ dst: GPR, _ src: GPR) {
        emit(wide: true, opcode: [op.rawValue << 3 | 1], reg: src.rawValue, rm: .register(dst.rawValue))
    }

    /// `op dst, [src]` (n*8+3 /r).
    mutating func alu(_ op: ALU, _ dst: GPR, _ src: Memory) {
        emit(wide: true, opcode: [op.rawValue << 3 | 3], reg: dst.rawValue, rm: .memory(src))
    }

    /// `op [dst], src` (n*8+1 /r).
    mutating func alu(_ op: ALU, _ dst: Memory, _ src: GPR) {
        emit(wide: true, opcode: [op.rawValue << 3 | 1], reg: src.rawValue, rm: .memory(dst))
    }

    /// `op dst, simm`: 83 /n ib when the value fits in a byte, else n*8+5 id for rax, else 81 /n id.
    mutating func alu(_ op: ALU, _ dst: GPR, _ imm: Int32) {
        if let imm8 = Int8(exactly: imm) {
            emit(wide: true, opcode: [0x83], reg: op.rawValue, rm: .register(dst.rawValue), immediateSize: 1)
            emitInt8(imm8)
        } else if dst == .rax {
            bytes.append(0x48)
            bytes.append(op.rawValue << 3 | 5)
            emitInt32(imm)
        } else {
            emit(wide: true, opcode: [0x81], reg: op.rawValue, rm: .register(dst.rawValue), immediateSize: 4)
            emitInt32(imm)
        }
    }

    /// `op qword ptr [dst], simm`: 83 /n ib when the value fits in a byte, else 81 /n id.
    mutating func alu(_ op: ALU, _ dst: Memory, _ imm: Int32) {
        if let imm8 = Int8(exactly: imm) {
            emit(wide: true, opcode: [0x83], reg: op.rawValue, rm: .memory(dst), immediateSize: 1)
            emitInt8(imm8)
        } else {
            emit(wide: true, opcode: [0x81], reg: op.rawValue, rm: .memory(dst), immediateSize: 4)
            emitInt32(imm)
        }
    }

    /// The two-operand integer instructions that take a register or memory source: the ALU
    /// group and `imul`.
    package enum IntegerOperation: Sendable {
        case add, sub, and, or, xor, imul, cmp

        /// The ALU group member (nil for `imul`, which has an encoding of its own).
        var alu: ALU? {
            switch self {
            case .add: .add
            case .sub: .sub
            case .and: .and
            case .or: .or
            case .xor: .xor
            case .cmp: .cmp
            case .imul: nil
            }
        }
    }

    /// `op dst, src` for a source chosen at run time; the same bytes as the named forms
    /// (`add(_:_:)`, `imul(_:_:)`, `cmp(_:_:)`…).
    package mutating func arithmetic(_ op: IntegerOperation, _ dst: GPR, _ src: Operand<GPR>) {
        guard let alu = op.alu else {
            emit(wide: true, opcode: [0x0F, 0xAF], reg: dst.rawValue, rm: src.rm)
            return
        }
        switch src {
        case .register(let s): self.alu(alu, dst, s)
        case .memory(let m): self.alu(alu, dst, m)
        }
    }

    package mutating func add(_ dst: GPR, _ src: GPR) { alu(.add, dst, src) }
    package mutating func add(_ dst: GPR, _ src: Memory) { alu(.add, dst, src) }
    package mutating func add(_ dst: Memory, _ src: GPR) { alu(.add, dst, src) }
    package mutating func add(_ dst: GPR, _ imm: Int32) { alu(.add, dst, imm) }
    package mutating func add(_ dst: Memory, _ imm: Int32) { alu(.add, dst, imm) }

    package mutating func sub(_ dst: GPR, _ src: GPR) { alu(.sub, dst, src) }
    package mutating func sub(_ dst: GPR, _ src: Memory) { alu(.sub, dst, src) }
    package mutating func sub(_ dst: Memory, _ src: GPR) { alu(.sub, dst, src) }
    package mutating func sub(_ dst: GPR, _ imm: Int32) { alu(.sub, dst, imm) }
    package mutating func sub(_ dst: Memory, _ imm: Int32) { alu(.sub, dst, imm) }

    package mutating func and(_ dst: GPR, _ src: GPR) { alu(.and, dst, src) }
    package mutating func and(_ dst: GPR, _ src: Memory) { alu(.and, dst, src) }
    package mutating func and(_ dst: Memory, _ src: GPR) { alu(.and, dst, src) }
    package mutating func and(_ dst: GPR, _ imm: Int32) { alu(.and, dst, imm) }
    package mutating func and(_ dst: Memory, _ imm: Int32) { alu(.and, dst, imm) }

    package mutating func or(_ dst: GPR, _ src: GPR) { alu(.or, dst, src) }
    package mutating func or(_ dst: GPR, _ src: Memory) { alu(.or, dst, src) }
    package mutating func or(_ dst: Memory, _ src: GPR) { alu(.or, dst, src) }
    package mutating func or(_ dst: GPR, _ imm: Int32) { alu(.or, dst, imm) }
    package mutating func or(_ dst: Memory, _ imm: Int32) { alu(.or, dst, imm) }

    package mutating func xor(_ dst: GPR, _ src: GPR) { alu(.xor, dst, src) }
    package mutating func xor(_ dst: GPR, _ src: Memory) { alu(.xor, dst, src) }
    package mutating func xor(_ dst: Memory, _ src: GPR) { alu(.xor, dst, src) }
    package mutating func xor(_ dst: GPR, _ imm: Int32) { alu(.xor, dst, imm) }
    package mutating func xor(_ dst: Memory, _ imm: Int32) { alu(.xor, dst, imm) }

    /// `cmp a, b`: sets the flags of `a - b`.
    package mutating func cmp(_ a: GPR, _ b: GPR) { alu(.cmp, a, b) }
    package mutating func cmp(_ a: GPR, _ b: Memory) { alu(.cmp, a, b) }
    package mutating func cmp(_ a: Memory, _ b: GPR) { alu(.cmp, a, b) }
    package mutating func cmp(_ a: GPR, _ imm: Int32) { alu(.cmp, a, imm) }
    package mutating func cmp(_ a: Memory, _ imm: Int32) { alu(.cmp, a, imm) }

    /// `xor dst32, dst32`: zeroes the whole register (and the flags' ZF is set).
    package mutating func zero(_ dst: GPR) {
        emit(wide: false, opcode: [0x31], reg: dst.rawValue, rm: .register(dst.rawValue))
    }

    /// `test a, b`: sets the flags of `a & b` (85 /r).
    package mutating func test(_ a: GPR, _ b: GPR) {
        emit(wide: true, opcode: [0x85], reg: b.rawValue, rm: .register(a.rawValue))
    }

    /// `test a32, b32` (85 /r, no REX.W): flags from the low 32 bits only, e.g. a C `uint32_t`
    /// result whose upper half is undefined.
    package mutating func test32(_ a: GPR, _ b: GPR) {
        emit(wide: false, opcode: [0x85], reg: b.rawValue, rm: .register(a.rawValue))
    }

    /// `test a, simm32` (A9 id for rax, else F7 /0 id; there is no imm8 form).
    package mutating func test(_ a: GPR, _ imm: Int32) {
        if a == .rax {
            bytes.append(contentsOf: [0x48, 0xA9])
        } else {
            emit(wide: true, opcode: [0xF7], reg: 0, rm: .register(a.rawValue), immediateSize: 4)
        }
        emitInt32(imm)
    }

    /// `imul dst, src`: the low 64 bits of the product (REX.W 0F AF /r).
    package mutating func imul(_ dst: GPR, _ src: GPR) { arithmetic(.imul, dst, .register(src)) }

    /// `imul dst, qword ptr [src]` (REX.W 0F AF /r).
    package mutating func imul(_ dst: GPR, _ src: Memory) { arithmetic(.imul, dst, .memory(src)) }

    /// `imul dst, src, simm`: 6B /r ib when the value fits in a byte, else 69 /r id.
    package mutating func imul(_ dst: GPR, _ src: GPR, _ imm: Int32) {
        if let imm8 = Int8(exactly: imm) {
            emit(wide: true, opcode: [0x6B], reg: dst.rawValue, rm: .register(src.rawValue), immediateSize: 1)
            emitInt8(imm8)
        } else {
            emit(wide: true, opcode: [0x69], reg: dst.rawValue, rm: .register(src.rawValue), immediateSize: 4)
            emitInt32(imm)
        }
    }

    /// `neg dst` (REX.W F7 /3).
    package mutating func neg(_ dst: GPR) {
        emit(wide: true, opcode: [0xF7], reg: 3, rm: .register(dst.rawValue))
    }

    /// `not dst` (REX.W F7 /2).
    package mutating func not(_ dst: GPR) {
        emit(wide: true, opcode: [0xF7], reg: 2, rm: .register(dst.rawValue))
    }

    /// `cqo`: sign-extends rax into rdx:rax, before `idiv` (REX.W 99).
    package mutating func cqo() {
        bytes.append(contentsOf: [0x48, 0x99])
    }

    /// `idiv divisor`: rdx:rax / divisor → quotient in rax, remainder in rdx (REX.W F7 /7).
    /// Faults (#DE) on a zero divisor and on Int64.min / -1; the JIT checks both first.
    package mutating func idiv(_ divisor: GPR) {
        emit(wide: true, opcode: [0xF7], reg: 7, rm: .register(divisor.rawValue))
    }

    // MARK: Shifts

    /// The /n of the shift group (C1, D1, D3).
    enum Shift: UInt8 {
        case shl = 4, shr = 5, sar = 7
    }

    mutating func shift(_ kind: Shift, _ dst: GPR, _ count: UInt8) {
        if count == 1 {
            emit(wide: true, opcode: [0xD1], reg: kind.rawValue, rm: .register(dst.rawValue))
        } else {
            emit(wide: true, opcode: [0xC1], reg: kind.rawValue, rm: .register(dst.rawValue), immediateSize: 1)
            bytes.append(count)
        }
    }

    mutating func shiftByCL(_ kind: Shift, _ dst: GPR) {
        emit(wide: true, opcode: [0xD3], reg: kind.rawValue, rm: .register(dst.rawValue))
    }

    /// `shl dst, count` (D1 /4 for 1, else C1 /4 ib). The CPU masks the count to 6 bits.
    package mutating func shl(_ dst: GPR, _ count: UInt8) { shift(.shl, dst, count) }
    /// `shr dst, count`: logical (zero-filling) right shift.
    package mutating func shr(_ dst: GPR, _ count: UInt8) { shift(.shr, dst, count) }
    /// `sar dst, count`: arithmetic (sign-filling) right shift.
    package mutating func sar(_ dst: GPR, _ count: UInt8) { shift(.sar, dst, count) }
    /// `shl dst, cl` (D3 /4): the count must be in rcx; the CPU masks it to 6 bits.
    package mutating func shlByCL(_ dst: GPR) { shiftByCL(.shl, dst) }
    /// `shr dst, cl` (D3 /5).
    package mutating func shrByCL(_ dst: GPR) { shiftByCL(.shr, dst) }
    /// `sar dst, cl` (D3 /7).
    package mutating func sarByCL(_ dst: GPR) { shiftByCL(.sar, dst) }

    // MARK: Conditions

    /// `setcc dst8`: writes 1 or 0 to the low byte only (0F 90+cc /0); follow with `movzx8`.
    package mutating func setcc(_ condition: Condition, _ dst: GPR) {
        emit(
            wide: false, byteRM: true, opcode: [0x0F, 0x90 + condition.rawValue], reg: 0,
            rm: .register(dst.rawValue))
    }

    /// `cmovcc dst, src` (REX.W 0F 40+cc /r).
    package mutating func cmov(_ condition: Condition, _ dst: GPR, _ src: GPR) {
        emit(wide: true, opcode: [0x0F, 0x40 + condition.rawValue], reg: dst.rawValue, rm: .register(src.rawValue))
    }

    /// `cmovcc dst, qword ptr [src]` (REX.W 0F 40+cc /r). The load happens either way.
    package mutating func cmov(_ condition: Condition, _ dst: GPR, _ src: Memory) {
        emit(wide: true, opcode: [0x0F, 0x40 + condition.rawValue], reg: dst.rawValue, rm: .memory(src))
    }
}
