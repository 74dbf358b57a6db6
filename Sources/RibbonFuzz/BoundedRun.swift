#if canImport(Glibc)
import Glibc
#endif
import CRibbonABI
import RibbonBytecode
import RibbonCore
import RibbonVM

/// Runs fuzzed code with a bound on everything it can do, so that every run ends quickly and
/// a hang is impossible rather than merely unlikely.
///
/// Nothing in the interpreter is changed for this: the bound uses the two tier-up hooks the JIT
/// uses. The tier-up threshold becomes the budget:
/// - a bytecode function called `budget` times is "hot": its AddressTable entry is swapped to a
///   builtin that stops the run (as the JIT would swap in machine code), so it is entered at
///   most `budget` times;
/// - `budget` taken backward branches in one `interpret` activation make the running loop
///   "hot": the on-stack-replacement hook hands the interpreter the same builtin, which stops
///   the run.
/// Between two calls or backward branches an activation runs straight-line code, so a run
/// executes at most about (functions + 1) × budget × (words in the unit) instructions. Arrays
/// come from bounded versions of the array builtins (at most `maximumArrayElements` each,
/// `maximumArrayBytes` in all, from an `Arena`), so a run cannot exhaust memory either. Output
/// goes to a buffer.
/// Foreign functions keep the `foreign_unavailable` stub: a fuzzed image must not call C.
package enum BoundedRun {
    /// The trap code of the budget builtin (not a `TrapCode`: it is never shown to a user).
    package static let budgetTrapCode: UInt32 = 0xB0D6
    package static let maximumArrayElements: Int64 = 1 << 16
    package static let maximumArrayBytes = 8 << 20

    package enum Outcome: Equatable {
        case returned(UInt64)
        case trapped(TrapCode)
        case budgetExhausted
    }

    /// Resolves builtins like a run, except the array builtins (bounded) and foreign symbols,
    /// which are looked up but never called.
    package static let resolver = SymbolResolver(builtin: { name in
        switch name {
        case "array_i64": address(of: boundedArrayI64)
        case "array_f64": address(of: boundedArrayF64)
        case "array_bool": address(of: boundedArrayBool)
        default: Builtins.address(named: name)
        }
    })

    static func address(of function: BuiltinFunction) -> UInt64 {
        UInt64(UInt(bitPattern: unsafeBitCast(function, to: UnsafeRawPointer.self)))
    }

    /// Memory the bounded array builtins allocate from: one mapping, reset (zeroed) before
    /// each run, so that a run's arrays always have the same addresses (the interpreter and the
    /// JIT can then be compared exactly, even where a program computes with an address's bits).
    package final class Arena {
        let base: UnsafeMutableRawPointer
        let size = BoundedRun.maximumArrayBytes
        var used = 0

        package init() {
            let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { fatalError("cannot map the fuzz arena") }
            base = mapped
        }

        deinit { munmap(base, size) }

        func reset() {
            memset(base, 0, used)
            used = 0
        }

        /// `bytes` zeroed bytes, 16-byte aligned; nil when the arena is full.
        func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
            let rounded = (bytes + 15) & ~15
            guard rounded <= size - used else { return nil }
            defer { used += rounded }
            return base + used
        }
    }

    /// Calls `function` with no arguments under the budget, its arrays in `arena` (reset first).
    package static func run(
        _ unit: LoadedUnit, _ function: LoadedUnit.FunctionInfo, budget: UInt64 = 2000, arena: Arena = Arena()
    ) -> (outcome: Outcome, output: [UInt8]) {
        let fiber = Fiber(output: .buffer)
        fiber.tierUpThreshold = budget
        let stop = address(of: stopBuiltin)
        fiber.hotFunctionHandler = { header in
            header.pointee.addressTable![Int(header.pointee.functionId)] = stop
        }
        fiber.loopEntryHandler = { _, _ in stop }
        arena.reset()
        arenas.begin(fiber.header, arena)
        defer { arenas.end(fiber.header) }
        // Neither the swapped entries nor what the run stores in globals outlive it: the unit
        // may be run again (by the JIT, to compare), from the same state.
        let saved = (0..<unit.entryCount).map { unit.addressTable[$0] }
        let cells = (0..<unit.entryCount).filter { unit.entryKinds[$0] == .global }.map { id in
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(unit.addressTable[id]))!
        }
        let values = cells.map(\.pointee)
        defer {
            for (i, entry) in saved.enumerated() { unit.addressTable[i] = entry }
            for (cell, value) in zip(cells, values) { cell.pointee = value }
        }
        let result = fiber.call(function)
        switch result {
        case .success(let value):
            return (.returned(value), fiber.capturedOutput)
        case .failure(let trap):
            if fiber.header.pointee.trapCode == budgetTrapCode { return (.budgetExhausted, fiber.capturedOutput) }
            return (.trapped(trap.code), fiber.capturedOutput)
        }
    }

    static let stopBuiltin: BuiltinFunction = { header in
        header!.pointee.trapCode = BoundedRun.budgetTrapCode
        return RibbonSignalTrap
    }

    static let boundedArrayI64: BuiltinFunction = { header in boundedArray(header!, elementSize: 8) }
    static let boundedArrayF64: BuiltinFunction = { header in boundedArray(header!, elementSize: 8) }
    static let boundedArrayBool: BuiltinFunction = { header in boundedArray(header!, elementSize: 1) }

    /// `array n v` as `Builtins.makeArray` does it (a length word, then `n` elements, each `v`
    /// or, for 1-byte elements, 1 when `v` is not 0), from the run's arena.
    static func boundedArray(_ header: UnsafeMutablePointer<FiberHeader>, elementSize: Int) -> BuiltinSignal {
        let n = Int64(bitPattern: header.pointee.frame[0])
        let v = header.pointee.frame[1]
        if n < 0 {
            header.pointee.trapCode = TrapCode.negativeArrayLength.rawValue
            header.pointee.trapOperands = (n, 0)
            return RibbonSignalTrap
        }
        guard n <= maximumArrayElements, let memory = arenas.allocate(header, 8 + Int(n) * elementSize) else {
            header.pointee.trapCode = TrapCode.outOfMemory.rawValue
            header.pointee.trapOperands = (n, 0)
            return RibbonSignalTrap
        }
        memory.storeBytes(of: n, as: Int64.self)
        if v != 0 {
            if elementSize == 1 {
                memset(memory + 8, 1, Int(n))
            } else {
                (memory + 8).bindMemory(to: UInt64.self, capacity: Int(n)).update(repeating: v, count: Int(n))
            }
        }
        header.pointee.frame[0] = UInt64(UInt(bitPattern: memory))
        return RibbonSignalReturn
    }

    /// The arena of each running fiber, by header (runs may happen on several threads at once:
    /// the smoke tests run in parallel).
    final class Arenas {
        private var mutex = pthread_mutex_t()
        private var arenas: [UnsafeMutablePointer<FiberHeader>: Arena] = [:]

        init() { pthread_mutex_init(&mutex, nil) }

        func begin(_ header: UnsafeMutablePointer<FiberHeader>, _ arena: Arena) {
            pthread_mutex_lock(&mutex)
            arenas[header] = arena
            pthread_mutex_unlock(&mutex)
        }

        func end(_ header: UnsafeMutablePointer<FiberHeader>) {
            pthread_mutex_lock(&mutex)
            arenas[header] = nil
            pthread_mutex_unlock(&mutex)
        }

        func allocate(_ header: UnsafeMutablePointer<FiberHeader>, _ bytes: Int) -> UnsafeMutableRawPointer? {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return arenas[header]?.allocate(bytes)
        }
    }

    static let arenas = Arenas()
}
