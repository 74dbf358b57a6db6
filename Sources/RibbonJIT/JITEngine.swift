import RibbonBytecode
import RibbonCore
import RibbonSystem
import RibbonVM
import X86Assembler

/// Compiles functions of loaded units and installs them: the function's AddressTable entry is
/// swapped to the machine code, so every later call, from the interpreter or from other machine
/// code, runs it. Keeps the code alive as long as the engine.
///
/// One engine serves every unit of a program. Each function's code is relocated against its
/// own unit (its AddressTable, its headers), and the swap also rewrites the slots of the units
/// that import the function (`LoadedUnit.setEntry`), so calls from other files reach the
/// machine code too.
package final class JITEngine {
    private var installed: [LoadedMachineCode] = []
    /// Each compiled function's loop entries, for on-stack replacement.
    private var loopEntries: [UnsafeRawPointer: [UInt32: UnsafeRawPointer]] = [:]
    /// Functions compiled in this process.
    package private(set) var compiledCount = 0
    /// Functions the JIT declined (an instruction it cannot compile yet); they stay interpreted.
    package private(set) var declined: [String] = []
    /// Running frames moved from the interpreter into machine code at a loop (on-stack replacement).
    package private(set) var loopEntriesTaken = 0
    /// Microseconds spent compiling and installing.
    package private(set) var microseconds = 0
    /// Functions loaded from the cache (`installCached`).
    package private(set) var loadedCount = 0

    /// One function compiled in this process, kept for the cache.
    package struct Compiled: Sendable {
        /// The unit the function belongs to.
        package var unit: ObjectIdentifier
        package var functionId: UInt32
        package var code: MachineCode
        package var microseconds: Int
    }
    /// Every function compiled in this process, in the order compiled (not glue, not code
    /// loaded from the cache): what the end of the run stores.
    package private(set) var compiled: [Compiled] = []

    package init() {}

    /// The CPU features machine code may use: the host's (read with `cpuid`), narrowed by
    /// `RIBBON_CPU_FEATURES` (comma-separated names such as `sse2,sse4.1`) so that tests can make
    /// a host look older. An unknown name in the variable leaves the host's set unchanged.
    package static let hostFeatures: CPUFeatures = {
        guard let raw = Environment.value("RIBBON_CPU_FEATURES"), let listed = CPUFeatures(names: raw) else {
            return CPUFeatures.host
        }
        return CPUFeatures.host.intersection(listed)
    }()

    /// Compiles and installs one function; false when it stays interpreted.
    @discardableResult
    package func install(_ function: LoadedUnit.FunctionInfo, of unit: LoadedUnit) -> Bool {
        // Already compiled (a hot loop in an interpreted frame that started before): keep it.
        if loopEntries[UnsafeRawPointer(function.header)] != nil { return true }
        let t0 = MonotonicClock.microseconds()
        defer { microseconds += MonotonicClock.microseconds() - t0 }
        // A lazily loaded unit places (and verifies) the function's bytecode first.
        guard let function = unit.placed(function) else {
            declined.append(function.name)
            return false
        }
        // Placing it may have installed its machine code from the cache (`LoadedUnit.onPlaced`).
        if loopEntries[UnsafeRawPointer(function.header)] != nil { return true }
        let machineCode: MachineCode
        do {
            machineCode = try JITCompiler.compile(function)
        } catch {
            declined.append(function.name)
            return false
        }
        do {
            let loaded = try LoadedMachineCode(machineCode) { resolve($0, unit: unit) }
            swapIn(loaded, for: function, of: unit)
            compiledCount += 1
            compiled.append(
                Compiled(
                    unit: ObjectIdentifier(unit), functionId: function.id, code: machineCode,
                    microseconds: MonotonicClock.microseconds() - t0))
            return true
        } catch {
            declined.append(function.name)
            return false
        }
    }

    private func swapIn(_ loaded: LoadedMachineCode, for function: LoadedUnit.FunctionInfo, of unit: LoadedUnit) {
        installed.append(loaded)
        loopEntries[UnsafeRawPointer(function.header)] = loaded.loopEntries
        unit.setEntry(function.id, to: UInt64(UInt(bitPattern: loaded.entry)))
    }

    /// Installs machine code from the cache, all of it in one mapping. A blob that is not valid
    /// for the unit (`MachineCode+Validity`: its function, loop entries and relocation targets)
    /// or whose function already has code is skipped (the function stays as it is, and may be
    /// compiled again). Returns the Ids of the skipped blobs.
    @discardableResult
    package func installCached(_ codes: [(functionId: UInt32, code: MachineCode)], of unit: LoadedUnit) -> [UInt32] {
        var rejected: [UInt32] = []
        var accepted: [(function: LoadedUnit.FunctionInfo, code: MachineCode)] = []
        for (id, code) in codes {
            guard case .success(let function) = code.function(id, of: unit),
                loopEntries[UnsafeRawPointer(function.header)] == nil
            else {
                rejected.append(id)
                continue
            }
            accepted.append((function, code))
        }
        let results = LoadedMachineCode.loadBatch(accepted.map(\.code)) { resolve($0, unit: unit) }
        for ((function, _), result) in zip(accepted, results) {
            switch result {
            case .success(let loaded):
                swapIn(loaded, for: function, of: unit)
                loadedCount += 1
            case .failure:
                rejected.append(function.id)
            }
        }
        return rejected
    }

    /// Puts System V glue in the slot of every C function the unit calls. Done in every mode:
    /// the interpreter, too, calls C only through glue.
    package func installForeignGlue(_ unit: LoadedUnit) throws {
        for (id, foreign) in unit.foreignFunctions.sorted(by: { $0.key < $1.key }) {
            let glue = try LoadedMachineCode(try ForeignGlue.make(foreign.signature)) { resolve($0, unit: unit) }
            installed.append(glue)
            unit.addressTable[id] = UInt64(UInt(bitPattern: glue.entry))
        }
    }

    /// Compiles every function of a unit (`--jit eager`).
    package func installAll(_ unit: LoadedUnit) {
        for function in unit.functions { install(function, of: unit) }
    }

    /// Lets a fiber's interpreter hand hot functions to this engine (`--jit tier`).
    package func attach(to fiber: Fiber, threshold: UInt64) {
        fiber.tierUpThreshold = threshold
        fiber.hotFunctionHandler = { [unowned self] header in
            guard let unit = LoadedUnit.owning(header), let function = unit.function(header: header) else { return }
            self.install(function, of: unit)
        }
        fiber.loopEntryHandler = { [unowned self] header, word in
            guard let entry = self.loopEntries[UnsafeRawPointer(header)]?[UInt32(word)] else { return nil }
            self.loopEntriesTaken += 1
            return UInt64(UInt(bitPattern: entry))
        }
    }

    /// The address of `target` in `unit` (`MachineCode.resolve(_:in:)`), nil when it has none.
    func resolve(_ target: RelocationTarget, unit: LoadedUnit) -> UInt64? {
        if case .success(let address) = MachineCode.resolve(target, in: unit) { return address }
        return nil
    }
}
