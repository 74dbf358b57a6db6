import RibbonBytecode
import RibbonCore
import RibbonSyntax

/// Lowering of expressions: values into registers, literals, arithmetic (with fused
/// multiply-add).
extension FunctionLowering {
    /// Evaluates `e` into some register (`target` when given) and returns it.
    ///
    /// Operands are always evaluated into temporaries or read in place from locals; only the
    /// final operation writes `target`, so `x = y * x` reads `x` before writing it.
    mutating func expression(_ id: CheckedExpressionID, into target: Register?) -> Register {
        let e = program[id]
        switch e.kind {
        case .intLiteral(let v):
            if target == nil, let r = constantRegister(UInt64(bitPattern: v)) { return r }
            let d = target ?? temp()
            loadConstant(d, UInt64(bitPattern: v))
            return d
        case .floatLiteral(let v):
            if target == nil, let r = constantRegister(v.bitPattern) { return r }
            let d = target ?? temp()
            loadConstant(d, v.bitPattern)
            return d
        case .boolLiteral(let v):
            let d = target ?? temp()
            code.emit(.constI32, d, imm: v ? 1 : 0)
            return d
        case .stringLiteral(let bytes):
            let d = target ?? temp()
            code.emit(.constAddr, d, id: unit.constant(Array(program.string(bytes))))
            return d
        case .unitLiteral:
            let d = target ?? temp()
            code.emit(.constI32, d, imm: 0)
            return d
        case .local(let local):
            let r = reg(local)
            if let target, target != r {
                code.emit(.mov, target, r)
                return target
            }
            return r
        case .global(let g):
            let d = target ?? temp()
            code.emit(.globalGet, d, id: globalIds[Int(g)])
            return d
        case .unary(let op, let operand):
            let a = expression(operand, into: nil)
            let d = target ?? temp()
            switch op {
            case .negateI64: code.emit(.iNeg64, d, a)
            case .negateF64: code.emit(.fNeg64, d, a)
            case .not: code.emit(.bNot, d, a)
            }
            return d
        case .binary(let op, let lhs, let rhs):
            return binary(op, lhs, rhs, into: target)
        case .and, .or, .ifElse:
            // These write their result register more than once: never straight into a local
            // that the expression itself may still read.
            let d = (target.map { isLocal($0) } ?? true) ? temp() : target!
            switch e.kind {
            case .and(let a, let b), .or(let a, let b):
                let isAnd: Bool
                if case .and = e.kind { isAnd = true } else { isAnd = false }
                let end = code.makeLabel()
                _ = expression(a, into: d)
                code.emitBranch(isAnd ? .brIfnot : .brIf, d, to: end)
                _ = expression(b, into: d)
                code.bind(end)
            case .ifElse(let condition, let then, let otherwise):
                let elseLabel = code.makeLabel()
                let end = code.makeLabel()
                branch(condition, when: false, to: elseLabel)
                let mark = nextTemp
                if e.type == .unit || otherwise == nil {
                    block(then, into: nil)
                } else {
                    _ = block(then, into: d)
                }
                nextTemp = mark
                if let otherwise {
                    code.emitBranch(.br, to: end)
                    code.bind(elseLabel)
                    if e.type == .unit {
                        block(otherwise, into: nil)
                    } else {
                        _ = block(otherwise, into: d)
                    }
                    nextTemp = mark
                } else {
                    code.bind(elseLabel)
                }
                code.bind(end)
            default:
                preconditionFailure()
            }
            if let target, target != d {
                code.emit(.mov, target, d)
                return target
            }
            return d
        case .call(let function, let arguments):
            return call(.call, id: functionIds[Int(function)], arguments, into: target)
        case .callForeign(let foreign, let arguments):
            return call(.callC, id: foreignIds[Int(foreign)], arguments, into: target)
        case .builtin(let builtin, let arguments):
            return self.builtin(builtin, arguments, into: target)
        case .index(let array, let index):
            let a = expression(array, into: nil)
            let i = expression(index, into: nil)
            let d = target ?? temp()
            code.emit(program[array].type == .arrayBool ? .arrayLoad8 : .arrayLoad64, d, a, i)
            return d
        }
    }

    /// Evaluates an operand that must keep its value while `later` is evaluated: a local is
    /// read in place unless `later` could assign locals (only blocks inside `if` can).
    mutating func operand(_ e: CheckedExpressionID, protectingFrom later: CheckedExpressionID) -> Register {
        let r = expression(e, into: nil)
        if isLocal(r), containsBlock(later) {
            let t = temp()
            code.emit(.mov, t, r)
            return t
        }
        return r
    }

