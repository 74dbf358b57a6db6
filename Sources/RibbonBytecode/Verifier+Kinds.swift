import RibbonCore

/// The second half of verification, for one function at a time: a data-flow analysis that
/// proves every register the function reads was written on every path to the read, that every
/// register an instruction dereferences holds a value of the one kind that instruction
/// expects, and that every call passes what its callee takes.
///
/// Kinds come from declarations, never from other functions' code, so each function is
/// checked alone (a lazily loaded unit checks a function when it first runs): a function's
/// parameters have its declared kinds, a call's result has its callee's declared result kind,
/// a global has the kind of its initialiser, an imported name its exporter's declared kind. So
/// every function is checked against its own signature and every call against its callee's:
/// the signatures cannot lie to anyone.
///
/// Each register at each instruction has a kind, or none (not written on some path). Where
/// paths meet: none on either side is none (reading it is an error), two different kinds are
/// a scalar (bits that nothing may dereference). Forward to a fixed point over basic blocks.
/// Cost: linear in the words for straight-line code, at most blocks × registers × 6 for any
/// code (a register's kind only moves down: kind → scalar → none). Scratch memory is reused
/// across functions and kept in raw buffers: this runs on every load of a cached unit.
struct KindCheck {
    // Register states: 0 none, 1…4 a `ValueKind`, 5 unchecked (a placeholder import's value).
    static let none: UInt8 = 0
    static let scalar = ValueKind.scalar.rawValue
    static let string = ValueKind.string.rawValue
    static let array64 = ValueKind.array64.rawValue
    static let array8 = ValueKind.array8.rawValue
    static let unchecked: UInt8 = 5
    /// A function whose blocks × registers exceed this is refused (the analysis keeps one byte
    /// per register per block: 16 MiB at most). Compiled code stays far below it.
    static let maximumStateEntries = 1 << 24

    let kinds: UnitKinds

    init(kinds: UnitKinds) {
        self.kinds = kinds
    }

    let scratch = Scratch()

    /// Why a function fails, as the loader reports it.
    struct Failure: Error {
        var word: Int
        var problem: ImageError.Problem
    }

    /// Checks one function (already through the structural check: every register, branch
    /// target and Id is in range) against its declared signature.
    func check(code: UnsafeBufferPointer<UInt64>, frameSize: Int, signature: KindSignature) throws(Failure) {
        let count = code.count
        let table = KindCheck.effects
        let current = scratch.current

        // Basic blocks: a new one starts at each branch target and after each branch or
        // terminator.
        scratch.reserve(words: count)
        let isLeader = scratch.isLeader
        var at = 0
        var blockCount = 1
        while at < count {
            let w = code[at]
            let e = table[Int(w & 0xFF)]
            let next = at + e.wordCount
            if e.isBranch {
                let target = at + Int(Int32(truncatingIfNeeded: w >> 32))
                if target > 0, !isLeader[target] {
                    isLeader[target] = true
                    blockCount += 1
                }
            }
            if e.isBranch || e.isTerminator, next < count, !isLeader[next] {
                isLeader[next] = true
                blockCount += 1
            }
            at = next
        }

        // The entry state: parameters hold their declared kinds, the rest nothing.
        for r in 0..<frameSize {
            current[r] = r < signature.parameters.count ? signature.parameters[r].rawValue : KindCheck.none
        }
        if blockCount == 1 {
            // Straight-line code, ending with its only return: one pass.
            var at = 0
            while at < count {
                let w = code[at]
                let e = table[Int(w & 0xFF)]
                try step(w, e, word: at, frameSize: frameSize, signature: signature)
                at += e.wordCount
            }
            return
        }
        guard blockCount * frameSize <= KindCheck.maximumStateEntries else {
            for i in 0..<count { isLeader[i] = false }
            throw Failure(word: 0, problem: .tooLargeToVerify(blocks: blockCount, registers: frameSize))
        }
        scratch.reserve(blocks: blockCount, stateEntries: blockCount * frameSize)
        let blockOfWord = scratch.blockOfWord
        let blockStarts = scratch.blockStarts
        let reached = scratch.reached
        let pending = scratch.pending
        let states = scratch.states
        blockOfWord[0] = 0
        blockStarts[0] = 0
        var b = 1
        for i in 1..<count where isLeader[i] {
            blockOfWord[i] = Int32(b)
            blockStarts[b] = i
            b += 1
            isLeader[i] = false
        }
        blockStarts[blockCount] = count
        for b in 0..<blockCount {
            reached[b] = false
            pending[b] = false
        }

        // Kinds, forward from the entry to a fixed point.
        states.update(from: current, count: frameSize)
        reached[0] = true
        pending[0] = true
        var anyPending = true
        while anyPending {
            anyPending = false
            for b in 0..<blockCount where pending[b] {
                pending[b] = false
                current.update(from: states + b * frameSize, count: frameSize)
                var at = blockStarts[b]
                let end = blockStarts[b + 1]
                var last = at
                while at < end {
                    let w = code[at]
                    let e = table[Int(w & 0xFF)]
                    try step(w, e, word: at, frameSize: frameSize, signature: signature)
                    last = at
                    at += e.wordCount
                }
                // Successors: the branch target, and the next block unless the last
                // instruction ends the function or always branches.
                let w = code[last]
                let e = table[Int(w & 0xFF)]
                let following = end < count && !e.isTerminator ? b + 1 : -1
                let target = e.isBranch ? Int(blockOfWord[last + Int(Int32(truncatingIfNeeded: w >> 32))]) : -1
                for k in 0..<2 {
                    let s = k == 0 ? target : following
                    guard s >= 0 else { continue }
                    // Join `current` into the successor's entry state.
                    let state = states + s * frameSize
                    var changed = false
                    if !reached[s] {
                        reached[s] = true
                        state.update(from: current, count: frameSize)
                        changed = true
                    } else {
                        for r in 0..<frameSize {
                            let old = state[r]
                            let new = current[r]
                            if old == new || old == KindCheck.none { continue }
                            let joined =
                                new == KindCheck.none ? KindCheck.none
                                : old == KindCheck.unchecked || new == KindCheck.unchecked ? KindCheck.unchecked
                                : KindCheck.scalar
                            if joined != old {
                                state[r] = joined
                                changed = true
                            }
                        }
                    }
                    if changed {
                        pending[s] = true
                        if s <= b { anyPending = true }
                    }
                }
            }
        }
    }

