import RibbonCore

/// Checks one function's instruction words before anything runs them.
///
/// After `verify` succeeds the interpreter can trust every word: each opcode is defined, each
/// register operand is inside the frame, each branch lands on an instruction boundary inside
/// the function, each Id names an entry of the right kind, and control cannot run off the end.
/// This is what makes a damaged or hostile unit image a load error instead of a memory error.
enum Verifier {
    static func verify(
        code: UnsafeBufferPointer<UInt64>, frameSize: Int, entryKinds: [AddressTableEntryKind],
        functionName: String
    ) throws(ImageError) {
        func fail(_ at: Int, _ why: String) -> ImageError {
            .malformed("function `\(functionName)`, word \(at): \(why)")
        }
        let count = code.count
        guard count > 0 else { throw fail(0, "empty function") }
        // Pass 1: instruction starts.
        var isStart = [Bool](repeating: false, count: count)
        var at = 0
        var lastStart = 0
        while at < count {
            let number = InstructionWord.opcodeNumber(code[at])
            guard number < Opcode.numberLimit, let op = Opcode(rawValue: number), !op.isInternal else {
                throw fail(at, "undefined opcode \(number)")
            }
            isStart[at] = true
            lastStart = at
            at += op.format.wordCount
            guard at <= count else { throw fail(lastStart, "immediate word missing") }
        }
        guard Opcode(rawValue: InstructionWord.opcodeNumber(code[lastStart]))!.isTerminator else {
            throw fail(lastStart, "the last instruction does not end the function")
        }
        // Pass 2: operands.
        at = 0
        while at < count {
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            func reg(_ index: Int) throws(ImageError) {
                guard InstructionWord.byte(w, index) < frameSize else {
                    throw fail(at, "register r\(InstructionWord.byte(w, index)) outside a frame of \(frameSize)")
                }
            }
            switch op.format {
            case .none, .o32: break
            case .r, .ro32, .ri8o32, .ri32, .rx64, .rid: try reg(2)
            case .rr, .rri32, .rro32, .call:
                try reg(2)
                try reg(3)
            case .rrr:
                try reg(2)
                try reg(3)
                try reg(4)
            case .rrrr:
                try reg(2)
                try reg(3)
                try reg(4)
                try reg(5)
            }
            if op.format.hasBranchOffset {
                let target = at + Int(InstructionWord.int32(w))
                guard target >= 0, target < count, isStart[target] else {
                    throw fail(at, "branch target \(target) is not an instruction")
                }
            }
            if op.format.hasId {
                let id = InstructionWord.id(w)
                guard id < entryKinds.count else { throw fail(at, "Id \(id) out of range") }
                let kind = entryKinds[id]
                let fits: Bool
                switch op {
                case .call: fits = kind == .function || kind == .builtin || kind == .imported
                case .callC: fits = kind == .foreign
                case .globalGet, .globalSet: fits = kind == .global || kind == .imported
                case .constAddr: fits = kind == .constant
                default: fits = false
                }
                guard fits else { throw fail(at, "\(op.name) cannot use Id \(id) of kind \(kind)") }
            }
            at += op.format.wordCount
        }
    }
}
