/// Jumps, calls, the stack, and padding.
extension X86Assembler {
    // MARK: Jumps and calls

    /// `jmp label`: EB rel8 to a bound label in range, else E9 rel32.
    package mutating func jmp(_ label: Label) {
        if let rel8 = shortDisplacement(to: label, instructionSize: 2) {
            bytes.append(0xEB)
            emitInt8(rel8)
        } else {
            bytes.append(0xE9)
            emitRel32(to: label)
        }
    }

    /// `jcc label`: 70+cc rel8 to a bound label in range, else 0F 80+cc rel32.
    package mutating func jcc(_ condition: Condition, _ label: Label) {
        if let rel8 = shortDisplacement(to: label, instructionSize: 2) {
            bytes.append(0x70 + condition.rawValue)
            emitInt8(rel8)
        } else {
            bytes.append(contentsOf: [0x0F, 0x80 + condition.rawValue])
            emitRel32(to: label)
        }
    }

    /// `call label` (E8 rel32).
    package mutating func call(_ label: Label) {
        bytes.append(0xE8)
        emitRel32(to: label)
    }

    /// The rel8 of a jump of `instructionSize` bytes emitted here, if `label` is bound and near.
    private func shortDisplacement(to label: Label, instructionSize: Int) -> Int8? {
        guard let target = offset(of: label) else { return nil }
        return Int8(exactly: target - (position + instructionSize))
    }

    /// `jmp target` (FF /4): an indirect jump to the address in a register.
    package mutating func jmp(_ target: GPR) {
        emit(wide: false, opcode: [0xFF], reg: 4, rm: .register(target.rawValue))
    }

    /// `jmp qword ptr [target]` (FF /4): an indirect jump through memory.
    package mutating func jmp(_ target: Memory) {
        emit(wide: false, opcode: [0xFF], reg: 4, rm: .memory(target))
    }

    /// `call target` (FF /2): calls the address in a register.
    package mutating func call(_ target: GPR) {
        emit(wide: false, opcode: [0xFF], reg: 2, rm: .register(target.rawValue))
    }

    /// `call qword ptr [target]` (FF /2): calls through memory, such as an AddressTable slot.
    package mutating func call(_ target: Memory) {
        emit(wide: false, opcode: [0xFF], reg: 2, rm: .memory(target))
    }

    /// `ret` (C3).
    package mutating func ret() { bytes.append(0xC3) }

    // MARK: Stack

    /// `push reg` (50+r; 64-bit, REX.B for r8…r15).
    package mutating func push(_ reg: GPR) {
        if reg.isExtended { bytes.append(0x41) }
        bytes.append(0x50 + reg.low3)
    }

    /// `pop reg` (58+r).
    package mutating func pop(_ reg: GPR) {
        if reg.isExtended { bytes.append(0x41) }
        bytes.append(0x58 + reg.low3)
    }

    // MARK: Traps and padding

    /// `int3` (CC): a breakpoint.
    package mutating func int3() { bytes.append(0xCC) }

    /// `ud2` (0F 0B): an instruction guaranteed to fault; marks code that must never run.
    package mutating func ud2() { bytes.append(contentsOf: [0x0F, 0x0B]) }

    /// `nop` (90).
    package mutating func nop() { bytes.append(0x90) }

    /// Intel's recommended single-instruction nops of 1…9 bytes (SDM vol. 2B, "NOP").
    static let recommendedNops: [[UInt8]] = [
        [],
        [0x90],
        [0x66, 0x90],
        [0x0F, 0x1F, 0x00],
        [0x0F, 0x1F, 0x40, 0x00],
        [0x0F, 0x1F, 0x44, 0x00, 0x00],
        [0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
        [0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
        [0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        [0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ]

    /// Emits `length` bytes of nops, in as few instructions as possible (at most 9 bytes each).
    package mutating func nop(length: Int) {
        var left = length
        while left > 0 {
            let n = min(left, 9)
            bytes.append(contentsOf: Self.recommendedNops[n])
            left -= n
        }
    }

    /// Pads with nops until `position` is a multiple of `alignment` (a power of two), e.g. to
    /// align a loop header to 16 bytes.
    package mutating func align(to alignment: Int) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        nop(length: (alignment - position % alignment) % alignment)
    }
}
