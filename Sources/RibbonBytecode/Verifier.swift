import RibbonCore

/// Checks one function's instruction words before anything runs them.
///
/// After `verify` succeeds the interpreter can trust every word: each opcode is defined, each
/// register operand is inside the frame, each branch lands on an instruction boundary inside
/// the function, each Id names an entry of the right kind, and control cannot run off the end.
/// This is what makes a damaged or hostile unit image a load error instead of a memory error.
struct Verifier {
    /// What the verifier needs of each opcode number, precomputed from the ISA table so that
    /// checking a word is a table load and a few compares (a large unit has ~350k words).
    struct OpcodeInfo {
        var valid = false
        var wordCount = 1
        /// 0xFF in each byte of the word that is a register operand.
        var registerMask: UInt64 = 0
        var hasBranch = false
        var isTerminator = false
        /// Bit k set: an Id operand may name an entry of kind raw value k (0: no Id operand).
        var allowedKinds: UInt16 = 0
        /// The bits of the word no operand uses: they must be 0, so that every reader of a
        /// word (interpreter, JIT, disassembler) sees the same instruction.
        var unusedBits: UInt64 = 0
    }

    /// Bits of a word that `format` leaves unused (bytes 2-7 that hold no operand).
    static func unusedBits(_ format: OperandFormat) -> UInt64 {
        let used: [Int]
        switch format {
        case .none: used = []
        case .r, .rx64: used = [2]
        case .rr: used = [2, 3]
        case .rrr: used = [2, 3, 4]
        case .rrrr: used = [2, 3, 4, 5]
        case .ri32, .ro32, .rid: used = [2, 4, 5, 6, 7]
        case .rri32, .rro32, .ri8o32, .call: used = [2, 3, 4, 5, 6, 7]
        case .o32: used = [4, 5, 6, 7]
        }
        var mask: UInt64 = 0
        for byte in 2...7 where !used.contains(byte) { mask |= UInt64(0xFF) << UInt64(8 * byte) }
        return mask
    }

    static let table: [OpcodeInfo] = (0..<Int(Opcode.numberLimit)).map { number in
        guard let op = Opcode(rawValue: UInt16(number)), !op.isInternal else { return OpcodeInfo() }
        var info = OpcodeInfo(valid: true, wordCount: op.format.wordCount)
        info.unusedBits = unusedBits(op.format)
        let registers: [Int]
        switch op.format {
        case .none, .o32: registers = []
        case .r, .ro32, .ri8o32, .ri32, .rx64, .rid: registers = [2]
        case .rr, .rri32, .rro32, .call: registers = [2, 3]
        case .rrr: registers = [2, 3, 4]
        case .rrrr: registers = [2, 3, 4, 5]
        }
        for r in registers { info.registerMask |= UInt64(0xFF) << UInt64(8 * r) }
        info.hasBranch = op.format.hasBranchOffset
        info.isTerminator = op.isTerminator
        if op.format.hasId {
            let kinds: [AddressTableEntryKind]
            switch op {
            case .call: kinds = [.function, .builtin, .imported]
            case .callC: kinds = [.foreign]
            case .globalGet, .globalSet: kinds = [.global, .imported]
            case .constAddr: kinds = [.constant]
            default: kinds = []
            }
            for k in kinds { info.allowedKinds |= UInt16(1) << UInt16(k.rawValue) }
            if info.allowedKinds == 0 { info.valid = false }  // an Id operand no kind fits
        }
        return info
    }

    let entryKinds: [UInt8]
    /// Instruction starts of the function being checked (reused: one allocation per unit).
    private var isStart: [Bool] = []
    /// The second half: kinds (`Verifier+Kinds.swift`); nil checks only the structure.
    let kindCheck: KindCheck?

    init(entryKinds: [AddressTableEntryKind], kinds: UnitKinds? = nil) {
        self.entryKinds = entryKinds.map(\.rawValue)
        kindCheck = kinds.map(KindCheck.init(kinds:))
    }

    /// Checks one function: its structure, then (with `kinds` and the function's declared
    /// `signature`) what its registers hold. On failure, names the word and the reason.
    mutating func verify(
        code: UnsafeBufferPointer<UInt64>, frameSize: Int, functionName: @autoclosure () -> String,
        signature: KindSignature? = nil
    ) throws(ImageError) {
        if !check(code: code, frameSize: frameSize) {
            try Verifier.verify(
                code: code, frameSize: frameSize, entryKinds: entryKinds.map { AddressTableEntryKind(rawValue: $0)! },
                functionName: functionName())
            throw .malformed(.failedVerification(function: functionName()))  // (the detailed check agrees)
        }
        if let kindCheck, let signature {
            do {
                try kindCheck.check(code: code, frameSize: frameSize, signature: signature)
            } catch {
                throw .malformed(.rejectedWord(function: functionName(), word: error.word, error.problem))
            }
        }
    }

