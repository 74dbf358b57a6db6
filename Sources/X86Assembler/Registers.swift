/// A 64-bit general-purpose register, numbered as in the ModRM/REX encoding.
///
/// The low three bits go into ModRM or the opcode; bit 3 goes into REX (R, X or B).
/// Forms that work on the low byte (`setcc`, `mov8`, `movzx8`) name the same register:
/// `.rsi` there means `sil`, `.r8` means `r8b`.
package enum GPR: UInt8, CaseIterable, Sendable {
    case rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15

    /// The three bits that go into ModRM, SIB or the opcode byte.
    @inlinable var low3: UInt8 { rawValue & 7 }
    /// Whether the register needs the REX extension bit (r8…r15).
    @inlinable var isExtended: Bool { rawValue >= 8 }
    /// Whether the low-byte form needs a REX prefix to mean spl/bpl/sil/dil rather than ah/ch/dh/bh.
    @inlinable var byteFormNeedsREX: Bool { (4...7).contains(rawValue) }
}

/// An SSE register, numbered as in the ModRM/REX encoding (xmm8…xmm15 need REX).
package enum XMM: UInt8, CaseIterable, Sendable {
    case xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7
    case xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15
}

/// A condition code, in the order of the x86 `cc` field (`jcc` = 0F 80+cc, `setcc` = 0F 90+cc,
/// `cmovcc` = 0F 40+cc).
///
/// Signed comparisons use `l`/`ge`/`le`/`g`; unsigned ones and `ucomisd` use `b`/`ae`/`be`/`a`
/// (`ucomisd` reports "unordered" — a NaN operand — in `p`).
package enum Condition: UInt8, CaseIterable, Sendable {
    case o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g

    /// The condition that holds exactly when this one does not (flips the low bit).
    package var negated: Condition { Condition(rawValue: rawValue ^ 1)! }
}
