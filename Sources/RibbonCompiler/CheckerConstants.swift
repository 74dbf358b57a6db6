import RibbonSyntax

extension ConstantValue {
    var type: ValueType {
        switch self {
        case .i64: .i64
        case .f64: .f64
        case .bool: .bool
        case .str: .str
        }
    }
}

extension Checker {
    /// Evaluates a global's initialiser, which must be a constant expression: literals,
    /// parentheses, prefix `-` and `not`, and the binary operators on constants (I64
    /// arithmetic wraps like at run time; dividing by zero is an error). Names, calls, indexing
    /// and `if` are not constant. Returns `nil` after reporting an error.
    mutating func evaluateGlobal(_ id: ExpressionID) -> ConstantValue? {
        let syntax = tree[id]
        let location = syntax.location
        switch syntax.kind {
        case .integer(let magnitude):
            guard magnitude <= UInt64(Int64.max) else {
                report(Checker.integerTooLarge(magnitude), at: location)
                return nil
            }
            return .i64(Int64(magnitude))
        case .float(let value):
            return .f64(value)
        case .string(let index):
            return .str(tree.string(index))
        case .bool(let value):
            return .bool(value)
        case .unit:
            report("a global cannot have type Unit", at: location)
            return nil
        case .negate(let operand):
            if case .integer(let magnitude) = tree[operand].kind, magnitude == UInt64(Int64.max) + 1 {
                return .i64(.min)
            }
            switch evaluateGlobal(operand) {
            case .i64(let value)?: return .i64(0 &- value)
            case .f64(let value)?: return .f64(-value)
            case nil: return nil
            case let value?:
                report("prefix `-` needs an I64 or F64 operand, not \(value.type)", at: location)
                return nil
            }
        case .not(let operand):
            switch evaluateGlobal(operand) {
            case .bool(let value)?: return .bool(!value)
            case nil: return nil
            case let value?:
                report("`not` needs a Bool operand, not \(value.type)", at: location)
                return nil
            }
        case .binary(let op, let leftSyntax, let rightSyntax):
            let left = evaluateGlobal(leftSyntax)
            let right = evaluateGlobal(rightSyntax)
            guard let left, let right else { return nil }
            return evaluateBinary(op, left, right, at: location)
        case .name, .apply, .index, .ifElse:
            report("a global's initial value must be a constant expression (literals and operators on them)", at: location)
            return nil
        case .invalid:
            return nil
        }
    }

    mutating func evaluateBinary(
        _ op: BinaryOperator, _ left: ConstantValue, _ right: ConstantValue, at location: SourceLocation
    ) -> ConstantValue? {
        if op == .and || op == .or {
            guard case .bool(let a) = left, case .bool(let b) = right else {
                report(Checker.operatorMismatch(op, left.type, right.type), at: location)
                return nil
            }
            return .bool(op == .and ? a && b : a || b)
        }
        guard let (operation, _) = Checker.binaryOperation(op, left.type, right.type) else {
            report(Checker.operatorMismatch(op, left.type, right.type), at: location)
            return nil
        }
        switch (left, right) {
        case (.i64(let a), .i64(let b)):
            switch operation {
            case .addI64: return .i64(a &+ b)
            case .subI64: return .i64(a &- b)
            case .mulI64: return .i64(a &* b)
            case .divI64, .remI64:
                guard b != 0 else {
                    report("division by zero in a constant expression", at: location)
                    return nil
                }
                // The one overflowing case, min / -1, wraps to min with remainder 0.
                if b == -1 { return .i64(operation == .divI64 ? 0 &- a : 0) }
                return .i64(operation == .divI64 ? a / b : a % b)
            case .eqI64: return .bool(a == b)
            case .neI64: return .bool(a != b)
            case .ltI64: return .bool(a < b)
            case .leI64: return .bool(a <= b)
            case .gtI64: return .bool(a > b)
            case .geI64: return .bool(a >= b)
            default: return nil
            }
        case (.f64(let a), .f64(let b)):
            switch operation {
            case .addF64: return .f64(a + b)
            case .subF64: return .f64(a - b)
            case .mulF64: return .f64(a * b)
            case .divF64: return .f64(a / b)
            case .eqF64: return .bool(a == b)
            case .neF64: return .bool(a != b)
            case .ltF64: return .bool(a < b)
            case .leF64: return .bool(a <= b)
            case .gtF64: return .bool(a > b)
            case .geF64: return .bool(a >= b)
            default: return nil
            }
        case (.bool(let a), .bool(let b)):
            return .bool(operation == .eqBool ? a == b : a != b)
        default:
            return nil
        }
    }
}
