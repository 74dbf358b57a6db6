/// A pure x86-64 instruction encoder: calls in, bytes out. No memory mapping, no VM knowledge.
///
/// Each method appends one instruction to `bytes` (Intel operand order: destination first).
/// Methods without a width in their name work on 64-bit registers (REX.W); the `…32` forms
/// write the 32-bit register, which the CPU zero-extends into the full 64 bits.
///
/// Jumps and RIP-relative operands name `Label`s. A use of a label that is already bound is
/// encoded right away; a use before `bind` emits a rel32/disp32 of 0 and a fixup that `bind`
/// patches. `finish()` reports labels that were used but never bound.
///
/// Jump sizes: a jump to a bound label (backward) uses rel8 when the target is in range, else
/// rel32; a jump to an unbound label (forward) is always rel32. No relaxation pass: an
/// instruction's size is fixed when it is emitted, so recorded offsets never move.
package struct X86Assembler {
    /// The code emitted so far. Rel32 fields of unbound labels hold 0 until `bind`.
    package internal(set) var bytes: [UInt8] = []
    /// The features the emitted instructions need (see `CPUFeatures`).
    package private(set) var usedFeatures: CPUFeatures = []

    /// Where each label was bound (nil: not yet).
    private var labelOffsets: [Int?] = []
    /// Uses of labels that were not bound when emitted.
    private var pendingFixups: [Fixup] = []

    /// A 32-bit field relative to the end of its instruction, waiting for its label.
    private struct Fixup {
        var label: Label
        /// Offset of the 32-bit field.
        var field: Int
        /// Offset the CPU adds the field to: the end of the instruction.
        var instructionEnd: Int
        /// Added to the label's offset (the displacement of `Memory.rip(label, displacement)`).
        var addend: Int = 0
    }

    package init() {}

    /// The offset of the next instruction (the number of bytes emitted so far).
    ///
    /// Read-only: to change emitted bytes use `patchInt32` / `patchInt64`, which cannot
    /// change an instruction's length.
    package var position: Int { bytes.count }

    // MARK: Labels

    /// A new, unbound label.
    package mutating func makeLabel() -> Label {
        labelOffsets.append(nil)
        return Label(id: labelOffsets.count - 1)
    }

    /// Binds `label` to the current position and patches every earlier use of it.
    package mutating func bind(_ label: Label) {
        precondition(labelOffsets[label.id] == nil, "label bound twice")
        labelOffsets[label.id] = position
        var stillPending: [Fixup] = []
        for fixup in pendingFixups {
            if fixup.label == label {
                writeInt32(at: fixup.field, Int32(truncatingIfNeeded: position + fixup.addend - fixup.instructionEnd))
            } else {
                stillPending.append(fixup)
            }
        }
        pendingFixups = stillPending
    }

    /// Where `label` was bound, or nil if it is not bound yet.
    package func offset(of label: Label) -> Int? {
        labelOffsets[label.id]
    }

    /// Whether `label` has been bound.
    package func isBound(_ label: Label) -> Bool {
        labelOffsets[label.id] != nil
    }

    /// Checks that every label used has been bound and returns the finished code.
    ///
    /// Fixups are patched as labels are bound, so there is nothing left to patch here; this is
    /// where a forgotten `bind` shows up.
    package func finish() throws -> [UInt8] {
        if let fixup = pendingFixups.first {
            throw X86AssemblerError(
                kind: .unboundLabel, label: fixup.label, offset: fixup.field,
                count: Set(pendingFixups.map(\.label)).count)
        }
        return bytes
    }

    // MARK: Raw bytes and patching

    /// Appends bytes as they are (data in the code, such as constants for RIP-relative loads).
    package mutating func emit(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    /// Appends a little-endian 64-bit value (data in the code).
    package mutating func emitInt64(_ value: Int64) {
        emitLittleEndian(UInt64(bitPattern: value), byteCount: 8)
    }

    /// Overwrites the 4 bytes at `offset` (an immediate or displacement of an emitted instruction).
    package mutating func patchInt32(at offset: Int, _ value: Int32) {
        writeInt32(at: offset, value)
    }

    /// Overwrites the 8 bytes at `offset` (the imm64 of a `movabs`).
    package mutating func patchInt64(at offset: Int, _ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i))) }
    }

    private mutating func writeInt32(at offset: Int, _ value: Int32) {
        let bits = UInt32(bitPattern: value)
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i))) }
    }

    mutating func emitLittleEndian(_ value: UInt64, byteCount: Int) {
        for i in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    mutating func emitInt8(_ value: Int8) { bytes.append(UInt8(bitPattern: value)) }
    mutating func emitInt32(_ value: Int32) { emitLittleEndian(UInt64(UInt32(bitPattern: value)), byteCount: 4) }

    mutating func use(_ features: CPUFeatures) { usedFeatures.formUnion(features) }

    // MARK: Encoding core

    /// The r/m operand of a ModRM instruction: a register number (0–15) or memory.
    enum RM {
        case register(UInt8)
        case memory(Memory)
    }

    /// Emits `[prefix] [REX] opcode ModRM [SIB] [disp]`; the caller appends the immediate.
    ///
    /// - Parameters:
    ///   - prefix: a mandatory prefix (66, F2, F3), which must come before REX.
    ///   - wide: REX.W (64-bit operand size).
    ///   - byteReg, byteRM: the reg field / the r/m register is an 8-bit register, so spl/bpl/
    ///     sil/dil (numbers 4–7) need a REX prefix, even an empty one (0x40); without REX those
    ///     numbers mean ah/ch/dh/bh.
    ///   - reg: the ModRM reg field (a register number, or the opcode extension /n).
    ///   - immediateSize: bytes the caller appends after this; a RIP-relative displacement is
    ///     relative to the end of the whole instruction.
    mutating func emit(
        prefix: UInt8? = nil, wide: Bool, byteReg: Bool = false, byteRM: Bool = false, opcode: [UInt8], reg: UInt8,
        rm: RM, immediateSize: Int = 0
    ) {
        if let prefix { bytes.append(prefix) }
        var rex: UInt8 = 0
        if wide { rex |= 0b1000 }
        if reg >= 8 { rex |= 0b0100 }
        var needsEmptyREX = byteReg && (4...7).contains(reg)
        switch rm {
        case .register(let r):
            if r >= 8 { rex |= 0b0001 }
            if byteRM && (4...7).contains(r) { needsEmptyREX = true }
        case .memory(let m):
            if m.index?.isExtended == true { rex |= 0b0010 }
            if m.base?.isExtended == true { rex |= 0b0001 }
        }
        if rex != 0 || needsEmptyREX { bytes.append(0x40 | rex) }
        bytes.append(contentsOf: opcode)
        let regBits = (reg & 7) << 3
        switch rm {
        case .register(let r):
            bytes.append(0b11_000_000 | regBits | (r & 7))
        case .memory(let m):
            emitMemory(m, regBits: regBits, immediateSize: immediateSize)
        }
    }

    private mutating func emitMemory(_ m: Memory, regBits: UInt8, immediateSize: Int) {
        if let label = m.ripTarget {
            // mod 00, r/m 101: [rip + disp32], relative to the end of the instruction.
            bytes.append(0b00_000_101 | regBits)
            let field = position
            let end = field + 4 + immediateSize
            if let target = labelOffsets[label.id] {
                emitInt32(Int32(truncatingIfNeeded: target + Int(m.displacement) - end))
            } else {
                emitInt32(0)
                pendingFixups.append(
                    Fixup(label: label, field: field, instructionEnd: end, addend: Int(m.displacement)))
            }
            return
        }
        guard let base = m.base else {
            // No base: mod 00 with SIB base 101 means [index*scale + disp32]; index 100 is "none".
            bytes.append(0b00_000_100 | regBits)
            let indexBits = m.index.map { $0.low3 } ?? 0b100
            bytes.append(m.scaleBits << 6 | indexBits << 3 | 0b101)
            emitInt32(m.displacement)
            return
        }
        // mod 00 with base 101 (rbp/r13) means something else, so those always carry a displacement.
        let mod: UInt8
        if m.displacement == 0 && base.low3 != 0b101 {
            mod = 0b00
        } else if Int8(exactly: m.displacement) != nil {
            mod = 0b01
        } else {
            mod = 0b10
        }
        if m.index != nil || base.low3 == 0b100 {
            // r/m 100 announces a SIB byte; rsp/r12 as base can only be encoded through it.
            bytes.append(mod << 6 | regBits | 0b100)
            let indexBits = m.index.map { $0.low3 } ?? 0b100
            let scaleBits = m.index == nil ? 0 : m.scaleBits
            bytes.append(scaleBits << 6 | indexBits << 3 | base.low3)
        } else {
            bytes.append(mod << 6 | regBits | base.low3)
        }
        if mod == 0b01 {
            emitInt8(Int8(m.displacement))
        } else if mod == 0b10 {
            emitInt32(m.displacement)
        }
    }

    /// Emits a 32-bit field relative to the end of the instruction (which it ends) for `label`.
    mutating func emitRel32(to label: Label) {
        let field = position
        let end = field + 4
        if let target = labelOffsets[label.id] {
            emitInt32(Int32(truncatingIfNeeded: target - end))
        } else {
            emitInt32(0)
            pendingFixups.append(Fixup(label: label, field: field, instructionEnd: end))
        }
    }
}

/// Why `X86Assembler.finish()` failed.
package struct X86AssemblerError: Error, CustomStringConvertible {
    package enum Kind: Sendable {
        /// A label was used (jump or RIP-relative operand) but never bound.
        case unboundLabel
    }
    package var kind: Kind
    /// The first offending label.
    package var label: Label
    /// Offset of the first rel32/disp32 field that refers to it.
    package var offset: Int
    /// How many distinct labels are affected.
    package var count: Int

    package var description: String {
        switch kind {
        case .unboundLabel:
            "\(count) label(s) used but never bound; the first is used by the field at offset \(offset)"
        }
    }
}
