import RibbonCore
import X86Assembler

/// The one dispatch from an opcode to the code that translates it, and the facts about each
/// opcode that `compileFunction` needs. The translations live by category, one file each:
/// `+Integer`, `+Float`, `+Branches`, `+Calls`, `+Arrays`, `+Moves` (moves, constants, globals).
extension JITCompiler {
    /// Instructions whose code has no internal join (trap stubs are out of line and never
    /// come back): see `raxHolds`.
    static let straightLine: Set<Opcode> = [
        .mov, .const64, .iAdd64, .iSub64, .iMul64, .iAnd64, .iOr64, .iXor64, .iShl64, .sShr64, .iNeg64,
        .iAdd64Imm, .iMul64Imm, .fNeg64, .fAbs64, .iEq64, .iNe64, .sLt64, .sLe64, .fLt64, .fLe64, .fEq64,
        .fNe64, .bNot, .globalGet, .constAddr, .arrayLen, .arrayLoad64, .arrayLoad8, .fToS64,
    ]

    /// The machine code of the instruction `w` at word `at`.
    mutating func emit(_ op: Opcode, _ w: UInt64, _ at: Int) throws {
        let d = InstructionWord.byte(w, 2)
        let a = InstructionWord.byte(w, 3)
        let b = InstructionWord.byte(w, 4)
        switch op {
        case .nop, .jitCold:
            break
        case .jitLoopHeader:
            // The loop's first instruction follows; back-edges jump to it. Align it so each
            // iteration starts on a fresh fetch block.
            asm.align(to: 16)
        case .mov: emitMove(d, a)
        case .constI32: emitConstant(d, InstructionWord.int32(w))
        case .const64: emitConstant64(d, Int64(bitPattern: code[at + 1]))

        case .iAdd64, .iSub64, .iAnd64, .iOr64, .iXor64, .iMul64: emitIntegerArithmetic(op, d, a, b)
        case .sDiv64, .sRem64: emitDivision(op, d, a, b, at: at)
        case .iShl64, .sShr64: emitShift(op, d, a, b)
        case .iNeg64: emitNegate(d, a)
        case .iAbs64: emitAbsolute(d, a)
        case .iAdd64Imm: emitAddImmediate(d, a, InstructionWord.int32(w))
        case .iMul64Imm: emitMultiplyImmediate(d, a, InstructionWord.int32(w))
        case .iEq64, .iNe64, .sLt64, .sLe64: emitIntegerCompare(op, d, a, b)
        case .bNot: emitNot(d, a)

        case .fAdd64, .fSub64, .fMul64, .fDiv64: emitFloatArithmetic(op, d, a, b)
        case .fMulAdd64, .fMulSub64: emitMultiplyAdd(op, d, a, b, InstructionWord.byte(w, 5))
        case .fNeg64: emitFloatNegate(d, a)
        case .fAbs64: emitFloatAbsolute(d, a)
        case .fSqrt64: emitSquareRoot(d, a)
        case .fFloor64: emitFloor(d, a)
        case .sToF64: emitIntegerToFloat(d, a)
        case .fToS64: emitFloatToInteger(d, a, at: at)
        case .fLt64, .fLe64: emitFloatOrder(op, d, a, b)
        case .fEq64, .fNe64: emitFloatEquality(op, d, a, b)

        case .br: asm.jmp(target(w, at))
        case .brIf, .brIfnot: emitIntegerBranch(op, d, immediate: 0, target(w, at))
        case .brIEq64, .brINe64, .brSLt64, .brSLe64: emitIntegerBranch(op, d, a, target(w, at))
        case .brIEq64Imm, .brINe64Imm, .brSLt64Imm, .brSLe64Imm, .brSGt64Imm, .brSGe64Imm:
            emitIntegerBranch(op, d, immediate: Int32(InstructionWord.int8(w)), target(w, at))
        case .brFLt64, .brFLe64, .brFNlt64, .brFNle64: emitFloatOrderBranch(op, d, a, target(w, at))
        case .brFEq64, .brFNe64: emitFloatEqualityBranch(op, d, a, target(w, at))

        case .call:
            emitCall(result: d, base: a, id: InstructionWord.id(w), at: at)
        case .callC:
            // The slot holds the function's System V glue: always a native callee.
            emitCall(result: d, base: a, id: InstructionWord.id(w), at: at, alwaysNative: true)
        case .ret: emitReturn(d)
        case .retUnit: emitReturnUnit()

        case .globalGet: emitGlobalGet(d, id: InstructionWord.id(w))
        case .globalSet: emitGlobalSet(d, id: InstructionWord.id(w))
        case .constAddr: emitConstantAddress(d, id: InstructionWord.id(w))

        case .arrayLen: emitArrayLength(d, a)
        case .arrayLoad64, .arrayLoad8: emitArrayLoad(op, d, a, b, at: at)
        case .arrayStore64, .arrayStore8: emitArrayStore(op, d, a, b, at: at)
        default:
            throw Failure.unsupported(op.name)
        }
    }

    /// The label of the word a branch `w` at word `at` jumps to.
    func target(_ w: UInt64, _ at: Int) -> CodeLabel { wordLabels[at + Int(InstructionWord.int32(w))] }
}
