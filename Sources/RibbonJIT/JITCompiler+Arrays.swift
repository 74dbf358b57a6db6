import RibbonCore
import X86Assembler

/// Array instructions. An array is a pointer to its length followed by its elements (8 bytes
/// each, or 1 for byte arrays); every index is checked with one unsigned compare (a negative
/// index is a huge one, out of range too), trapping with the index and the length.
extension JITCompiler {
    mutating func emitArrayLength(_ d: Int, _ a: Int) {
        load(.rax, a)
        asm.mov(.rax, .base(.rax))
        store(d, .rax)
    }

    /// rax = `array`, rcx = `index`, checked against the length (rdx; both are the trap's operands).
    mutating func loadCheckedIndex(array: Int, index: Int, at: Int) {
        load(.rax, array)
        load(.rcx, index)
        asm.mov(.rdx, .base(.rax))
        asm.cmp(.rcx, .rdx)
        asm.jcc(.ae, trap(.indexOutOfRange, word: at, .rcx, .rdx))
    }

    /// `array_load64`, `array_load8`: `d = a[b]`.
    mutating func emitArrayLoad(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int, at: Int) {
        loadCheckedIndex(array: a, index: b, at: at)
        if op == .arrayLoad64 {
            asm.mov(.rax, .indexed(.rax, .rcx, scale: 8, displacement: 8))
        } else {
            asm.movzx8(.rax, .indexed(.rax, .rcx, scale: 1, displacement: 8))
        }
        store(d, .rax)
    }

    /// `array_store64`, `array_store8`: `d[a] = b`.
    mutating func emitArrayStore(_ op: Opcode, _ d: Int, _ a: Int, _ b: Int, at: Int) {
        loadCheckedIndex(array: d, index: a, at: at)
        load(.rdx, b)
        if op == .arrayStore64 {
            asm.mov(.indexed(.rax, .rcx, scale: 8, displacement: 8), .rdx)
        } else {
            asm.mov8(.indexed(.rax, .rcx, scale: 1, displacement: 8), .rdx)
        }
    }
}
