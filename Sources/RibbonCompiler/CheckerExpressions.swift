import RibbonSyntax

extension Checker {
    /// A stand-in for an expression that had an error (the program is dropped anyway).
    mutating func placeholder(at location: SourceLocation) -> CheckedExpressionID {
        expression(.unitLiteral, .unit, at: location)
    }

    /// Appends an expression node (its children are in the table already).
    mutating func expression(_ kind: CheckedExpression.Kind, _ type: ValueType, at location: SourceLocation) -> CheckedExpressionID {
        let id = CheckedExpressionID(Int32(expressions.count))
        expressions.append(
            CheckedExpression(
                kind, type: type, line: Int32(clamping: location.line), column: Int32(clamping: location.column)))
        return id
    }

    /// The error type: the error was reported already.
    mutating func failed(at location: SourceLocation) -> Typed {
        Typed(expression: placeholder(at: location), type: nil)
    }

    mutating func typed(_ kind: CheckedExpression.Kind, _ type: ValueType, at location: SourceLocation) -> Typed {
        Typed(expression: expression(kind, type, at: location), type: type)
    }

    /// Checks an expression. `wantsValue` only matters for `if`/`else`: when its value is
    /// dropped, its branches need not agree on a type.
    mutating func checkExpression(_ id: ExpressionID, wantsValue: Bool = true) -> Typed {
        let syntax = tree[id]
        let location = syntax.location
        switch syntax.kind {
        case .integer(let magnitude):
            guard magnitude <= UInt64(Int64.max) else {
                report(Checker.integerTooLarge(magnitude), at: location)
                return failed(at: location)
            }
            return typed(.intLiteral(Int64(magnitude)), .i64, at: location)
        case .float(let value):
            return typed(.floatLiteral(value), .f64, at: location)
        case .string(let index):
            let first = Int32(stringBytes.count)
            stringBytes.append(contentsOf: tree.strings[Int(index)])
            return typed(.stringLiteral(first..<Int32(stringBytes.count)), .str, at: location)
        case .bool(let value):
            return typed(.boolLiteral(value), .bool, at: location)
        case .unit:
            return typed(.unitLiteral, .unit, at: location)
        case .name(let name):
            return checkName(name, at: location)
        case .negate(let operand):
            return checkNegate(operand, at: location)
        case .not(let operandSyntax):
            let operand = checkExpression(operandSyntax)
            if let type = operand.type, type != .bool {
                report("`not` needs a Bool operand, not \(type)", at: location)
            }
            return typed(.unary(.not, operand.expression), .bool, at: location)
        case .binary(let op, let left, let right):
            return checkBinary(op, left, right, at: location)
        case .apply(let callee, let arguments):
            return checkApplication(callee, arguments)
        case .index(let arraySyntax, let indexSyntax):
            let (array, index, elementType) = checkIndexOperands(arraySyntax, indexSyntax, at: location)
            guard let elementType else { return failed(at: location) }
            return typed(.index(array: array.expression, index: index.expression), elementType, at: location)
        case .ifElse(let syntax):
            return checkIf(syntax, wantsValue: wantsValue, at: location)
        case .invalid:
            return failed(at: location)
        }
    }

    static func integerTooLarge(_ magnitude: UInt64) -> String {
        magnitude == .max
            ? "integer literal does not fit in I64"
            : "integer literal \(magnitude) does not fit in I64 (the largest is 9223372036854775807)"
    }

    // MARK: Names

    mutating func checkName(_ nameID: Name, at location: SourceLocation) -> Typed {
        if let slot = lookupLocal(nameID) {
            guard let type = localTypes[slot] else { return failed(at: location) }
            return typed(.local(Int32(slot)), type, at: location)
        }
        if let entity = topLevelEntity(nameID) {
            switch entity {
            case .global(let index):
                guard let type = globalTypes[index] else { return failed(at: location) }
                return typed(.global(Int32(index)), type, at: location)
            case .function, .foreign:
                report("`\(names[nameID])` is a function: call it with its arguments (`\(names[nameID]) ()` when it takes none)", at: location)
            case .invalid, .imported:
                break
            }
            return failed(at: location)
        }
        if builtin(nameID) != nil {
            report("`\(names[nameID])` is a built-in function: call it with its arguments", at: location)
        } else {
            report("undefined name `\(names[nameID])`", at: location)
        }
        return failed(at: location)
    }

