import RibbonBytecode
import RibbonCore
import X86Assembler

/// System V glue: a native function with the builtin ABI that calls one C function.
///
/// It reads the arguments from the fiber's frame, puts integer-class ones (I64, Bool, Str) in
/// rdi, rsi, rdx, rcx, r8, r9 and F64 ones in xmm0–xmm7, calls with the stack 16-byte aligned
/// and `al` holding the number of vector registers (what a variadic callee such as `printf`
/// reads), and stores rax, `al` zero-extended (Bool) or xmm0 to `frame[0]`. The C function's
/// address is a relocation by symbol name, so the glue can be cached like any machine code.
enum ForeignGlue {
    static let integerRegisters: [GPR] = [.rdi, .rsi, .rdx, .rcx, .r8, .r9]

    static func make(_ signature: ForeignSignature) throws -> MachineCode {
        var asm = X86Assembler()
        // Entry rsp is 8 mod 16; three pushes make it 0 mod 16 at the call.
        asm.push(.rbp)
        asm.mov(.rbp, .rsp)
        asm.push(.rbx)
        asm.push(.r12)
        asm.mov(.rbx, .base(.rdi, FiberField.frame))
        var integers = 0
        var floats = 0
        for (i, kind) in signature.parameters.enumerated() {
            let slot = Memory.base(.rbx, Int32(i * 8))
            if kind.isIntegerClass {
                asm.mov(integerRegisters[integers], slot)
                integers += 1
            } else {
                asm.movsd(XMM(rawValue: UInt8(floats))!, slot)
                floats += 1
            }
        }
        var relocations: [Relocation] = []
        let at = asm.movabs(.r11, 0)
        relocations.append(Relocation(offset: at, target: .foreignSymbol(signature.symbol)))
        asm.movImmediate(.rax, Int64(floats))
        asm.call(.r11)
        switch signature.result {
        case .f64:
            asm.movsd(.base(.rbx, 0), .xmm0)
        case .bool:
            asm.movzx8(.rax, .rax)
            asm.mov(.base(.rbx, 0), .rax)
        case .i64, .str:
            asm.mov(.base(.rbx, 0), .rax)
        }
        asm.zero(.rax)
        asm.pop(.r12)
        asm.pop(.rbx)
        asm.pop(.rbp)
        asm.ret()
        let bytes = try asm.finish()
        return MachineCode(
            bytes: bytes, features: Set(asm.usedFeatures.subtracting(JITCompiler.baseline).names),
            relocations: relocations)
    }
}