    /// Reads a register: it must have been written on every path here.
    @inline(__always)
    private func read(_ r: Int, _ word: Int) throws(Failure) -> UInt8 {
        let k = scratch.current[r]
        if k == KindCheck.none { throw Failure(word: word, problem: .readBeforeWritten(register: r)) }
        return k
    }

    /// Reads a register an instruction dereferences, or passes where `kind` is expected.
    @inline(__always)
    private func use(_ r: Int, as kind: ValueKind, _ word: Int, _ what: ImageError.KindUse) throws(Failure) {
        let k = try read(r, word)
        guard k == kind.rawValue || kind == .scalar || k == KindCheck.unchecked else {
            throw Failure(word: word, problem: .wrongKind(use: what, needs: kind, register: r, holds: KindCheck.held(k)))
        }
    }

    /// The kind a register that was read holds, when it is not what its use needs: never
    /// none (reading it failed first) nor unchecked (which every use accepts).
    static func held(_ k: UInt8) -> ValueKind {
        ValueKind(rawValue: k)!
    }

    /// Computation and branches (most instructions): operands read as bits, a scalar written.
    @inline(__always)
    private func plain(_ w: UInt64, _ e: OpcodeEffect, word at: Int) throws(Failure) {
        let current = scratch.current
        if e.reads != 0 {
            if e.reads & 0b0000_0100 != 0, current[Int((w >> 16) & 0xFF)] == KindCheck.none { try fail(w, 2, at) }
            if e.reads & 0b0000_1000 != 0, current[Int((w >> 24) & 0xFF)] == KindCheck.none { try fail(w, 3, at) }
            if e.reads & 0b0001_0000 != 0, current[Int((w >> 32) & 0xFF)] == KindCheck.none { try fail(w, 4, at) }
            if e.reads & 0b0010_0000 != 0, current[Int((w >> 40) & 0xFF)] == KindCheck.none { try fail(w, 5, at) }
        }
        if e.writesScalar { current[Int((w >> 16) & 0xFF)] = KindCheck.scalar }
    }

    @inline(never)
    private func fail(_ w: UInt64, _ byte: Int, _ at: Int) throws(Failure) {
        _ = try read(Int((w >> UInt64(8 * byte)) & 0xFF), at)
    }

