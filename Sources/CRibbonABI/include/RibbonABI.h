// The structures that bytecode, the interpreter, builtins and (later) JIT machine code share.
//
// They are declared in C so that their layout is the C layout: native code reads and writes
// them at fixed offsets. Change a field here and every offset the JIT uses changes with it.
#ifndef RIBBON_ABI_H
#define RIBBON_ABI_H

#include <stdint.h>

/// What a builtin (or a JIT-compiled function, which has the same ABI) tells its caller.
typedef enum RibbonBuiltinSignal : uint32_t {
    /// The callee wrote its result (if any) to `frame[0]`; carry on.
    RibbonSignalReturn = 0,
    /// The callee stopped the program with a runtime error described by `trapCode` and
    /// `trapOperands` of the fiber header.
    RibbonSignalTrap = 1,
} RibbonBuiltinSignal;

/// Runtime errors (LANGUAGE.md, "Errors"). Numbers are stable: native code stores them.
typedef enum RibbonTrapCode : uint32_t {
    RibbonTrapNone = 0,
    RibbonTrapDivisionByZero = 1,
    /// operands: index, length
    RibbonTrapIndexOutOfRange = 2,
    /// operands: length
    RibbonTrapNegativeArrayLength = 3,
    RibbonTrapStackOverflow = 4,
    /// operands: the F64 bit pattern
    RibbonTrapCannotConvertToI64 = 5,
    /// operands: length
    RibbonTrapOutOfMemory = 6,
    /// A foreign function was called before its System V glue was installed.
    RibbonTrapForeignCallUnavailable = 7,
    /// Bytecode that the verifier should have rejected (an engine bug, never a host crash).
    RibbonTrapInvalidInstruction = 8,
} RibbonTrapCode;

/// The header in front of every bytecode function's instruction words, in loaded memory.
///
/// An AddressTable entry for a bytecode function is the address of this header with bit 63
/// set (`RIBBON_BYTECODE_TAG`); an entry without the tag is a native function with the builtin
/// ABI. User-space addresses never have bit 63 set on x86-64 Linux.
typedef struct RibbonFunctionHeader {
    /// The AddressTable of the unit the function belongs to (absolute; set at load).
    uint64_t *addressTable;
    /// The loaded unit (opaque; for backtraces).
    void *unit;
    /// Registers the frame needs (at most 255).
    uint32_t frameSize;
    uint32_t parameterCount;
    /// The function's Id in its unit.
    uint32_t functionId;
    /// Number of instruction words after the header.
    uint32_t codeWords;
    /// Interpreted calls of this function, for tier-up (loop back-edges are counted down in a
    /// register by the interpreter instead).
    uint64_t hotness;
} RibbonFunctionHeader;

/// A suspended caller on the fiber's call stack: interpreted and native frames alike push
/// one per call, so the depth limit and backtraces are the same in every engine mode.
typedef struct RibbonCallRecord {
    /// The caller's call instruction (bytecode), for the backtrace line and, in the
    /// interpreter, the result register.
    const uint64_t *callPC;
    /// The caller's frame (filled in by the interpreter, which reads it back on return;
    /// machine code leaves it stale: only the interpreter pops the records it pushed).
    uint64_t *frame;
    /// The caller.
    RibbonFunctionHeader *function;
} RibbonCallRecord;

/// The part of a fiber that native code sees.
///
/// A builtin is called with `frame` pointing at its first argument register; it reads its
/// arguments from `frame[0...]` and writes its result to `frame[0]`.
typedef struct RibbonFiberHeader {
    /// Registers of the callee: arguments in `frame[0]...`, result to `frame[0]`.
    uint64_t *frame;
    /// One past the last usable register of the register stack.
    uint64_t *stackLimit;
    /// The Swift `Fiber` that owns this header (opaque to native code).
    void *fiber;
    /// Set with `RibbonSignalTrap`.
    uint32_t trapCode;
    uint32_t reserved;
    int64_t trapOperands[2];
    /// First free call record; a call pushes its caller here, a return pops it.
    RibbonCallRecord *callStackTop;
    /// One past the last record: pushing here is `stack overflow`.
    RibbonCallRecord *callStackLimit;
    /// Where a runtime error happened: the innermost function and its instruction. Set by the
    /// first frame (interpreted or native) that sees the trap; a builtin leaves it null and its
    /// caller fills it in. Call records stay on the stack while a trap unwinds, so the
    /// backtrace is this location followed by the records from the top down.
    RibbonFunctionHeader *trapFunction;
    const uint64_t *trapPC;
} RibbonFiberHeader;

/// The builtin ABI: every native callee in an AddressTable has this type.
typedef RibbonBuiltinSignal (*RibbonBuiltinFunction)(RibbonFiberHeader *header);

#define RIBBON_BYTECODE_TAG (1ull << 63)

#endif
