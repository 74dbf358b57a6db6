/// What an absolute address inside machine code refers to. Every such address is a
/// relocation record, so a blob can be copied to any address (or out of the cache) and fixed up.
package enum RelocationTarget: Hashable, Sendable {
    /// The AddressTable of the function's unit.
    case addressTable
    /// A runtime helper, by name (`JITRuntime.helpers`).
    case runtimeHelper(String)
    /// The `FunctionHeader` of a function of the same unit, by Id.
    case functionHeader(UInt32)
    /// The address of bytecode word `word` of function `function` (call records and trap
    /// locations name bytecode positions, so backtraces read the same line tables).
    case bytecodeWord(function: UInt32, word: UInt32)
    /// A C function, by symbol (`dlsym`).
    case foreignSymbol(String)
}

/// One absolute address to write: 8 bytes at `offset`, little-endian.
package struct Relocation: Hashable, Sendable {
    package var offset: Int
    package var target: RelocationTarget

    package init(offset: Int, target: RelocationTarget) {
        self.offset = offset
        self.target = target
    }
}

/// One function's machine code, position-independent until loaded: the bytes, where to enter,
/// the CPU features it needs, and every absolute address in it as a relocation.
package struct MachineCode: Sendable, Equatable {
    package var bytes: [UInt8]
    package var entryOffset: Int
    /// Names of the CPU features the code uses beyond the x86-64 baseline (e.g. `sse4.1`, as
    /// `CPUFeatures.named` spells them): the minimal set a host needs to run it.
    package var features: Set<String>
    package var relocations: [Relocation]
    /// Builtin-ABI entries that continue a running frame at a loop's first bytecode word
    /// (on-stack replacement): word index → offset in `bytes`.
    package var loopEntries: [UInt32: Int]

    package init(
        bytes: [UInt8], entryOffset: Int = 0, features: Set<String> = [], relocations: [Relocation] = [],
        loopEntries: [UInt32: Int] = [:]
    ) {
        self.bytes = bytes
        self.entryOffset = entryOffset
        self.features = features
        self.relocations = relocations
        self.loopEntries = loopEntries
    }
}

/// Machine code placed in executable memory with its relocations applied.
package final class LoadedMachineCode {
    /// The pages holding the code (shared by every blob of one `loadBatch`).
    package let memory: ExecutableMemory
    package let entry: UnsafeRawPointer
    /// Loop entries (see `MachineCode.loopEntries`), as addresses.
    package let loopEntries: [UInt32: UnsafeRawPointer]

    package enum Failure: Error, Equatable {
        case relocationOutOfBounds(Int)
        case unresolved(RelocationTarget)
        case entryOutOfBounds
    }

    /// Copies `code` to fresh pages and writes each relocation's address, as `resolve` gives it.
    package convenience init(_ code: MachineCode, resolve: (RelocationTarget) -> UInt64?) throws {
        let addresses = try Self.check(code, resolve: resolve)
        let memory = try code.bytes.withUnsafeBytes { raw in
            try ExecutableMemory(copying: raw) { base in Self.patch(base, code, addresses) }
        }
        self.init(memory: memory, offset: 0, code: code)
    }

    private init(memory: ExecutableMemory, offset: Int, code: MachineCode) {
        self.memory = memory
        entry = UnsafeRawPointer(memory.base.advanced(by: offset + code.entryOffset))
        loopEntries = code.loopEntries.mapValues { UnsafeRawPointer(memory.base.advanced(by: offset + $0)) }
    }

    /// Loads many blobs into one mapping (one `mmap` and one `mprotect` for all, which matters
    /// when a warm run loads thousands). A blob that fails its checks is left out: its result
    /// is the error, the others load.
    package static func loadBatch(
        _ codes: [MachineCode], resolve: (RelocationTarget) -> UInt64?
    ) -> [Result<LoadedMachineCode, Error>] {
        var results: [Result<LoadedMachineCode, Error>?] = Array(repeating: nil, count: codes.count)
        var placed: [(index: Int, offset: Int, addresses: [UInt64])] = []
        var size = 0
        for (i, code) in codes.enumerated() {
            do {
                let addresses = try check(code, resolve: resolve)
                placed.append((i, size, addresses))
                size += (code.bytes.count + 15) & ~15  // 16-byte aligned, like function entries
            } catch {
                results[i] = .failure(error)
            }
        }
        if !placed.isEmpty {
            var image = [UInt8](repeating: 0xCC, count: size)  // int3 between blobs
            for p in placed { image.replaceSubrange(p.offset..<p.offset + codes[p.index].bytes.count, with: codes[p.index].bytes) }
            do {
                let memory = try image.withUnsafeBytes { raw in
                    try ExecutableMemory(copying: raw) { base in
                        for p in placed { patch(base.advanced(by: p.offset), codes[p.index], p.addresses) }
                    }
                }
                for p in placed {
                    results[p.index] = .success(LoadedMachineCode(memory: memory, offset: p.offset, code: codes[p.index]))
                }
            } catch {
                for p in placed { results[p.index] = .failure(error) }
            }
        }
        return results.map { $0! }
    }

    /// Checks every offset of `code` against its size and resolves every relocation.
    private static func check(_ code: MachineCode, resolve: (RelocationTarget) -> UInt64?) throws -> [UInt64] {
        guard code.entryOffset >= 0, code.entryOffset < code.bytes.count else {
            throw Failure.entryOutOfBounds
        }
        for (_, offset) in code.loopEntries where offset < 0 || offset >= code.bytes.count {
            throw Failure.entryOutOfBounds
        }
        return try code.relocations.map { r in
            guard r.offset >= 0, r.offset <= code.bytes.count - 8 else { throw Failure.relocationOutOfBounds(r.offset) }
            guard let address = resolve(r.target) else { throw Failure.unresolved(r.target) }
            return address
        }
    }

    private static func patch(_ base: UnsafeMutableRawPointer, _ code: MachineCode, _ addresses: [UInt64]) {
        for (r, address) in zip(code.relocations, addresses) {
            base.storeBytes(of: address.littleEndian, toByteOffset: r.offset, as: UInt64.self)
        }
    }
}
