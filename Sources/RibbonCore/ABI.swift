import CRibbonABI

/// The part of a fiber native code sees (C layout, `RibbonABI.h`).
public typealias FiberHeader = RibbonFiberHeader

/// What a builtin or JIT-compiled function returns to its caller (`RibbonABI.h`).
public typealias BuiltinSignal = RibbonBuiltinSignal

/// The builtin ABI shared by builtins, foreign-call glue and JIT code.
public typealias BuiltinFunction = @convention(c) (UnsafeMutablePointer<FiberHeader>?) -> BuiltinSignal

/// The header in front of each bytecode function's words in loaded memory (`RibbonABI.h`).
public typealias FunctionHeader = RibbonFunctionHeader

/// Bit 63 of an AddressTable entry: set for a bytecode function (the rest is the address of
/// its `FunctionHeader`), clear for a native function with the builtin ABI.
public let bytecodeEntryTag: UInt64 = 1 << 63

/// Words a `FunctionHeader` occupies in front of the code.
public let functionHeaderWords = MemoryLayout<FunctionHeader>.stride / 8

/// Runtime error kinds (`RibbonABI.h`), as a Swift enum.
public enum TrapCode: UInt32, Sendable {
    case none = 0
    case divisionByZero = 1
    case indexOutOfRange = 2
    case negativeArrayLength = 3
    case stackOverflow = 4
    case cannotConvertToI64 = 5
    case outOfMemory = 6
    case foreignCallUnavailable = 7
    case invalidInstruction = 8
}
