import RibbonCore
import X86Assembler

/// Where a bytecode register lives in machine code.
enum Location: Equatable {
    /// In the frame, at `rbx + 8r` (the default: what the interpreter and callees see).
    case frame(Int)
    case gpr(GPR)
    case xmm(XMM)
}

/// Which bytecode registers of one function live in machine registers, for the whole function.
///
/// A register qualifies when every instruction uses it the same way (only as an integer, or
/// only as an F64) and it sits below every call's argument window: callees see the frame from
/// `base` upward, and everything below it survives a call. Integer registers go to callee-saved
/// r14 and r15, and in a function that makes no calls also to r8–r11, rsi and rdi; F64
/// registers go to xmm2–xmm15, only in a function that makes no calls (SysV saves no xmm
/// register across a call). Uses inside loops weigh 10 times more per level of nesting. Values
/// live in machine registers without ever being written back: nothing reads a caller's frame
/// below `base` (traps and backtraces need only the instruction position).
struct RegisterPlan {
    private(set) var locations: [Location]
    /// Pinned registers, loaded from the frame at entry.
    private(set) var pinned: [(register: Int, location: Location)] = []
    /// Callee-saved registers the function must save.
    private(set) var savedGPRs: [GPR] = []

    enum Use { case integer, float, either }

    init(code: UnsafeBufferPointer<UInt64>, frameSize: Int) {
        locations = (0..<frameSize).map { .frame($0) }
        var kind = [Use?](repeating: nil, count: frameSize)
        var mixed = [Bool](repeating: false, count: frameSize)
        var weight = [Int](repeating: 0, count: frameSize)
        var minimumBase = frameSize
        var makesCalls = false

        // Loop nesting from backward branches: words [target, branch] are inside a loop.
        var depth = [Int](repeating: 0, count: code.count)
        var at = 0
        while at < code.count {
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            if op.format.hasBranchOffset, InstructionWord.int32(w) < 0 {
                for i in (at + Int(InstructionWord.int32(w)))...at { depth[i] += 1 }
            }
            at += op.format.wordCount
        }

        func use(_ r: Int, _ u: Use, at word: Int) {
            guard r < frameSize else { return }
            weight[r] += depth[word] == 0 ? 1 : Int(pow10(min(depth[word], 4)))
            guard u != .either else { return }
            if let k = kind[r], k != u { mixed[r] = true } else { kind[r] = u }
        }

        at = 0
        while at < code.count {
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            let d = InstructionWord.byte(w, 2)
            let a = InstructionWord.byte(w, 3)
            let b = InstructionWord.byte(w, 4)
            switch op {
            case .iAdd64, .iSub64, .iMul64, .sDiv64, .sRem64, .iAnd64, .iOr64, .iXor64, .iShl64, .sShr64,
                .iEq64, .iNe64, .sLt64, .sLe64:
                use(d, .integer, at: at); use(a, .integer, at: at); use(b, .integer, at: at)
            case .iNeg64, .iAbs64, .iAdd64Imm, .iMul64Imm, .bNot:
                use(d, .integer, at: at); use(a, .integer, at: at)
            case .fAdd64, .fSub64, .fMul64, .fDiv64:
                use(d, .float, at: at); use(a, .float, at: at); use(b, .float, at: at)
            case .fMulAdd64, .fMulSub64:
                use(d, .float, at: at); use(a, .float, at: at); use(b, .float, at: at)
                use(InstructionWord.byte(w, 5), .float, at: at)
            case .fSqrt64, .fFloor64, .fNeg64, .fAbs64:
                use(d, .float, at: at); use(a, .float, at: at)
            case .fEq64, .fNe64, .fLt64, .fLe64:
                use(d, .integer, at: at); use(a, .float, at: at); use(b, .float, at: at)
            case .sToF64:
                use(d, .float, at: at); use(a, .integer, at: at)
            case .fToS64:
                use(d, .integer, at: at); use(a, .float, at: at)
            case .brIf, .brIfnot, .brIEq64Imm, .brINe64Imm, .brSLt64Imm, .brSLe64Imm, .brSGt64Imm, .brSGe64Imm:
                use(d, .integer, at: at)
            case .brIEq64, .brINe64, .brSLt64, .brSLe64:
                use(d, .integer, at: at); use(a, .integer, at: at)
            case .brFLt64, .brFLe64, .brFNlt64, .brFNle64, .brFEq64, .brFNe64:
                use(d, .float, at: at); use(a, .float, at: at)
            case .mov:
                use(d, .either, at: at); use(a, .either, at: at)
            case .constI32, .const64, .globalGet, .globalSet, .constAddr, .ret:
                use(d, .either, at: at)
            case .arrayLen:
                use(d, .integer, at: at); use(a, .integer, at: at)
            case .arrayLoad64, .arrayLoad8:
                use(d, .either, at: at); use(a, .integer, at: at); use(b, .integer, at: at)
            case .arrayStore64, .arrayStore8:
                use(d, .integer, at: at); use(a, .integer, at: at); use(b, .either, at: at)
            case .call, .callC:
                makesCalls = true
                minimumBase = min(minimumBase, a)
                use(d, .either, at: at)
            default:
                break
            }
            at += op.format.wordCount
        }

        var integerPool: [GPR] = [.r14, .r15]
        if !makesCalls { integerPool += [.r8, .r9, .r10, .r11, .rsi, .rdi] }
        var floatPool: [XMM] = makesCalls ? [] : (2...15).map { XMM(rawValue: UInt8($0))! }
        let candidates = (0..<min(minimumBase, frameSize))
            .filter { !mixed[$0] && weight[$0] > 0 }
            .sorted { weight[$0] > weight[$1] || (weight[$0] == weight[$1] && $0 < $1) }
        for r in candidates {
            if kind[r] == .float {
                guard !floatPool.isEmpty else { continue }
                locations[r] = .xmm(floatPool.removeFirst())
            } else {
                guard !integerPool.isEmpty else { continue }
                let g = integerPool.removeFirst()
                if g == .r14 || g == .r15 { savedGPRs.append(g) }
                locations[r] = .gpr(g)
            }
            pinned.append((r, locations[r]))
        }
    }
}

private func pow10(_ n: Int) -> Int {
    var v = 1
    for _ in 0..<n { v *= 10 }
    return v
}
