import RibbonCore
import X86Assembler

/// Calls and returns: calls go through the AddressTable with a call record pushed on the fiber,
/// as the interpreter does; returns leave the result in frame slot 0 and the signal in rax.
extension JITCompiler {
    /// A call through the AddressTable, pushing this frame's call record like the interpreter
    /// does (same depth limit, same backtraces). A native callee is called directly; a bytecode
    /// callee (bit 63 set) through the interpreter's entry for native code; a call of this very
    /// function goes straight to its entry (recursion without re-dispatch).
    mutating func emitCall(result d: Int, base: Int, id: Int, at: Int, alwaysNative: Bool = false) {
        let returned = asm.makeLabel()
        let trapped = asm.makeLabel()
        callTrapSites.append((trapped, at))
        let record = FiberField.recordSize
        asm.mov(.rax, field(FiberField.callStackTop))
        asm.cmp(.rax, field(FiberField.callStackLimit))
        asm.jcc(.e, trap(.stackOverflow, word: at))
        load(.rcx, address: .bytecodeWord(function: functionId, word: UInt32(at)))
        asm.mov(.base(.rax, 0), .rcx)
        // The record's `frame` is read only by the interpreter, for records it pushed itself;
        // backtraces need the call position and the function.
        load(.rcx, address: .functionHeader(functionId))
        asm.mov(.base(.rax, 16), .rcx)
        asm.add(.rax, record)
        asm.mov(field(FiberField.callStackTop), .rax)
        asm.lea(.rsi, slot(base))
        if id == Int(functionId) && !alwaysNative {
            asm.call(entry)  // the internal entry: header and table registers are already right
        } else {
            asm.mov(field(FiberField.frame), .rsi)
            asm.mov(.rdi, Self.header)
            asm.mov(.rax, .base(Self.table, Int32(id * 8)))
            if alwaysNative {
                asm.call(.rax)
            } else {
                let bytecodeCallee = asm.makeLabel()
                asm.test(.rax, .rax)
                asm.jcc(.s, bytecodeCallee)
                asm.call(.rax)
                asm.jmp(returned)
                asm.bind(bytecodeCallee)
                asm.shl(.rax, 1)
                asm.shr(.rax, 1)
                asm.mov(.rsi, .rax)
                load(.rax, address: .runtimeHelper(JITRuntime.callBytecodeName))
                asm.call(.rax)
            }
        }
        asm.bind(returned)
        asm.test32(.rax, .rax)  // the signal is a uint32 in eax; the upper half is undefined
        asm.jcc(.ne, trapped)
        asm.sub(field(FiberField.callStackTop), record)
        if location(d) != .frame(base) {
            asm.mov(.rax, slot(base))
            store(d, .rax)
        }
    }

    /// `ret`: the result to slot 0, the "returned" signal (0) to rax.
    mutating func emitReturn(_ d: Int) {
        load(.rax, d)
        asm.mov(slot(0), .rax)
        asm.zero(.rax)
        asm.jmp(epilogue)
    }

    mutating func emitReturnUnit() {
        asm.zero(.rax)
        asm.jmp(epilogue)
    }
}
