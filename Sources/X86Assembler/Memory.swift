/// A place in the code, to jump to or to address RIP-relatively.
///
/// Made by `X86Assembler.makeLabel()` and only meaningful with the assembler that made it.
/// Uses before `bind` are recorded as fixups and patched when the label is bound.
package struct Label: Hashable, Sendable {
    let id: Int
}

/// A memory operand: `[base + index*scale + displacement]`, or `[rip + label + displacement]`.
///
/// The encoder picks the shortest correct ModRM/SIB form: no displacement when it is 0 (except
/// with rbp/r13 as base, which need a disp8 of 0), disp8 when it fits, else disp32; a SIB byte
/// when there is an index or the base is rsp/r12; `[disp32]` with neither base nor index goes
/// through a SIB byte too, because ModRM's own "no base" form means RIP-relative in 64-bit mode.
package struct Memory: Sendable {
    package var base: GPR?
    /// Any register but rsp (its index encoding means "no index").
    package var index: GPR?
    /// 1, 2, 4 or 8; ignored without an index.
    package var scale: UInt8
    package var displacement: Int32
    /// Set for RIP-relative operands: the address is `label + displacement`.
    package private(set) var ripTarget: Label?

    package init(base: GPR?, index: GPR? = nil, scale: UInt8 = 1, displacement: Int32 = 0) {
        precondition(index != .rsp, "rsp cannot be an index register")
        precondition(scale == 1 || scale == 2 || scale == 4 || scale == 8, "scale must be 1, 2, 4 or 8")
        self.base = base
        self.index = index
        self.scale = scale
        self.displacement = displacement
        self.ripTarget = nil
    }

    /// `[base + displacement]`.
    package static func base(_ base: GPR, _ displacement: Int32 = 0) -> Memory {
        Memory(base: base, displacement: displacement)
    }

    /// `[base + index*scale + displacement]`.
    package static func indexed(_ base: GPR, _ index: GPR, scale: UInt8, displacement: Int32 = 0) -> Memory {
        Memory(base: base, index: index, scale: scale, displacement: displacement)
    }

    /// `[index*scale + displacement]` (no base; always a disp32).
    package static func scaled(_ index: GPR, scale: UInt8, displacement: Int32 = 0) -> Memory {
        Memory(base: nil, index: index, scale: scale, displacement: displacement)
    }

    /// `[displacement]`: an absolute address in the low 2 GiB (sign-extended disp32).
    package static func absolute(_ address: Int32) -> Memory {
        Memory(base: nil, displacement: address)
    }

    /// `[rip + label + displacement]`: position-independent access to data placed in the code.
    package static func rip(_ label: Label, _ displacement: Int32 = 0) -> Memory {
        var memory = Memory(base: nil, displacement: displacement)
        memory.ripTarget = label
        return memory
    }

    /// The SIB scale field (log2 of `scale`).
    var scaleBits: UInt8 {
        switch scale {
        case 1: 0
        case 2: 1
        case 4: 2
        default: 3
        }
    }
}