    /// The fast check: true when every word is fine.
    private mutating func check(code: UnsafeBufferPointer<UInt64>, frameSize: Int) -> Bool {
        let count = code.count
        guard count > 0 else { return false }
        if isStart.count < count { isStart = [Bool](repeating: false, count: max(count, 2 * isStart.count)) }
        let table = Verifier.table
        return table.withUnsafeBufferPointer { table in
            isStart.withUnsafeMutableBufferPointer { isStart in
                // Pass 1: opcodes, registers, Ids; instruction starts.
                var at = 0
                var last = 0
                var branches = false
                while at < count {
                    let w = code[at]
                    let number = Int(UInt16(truncatingIfNeeded: w))
                    guard number < table.count else { return false }
                    let info = table[number]
                    guard info.valid, w & info.unusedBits == 0 else { return false }
                    if info.registerMask != 0 {
                        // Register operands sit in bytes 2-5; the others are masked to zero,
                        // so the largest byte is the largest register (branch-free).
                        let r = w & info.registerMask
                        let m = max(max((r >> 16) & 0xFF, (r >> 24) & 0xFF), max((r >> 32) & 0xFF, (r >> 40) & 0xFF))
                        guard Int(m) < frameSize else { return false }
                    }
                    if info.allowedKinds != 0 {
                        let id = Int(w >> 32)
                        guard id < entryKinds.count, info.allowedKinds & (UInt16(1) << UInt16(entryKinds[id])) != 0 else {
                            return false
                        }
                    }
                    branches = branches || info.hasBranch
                    isStart[at] = true
                    last = at
                    at += info.wordCount
                    if info.wordCount == 2, at <= count { isStart[at - 1] = false }
                }
                guard at == count, table[Int(UInt16(truncatingIfNeeded: code[last]))].isTerminator else { return false }
                // Pass 2: branch targets land on instruction starts.
                var ok = true
                if branches {
                    at = 0
                    while at < count {
                        let w = code[at]
                        let info = table[Int(UInt16(truncatingIfNeeded: w))]
                        if info.hasBranch {
                            let target = at + Int(Int32(truncatingIfNeeded: w >> 32))
                            if target < 0 || target >= count || !isStart[target] {
                                ok = false
                                break
                            }
                        }
                        at += info.wordCount
                    }
                }
                // Leave the buffer all false for the next function.
                for i in 0..<count { isStart[i] = false }
                return ok
            }
        }
    }

    static func verify(
        code: UnsafeBufferPointer<UInt64>, frameSize: Int, entryKinds: [AddressTableEntryKind],
        functionName: String
    ) throws(ImageError) {
        func fail(_ at: Int, _ why: ImageError.Problem) -> ImageError {
            .malformed(.rejectedWord(function: functionName, word: at, why))
        }
        let count = code.count
        guard count > 0 else { throw fail(0, .emptyFunction) }
        // Pass 1: instruction starts.
        var isStart = [Bool](repeating: false, count: count)
        var at = 0
        var lastStart = 0
        while at < count {
            let number = InstructionWord.opcodeNumber(code[at])
            guard number < Opcode.numberLimit, let op = Opcode(rawValue: number), !op.isInternal else {
                throw fail(at, .undefinedOpcode(number))
            }
            guard code[at] & unusedBits(op.format) == 0 else {
                throw fail(at, .bitsOutsideOperands(op))
            }
            isStart[at] = true
            lastStart = at
            at += op.format.wordCount
            guard at <= count else { throw fail(lastStart, .immediateMissing) }
        }
        guard Opcode(rawValue: InstructionWord.opcodeNumber(code[lastStart]))!.isTerminator else {
            throw fail(lastStart, .noTerminator)
        }
        // Pass 2: operands.
        at = 0
        while at < count {
            let w = code[at]
            let op = Opcode(rawValue: InstructionWord.opcodeNumber(w))!
            func reg(_ index: Int) throws(ImageError) {
                guard InstructionWord.byte(w, index) < frameSize else {
                    throw fail(at, .registerOutsideFrame(register: Int(InstructionWord.byte(w, index)), frameSize: frameSize))
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
                    throw fail(at, .branchTargetNotInstruction(target: target))
                }
            }
            if op.format.hasId {
                let id = InstructionWord.id(w)
                guard id < entryKinds.count else { throw fail(at, .idOutOfRange(id: id)) }
                let kind = entryKinds[id]
                let fits: Bool
                switch op {
                case .call: fits = kind == .function || kind == .builtin || kind == .imported
                case .callC: fits = kind == .foreign
                case .globalGet, .globalSet: fits = kind == .global || kind == .imported
                case .constAddr: fits = kind == .constant
                default: fits = false
                }
                guard fits else { throw fail(at, .idOfWrongKind(op, id: id, kind: kind)) }
            }
            at += op.format.wordCount
        }
    }
}