    @inline(never)
    private func transfer(
        _ w: UInt64, _ e: OpcodeEffect, word at: Int, frameSize: Int, signature: KindSignature
    ) throws(Failure) {
        let current = scratch.current
        let d = Int((w >> 16) & 0xFF)
        let a = Int((w >> 24) & 0xFF)
        let b = Int((w >> 32) & 0xFF)
        switch e.effect {
        case .plain:
            if e.reads != 0 {
                if e.reads & 0b0000_0100 != 0 { _ = try read(d, at) }
                if e.reads & 0b0000_1000 != 0 { _ = try read(a, at) }
                if e.reads & 0b0001_0000 != 0 { _ = try read(b, at) }
                if e.reads & 0b0010_0000 != 0 { _ = try read(Int((w >> 40) & 0xFF), at) }
            }
            if e.writesScalar { current[d] = KindCheck.scalar }
        case .move:
            current[d] = try read(a, at)
        case .constAddr:
            current[d] = KindCheck.string
        case .globalGet:
            switch try entry(w, at) {
            case .global(let k): current[d] = k.rawValue
            default: current[d] = KindCheck.unchecked
            }
        case .globalSet:
            if case .global(let k) = try entry(w, at) {
                try use(d, as: k, at, .globalSet)
            } else {
                _ = try read(d, at)
            }
        case .ret:
            try use(d, as: signature.result, at, .ret)
        case .retUnit:
            // The caller's result register keeps what it held: only a scalar result may be left so.
            guard signature.result == .scalar else {
                throw Failure(word: at, problem: .retUnit(declaredResult: signature.result))
            }
        case .arrayLen:
            let k = try read(a, at)
            guard k == KindCheck.array64 || k == KindCheck.array8 || k == KindCheck.unchecked else {
                throw Failure(word: at, problem: .arrayLenNeedsArray(register: a, holds: KindCheck.held(k)))
            }
            current[d] = KindCheck.scalar
        case .load64, .load8:
            try use(a, as: e.effect == .load64 ? .array64 : .array8, at, .arrayLoad)
            _ = try read(b, at)
            current[d] = KindCheck.scalar
        case .store64, .store8:
            try use(d, as: e.effect == .store64 ? .array64 : .array8, at, .arrayStore)
            _ = try read(a, at)
            _ = try read(b, at)
        case .call:
            try call(w, word: at, frameSize: frameSize)
        }
    }

    /// One instruction's effect on the register kinds: most only read and write registers
    /// (`plain`); the rest need more (`transfer`).
    @inline(__always)
    private func step(
        _ w: UInt64, _ e: OpcodeEffect, word at: Int, frameSize: Int, signature: KindSignature
    ) throws(Failure) {
        if e.effect == .plain {
            try plain(w, e, word: at)
        } else {
            try transfer(w, e, word: at, frameSize: frameSize, signature: signature)
        }
    }

    /// What the Id in `w`'s top 32 bits is (worked out on first use, `UnitKinds.entry`).
    private func entry(_ w: UInt64, _ at: Int) throws(Failure) -> UnitKinds.Entry {
        do {
            return try kinds.entry(Int(w >> 32))
        } catch {
            throw Failure(word: at, problem: .badId(w >> 32, error))
        }
    }

    /// `call`/`call_c d, base, #id`: the callee's frame starts at `base`, its parameters are the
    /// caller's `base…`: they must lie inside the caller's frame, be written, and have the
    /// callee's parameter kinds (a scalar parameter takes any bits). Afterwards every register
    /// from `base` up may have been overwritten, and `d` holds the result.
    private func call(_ w: UInt64, word at: Int, frameSize: Int) throws(Failure) {
        let current = scratch.current
        let d = Int((w >> 16) & 0xFF)
        let base = Int((w >> 24) & 0xFF)
        let result: UInt8
        switch try entry(w, at) {
        case .callee(let signature):
            let count = signature.parameters.count
            guard base + count <= frameSize else {
                throw Failure(word: at, problem: .argumentsOutsideFrame(count: count, base: base, frameSize: frameSize))
            }
            for (i, kind) in signature.parameters.enumerated() {
                try use(base + i, as: kind, at, .argument(i))
            }
            result = signature.result.rawValue
        case .unchecked:
            result = KindCheck.unchecked
        default:  // a builtin the verifier does not know
            result = KindCheck.scalar
        }
        for r in base..<frameSize { current[r] = KindCheck.none }
        current[d] = result
    }
}
