import RibbonCore
import RibbonVM

/// Runtime helpers that JIT code calls, by name (relocation targets name them, so machine code
/// from the cache finds them in a newer process).
package enum JITRuntime {
    static let callBytecodeName = "call_bytecode"

    /// `(header, function) -> signal`: runs a bytecode callee in the interpreter.
    static let callBytecode: @convention(c) (UnsafeMutablePointer<FiberHeader>?, UnsafeMutablePointer<FunctionHeader>?) -> BuiltinSignal = {
        header, function in
        let fiber = Unmanaged<Fiber>.fromOpaque(header!.pointee.fiber!).takeUnretainedValue()
        return fiber.callBytecode(function!)
    }

    package static func helper(named name: String) -> UInt64? {
        switch name {
        case callBytecodeName: UInt64(UInt(bitPattern: unsafeBitCast(callBytecode, to: UnsafeRawPointer.self)))
        default: nil
        }
    }
}