    // MARK: Operators

    mutating func checkNegate(_ operandSyntax: ExpressionID, at location: SourceLocation) -> Typed {
        // Literals fold, which is also how the minimum I64 is written: 9223372036854775808
        // does not fit on its own, but directly after a prefix `-` it does.
        switch tree[operandSyntax].kind {
        case .integer(let magnitude) where magnitude <= UInt64(Int64.max) + 1:
            return typed(.intLiteral(Int64(truncatingIfNeeded: 0 &- magnitude)), .i64, at: location)
        case .float(let value):
            return typed(.floatLiteral(-value), .f64, at: location)
        default:
            break
        }
        let operand = checkExpression(operandSyntax)
        switch operand.type {
        case .i64?: return typed(.unary(.negateI64, operand.expression), .i64, at: location)
        case .f64?: return typed(.unary(.negateF64, operand.expression), .f64, at: location)
        case nil: return failed(at: location)
        case let type?:
            report("prefix `-` needs an I64 or F64 operand, not \(type)", at: location)
            return failed(at: location)
        }
    }

    /// The typed operation for `op` on operands of these types, with its result type; `nil`
    /// when the operator does not apply to them. (`and`/`or` are handled separately.)
    static func binaryOperation(_ op: BinaryOperator, _ left: ValueType, _ right: ValueType) -> (BinaryOperation, ValueType)? {
        guard left == right else { return nil }
        switch (op, left) {
        case (.add, .i64): return (.addI64, .i64)
        case (.subtract, .i64): return (.subI64, .i64)
        case (.multiply, .i64): return (.mulI64, .i64)
        case (.divide, .i64): return (.divI64, .i64)
        case (.remainder, .i64): return (.remI64, .i64)
        case (.add, .f64): return (.addF64, .f64)
        case (.subtract, .f64): return (.subF64, .f64)
        case (.multiply, .f64): return (.mulF64, .f64)
        case (.divide, .f64): return (.divF64, .f64)
        case (.equal, .i64): return (.eqI64, .bool)
        case (.notEqual, .i64): return (.neI64, .bool)
        case (.less, .i64): return (.ltI64, .bool)
        case (.lessEqual, .i64): return (.leI64, .bool)
        case (.greater, .i64): return (.gtI64, .bool)
        case (.greaterEqual, .i64): return (.geI64, .bool)
        case (.equal, .f64): return (.eqF64, .bool)
        case (.notEqual, .f64): return (.neF64, .bool)
        case (.less, .f64): return (.ltF64, .bool)
        case (.lessEqual, .f64): return (.leF64, .bool)
        case (.greater, .f64): return (.gtF64, .bool)
        case (.greaterEqual, .f64): return (.geF64, .bool)
        case (.equal, .bool): return (.eqBool, .bool)
        case (.notEqual, .bool): return (.neBool, .bool)
        default: return nil
        }
    }

    /// The result type of `op` whatever its operands (`nil` when it depends on them).
    static func fixedResultType(_ op: BinaryOperator) -> ValueType? {
        switch op {
        case .add, .subtract, .multiply, .divide, .remainder: nil
        default: .bool
        }
    }

    /// Why `op` does not apply to operands of these types.
    static func operatorMismatch(_ op: BinaryOperator, _ left: ValueType, _ right: ValueType) -> String {
        let operands = "got \(left) and \(right)"
        switch op {
        case .remainder:
            return "`%` needs two I64 operands, \(operands)"
        case .add, .subtract, .multiply, .divide, .less, .lessEqual, .greater, .greaterEqual:
            return "`\(op.spelling)` needs two I64 or two F64 operands, \(operands)"
        case .equal, .notEqual:
            return "`\(op.spelling)` needs two operands of the same type, I64, F64 or Bool, \(operands)"
        case .and, .or:
            return "`\(op.spelling)` needs two Bool operands, \(operands)"
        }
    }

