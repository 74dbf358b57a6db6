import RibbonCore
import X86Assembler

/// What bytecode operations become in x86, each mapping written once: the integer and
/// scalar-double instruction of each two-operand operation, and the condition each comparison
/// tests (for `setcc` and for the compare-and-branch forms alike). `JITCompiler` names an
/// operation's instruction through these whatever form its operands take (register, frame slot,
/// scratch), and the assembler encodes each form (`X86Assembler.arithmetic`).
extension Opcode {
    /// The instruction of `i_add64`, `i_sub64`, `i_and64`, `i_or64`, `i_xor64` and `i_mul64`.
    var integerOperation: X86Assembler.IntegerOperation {
        switch self {
        case .iAdd64: .add
        case .iSub64: .sub
        case .iAnd64: .and
        case .iOr64: .or
        case .iXor64: .xor
        case .iMul64: .imul
        default: preconditionFailure("\(name) is not a two-operand integer operation")
        }
    }

    /// The instruction of `f_add64`, `f_sub64`, `f_mul64`, `f_div64` and `f_sqrt64`.
    var scalarDoubleOperation: X86Assembler.ScalarDoubleOperation {
        switch self {
        case .fAdd64: .add
        case .fSub64: .sub
        case .fMul64: .mul
        case .fDiv64: .div
        case .fSqrt64: .sqrt
        default: preconditionFailure("\(name) is not a scalar-double operation")
        }
    }

    /// The condition under which a comparison holds (or its branch is taken), after `cmp a, b`
    /// for integers and `ucomisd b, a` for doubles (a < b is b > a: "above" is false when
    /// unordered, so `!(a < b)`, "below or equal", holds on NaN as in the interpreter).
    /// `f_eq64`, `f_ne64` and their branches test two flags and are not here.
    var condition: Condition {
        switch self {
        case .iEq64, .brIEq64, .brIEq64Imm, .brIfnot: .e
        case .iNe64, .brINe64, .brINe64Imm, .brIf: .ne
        case .sLt64, .brSLt64, .brSLt64Imm: .l
        case .sLe64, .brSLe64, .brSLe64Imm: .le
        case .brSGt64Imm: .g
        case .brSGe64Imm: .ge
        case .fLt64, .brFLt64: .a
        case .fLe64, .brFLe64: .ae
        case .brFNlt64: .be
        case .brFNle64: .b
        default: preconditionFailure("\(name) is not a comparison")
        }
    }
}
