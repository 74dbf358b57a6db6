import RibbonSyntax

/// What checking a block found.
struct CheckedBlockOutcome {
    var block: CheckedBlockID
    /// The block's value type: the last expression's type when the block's value is wanted and
    /// not `Unit`, else `Unit`; `nil` after an error, or when the block diverges.
    var type: ValueType?
    /// Every path through the block ends in `return`, `break` or `continue` (its `result` is
    /// then `nil`, and it agrees with any expected type).
    var diverges: Bool
}

extension Checker {
    /// Checks a block in a scope of its own.
    ///
    /// With `wantsValue`, a last expression of a type other than `Unit` becomes the block's
    /// `result`; otherwise it stays a statement and its value is dropped.
    mutating func checkBlock(_ id: BlockID, wantsValue: Bool) -> CheckedBlockOutcome {
        let scopeMark = scope.count
        defer { closeScope(scopeMark) }

        let block = tree[id]
        let pendingMark = pendingStatements.count
        var result: CheckedExpressionID?
        var type: ValueType? = .unit
        var diverges = false

        let last = Int(block.statements.upperBound) - 1
        var position = Int(block.statements.lowerBound)
        while position <= last {
            defer { position += 1 }
            let statement = tree.statements[position]
            let line = Int32(clamping: statement.location.line)
            let isLast = position == last
            if isLast, case .expression(let syntax) = statement.kind {
                let typed = checkExpression(syntax, wantsValue: wantsValue)
                if typed.diverges {
                    pendingStatements.append(CheckedStatement(.expression(typed.expression), line: line))
                    type = nil
                    diverges = true
                } else if wantsValue, let valueType = typed.type, valueType != .unit {
                    result = typed.expression
                    type = valueType
                } else {
                    pendingStatements.append(CheckedStatement(.expression(typed.expression), line: line))
                    type = typed.type == nil ? nil : .unit
                }
            } else {
                let (checked, statementDiverges) = checkStatement(statement)
                pendingStatements.append(checked)
                if isLast {
                    diverges = statementDiverges
                    type = statementDiverges || isPlaceholder(statement) ? nil : .unit
                }
            }
        }
        // Nested blocks have moved their statements out already: the rest are this block's.
        let first = Int32(statements.count)
        statements.append(contentsOf: pendingStatements[pendingMark...])
        pendingStatements.removeSubrange(pendingMark...)
        let blockID = CheckedBlockID(Int32(blocks.count))
        blocks.append(CheckedBlock(statements: first..<Int32(statements.count), result: result))
        return CheckedBlockOutcome(block: blockID, type: type, diverges: diverges)
    }

    /// Whether the statement stands in for one that failed to parse (`name := <invalid>`): a
    /// block ending in it has an unknown type rather than `Unit`, so no "missing result" follows.
    func isPlaceholder(_ statement: StatementSyntax) -> Bool {
        if case .declare(_, let value) = statement.kind, case .invalid = tree[value].kind { return true }
        return false
    }

    /// Checks one statement; also says whether it diverges.
    mutating func checkStatement(_ statement: StatementSyntax) -> (CheckedStatement, diverges: Bool) {
        let line = Int32(clamping: statement.location.line)
        switch statement.kind {
        case .expression(let syntax):
            let typed = checkExpression(syntax, wantsValue: false)
            return (CheckedStatement(.expression(typed.expression), line: line), typed.diverges)

        case .declare(let name, let syntax):
            let value = checkExpression(syntax)
            var type = value.type
            if type == .unit {
                report("cannot declare `\(names[name.name])` with a value of type Unit", at: tree[syntax].location)
                type = nil
            }
            let isBuiltinName = builtin(name.name) != nil
            if isBuiltinName {
                report("`\(names[name.name])` is a built-in function and cannot be used as a name", at: name.location)
            }
            let slot = declareLocal(name.name, type: type, visible: !isBuiltinName)
            return (CheckedStatement(.declare(local: Int32(slot), value.expression), line: line), value.diverges)

        case .assign(let target, let syntax):
            return (checkAssignment(target: target, value: syntax, line: line), false)

        case .whileLoop(let conditionSyntax, let bodySyntax):
            let condition = checkCondition(conditionSyntax)
            loopBreaks.append(0)
            let body = checkBlock(bodySyntax, wantsValue: false)
            let breaks = loopBreaks.removeLast()
            // `while true.` without a `break` only ends by `return`: it diverges.
            var isLiteralTrue = false
            if case .bool(true) = tree[conditionSyntax].kind { isLiteralTrue = true }
            return (
                CheckedStatement(.whileLoop(condition: condition.expression, body: body.block), line: line),
                isLiteralTrue && breaks == 0
            )

        case .returnValue(let syntax):
            return (checkReturn(syntax, at: statement.location), true)

        case .breakLoop:
            if loopBreaks.isEmpty {
                report("`break` outside a loop", at: statement.location)
            } else {
                loopBreaks[loopBreaks.count - 1] += 1
            }
            return (CheckedStatement(.breakLoop, line: line), true)

        case .continueLoop:
            if loopBreaks.isEmpty {
                report("`continue` outside a loop", at: statement.location)
            }
            return (CheckedStatement(.continueLoop, line: line), true)
        }
    }

