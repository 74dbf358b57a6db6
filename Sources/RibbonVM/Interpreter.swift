import CRibbonABI
import RibbonBytecode
import RibbonCore

/// Register access within a frame: `fp[r]` is register `r`.
typealias Frame = UnsafeMutablePointer<UInt64>
/// The program counter: the current instruction word.
typealias PC = UnsafePointer<UInt64>

extension Opcode {
    /// The opcode of a verified instruction word, without a range check.
    ///
    /// `Opcode`'s numbers are dense, so its in-memory tag equals the number; the verifier has
    /// checked the number is below `numberLimit`.
    @inline(__always)
    static func decodeVerified(_ word: UInt64) -> Opcode {
        unsafeBitCast(UInt8(truncatingIfNeeded: word), to: Opcode.self)
    }
}

/// Register index in byte `i` of word `w`.
@inline(__always) private func r(_ w: UInt64, _ i: UInt64) -> Int { Int(truncatingIfNeeded: (w >> (i &* 8)) & 0xFF) }
/// Signed 32-bit field of bytes 4–7.
@inline(__always) private func imm32(_ w: UInt64) -> Int { Int(Int32(truncatingIfNeeded: w >> 32)) }
/// Signed 8-bit field of byte 3.
@inline(__always) private func imm8(_ w: UInt64) -> Int64 { Int64(Int8(truncatingIfNeeded: w >> 24)) }
@inline(__always) private func f64(_ bits: UInt64) -> Double { Double(bitPattern: bits) }
@inline(__always) private func i64(_ bits: UInt64) -> Int64 { Int64(bitPattern: bits) }
@inline(__always) private func bits(_ v: Double) -> UInt64 { v.bitPattern }
@inline(__always) private func bits(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) }
@inline(__always) private func bits(_ v: Bool) -> UInt64 { v ? 1 : 0 }
/// First instruction word of a bytecode function.
@inline(__always) private func codeStart(_ f: UnsafeMutablePointer<FunctionHeader>) -> PC {
    UnsafeRawPointer(f).advanced(by: MemoryLayout<FunctionHeader>.stride).assumingMemoryBound(to: UInt64.self)
}

