/// What an absolute address inside machine code refers to. Every such address is a
/// relocation record, so a blob can be copied to any address (or out of the cache) and fixed up.
public enum RelocationTarget: Hashable, Sendable {
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
public struct Relocation: Hashable, Sendable {
    public var offset: Int
    public var target: RelocationTarget

    public init(offset: Int, target: RelocationTarget) {
        self.offset = offset
        self.target = target
    }
}

/// One function's machine code, position-independent until loaded: the bytes, where to enter,
/// the CPU features it needs, and every absolute address in it as a relocation.
public struct MachineCode: Sendable, Equatable {
    public var bytes: [UInt8]
    public var entryOffset: Int
    /// Names of the CPU features the code uses beyond the x86-64 baseline (e.g. `sse4.1`, as
    /// `CPUFeatures.named` spells them): the minimal set a host needs to run it.
    public var features: Set<String>
    public var relocations: [Relocation]
    /// Builtin-ABI entries that continue a running frame at a loop's first bytecode word
    /// (on-stack replacement): word index → offset in `bytes`.
    public var loopEntries: [UInt32: Int]

    public init(
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
public final class LoadedMachineCode {
    public let memory: ExecutableMemory
    public let entry: UnsafeRawPointer
    /// Loop entries (see `MachineCode.loopEntries`), as addresses.
    public let loopEntries: [UInt32: UnsafeRawPointer]

    public enum Failure: Error, Equatable {
        case relocationOutOfBounds(Int)
        case unresolved(RelocationTarget)
        case entryOutOfBounds
    }

    /// Copies `code` to fresh pages and writes each relocation's address, as `resolve` gives it.
    public init(_ code: MachineCode, resolve: (RelocationTarget) -> UInt64?) throws {
        guard code.entryOffset >= 0, code.entryOffset < max(code.bytes.count, 1) else {
            throw Failure.entryOutOfBounds
        }
        memory = try code.bytes.withUnsafeBytes { raw in
            try ExecutableMemory(copying: raw) { base in
                for r in code.relocations {
                    guard r.offset >= 0, r.offset <= code.bytes.count - 8 else {
                        throw Failure.relocationOutOfBounds(r.offset)
                    }
                    guard let address = resolve(r.target) else { throw Failure.unresolved(r.target) }
                    base.storeBytes(of: address.littleEndian, toByteOffset: r.offset, as: UInt64.self)
                }
            }
        }
        entry = UnsafeRawPointer(memory.base.advanced(by: code.entryOffset))
        var loops: [UInt32: UnsafeRawPointer] = [:]
        for (word, offset) in code.loopEntries {
            guard offset >= 0, offset < code.bytes.count else { throw Failure.entryOutOfBounds }
            loops[word] = UnsafeRawPointer(memory.base.advanced(by: offset))
        }
        loopEntries = loops
    }
}
