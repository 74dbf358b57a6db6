import X86Assembler

/// The labels every table row may use: `start` is bound before the first row, `end` after the last.
struct TableLabels {
    var start: Label
    var end: Label
}

/// One instruction: how the assembler emits it, and how GNU `as` spells it.
struct Row {
    var text: String
    var emit: (inout X86Assembler, TableLabels) -> Void
}

/// Every form the assembler has, across register and memory-operand edge cases.
enum EncodingTable {
    typealias S = Syntax

    static let gprs = GPR.allCases
    static let xmms = XMM.allCases
    /// Registers whose encodings differ: rax (accumulator forms), rsp/rbp (ModRM specials),
    /// sil/dil (byte forms), r8/r12/r13/r15 (REX, and the same specials again).
    static let edgeGPRs: [GPR] = [.rax, .rcx, .rsp, .rbp, .rsi, .rdi, .r8, .r12, .r13, .r15]
    static let edgeXMMs: [XMM] = [.xmm0, .xmm1, .xmm7, .xmm8, .xmm15]
    static let immediates: [Int32] = [0, 1, -1, 127, 128, -128, -129, 0x1234, 0x7fff_ffff, Int32.min]

    /// Every addressing form: each base with no/disp8/disp32 displacements, SIB with each
    /// scale and the special bases and indexes, no base, absolute, and RIP-relative.
    static func allMemory(_ labels: TableLabels) -> [Memory] {
        var forms: [Memory] = []
        for base in GPR.allCases {
            for displacement: Int32 in [0, 8, -8, 127, -128, 128, -129, 0x1234_5678, Int32.min] {
                forms.append(.base(base, displacement))
            }
        }
        for base: GPR in [.rax, .rsp, .rbp, .r12, .r13, .r15] {
            for index: GPR in [.rcx, .rbp, .r12, .r13, .r15] {
                for scale: UInt8 in [1, 2, 4, 8] {
                    for displacement: Int32 in [0, 8, -1000] {
                        forms.append(.indexed(base, index, scale: scale, displacement: displacement))
                    }
                }
            }
        }
        for index: GPR in [.rax, .rcx, .rbp, .r12, .r13] {
            for scale: UInt8 in [1, 8] {
                forms.append(.scaled(index, scale: scale, displacement: 16))
                forms.append(.scaled(index, scale: scale, displacement: -16))
            }
        }
        forms += [.absolute(0x10), .absolute(-8), .absolute(0x7fff_ffff)]
        forms += someRIP(labels)
        return forms
    }

    /// Backward (bound) and forward (patched later) RIP-relative operands.
    static func someRIP(_ labels: TableLabels) -> [Memory] {
        [.rip(labels.start), .rip(labels.start, 16), .rip(labels.end), .rip(labels.end, -8), .rip(labels.end, 4096)]
    }

    /// A few addressing forms covering each encoding path, for the instructions other than `mov`.
    static func someMemory(_ labels: TableLabels) -> [Memory] {
        [
            .base(.rax), .base(.rbp), .base(.rsp, 8), .base(.r12), .base(.r13), .base(.r15, -200),
            .base(.rbx, 0x1000), .indexed(.rbx, .rcx, scale: 8, displacement: 8),
            .indexed(.r13, .r12, scale: 2), .scaled(.r9, scale: 4, displacement: 32), .absolute(64),
            .rip(labels.start, 8), .rip(labels.end),
        ]
    }

