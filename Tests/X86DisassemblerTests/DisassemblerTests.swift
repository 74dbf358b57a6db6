import Testing
import X86Assembler
import X86Disassembler

@Suite struct DisassemblerTests {
    @Test func showsWhatTheAssemblerEmits() throws {
        var a = X86Assembler()
        let loop = a.makeLabel()
        let done = a.makeLabel()
        a.push(.rbx)
        a.bind(loop)
        a.mov(.rax, .base(.rdi, 16))
        a.add(.rax, .indexed(.rbx, .rcx, scale: 8, displacement: -8))
        a.cmp(.rax, 100)
        a.jcc(.ge, done)
        a.setcc(.l, .rsi)
        a.movzx8(.rax, .rsi)
        a.jmp(loop)
        a.bind(done)
        a.movsd(.xmm9, .base(.r13))
        a.roundsd(.xmm0, .xmm9, .down)
        a.call(.base(.r12, 0x100))
        _ = a.movabs(.r11, 0x1122_3344_5566_7788)
        a.pop(.rbx)
        a.ret()
        let lines = disassemble(try a.finish(), address: 0x1000)
        #expect(lines.map(\.text) == [
            "push rbx",
            "mov rax, qword ptr [rdi + 0x10]",
            "add rax, qword ptr [rbx + rcx*8 - 8]",
            "cmp rax, 0x64",
            "jge 0x101e",
            "setl sil",
            "movzx eax, sil",
            "jmp 0x1001",
            "movsd xmm9, qword ptr [r13]",
            "roundsd xmm0, xmm9, 9",
            "call qword ptr [r12 + 0x100]",
            "movabs r11, 0x1122334455667788",
            "pop rbx",
            "ret",
        ])
        #expect(lines.first?.offset == 0)
        #expect(lines[1].offset == 1)
    }

    @Test func undecodableBytesAreShownOneByOne() {
        // 0x06 (push es) does not exist in 64-bit mode.
        let lines = disassemble([0x90, 0x06, 0xC3], address: 0)
        #expect(lines.map(\.offset) == [0, 1, 2])
        #expect(lines.map(\.text) == ["nop", ".byte 0x06", "ret"])
    }
}
