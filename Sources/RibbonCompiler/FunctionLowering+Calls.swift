import RibbonBytecode
import RibbonCore
import RibbonSyntax

/// Calls: to functions of this unit or another, to foreign functions, and to builtins (some
/// of which are single instructions).
extension FunctionLowering {
    /// Arguments go into consecutive temporaries at the top of the frame: the callee's frame
    /// starts at the first of them. The result lands in `target`, or in that first register.
    mutating func call(_ op: Opcode, id: UInt32, _ arguments: Range<Int32>, into target: Register?) -> Register {
        let base = temp()
        for _ in 1..<max(1, arguments.count) { _ = temp() }
        for i in 0..<arguments.count {
            let argument = program.arguments[Int(arguments.lowerBound) + i]
            let slot = Register(truncatingIfNeeded: min(Int(base) + i, 254))
            let mark = nextTemp
            _ = expression(argument, into: slot)
            nextTemp = mark
        }
        let d = target ?? base
        code.emitCall(op, result: d, base: base, id: id)
        nextTemp = Int(base) + 1
        return d
    }

    mutating func builtin(_ builtin: BuiltinFunction, _ argumentRange: Range<Int32>, into target: Register?) -> Register {
        let arguments = program.arguments(argumentRange)
        if let name = builtin.runtimeName {
            return call(.call, id: unit.builtin(name), argumentRange, into: target)
        }
        let single: Opcode
        switch builtin {
        case .len: single = .arrayLen
        case .float: single = .sToF64
        case .int: single = .fToS64
        case .sqrt: single = .fSqrt64
        case .floor: single = .fFloor64
        case .absI64: single = .iAbs64
        case .absF64: single = .fAbs64
        case .band, .bor, .bxor, .shl, .shr:
            let a = operand(arguments[arguments.startIndex], protectingFrom: arguments[arguments.startIndex + 1])
            let b = expression(arguments[arguments.startIndex + 1], into: nil)
            let d = target ?? temp()
            let op: Opcode
            switch builtin {
            case .band: op = .iAnd64
            case .bor: op = .iOr64
            case .bxor: op = .iXor64
            case .shl: op = .iShl64
            default: op = .sShr64
            }
            code.emit(op, d, a, b)
            return d
        default:
            preconditionFailure("builtin \(builtin) has neither a runtime name nor an instruction")
        }
        let a = expression(arguments[arguments.startIndex], into: nil)
        let d = target ?? temp()
        code.emit(single, d, a)
        return d
    }
}
