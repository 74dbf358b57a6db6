import Testing

@testable import X86Assembler

@Suite struct LabelTests {
    /// Forward jumps (rel32, patched by `bind`), near backward jumps (rel8), far backward jumps
    /// (rel32), calls, and RIP-relative loads of data placed after the code, against GNU `as`.
    @Test func jumpsAndRIPRelativeDataMatchGNUAssembler() throws {
        var a = X86Assembler()
        var text: [String] = []
        // GNU label names get an `l_` prefix: plain `near` is an Intel-syntax keyword.
        let top = a.makeLabel(), exit = a.makeLabel(), constant = a.makeLabel(), helper = a.makeLabel()
        a.bind(top)
        text.append("l_top:")
        a.jcc(.e, exit); text.append("{disp32} je l_exit")
        a.call(helper); text.append("call l_helper")
        let near = a.makeLabel()
        a.bind(near); text.append("l_near:")
        a.add(.rax, 1); text.append("add rax, 1")
        a.movsd(.xmm0, .rip(constant)); text.append("movsd xmm0, qword ptr [rip + l_constant]")
        a.cmp(.rax, 10); text.append("cmp rax, 10")
        a.jcc(.l, near); text.append("jl l_near")
        a.jmp(near); text.append("jmp l_near")
        for _ in 0..<40 {
            a.mov(.rcx, .base(.rbx, 8)); text.append("mov rcx, qword ptr [rbx + 8]")
        }
        a.jcc(.ne, top); text.append("jne l_top")
        a.jmp(top); text.append("jmp l_top")
        a.jmp(exit); text.append("{disp32} jmp l_exit")
        a.bind(helper); text.append("l_helper:")
        a.ret(); text.append("ret")
        a.bind(exit); text.append("l_exit:")
        a.call(helper); text.append("call l_helper")
        a.xorpd(.xmm1, .rip(constant, 16)); text.append("xorpd xmm1, xmmword ptr [rip + l_constant + 16]")
        a.ret(); text.append("ret")
        let codeEnd = a.position
        a.align(to: 16); text.append(".p2align 4, 0x90")
        a.bind(constant); text.append("l_constant:")
        a.emitInt64(0x3ff0_0000_0000_0000); text.append(".quad 0x3ff0000000000000")
        a.emitInt64(0); text.append(".quad 0")
        a.emitInt64(Int64(bitPattern: 0x8000_0000_0000_0000)); text.append(".quad 0x8000000000000000")

        let ours = try a.finish()
        let gnu = try GNUAssembler.assemble(text)
        // `align` and `.p2align` may pick different nops: compare the padding's length only.
        #expect(ours.count == gnu.bytes.count)
        #expect(a.offset(of: constant)! % 16 == 0)
        #expect(Array(ours[..<codeEnd]) == Array(gnu.bytes[..<codeEnd]))
        #expect(Array(ours[a.offset(of: constant)!...]) == Array(gnu.bytes[a.offset(of: constant)!...]))
    }

    @Test func nearBackwardJumpsAreShortAndForwardJumpsAreLong() throws {
        var a = X86Assembler()
        let back = a.makeLabel(), forward = a.makeLabel()
        a.bind(back)
        a.jmp(back)
        a.jcc(.g, back)
        a.jmp(forward)
        a.jcc(.g, forward)
        a.bind(forward)
        #expect(try a.finish() == [0xEB, 0xFE, 0x7F, 0xFC, 0xE9, 0x06, 0, 0, 0, 0x0F, 0x8F, 0, 0, 0, 0])
    }

    @Test func finishReportsUnboundLabels() {
        var a = X86Assembler()
        let never = a.makeLabel(), alsoNever = a.makeLabel()
        a.nop()
        a.jmp(never)
        a.lea(.rax, .rip(alsoNever))
        a.jmp(never)
        #expect(!a.isBound(never))
        do {
            _ = try a.finish()
            Issue.record("finish() accepted unbound labels")
        } catch let error as X86AssemblerError {
            #expect(error.kind == .unboundLabel)
            #expect(error.label == never)
            #expect(error.offset == 2)
            #expect(error.count == 2)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func movabsReportsWhereItsImmediateIsAndPatchingRewritesIt() throws {
        var a = X86Assembler()
        a.push(.rbp)
        let offset = a.movabs(.r10, 0)
        a.call(.r10)
        #expect(offset == 3)
        a.patchInt64(at: offset, 0x0102_0304_0506_0708)
        #expect(Array(try a.finish()[1..<11]) == [0x49, 0xBA, 8, 7, 6, 5, 4, 3, 2, 1])
    }

    @Test func alignPadsWithNopsToTheBoundary() {
        for start in 0..<40 {
            var a = X86Assembler()
            a.nop(length: start)
            a.align(to: 32)
            #expect(a.position % 32 == 0 && a.position >= start && a.position < start + 32)
        }
    }

    @Test func usedFeaturesRecordsWhatTheCodeNeeds() {
        var a = X86Assembler()
        a.add(.rax, .rcx)
        a.imul(.rax, .rdx)
        #expect(a.usedFeatures == [])
        a.addsd(.xmm0, .xmm1)
        #expect(a.usedFeatures == [.sse2])
        a.roundsd(.xmm0, .xmm0, .down)
        #expect(a.usedFeatures == [.sse2, .sse4_1])
    }

    @Test func cpuFeatureNamesRoundTripAndTheHostHasSSE2() {
        let all = CPUFeatures(CPUFeatures.named.map(\.feature))
        #expect(CPUFeatures(names: all.names.joined(separator: ",")) == all)
        #expect(CPUFeatures(names: "sse2, sse4.1") == [.sse2, .sse4_1])
        #expect(CPUFeatures(names: "") == [])
        #expect(CPUFeatures(names: "sse9") == nil)
        #expect(CPUFeatures.host.contains(.sse2))
    }

    @Test func conditionsNegate() {
        #expect(Condition.e.negated == .ne)
        #expect(Condition.l.negated == .ge)
        #expect(Condition.a.negated == .be)
    }
}
