import RibbonCore

/// A branch target inside one function, bound to a word index once known.
public struct Label: Hashable, Sendable {
    let index: Int
}

/// Unencoded instructions of one function: words, labels and the fixups that wait for them.
///
/// Lowering emits straight-line words; a branch to a label that is not yet bound records a
/// fixup which `finish()` patches with the word offset (relative to the branch itself).
public struct FunctionBuilder: Sendable {
    public private(set) var words: [UInt64] = []
    private var labelPositions: [Int?] = []
    private var fixups: [(word: Int, label: Label)] = []
    /// (word index, source line), appended when the line changes.
    public private(set) var lineTable: [(word: UInt32, line: UInt32)] = []

    public init() {}

    /// Empties the builder for the next function, keeping its storage: lowering reuses one
    /// builder for every function instead of allocating four arrays per function.
    public mutating func reset() {
        words.removeAll(keepingCapacity: true)
        labelPositions.removeAll(keepingCapacity: true)
        fixups.removeAll(keepingCapacity: true)
        lineTable.removeAll(keepingCapacity: true)
    }

    /// Index of the next word to be emitted.
    public var position: Int { words.count }

    public mutating func makeLabel() -> Label {
        labelPositions.append(nil)
        return Label(index: labelPositions.count - 1)
    }

    public mutating func bind(_ label: Label) {
        precondition(labelPositions[label.index] == nil, "label bound twice")
        labelPositions[label.index] = words.count
    }

    public func isBound(_ label: Label) -> Bool { labelPositions[label.index] != nil }

    /// Records that the following words come from `line`.
    public mutating func mark(line: Int) {
        let l = UInt32(clamping: line)
        if let last = lineTable.last {
            if last.line == l { return }
            if last.word == UInt32(words.count) {
                lineTable[lineTable.count - 1].line = l
                return
            }
        }
        lineTable.append((UInt32(words.count), l))
    }

    // MARK: Emitting, one helper per operand format

    public mutating func emit(_ op: Opcode) {
        assert(op.format == .none)
        words.append(InstructionWord.encode(op))
    }

    public mutating func emit(_ op: Opcode, _ a: Register) {
        assert(op.format == .r)
        words.append(InstructionWord.encode(op, a))
    }

    public mutating func emit(_ op: Opcode, _ d: Register, _ a: Register) {
        assert(op.format == .rr)
        words.append(InstructionWord.encode(op, d, a))
    }

    public mutating func emit(_ op: Opcode, _ d: Register, _ a: Register, _ b: Register) {
        assert(op.format == .rrr)
        words.append(InstructionWord.encode(op, d, a, b))
    }

    /// `rrrr` (`f_mul_add64`, `f_mul_sub64`).
    public mutating func emit(_ op: Opcode, _ d: Register, _ a: Register, _ b: Register, _ c: Register) {
        assert(op.format == .rrrr)
        words.append(InstructionWord.encode(op, d, a, b, c))
    }

    /// `ri32` (`const_i32`).
    public mutating func emit(_ op: Opcode, _ d: Register, imm: Int32) {
        assert(op.format == .ri32)
        words.append(InstructionWord.encode(op, d, high32: UInt32(bitPattern: imm)))
    }

    /// `rri32` (`i_add64_imm`, …).
    public mutating func emit(_ op: Opcode, _ d: Register, _ a: Register, imm: Int32) {
        assert(op.format == .rri32)
        words.append(InstructionWord.encode(op, d, a, high32: UInt32(bitPattern: imm)))
    }

    /// `rx64` (`const64`): two words.
    public mutating func emit(_ op: Opcode, _ d: Register, imm64: UInt64) {
        assert(op.format == .rx64)
        words.append(InstructionWord.encode(op, d))
        words.append(imm64)
    }

    /// `rid` (`global_get`, `global_set`, `const_addr`).
    public mutating func emit(_ op: Opcode, _ r: Register, id: UInt32) {
        assert(op.format == .rid)
        words.append(InstructionWord.encode(op, r, high32: id))
    }

    /// `call` (`call`, `call_c`).
    public mutating func emitCall(_ op: Opcode, result d: Register, base: Register, id: UInt32) {
        assert(op.format == .call)
        words.append(InstructionWord.encode(op, d, base, high32: id))
    }

    /// Any branch: `o32`, `ro32`, `rro32` (a, b) or `ri8o32` (a, imm8 in `b`).
    public mutating func emitBranch(_ op: Opcode, _ a: Register = 0, _ b: UInt8 = 0, to label: Label) {
        assert(op.format.hasBranchOffset)
        let at = words.count
        if let target = labelPositions[label.index] {
            words.append(InstructionWord.encode(op, a, b, high32: UInt32(bitPattern: Int32(target - at))))
        } else {
            words.append(InstructionWord.encode(op, a, b))
            fixups.append((at, label))
        }
    }

    /// Patches every forward branch. Every label used must be bound by now.
    public mutating func finish() {
        for (at, label) in fixups {
            guard let target = labelPositions[label.index] else {
                preconditionFailure("branch to a label that was never bound")
            }
            words[at] |= UInt64(UInt32(bitPattern: Int32(target - at))) << 32
        }
        fixups.removeAll()
    }
}