extension Fiber {
    /// The dispatch loop.
    ///
    /// All state it touches per instruction is in locals — `pc`, `fp`, the current function and
    /// its AddressTable, the call-stack pointer — so the optimizer keeps them in machine
    /// registers; nothing in the loop retains, releases or calls through an existential. The
    /// `switch` over `Opcode` compiles to one jump table.
    ///
    /// It has the builtin ABI's contract, so native code can call it for a bytecode callee: the
    /// arguments are in `frame[0...]`, the result goes to `frame[0]`, and it returns
    /// `RibbonSignalTrap` after a runtime error, with the trap described in the header and
    /// every call record it pushed left on the stack (see `RibbonFiberHeader.trapFunction`).
    /// Calls from native code into bytecode re-enter here, pushing above the native frames.
    func interpret(entry: UnsafeMutablePointer<FunctionHeader>, frame: Frame) -> BuiltinSignal {
        let header = self.header
        let stackLimit = UnsafeMutablePointer<UInt64>(header.pointee.stackLimit!)
        let entryCSP = header.pointee.callStackTop!
        let cspLimit = header.pointee.callStackLimit!
        var csp = entryCSP
        var current = entry
        var table = UnsafePointer<UInt64>(current.pointee.addressTable!)
        var fp = frame
        var pc = codeStart(current)
        let threshold = tierUpThreshold
        // Loop back-edges left before the function running a loop counts as hot. A local, so
        // counting costs a register decrement per iteration, not a memory update.
        var fuel = threshold

        if fp + Int(current.pointee.frameSize) > stackLimit {
            return trap(.stackOverflow, 0, 0, pc, current, csp)
        }

        while true {
            let w = pc.pointee
            switch Opcode.decodeVerified(w) {
            case .nop, .jitLoopHeader, .jitCold:
                pc += 1
            case .mov:
                fp[r(w, 2)] = fp[r(w, 3)]
                pc += 1
            case .constI32:
                fp[r(w, 2)] = bits(Int64(imm32(w)))
                pc += 1
            case .const64:
                fp[r(w, 2)] = pc[1]
                pc += 2

            // I64 arithmetic
            case .iAdd64:
                fp[r(w, 2)] = fp[r(w, 3)] &+ fp[r(w, 4)]
                pc += 1
            case .iSub64:
                fp[r(w, 2)] = fp[r(w, 3)] &- fp[r(w, 4)]
                pc += 1
            case .iMul64:
                fp[r(w, 2)] = fp[r(w, 3)] &* fp[r(w, 4)]
                pc += 1
            case .sDiv64:
                let b = i64(fp[r(w, 4)])
                if b == 0 { return trap(.divisionByZero, 0, 0, pc, current, csp) }
                let a = i64(fp[r(w, 3)])
                fp[r(w, 2)] = bits(b == -1 ? 0 &- a : a / b)
                pc += 1
            case .sRem64:
                let b = i64(fp[r(w, 4)])
                if b == 0 { return trap(.divisionByZero, 0, 0, pc, current, csp) }
                let a = i64(fp[r(w, 3)])
                fp[r(w, 2)] = bits(b == -1 ? 0 : a % b)
                pc += 1
            case .iAnd64:
                fp[r(w, 2)] = fp[r(w, 3)] & fp[r(w, 4)]
                pc += 1
            case .iOr64:
                fp[r(w, 2)] = fp[r(w, 3)] | fp[r(w, 4)]
                pc += 1
            case .iXor64:
                fp[r(w, 2)] = fp[r(w, 3)] ^ fp[r(w, 4)]
                pc += 1
            case .iShl64:
                fp[r(w, 2)] = fp[r(w, 3)] &<< (fp[r(w, 4)] & 63)
                pc += 1
            case .sShr64:
                fp[r(w, 2)] = bits(i64(fp[r(w, 3)]) &>> i64(fp[r(w, 4)] & 63))
                pc += 1
            case .iNeg64:
                fp[r(w, 2)] = 0 &- fp[r(w, 3)]
                pc += 1
            case .iAbs64:
                let a = i64(fp[r(w, 3)])
                fp[r(w, 2)] = bits(a < 0 ? 0 &- a : a)
                pc += 1
            case .iAdd64Imm:
                fp[r(w, 2)] = fp[r(w, 3)] &+ bits(Int64(imm32(w)))
                pc += 1
            case .iMul64Imm:
                fp[r(w, 2)] = fp[r(w, 3)] &* bits(Int64(imm32(w)))
                pc += 1

            // F64 arithmetic
            case .fAdd64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) + f64(fp[r(w, 4)]))
                pc += 1
            case .fSub64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) - f64(fp[r(w, 4)]))
                pc += 1
            case .fMul64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) * f64(fp[r(w, 4)]))
                pc += 1
            case .fDiv64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) / f64(fp[r(w, 4)]))
                pc += 1
            case .fMulAdd64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) * f64(fp[r(w, 4)]) + f64(fp[r(w, 5)]))
                pc += 1
            case .fMulSub64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) * f64(fp[r(w, 4)]) - f64(fp[r(w, 5)]))
                pc += 1
            case .fNeg64:
                fp[r(w, 2)] = bits(-f64(fp[r(w, 3)]))
                pc += 1
            case .fSqrt64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]).squareRoot())
                pc += 1
            case .fFloor64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]).rounded(.down))
                pc += 1
            case .fAbs64:
                fp[r(w, 2)] = bits(abs(f64(fp[r(w, 3)])))
                pc += 1

            // Conversions
            case .sToF64:
                fp[r(w, 2)] = bits(Double(i64(fp[r(w, 3)])))
                pc += 1
            case .fToS64:
                let v = f64(fp[r(w, 3)])
                // In range exactly when -2^63 <= v < 2^63; NaN fails both comparisons.
                guard v >= -9_223_372_036_854_775_808.0, v < 9_223_372_036_854_775_808.0 else {
                    return trap(.cannotConvertToI64, i64(v.bitPattern), 0, pc, current, csp)
                }
                fp[r(w, 2)] = bits(Int64(v))
                pc += 1

            // Comparisons
            case .iEq64:
                fp[r(w, 2)] = bits(fp[r(w, 3)] == fp[r(w, 4)])
                pc += 1
            case .iNe64:
                fp[r(w, 2)] = bits(fp[r(w, 3)] != fp[r(w, 4)])
                pc += 1
            case .sLt64:
                fp[r(w, 2)] = bits(i64(fp[r(w, 3)]) < i64(fp[r(w, 4)]))
                pc += 1
            case .sLe64:
                fp[r(w, 2)] = bits(i64(fp[r(w, 3)]) <= i64(fp[r(w, 4)]))
                pc += 1
            case .fEq64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) == f64(fp[r(w, 4)]))
                pc += 1
            case .fNe64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) != f64(fp[r(w, 4)]))
                pc += 1
            case .fLt64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) < f64(fp[r(w, 4)]))
                pc += 1
            case .fLe64:
                fp[r(w, 2)] = bits(f64(fp[r(w, 3)]) <= f64(fp[r(w, 4)]))
                pc += 1
            case .bNot:
                fp[r(w, 2)] = fp[r(w, 3)] ^ 1
                pc += 1

            // Branches
            case .br:
                pc += taken(imm32(w), pc, current, &fuel, threshold)
            case .brIf:
                pc += fp[r(w, 2)] != 0 ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brIfnot:
                pc += fp[r(w, 2)] == 0 ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brIEq64:
                pc += fp[r(w, 2)] == fp[r(w, 3)] ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brINe64:
                pc += fp[r(w, 2)] != fp[r(w, 3)] ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSLt64:
                pc += i64(fp[r(w, 2)]) < i64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSLe64:
                pc += i64(fp[r(w, 2)]) <= i64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brIEq64Imm:
                pc += i64(fp[r(w, 2)]) == imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brINe64Imm:
                pc += i64(fp[r(w, 2)]) != imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSLt64Imm:
                pc += i64(fp[r(w, 2)]) < imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSLe64Imm:
                pc += i64(fp[r(w, 2)]) <= imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSGt64Imm:
                pc += i64(fp[r(w, 2)]) > imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brSGe64Imm:
                pc += i64(fp[r(w, 2)]) >= imm8(w) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFLt64:
                pc += f64(fp[r(w, 2)]) < f64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFLe64:
                pc += f64(fp[r(w, 2)]) <= f64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFNlt64:
                pc += !(f64(fp[r(w, 2)]) < f64(fp[r(w, 3)])) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFNle64:
                pc += !(f64(fp[r(w, 2)]) <= f64(fp[r(w, 3)])) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFEq64:
                pc += f64(fp[r(w, 2)]) == f64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1
            case .brFNe64:
                pc += f64(fp[r(w, 2)]) != f64(fp[r(w, 3)]) ? taken(imm32(w), pc, current, &fuel, threshold) : 1

            // Calls
            case .call:
                let entry = table[Int(truncatingIfNeeded: w >> 32)]
                let base = fp + r(w, 3)
                if entry & bytecodeEntryTag != 0 {
                    // Bytecode callee: push the caller, switch frame, function and table.
                    let callee = UnsafeMutablePointer<FunctionHeader>(bitPattern: UInt(entry & ~bytecodeEntryTag))!
                    let hotness = callee.pointee.hotness &+ 1
                    callee.pointee.hotness = hotness
                    if hotness == threshold { reportHot(callee) }
                    if csp == cspLimit || base + Int(callee.pointee.frameSize) > stackLimit {
                        return callOverflow(callee, cspLimit, pc, fp, current, csp)
                    }
                    csp.initialize(to: CallRecord(callPC: pc, frame: fp, function: current))
                    csp += 1
                    fp = base
                    current = callee
                    table = UnsafePointer(callee.pointee.addressTable!)
                    pc = codeStart(callee)
                } else {
                    // Native callee (builtin, glue or JIT code): the builtin ABI. The caller is
                    // recorded like for a bytecode call, so native frames above it can trap
                    // with a full backtrace and count towards the depth limit.
                    if csp == cspLimit { return trap(.stackOverflow, 0, 0, pc, current, csp) }
                    csp.initialize(to: CallRecord(callPC: pc, frame: fp, function: current))
                    header.pointee.frame = base
                    header.pointee.callStackTop = csp + 1
                    let native = unsafeBitCast(UInt(entry), to: BuiltinFunction.self)
                    if native(header) != RibbonSignalReturn {
                        if header.pointee.trapFunction == nil {
                            // A builtin trapped: this call is the innermost location.
                            header.pointee.trapFunction = current
                            header.pointee.trapPC = pc
                            header.pointee.callStackTop = csp
                        }
                        return RibbonSignalTrap
                    }
                    fp[r(w, 2)] = base[0]
                    pc += 1
                }
            case .callC:
                // A foreign function's slot holds its System V glue (or a stub that traps):
                // a native callee with the builtin ABI like any other.
                let base = fp + r(w, 3)
                if csp == cspLimit { return trap(.stackOverflow, 0, 0, pc, current, csp) }
                csp.initialize(to: CallRecord(callPC: pc, frame: fp, function: current))
                header.pointee.frame = base
                header.pointee.callStackTop = csp + 1
                let glue = unsafeBitCast(UInt(table[Int(truncatingIfNeeded: w >> 32)]), to: BuiltinFunction.self)
                if glue(header) != RibbonSignalReturn {
                    header.pointee.trapFunction = current
                    header.pointee.trapPC = pc
                    header.pointee.callStackTop = csp
                    return RibbonSignalTrap
                }
                header.pointee.callStackTop = csp
                fp[r(w, 2)] = base[0]
                pc += 1
            case .ret:
                let value = fp[r(w, 2)]
                if csp == entryCSP {
                    fp[0] = value
                    // A native caller pops its own record relative to this: leave the top as
                    // found (a native call in between moved it).
                    header.pointee.callStackTop = entryCSP
                    return RibbonSignalReturn
                }
                csp -= 1
                let caller = csp.pointee
                fp = caller.frame
                current = caller.function
                table = UnsafePointer(current.pointee.addressTable!)
                fp[r(caller.callPC.pointee, 2)] = value
                pc = caller.callPC + 1
            case .retUnit:
                if csp == entryCSP {
                    header.pointee.callStackTop = entryCSP
                    return RibbonSignalReturn
                }
                csp -= 1
                let caller = csp.pointee
                fp = caller.frame
                current = caller.function
                table = UnsafePointer(current.pointee.addressTable!)
                pc = caller.callPC + 1

            // Globals and constants
            case .globalGet:
                fp[r(w, 2)] = UnsafePointer<UInt64>(bitPattern: UInt(table[Int(truncatingIfNeeded: w >> 32)]))!.pointee
                pc += 1
            case .globalSet:
                UnsafeMutablePointer<UInt64>(bitPattern: UInt(table[Int(truncatingIfNeeded: w >> 32)]))!.pointee =
                    fp[r(w, 2)]
                pc += 1
            case .constAddr:
                fp[r(w, 2)] = table[Int(truncatingIfNeeded: w >> 32)]
                pc += 1

            // Arrays: [length: I64][elements]
            case .arrayLen:
                fp[r(w, 2)] = UnsafePointer<UInt64>(bitPattern: UInt(fp[r(w, 3)]))!.pointee
                pc += 1
            case .arrayLoad64:
                let array = UnsafePointer<UInt64>(bitPattern: UInt(fp[r(w, 3)]))!
                let index = fp[r(w, 4)]
                guard index < array.pointee else {
                    return trap(.indexOutOfRange, i64(index), i64(array.pointee), pc, current, csp)
                }
                fp[r(w, 2)] = array[1 &+ Int(truncatingIfNeeded: index)]
                pc += 1
            case .arrayStore64:
                let array = UnsafeMutablePointer<UInt64>(bitPattern: UInt(fp[r(w, 2)]))!
                let index = fp[r(w, 3)]
                guard index < array.pointee else {
                    return trap(.indexOutOfRange, i64(index), i64(array.pointee), pc, current, csp)
                }
                array[1 &+ Int(truncatingIfNeeded: index)] = fp[r(w, 4)]
                pc += 1
            case .arrayLoad8:
                let array = UnsafePointer<UInt64>(bitPattern: UInt(fp[r(w, 3)]))!
                let index = fp[r(w, 4)]
                guard index < array.pointee else {
                    return trap(.indexOutOfRange, i64(index), i64(array.pointee), pc, current, csp)
                }
                fp[r(w, 2)] = UInt64(
                    UnsafeRawPointer(array + 1).load(fromByteOffset: Int(truncatingIfNeeded: index), as: UInt8.self))
                pc += 1
            case .arrayStore8:
                let array = UnsafeMutablePointer<UInt64>(bitPattern: UInt(fp[r(w, 2)]))!
                let index = fp[r(w, 3)]
                guard index < array.pointee else {
                    return trap(.indexOutOfRange, i64(index), i64(array.pointee), pc, current, csp)
                }
                UnsafeMutableRawPointer(array + 1).storeBytes(
                    of: UInt8(truncatingIfNeeded: fp[r(w, 4)]), toByteOffset: Int(truncatingIfNeeded: index),
                    as: UInt8.self)
                pc += 1

            case .loadCode:
                // The only word of the stub: a function of a lazily loaded unit that has not
                // been placed yet. Every such function's entry holds the one stub; the call that
                // got here (the caller's record) says which function. Place it (checked and
                // verified, in memory of its own) and run it from its first word in this frame.
                guard csp > callStack, let callPC = (csp - 1).pointee.callPC, let caller = (csp - 1).pointee.function,
                    let placed = LoadedUnit.placedCallee(callPC: callPC, caller: caller)
                else {
                    return trap(.invalidInstruction, 0, 0, pc, current, csp)
                }
                current = placed
                // Placing it may have installed its machine code from the cache
                // (`LoadedUnit.onPlaced`): then this first call runs it too, in this frame,
                // through the on-stack-replacement trampoline (which returns from the function,
                // as a call of the machine code would have; that code checks its own frame).
                let slot = placed.pointee.addressTable![Int(placed.pointee.functionId)]
                if slot & bytecodeEntryTag == 0 {
                    osrTrampoline[1] = slot
                    pc = UnsafePointer(osrTrampoline)
                    continue
                }
                table = UnsafePointer(placed.pointee.addressTable!)
                pc = codeStart(placed)
                // The stub's frame size is 0, so the call's stack check was for no frame: check
                // the real one, as a call straight to the placed code would have (`callOverflow`).
                if fp + Int(placed.pointee.frameSize) > stackLimit {
                    return trap(.stackOverflow, 0, 0, pc, current, csp)
                }
            case .osrEnter:
                // On-stack replacement (only ever at `osrTrampoline`): machine code continues
                // this frame from a loop's first instruction and returns from the function. The
                // frame's registers are all in memory at instruction boundaries, which is what
                // the loop entry expects.
                header.pointee.frame = fp
                header.pointee.callStackTop = csp
                let native = unsafeBitCast(UInt(pc[1]), to: BuiltinFunction.self)
                if native(header) != RibbonSignalReturn { return RibbonSignalTrap }
                let value = fp[0]
                if csp == entryCSP {
                    header.pointee.callStackTop = entryCSP
                    return RibbonSignalReturn
                }
                csp -= 1
                let caller = csp.pointee
                fp = caller.frame
                current = caller.function
                table = UnsafePointer(current.pointee.addressTable!)
                fp[r(caller.callPC.pointee, 2)] = value
                pc = caller.callPC + 1

            }
        }
    }

    /// A taken branch: a backward one (or one to itself: offset 0 is a loop of one instruction)
    /// is a loop back-edge and burns one unit of fuel. When the
    /// fuel runs out, the function running the loop is hot; if machine code for the loop exists
    /// then, the branch goes to the on-stack-replacement trampoline instead (`osr_enter`),
    /// which runs the rest of the frame natively.
    @inline(__always)
    func taken(
        _ offset: Int, _ pc: PC, _ function: UnsafeMutablePointer<FunctionHeader>, _ fuel: inout UInt64,
        _ threshold: UInt64
    ) -> Int {
        if offset <= 0 {
            fuel &-= 1
            if fuel == 0 {
                fuel = threshold
                return hotLoop(offset, pc, function)
            }
        }
        return offset
    }

    @inline(never)
    func hotLoop(_ offset: Int, _ pc: PC, _ function: UnsafeMutablePointer<FunctionHeader>) -> Int {
        reportHot(function)
        let loopWord = pc + offset - codeStart(function)
        guard let entry = loopEntryHandler?(function, loopWord) else { return offset }
        osrTrampoline[1] = entry
        return UnsafePointer(osrTrampoline) - pc
    }

    @inline(never)
    func reportHot(_ function: UnsafeMutablePointer<FunctionHeader>) {
        // A lazily loaded unit's stub counts the first call of every function; it is no
        // function to compile (`load_code` places the real one).
        guard function.pointee.functionId != LoadedUnit.stubId else { return }
        hotFunctionHandler?(function)
    }

    /// `stack overflow` at a bytecode call, kept out of the dispatch loop. Past the depth limit
    /// the call is the innermost location; when only the callee's frame does not fit, the
    /// callee's first word is, with this call recorded below it (as in machine code, which
    /// checks its frame at entry).
    @inline(never)
    func callOverflow(
        _ callee: UnsafeMutablePointer<FunctionHeader>, _ cspLimit: UnsafeMutablePointer<CallRecord>, _ pc: PC,
        _ fp: Frame, _ current: UnsafeMutablePointer<FunctionHeader>, _ csp: UnsafeMutablePointer<CallRecord>
    ) -> BuiltinSignal {
        if csp == cspLimit { return trap(.stackOverflow, 0, 0, pc, current, csp) }
        csp.initialize(to: CallRecord(callPC: pc, frame: fp, function: current))
        return trap(.stackOverflow, 0, 0, codeStart(callee), callee, csp + 1)
    }

    /// The slow path of every runtime error, kept out of the dispatch loop so the loop holds
    /// no trap state of its own: describes the trap in the header, leaves the call records in
    /// place for the backtrace, and returns `RibbonSignalTrap`.
    @inline(never)
    func trap(
        _ code: TrapCode, _ a: Int64, _ b: Int64, _ pc: PC, _ function: UnsafeMutablePointer<FunctionHeader>,
        _ csp: UnsafeMutablePointer<CallRecord>
    ) -> BuiltinSignal {
        header.pointee.trapCode = code.rawValue
        header.pointee.trapOperands = (a, b)
        header.pointee.trapFunction = function
        header.pointee.trapPC = pc
        header.pointee.callStackTop = csp
        return RibbonSignalTrap
    }
}