    mutating func checkReturn(_ syntax: ExpressionID?, at location: SourceLocation) -> CheckedStatement {
        let name = currentFunction.name
        guard let syntax else {
            if let result = currentFunction.result, result != .unit {
                report("`return` needs a value: `\(name)` returns \(result)", at: location)
            }
            return CheckedStatement(.returnValue(nil), line: Int32(clamping: location.line))
        }
        let value = checkExpression(syntax)
        switch currentFunction.result {
        case .unit?:
            report("`\(name)` has no result type, so `return` takes no value", at: tree[syntax].location)
        case let result?:
            if let type = value.type, type != result, !value.diverges {
                report("`\(name)` returns \(result), but this value has type \(type)", at: tree[syntax].location)
            }
        case nil:
            break
        }
        return CheckedStatement(.returnValue(value.expression), line: Int32(clamping: location.line))
    }

    mutating func checkAssignment(target targetID: ExpressionID, value syntax: ExpressionID, line: Int32) -> CheckedStatement {
        let target = tree[targetID]

        switch target.kind {
        case .name(let nameID):
            let name = names[nameID]
            let value = checkExpression(syntax)
            let expected: ValueType?
            let kind: CheckedStatement.Kind
            if let slot = lookupLocal(nameID) {
                expected = localTypes[slot]
                kind = .assignLocal(local: Int32(slot), value.expression)
            } else if let entity = topLevelEntity(nameID) {
                switch entity {
                case .global(let index):
                    expected = globalTypes[index]
                    kind = .assignGlobal(global: Int32(index), value.expression)
                case .function, .foreign:
                    report("cannot assign to `\(name)`: it is a function", at: target.location)
                    return placeholderStatement(at: target.location, line: line)
                case .invalid, .imported:
                    return placeholderStatement(at: target.location, line: line)
                }
            } else if builtin(nameID) != nil {
                report("cannot assign to `\(name)`: it is a built-in function", at: target.location)
                return placeholderStatement(at: target.location, line: line)
            } else {
                report("undefined name `\(name)` (declare a variable with `\(name) := ...`)", at: target.location)
                return placeholderStatement(at: target.location, line: line)
            }
            if let expected, let type = value.type, type != expected, !value.diverges {
                report("cannot assign a value of type \(type) to `\(name)`, which has type \(expected)", at: tree[syntax].location)
            }
            return CheckedStatement(kind, line: line)

        case .index(let arraySyntax, let indexSyntax):
            let (array, index, elementType) = checkIndexOperands(arraySyntax, indexSyntax, at: target.location)
            let value = checkExpression(syntax)
            if let elementType, let type = value.type, type != elementType, !value.diverges {
                report("cannot store a value of type \(type) in an array of \(elementType)", at: tree[syntax].location)
            }
            return CheckedStatement(.assignIndex(array: array.expression, index: index.expression, value: value.expression), line: line)

        default:
            // The parser only builds assignments to names and elements.
            _ = checkExpression(syntax)
            return placeholderStatement(at: target.location, line: line)
        }
    }

    /// A stand-in for a statement that had an error (the program is dropped anyway).
    mutating func placeholderStatement(at location: SourceLocation, line: Int32) -> CheckedStatement {
        CheckedStatement(.expression(placeholder(at: location)), line: line)
    }

    /// A condition of `if` or `while`: must be `Bool`.
    mutating func checkCondition(_ syntax: ExpressionID) -> Typed {
        let condition = checkExpression(syntax)
        if let type = condition.type, type != .bool, !condition.diverges {
            report("condition must be Bool, not \(type)", at: tree[syntax].location)
        }
        return condition
    }
}
