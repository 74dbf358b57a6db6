import RibbonCore

/// The kind check's per-opcode table (what each instruction does to register kinds) and the
/// scratch memory it reuses from function to function: the data the analysis in
/// `Verifier+Kinds.swift` runs on, apart from the analysis itself.
extension KindCheck {
    /// What an instruction does to registers, as far as the kind check cares.
    enum Effect: UInt8 {
        /// Reads the registers of `reads` as bits; writes a scalar to byte 2 if `writesScalar`.
        case plain
        case move, constAddr, globalGet, globalSet, ret, retUnit, arrayLen, load64, load8, store64, store8, call
    }

    /// Per opcode number: how long it is, whether it branches or ends a block, and its effect.
    struct OpcodeEffect {
        var wordCount = 1
        var isBranch = false
        var isTerminator = false
        var effect = Effect.plain
        /// Bit i: byte i (2…5) names a register read as plain bits.
        var reads: UInt8 = 0
        var writesScalar = false
    }

    /// Indexed by the opcode byte, without a bounds check (memory that is never freed).
    static let effects: UnsafePointer<OpcodeEffect> = {
        let table = UnsafeMutablePointer<OpcodeEffect>.allocate(capacity: 256)
        table.initialize(repeating: OpcodeEffect(), count: 256)
        for number in 0..<Int(Opcode.numberLimit) {
            guard let op = Opcode(rawValue: UInt16(number)) else { continue }
            var e = OpcodeEffect()
            e.wordCount = op.format.wordCount
            e.isBranch = op.format.hasBranchOffset
            e.isTerminator = op.isTerminator
            func bytes(_ list: [Int]) -> UInt8 { list.reduce(0) { $0 | UInt8(1) << UInt8($1) } }
            switch op {
            case .mov: e.effect = .move
            case .constAddr: e.effect = .constAddr
            case .globalGet: e.effect = .globalGet
            case .globalSet: e.effect = .globalSet
            case .ret: e.effect = .ret
            case .retUnit: e.effect = .retUnit
            case .arrayLen: e.effect = .arrayLen
            case .arrayLoad64: e.effect = .load64
            case .arrayLoad8: e.effect = .load8
            case .arrayStore64: e.effect = .store64
            case .arrayStore8: e.effect = .store8
            case .call, .callC: e.effect = .call
            default:
                switch op.format {
                case .none, .o32: break
                case .ri32, .rx64: e.writesScalar = true
                case .rr, .rri32: (e.reads, e.writesScalar) = (bytes([3]), true)
                case .rrr: (e.reads, e.writesScalar) = (bytes([3, 4]), true)
                case .rrrr: (e.reads, e.writesScalar) = (bytes([3, 4, 5]), true)
                case .ro32, .ri8o32: e.reads = bytes([2])
                case .rro32: e.reads = bytes([2, 3])
                case .r, .rid, .call: break  // all named above
                }
            }
            table[number] = e
        }
        return UnsafePointer(table)
    }()

    /// Scratch memory, grown as needed and reused from function to function. A class so that
    /// copies of the verifier share it, freed with the last of them.
    final class Scratch {
        var words = 0
        var isLeader = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        var blockOfWord = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        var blocks = 0
        var blockStarts = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        var reached = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        var pending = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        var stateEntries = 0
        var states = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        /// The kinds of the registers at the instruction being checked.
        let current = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)

        /// Room for a function of `words` words, all leaders false.
        func reserve(words needed: Int) {
            guard needed > words else { return }
            let n = max(needed, 2 * words)
            isLeader.deallocate()
            blockOfWord.deallocate()
            isLeader = .allocate(capacity: n + 1)
            isLeader.initialize(repeating: false, count: n + 1)
            blockOfWord = .allocate(capacity: n + 1)
            words = n
        }

        func reserve(blocks needed: Int, stateEntries neededStates: Int) {
            if needed > blocks {
                let n = max(needed, 2 * blocks)
                blockStarts.deallocate()
                reached.deallocate()
                pending.deallocate()
                blockStarts = .allocate(capacity: n + 1)
                reached = .allocate(capacity: n)
                pending = .allocate(capacity: n)
                blocks = n
            }
            if neededStates > stateEntries {
                let n = max(neededStates, 2 * stateEntries)
                states.deallocate()
                states = .allocate(capacity: n)
                stateEntries = n
            }
        }

        deinit {
            isLeader.deallocate()
            blockOfWord.deallocate()
            blockStarts.deallocate()
            reached.deallocate()
            pending.deallocate()
            states.deallocate()
            current.deallocate()
        }
    }
}
