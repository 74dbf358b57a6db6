/// How an instruction's operands are packed into its 64-bit word (and, for `rx64`, the word
/// after it). Byte 0–1 of every word hold the opcode; see `tools/gen_opcodes.py` for the table.
public enum OperandFormat: Sendable {
    case none
    /// `a@2`
    case r
    /// `d@2 a@3`
    case rr
    /// `d@2 a@3 b@4`
    case rrr
    /// `d@2 a@3 b@4 c@5`
    case rrrr
    /// `d@2 imm32@4`
    case ri32
    /// `d@2 a@3 imm32@4`
    case rri32
    /// `d@2`, then a whole word of immediate.
    case rx64
    /// `offset32@4`
    case o32
    /// `a@2 offset32@4`
    case ro32
    /// `a@2 b@3 offset32@4`
    case rro32
    /// `a@2 imm8@3 offset32@4`
    case ri8o32
    /// `r@2 id32@4`
    case rid
    /// `d@2 base@3 id32@4`
    case call

    /// Words the instruction occupies.
    public var wordCount: Int { self == .rx64 ? 2 : 1 }

    /// Whether the instruction carries a branch offset in bytes 4–7.
    public var hasBranchOffset: Bool {
        switch self {
        case .o32, .ro32, .rro32, .ri8o32: true
        default: false
        }
    }

    /// Whether bytes 4–7 hold an AddressTable Id.
    public var hasId: Bool { self == .rid || self == .call }
}