    mutating func checkBinary(
        _ op: BinaryOperator, _ leftSyntax: ExpressionID, _ rightSyntax: ExpressionID, at location: SourceLocation
    ) -> Typed {
        let left = checkExpression(leftSyntax)
        let right = checkExpression(rightSyntax)

        if op == .and || op == .or {
            if (left.type ?? .bool) != .bool || (right.type ?? .bool) != .bool {
                report(Checker.operatorMismatch(op, left.type ?? .bool, right.type ?? .bool), at: location)
            }
            let kind: CheckedExpression.Kind =
                op == .and ? .and(left.expression, right.expression) : .or(left.expression, right.expression)
            return typed(kind, .bool, at: location)
        }

        guard let leftType = left.type, let rightType = right.type else {
            // One side is already wrong; comparisons are still Bool.
            guard let result = Checker.fixedResultType(op) else { return failed(at: location) }
            return Typed(expression: placeholder(at: location), type: result)
        }
        guard let (operation, result) = Checker.binaryOperation(op, leftType, rightType) else {
            report(Checker.operatorMismatch(op, leftType, rightType), at: location)
            guard let result = Checker.fixedResultType(op) else { return failed(at: location) }
            return Typed(expression: placeholder(at: location), type: result)
        }
        return typed(.binary(operation, left.expression, right.expression), result, at: location)
    }

    // MARK: Indexing

    /// `a[i]`: `a` must be an array, `i` an I64. Returns the element type (`nil` after errors).
    mutating func checkIndexOperands(
        _ arraySyntax: ExpressionID, _ indexSyntax: ExpressionID, at location: SourceLocation
    ) -> (array: Typed, index: Typed, elementType: ValueType?) {
        let array = checkExpression(arraySyntax)
        let index = checkExpression(indexSyntax)
        if let type = index.type, type != .i64 {
            report("an array index must be I64, not \(type)", at: tree[indexSyntax].location)
        }
        guard let arrayType = array.type else { return (array, index, nil) }
        guard let element = arrayType.elementType else {
            report("cannot index a value of type \(arrayType)", at: location)
            return (array, index, nil)
        }
        return (array, index, element)
    }

    // MARK: Conditionals

    mutating func checkIf(_ syntax: IfSyntax, wantsValue: Bool, at location: SourceLocation) -> Typed {
        let condition = checkCondition(syntax.condition)
        guard let otherwiseSyntax = syntax.otherwise else {
            // Without `else` the value is Unit, so the branch's value is dropped.
            let then = checkBlock(syntax.then, wantsValue: false)
            let kind = CheckedExpression.Kind.ifElse(condition: condition.expression, then: then.block, otherwise: nil)
            return typed(kind, .unit, at: location)
        }
        let then = checkBlock(syntax.then, wantsValue: wantsValue)
        let otherwise = checkBlock(otherwiseSyntax, wantsValue: wantsValue)
        let kind = CheckedExpression.Kind.ifElse(condition: condition.expression, then: then.block, otherwise: otherwise.block)
        let diverges = then.diverges && otherwise.diverges

        var type: ValueType?
        if !wantsValue {
            type = .unit
        } else if then.diverges {
            type = otherwise.type
        } else if otherwise.diverges {
            type = then.type
        } else if let thenType = then.type, let otherwiseType = otherwise.type {
            if thenType == otherwiseType {
                type = thenType
            } else {
                report("`if` and `else` branches have different types: \(thenType) and \(otherwiseType)", at: location)
            }
        }
        if diverges { type = nil }
        return Typed(expression: expression(kind, type ?? .unit, at: location), type: type, diverges: diverges)
    }
}