    static func rows(_ labels: TableLabels) -> [Row] {
        let names = [labels.start: "start", labels.end: "end"]
        func m(_ memory: Memory, _ size: String = "qword") -> String { S.memory(memory, size, labels: names) }
        var rows: [Row] = []
        func add(_ text: String, _ emit: @escaping (inout X86Assembler) -> Void) {
            rows.append(Row(text: text) { a, _ in emit(&a) })
        }

        // MARK: mov
        for dst in gprs {
            for src in gprs {
                add("mov \(S.q(dst)), \(S.q(src))") { $0.mov(dst, src) }
            }
        }
        for reg: GPR in [.rax, .rsp, .r9, .r15] {
            for memory in allMemory(labels) {
                add("mov \(S.q(reg)), \(m(memory))") { $0.mov(reg, memory) }
                add("mov \(m(memory)), \(S.q(reg))") { $0.mov(memory, reg) }
            }
        }
        for memory in someMemory(labels) {
            for imm in immediates {
                add("mov \(m(memory)), \(imm)") { $0.mov(memory, imm) }
                add("mov \(m(memory, "dword")), \(imm)") { $0.mov32(memory, imm) }
            }
            for reg in edgeGPRs {
                add("mov \(S.d(reg)), \(m(memory, "dword"))") { $0.mov32(reg, memory) }
                add("mov \(m(memory, "dword")), \(S.d(reg))") { $0.mov32(memory, reg) }
                add("movsxd \(S.q(reg)), \(m(memory, "dword"))") { $0.movsxd(reg, memory) }
                add("movzx \(S.d(reg)), \(m(memory, "byte"))") { $0.movzx8(reg, memory) }
                add("mov \(m(memory, "byte")), \(S.b(reg))") { $0.mov8(memory, reg) }
                add("lea \(S.q(reg)), \(m(memory))") { $0.lea(reg, memory) }
            }
            add("mov \(m(memory, "byte")), 200") { $0.mov8(memory, 200) }
        }
        for dst in gprs {
            for src in edgeGPRs {
                add("mov \(S.d(dst)), \(S.d(src))") { $0.mov32(dst, src) }
                add("movsxd \(S.q(dst)), \(S.d(src))") { $0.movsxd(dst, src) }
                add("movzx \(S.d(dst)), \(S.b(src))") { $0.movzx8(dst, src) }
            }
        }

        // MARK: constants
        for reg in gprs {
            add("xor \(S.d(reg)), \(S.d(reg))") { $0.movImmediate(reg, 0) }
            add("xor \(S.d(reg)), \(S.d(reg))") { $0.zero(reg) }
            add("mov \(S.d(reg)), 0") { $0.movImmediate(reg, 0, preservingFlags: true) }
            add("mov \(S.d(reg)), 1") { $0.movImmediate(reg, 1) }
            add("mov \(S.d(reg)), 0xffffffff") { $0.movImmediate(reg, 0xffff_ffff) }
            add("mov \(S.q(reg)), -1") { $0.movImmediate(reg, -1) }
            add("mov \(S.q(reg)), -2147483648") { $0.movImmediate(reg, -0x8000_0000) }
            add("movabs \(S.q(reg)), 0x100000000") { $0.movImmediate(reg, 0x1_0000_0000) }
            add("movabs \(S.q(reg)), -2147483649") { $0.movImmediate(reg, -0x8000_0001) }
            add("movabs \(S.q(reg)), 0x7fffffffffffffff") { $0.movImmediate(reg, Int64.max) }
            add("movabs \(S.q(reg)), 0") { $0.movabs(reg, 0) }
            add("movabs \(S.q(reg)), -1") { $0.movabs(reg, -1) }
        }

        // MARK: arithmetic and logic
        let aluForms: [(String, (inout X86Assembler, GPR, GPR) -> Void, (inout X86Assembler, GPR, Int32) -> Void,
            (inout X86Assembler, GPR, Memory) -> Void, (inout X86Assembler, Memory, GPR) -> Void,
            (inout X86Assembler, Memory, Int32) -> Void)] = [
            ("add", { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }, { $0.add($1, $2) }),
            ("sub", { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }, { $0.sub($1, $2) }),
            ("and", { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }, { $0.and($1, $2) }),
            ("or", { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }, { $0.or($1, $2) }),
            ("xor", { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }, { $0.xor($1, $2) }),
            ("cmp", { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }, { $0.cmp($1, $2) }),
        ]
        for (name, rr, ri, rm, mr, mi) in aluForms {
            for dst in gprs {
                for src in edgeGPRs {
                    add("\(name) \(S.q(dst)), \(S.q(src))") { rr(&$0, dst, src) }
                }
            }
            for dst in edgeGPRs {
                for imm in immediates {
                    add("\(name) \(S.q(dst)), \(imm)") { ri(&$0, dst, imm) }
                }
            }
            for memory in someMemory(labels) {
                for reg: GPR in [.rax, .rsi, .r13] {
                    add("\(name) \(S.q(reg)), \(m(memory))") { rm(&$0, reg, memory) }
                    add("\(name) \(m(memory)), \(S.q(reg))") { mr(&$0, memory, reg) }
                }
                for imm: Int32 in [1, -128, 128, 0x7fff_ffff] {
                    add("\(name) \(m(memory)), \(imm)") { mi(&$0, memory, imm) }
                }
            }
        }
        for a in gprs {
            for b in edgeGPRs {
                add("test \(S.q(a)), \(S.q(b))") { $0.test(a, b) }
                add("test \(S.d(a)), \(S.d(b))") { $0.test32(a, b) }
                add("imul \(S.q(a)), \(S.q(b))") { $0.imul(a, b) }
                add("cmovl \(S.q(a)), \(S.q(b))") { $0.cmov(.l, a, b) }
            }
            for imm in immediates {
                add("test \(S.q(a)), \(imm)") { $0.test(a, imm) }
                add("imul \(S.q(a)), \(S.q(GPR(rawValue: 15 - a.rawValue)!)), \(imm)") {
                    $0.imul(a, GPR(rawValue: 15 - a.rawValue)!, imm)
                }
            }
            add("neg \(S.q(a))") { $0.neg(a) }
            add("not \(S.q(a))") { $0.not(a) }
            add("idiv \(S.q(a))") { $0.idiv(a) }
            for count: UInt8 in [0, 1, 2, 63] {
                add("shl \(S.q(a)), \(count)") { $0.shl(a, count) }
                add("shr \(S.q(a)), \(count)") { $0.shr(a, count) }
                add("sar \(S.q(a)), \(count)") { $0.sar(a, count) }
            }
            add("shl \(S.q(a)), cl") { $0.shlByCL(a) }
            add("shr \(S.q(a)), cl") { $0.shrByCL(a) }
            add("sar \(S.q(a)), cl") { $0.sarByCL(a) }
        }
        for memory in someMemory(labels) {
            add("imul rdx, \(m(memory))") { $0.imul(.rdx, memory) }
            add("imul r14, \(m(memory))") { $0.imul(.r14, memory) }
            add("cmovge r10, \(m(memory))") { $0.cmov(.ge, .r10, memory) }
        }
        add("cqo") { $0.cqo() }

        // MARK: conditions
        for condition in Condition.allCases {
            for reg in gprs {
                add("set\(condition) \(S.b(reg))") { $0.setcc(condition, reg) }
            }
            add("cmov\(condition) rax, rcx") { $0.cmov(condition, .rax, .rcx) }
            add("cmov\(condition) r9, r15") { $0.cmov(condition, .r9, .r15) }
        }

        // MARK: control flow
        for reg in gprs {
            add("push \(S.q(reg))") { $0.push(reg) }
            add("pop \(S.q(reg))") { $0.pop(reg) }
            add("jmp \(S.q(reg))") { $0.jmp(reg) }
            add("call \(S.q(reg))") { $0.call(reg) }
        }
        for memory in someMemory(labels) {
            add("jmp \(m(memory))") { $0.jmp(memory) }
            add("call \(m(memory))") { $0.call(memory) }
        }
        // `start` is far behind by now (rel32 on both sides); `end` is ahead (always rel32 here).
        rows.append(Row(text: "jmp start") { a, l in a.jmp(l.start) })
        rows.append(Row(text: "{disp32} jmp end") { a, l in a.jmp(l.end) })
        rows.append(Row(text: "call start") { a, l in a.call(l.start) })
        rows.append(Row(text: "call end") { a, l in a.call(l.end) })
        for condition in Condition.allCases {
            rows.append(Row(text: "j\(condition) start") { a, l in a.jcc(condition, l.start) })
            rows.append(Row(text: "{disp32} j\(condition) end") { a, l in a.jcc(condition, l.end) })
        }
        add("ret") { $0.ret() }
        add("int3") { $0.int3() }
        add("ud2") { $0.ud2() }
        add("nop") { $0.nop() }
        let nopTexts = [
            "nop", "xchg ax, ax", "nop dword ptr [rax]", "{disp8} nop dword ptr [rax]",
            "{disp8} nop dword ptr [rax + rax*1]", "{disp8} nop word ptr [rax + rax*1]",
            "{disp32} nop dword ptr [rax]", "{disp32} nop dword ptr [rax + rax*1]",
            "{disp32} nop word ptr [rax + rax*1]",
        ]
        for length in 1...9 {
            add(nopTexts[length - 1]) { $0.nop(length: length) }
        }

        // MARK: SSE
        let sseBinary: [(String, (inout X86Assembler, XMM, XMM) -> Void, (inout X86Assembler, XMM, Memory) -> Void, String)] = [
            ("addsd", { $0.addsd($1, $2) }, { $0.addsd($1, $2) }, "qword"),
            ("subsd", { $0.subsd($1, $2) }, { $0.subsd($1, $2) }, "qword"),
            ("mulsd", { $0.mulsd($1, $2) }, { $0.mulsd($1, $2) }, "qword"),
            ("divsd", { $0.divsd($1, $2) }, { $0.divsd($1, $2) }, "qword"),
            ("sqrtsd", { $0.sqrtsd($1, $2) }, { $0.sqrtsd($1, $2) }, "qword"),
            ("ucomisd", { $0.ucomisd($1, $2) }, { $0.ucomisd($1, $2) }, "qword"),
            ("andpd", { $0.andpd($1, $2) }, { $0.andpd($1, $2) }, "xmmword"),
            ("xorpd", { $0.xorpd($1, $2) }, { $0.xorpd($1, $2) }, "xmmword"),
        ]
        for (name, rr, rm, size) in sseBinary {
            for dst in xmms {
                for src in edgeXMMs {
                    add("\(name) \(S.x(dst)), \(S.x(src))") { rr(&$0, dst, src) }
                }
            }
            for dst in edgeXMMs {
                for memory in someMemory(labels) {
                    add("\(name) \(S.x(dst)), \(m(memory, size))") { rm(&$0, dst, memory) }
                }
            }
        }
        for x in xmms {
            for src in edgeXMMs {
                add("movapd \(S.x(x)), \(S.x(src))") { $0.movapd(x, src) }
            }
            for memory in someMemory(labels) {
                add("movsd \(S.x(x)), \(m(memory))") { $0.movsd(x, memory) }
                add("movsd \(m(memory)), \(S.x(x))") { $0.movsd(memory, x) }
            }
            for reg in edgeGPRs {
                add("movq \(S.x(x)), \(S.q(reg))") { $0.movq(x, reg) }
                add("movq \(S.q(reg)), \(S.x(x))") { $0.movq(reg, x) }
                add("cvtsi2sd \(S.x(x)), \(S.q(reg))") { $0.cvtsi2sd(x, reg) }
                add("cvttsd2si \(S.q(reg)), \(S.x(x))") { $0.cvttsd2si(reg, x) }
            }
            for src in edgeXMMs {
                add("roundsd \(S.x(x)), \(S.x(src)), 9") { $0.roundsd(x, src, .down) }
            }
        }
        add("roundsd xmm3, xmm4, 8") { $0.roundsd(.xmm3, .xmm4, .nearest) }
        add("roundsd xmm3, xmm4, 10") { $0.roundsd(.xmm3, .xmm4, .up) }
        add("roundsd xmm3, xmm4, 11") { $0.roundsd(.xmm3, .xmm4, .towardZero) }
        return rows
    }
}
