import RibbonCore
import X86Assembler

/// Moves, constants and globals: the instructions that only copy values between bytecode
/// registers, immediates and the unit's AddressTable.
extension JITCompiler {
    /// `mov`: `d = a`, as integer bits, or through an xmm when `d` is pinned to one.
    mutating func emitMove(_ d: Int, _ a: Int) {
        if case .xmm(let x) = location(d) {
            loadFloat(x, a)
        } else if case .xmm = location(a) {
            load(.rax, a)
            store(d, .rax)
        } else if case .gpr(let g) = location(d) {
            load(g, a)
        } else {
            load(.rax, a)
            store(d, .rax)
        }
    }

    /// `const_i32`: `d` = a sign-extended 32-bit immediate.
    mutating func emitConstant(_ d: Int, _ value: Int32) {
        switch location(d) {
        case .frame: asm.mov(slot(d), value)
        case .gpr(let g): asm.movImmediate(g, Int64(value))
        case .xmm:
            asm.movImmediate(.rax, Int64(value))
            store(d, .rax)
        }
    }

    /// `const64`: `d` = the instruction's second word.
    mutating func emitConstant64(_ d: Int, _ value: Int64) {
        asm.movImmediate(.rax, value)
        store(d, .rax)
    }

    /// `global_get`: the global's slot holds its address.
    mutating func emitGlobalGet(_ d: Int, id: Int) {
        asm.mov(.rax, .base(Self.table, Int32(id * 8)))
        asm.mov(.rax, .base(.rax))
        store(d, .rax)
    }

    mutating func emitGlobalSet(_ d: Int, id: Int) {
        asm.mov(.rax, .base(Self.table, Int32(id * 8)))
        load(.rcx, d)
        asm.mov(.base(.rax), .rcx)
    }

    /// `const_addr`: the slot's value itself (the address of a constant).
    mutating func emitConstantAddress(_ d: Int, id: Int) {
        asm.mov(.rax, .base(Self.table, Int32(id * 8)))
        store(d, .rax)
    }
}