    func containsBlock(_ e: CheckedExpressionID) -> Bool {
        switch program[e].kind {
        case .ifElse: return true
        case .unary(_, let a): return containsBlock(a)
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b), .index(let a, let b):
            return containsBlock(a) || containsBlock(b)
        case .call(_, let args), .callForeign(_, let args), .builtin(_, let args):
            return program.arguments(args).contains { containsBlock($0) }
        default: return false
        }
    }

    mutating func loadConstant(_ d: Register, _ bits: UInt64) {
        let v = Int64(bitPattern: bits)
        if v >= Int64(Int32.min), v <= Int64(Int32.max) {
            code.emit(.constI32, d, imm: Int32(v))
        } else {
            code.emit(.const64, d, imm64: bits)
        }
    }

    /// A literal that fits the instruction's immediate field, if `e` is one.
    func smallInt(_ e: CheckedExpressionID, range: ClosedRange<Int64>) -> Int64? {
        if case .intLiteral(let v) = program[e].kind, range.contains(v) { return v }
        return nil
    }

    mutating func binary(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, into target: Register?
    ) -> Register {
        let imm32Range = Int64(Int32.min + 1)...Int64(Int32.max)
        // Forms with an immediate operand.
        switch op {
        case .addI64, .subI64, .mulI64:
            if let c = smallInt(rhs, range: imm32Range) {
                let a = expression(lhs, into: nil)
                let d = target ?? temp()
                switch op {
                case .addI64: code.emit(.iAdd64Imm, d, a, imm: Int32(c))
                case .subI64: code.emit(.iAdd64Imm, d, a, imm: Int32(-c))
                default: code.emit(.iMul64Imm, d, a, imm: Int32(c))
                }
                return d
            }
        default:
            break
        }
        if let fused = multiplyAdd(op, lhs, rhs, into: target) { return fused }
        let a = operand(lhs, protectingFrom: rhs)
        let b = expression(rhs, into: nil)
        let d = target ?? temp()
        switch op {
        case .addI64: code.emit(.iAdd64, d, a, b)
        case .subI64: code.emit(.iSub64, d, a, b)
        case .mulI64: code.emit(.iMul64, d, a, b)
        case .divI64: code.emit(.sDiv64, d, a, b)
        case .remI64: code.emit(.sRem64, d, a, b)
        case .addF64: code.emit(.fAdd64, d, a, b)
        case .subF64: code.emit(.fSub64, d, a, b)
        case .mulF64: code.emit(.fMul64, d, a, b)
        case .divF64: code.emit(.fDiv64, d, a, b)
        case .eqI64, .eqBool: code.emit(.iEq64, d, a, b)
        case .neI64, .neBool: code.emit(.iNe64, d, a, b)
        case .ltI64: code.emit(.sLt64, d, a, b)
        case .leI64: code.emit(.sLe64, d, a, b)
        case .gtI64: code.emit(.sLt64, d, b, a)
        case .geI64: code.emit(.sLe64, d, b, a)
        case .eqF64: code.emit(.fEq64, d, a, b)
        case .neF64: code.emit(.fNe64, d, a, b)
        case .ltF64: code.emit(.fLt64, d, a, b)
        case .leF64: code.emit(.fLe64, d, a, b)
        case .gtF64: code.emit(.fLt64, d, b, a)
        case .geF64: code.emit(.fLe64, d, b, a)
        }
        return d
    }

    /// `x * y + z`, `z + x * y` and `x * y - z` on F64 as one `f_mul_add64`/`f_mul_sub64`
    /// (two roundings, the same result as two instructions), evaluating x, y and z in source
    /// order. Not used when an operand holds an `if` block (it could assign a local read earlier).
    mutating func multiplyAdd(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, into target: Register?
    ) -> Register? {
        guard op == .addF64 || op == .subF64 else { return nil }
        if containsBlock(lhs) || containsBlock(rhs) { return nil }
        if case .binary(.mulF64, let x, let y) = program[lhs].kind {
            let a = expression(x, into: nil)
            let b = expression(y, into: nil)
            let c = expression(rhs, into: nil)
            let d = target ?? temp()
            code.emit(op == .addF64 ? .fMulAdd64 : .fMulSub64, d, a, b, c)
            return d
        }
        if op == .addF64, case .binary(.mulF64, let x, let y) = program[rhs].kind {
            let c = expression(lhs, into: nil)
            let a = expression(x, into: nil)
            let b = expression(y, into: nil)
            let d = target ?? temp()
            code.emit(.fMulAdd64, d, a, b, c)
            return d
        }
        return nil
    }
}
