#if canImport(Glibc)
import Glibc
#endif
import CRibbonABI
import RibbonBytecode
import RibbonCore

/// Where `print` and `write` send their bytes.
package enum OutputSink {
    /// The process's standard output, through C stdio (so output from C functions called with
    /// `foreign` stays in program order).
    case standardOutput
    /// An in-memory buffer (tests).
    case buffer
}

/// One thread of Ribbon execution: a register stack, a call stack and the `FiberHeader` that
/// builtins and native code see.
///
/// Registers live in one anonymous mapping reserved up front (pages are only touched as frames
/// use them); a call whose frame would pass the end, or a call depth over `maximumDepth`, is the
/// `stack overflow` runtime error, never a host crash.
package final class Fiber {
    /// Calls deeper than this are `stack overflow` (LANGUAGE.md asks for at least 10,000).
    package static let maximumDepth = 100_000
    /// Registers reserved for the register stack (8 bytes each): 256 MiB of address space,
    /// touched only as frames use it. Enough that the depth limit always comes first: each of
    /// at most `maximumDepth` nested frames starts at most 254 registers above its caller's,
    /// so the deepest frame ends below 100,000 × 254 + 255 registers (≈ 203 MiB). Machine code
    /// relies on this and does not check that its frame fits.
    package static let stackWords = 32 << 20

    package let header: UnsafeMutablePointer<FiberHeader>
    let stackBase: UnsafeMutablePointer<UInt64>
    /// Suspended callers, interpreted and native alike (`RibbonCallRecord`).
    let callStack: UnsafeMutablePointer<CallRecord>
    /// Arrays allocated by the program; freed with the fiber.
    var allocations: [UnsafeMutableRawPointer] = []
    package let outputSink: OutputSink
    /// What `print`/`write` wrote, with `OutputSink.buffer`.
    package internal(set) var capturedOutput: [UInt8] = []
    /// Interpreted calls after which a bytecode function is reported hot (`FunctionHeader.hotness`
    /// counts them); also the number of loop back-edges, counted down in a register across
    /// whatever the interpreter runs, after which the function running a loop is reported hot.
    package var tierUpThreshold: UInt64 = .max
    /// Told about each function whose hotness reaches `tierUpThreshold`. The interpreter knows
    /// nothing more: whoever listens (the JIT) swaps the function's AddressTable entry.
    package var hotFunctionHandler: ((UnsafeMutablePointer<FunctionHeader>) -> Void)?
    /// Asked, right after a loop's back-edge made its function hot, for machine code that
    /// continues the running frame at that loop's first instruction (on-stack replacement):
    /// the function and the loop's word index in, a builtin-ABI entry address out.
    package var loopEntryHandler: ((UnsafeMutablePointer<FunctionHeader>, Int) -> UInt64?)?
    /// Two words the interpreter jumps to for on-stack replacement: `osr_enter` and the entry
    /// address (the only place an `osr_enter` ever exists).
    let osrTrampoline: UnsafeMutablePointer<UInt64>

    package init(output: OutputSink = .standardOutput) {
        outputSink = output
        let bytes = Fiber.stackWords * 8
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("cannot reserve the register stack (\(bytes) bytes)")
        }
        stackBase = mapped.bindMemory(to: UInt64.self, capacity: Fiber.stackWords)
        callStack = .allocate(capacity: Fiber.maximumDepth)
        osrTrampoline = .allocate(capacity: 2)
        osrTrampoline.initialize(repeating: 0, count: 2)
        osrTrampoline[0] = UInt64(Opcode.osrEnter.rawValue)
        header = .allocate(capacity: 1)
        header.initialize(
            to: FiberHeader(
                frame: stackBase, stackLimit: stackBase + Fiber.stackWords, fiber: nil, trapCode: 0, reserved: 0,
                trapOperands: (0, 0), callStackTop: callStack, callStackLimit: callStack + Fiber.maximumDepth,
                trapFunction: nil, trapPC: nil))
        header.pointee.fiber = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        munmap(stackBase, Fiber.stackWords * 8)
        callStack.deallocate()
        osrTrampoline.deallocate()
        header.deallocate()
        for a in allocations { free(a) }
    }

    /// The fiber that owns a header (for builtins).
    @inline(__always)
    static func from(_ header: UnsafeMutablePointer<FiberHeader>) -> Fiber {
        Unmanaged<Fiber>.fromOpaque(header.pointee.fiber!).takeUnretainedValue()
    }

    /// Runs a bytecode function to completion with the given arguments.
    ///
    /// Returns the function's result (the raw 64 bits), or the runtime error that stopped it.
    package func call(_ function: LoadedUnit.FunctionInfo, arguments: [UInt64] = []) -> Result<UInt64, Trap> {
        let frame = stackBase
        for (i, a) in arguments.enumerated() { frame[i] = a }
        header.pointee.callStackTop = callStack
        header.pointee.trapFunction = nil
        header.pointee.trapPC = nil
        header.pointee.frame = frame
        // A function of a lazily loaded unit is placed first: there is no call record to say
        // which function its stub stands for.
        let function = LoadedUnit.owning(function.header).flatMap { $0.placed(function) } ?? function
        // Exactly its parameters: the verifier checked its code against its signature, so a
        // parameter it takes as an array is dereferenced, and a register nobody wrote holds 0.
        // A well-formed unit's `main` takes none; an image whose SymbolTable names another
        // function `main` must not make that a null dereference (found by the `image` fuzzer).
        let parameters = Int(function.header.pointee.parameterCount)
        guard arguments.count == parameters else {
            let reason = "\(function.name) takes \(parameters) parameter\(parameters == 1 ? "" : "s"), not \(arguments.count)"
            return .failure(Trap(code: .invalidInstruction, reason: reason, backtrace: []))
        }
        // Through the function's AddressTable slot, like every call: it may hold machine code.
        let entry = function.header.pointee.addressTable[Int(function.id)]
        let signal: BuiltinSignal
        if entry & bytecodeEntryTag == 0 {
            signal = unsafeBitCast(UInt(entry), to: BuiltinFunction.self)(header)
        } else {
            signal = interpret(entry: function.header, frame: frame)
        }
        if signal == RibbonSignalReturn {
            return .success(frame[0])
        }
        let trap = collectTrap()
        header.pointee.callStackTop = callStack
        header.pointee.trapFunction = nil
        return .failure(trap)
    }

    /// Runs a bytecode function for a native caller, with the builtin ABI's contract: the
    /// arguments are in `header.frame[0...]`, the result goes to `header.frame[0]`.
    package func callBytecode(_ function: UnsafeMutablePointer<FunctionHeader>) -> BuiltinSignal {
        // Counted like an interpreted call, so a function called only from machine code tiers up.
        let hotness = function.pointee.hotness &+ 1
        function.pointee.hotness = hotness
        if hotness == tierUpThreshold { reportHot(function) }
        return interpret(entry: function, frame: header.pointee.frame)
    }

    /// The runtime error described by the header: its code and operands, the innermost
    /// location, then every call record still on the stack, from the top down.
    func collectTrap() -> Trap {
        let h = header.pointee
        let code = TrapCode(rawValue: h.trapCode) ?? .invalidInstruction
        var frames: [Trap.Frame] = []
        func frame(_ f: UnsafeMutablePointer<FunctionHeader>?, _ at: UnsafePointer<UInt64>?) {
            guard let f, let at, let unit = LoadedUnit.owning(f), let info = unit.function(header: f) else {
                frames.append(Trap.Frame(function: "?", path: "?", line: 0))
                return
            }
            let code = UnsafeRawPointer(f).advanced(by: MemoryLayout<FunctionHeader>.stride)
                .assumingMemoryBound(to: UInt64.self)
            frames.append(Trap.Frame(function: info.name, path: unit.sourcePath, line: unit.line(in: info, atWord: at - code)))
        }
        frame(h.trapFunction, h.trapPC)
        var record = h.callStackTop!
        while record > callStack {
            record -= 1
            frame(record.pointee.function, record.pointee.callPC)
        }
        return Trap(code: code, reason: Trap.reason(code, h.trapOperands.0, h.trapOperands.1), backtrace: frames)
    }

    /// Writes bytes to the program's output.
    @inline(__always)
    func write(_ bytes: UnsafeRawBufferPointer) {
        switch outputSink {
        case .standardOutput:
            _ = fwrite(bytes.baseAddress, 1, bytes.count, stdout)
        case .buffer:
            capturedOutput.append(contentsOf: bytes)
        }
    }

    /// Flushes C stdio's buffer (before the process writes to stderr or exits).
    package func flush() {
        if outputSink == .standardOutput { fflush(stdout) }
    }
}

/// A suspended caller: its call instruction, its frame and its function (`RibbonABI.h`).
typealias CallRecord = RibbonCallRecord
