/// Blocks and statements: bodies after a header's `.`, the statement loop with its error
/// recovery, and each statement form.
extension Parser {
    /// The body after a header's `.`: an indented block on the following lines, or one
    /// statement on the same line.
    mutating func parseBody(header dot: SourceLocation) throws(Diagnostic) -> BlockID {
        guard current.kind == .newline else {
            let statement = try parseStatement()
            return singleStatementBlock(statement)
        }
        guard peek() == .indent else {
            throw error("expected an indented block after `.`", at: dot)
        }
        advance()
        let location = current.location
        advance()
        try enter()
        defer { leave() }
        let mark = pendingStatements.count
        parseStatements()
        if current.kind == .dedent { advance() }
        let block = finishBlock(from: mark, at: location)
        if height(block) > Parser.maximumNesting {
            throw error("expression nested too deeply", at: location)
        }
        return block
    }

    /// Statements up to the end of the current block (a `dedent`, not consumed, or the end),
    /// appended to `pendingStatements`.
    mutating func parseStatements() {
        while true {
            switch current.kind {
            case .dedent, .endOfFile:
                return
            case .newline, .semicolon:
                advance()
            case .indent:
                // An indented line that no header opened: report it once and read its lines as
                // if they were not indented.
                diagnostics.append(error("unexpected indentation"))
                guard depth < Parser.maximumNesting else {
                    skipIndentedBlock()
                    continue
                }
                depth += 1
                advance()
                parseStatements()
                if current.kind == .dedent { advance() }
                depth -= 1
            default:
                let start = current
                let declares = peek() == .declare
                let statementMark = pendingStatements.count
                let argumentMark = pendingArguments.count
                do {
                    pendingStatements.append(try parseStatement())
                    try expectEndOfStatement()
                } catch {
                    diagnostics.append(error)
                    // Drop whatever the broken statement left half-built.
                    pendingStatements.removeSubrange(statementMark...)
                    pendingArguments.removeSubrange(argumentMark...)
                    pendingStatements.append(placeholder(forStatementAt: start, declares: declares))
                    recover()
                }
            }
        }
    }

    /// What stands in for a statement that failed to parse: `name := <invalid>` if it
    /// declared a name (so later uses of the name stay quiet), else an invalid expression.
    mutating func placeholder(forStatementAt start: Token, declares: Bool) -> StatementSyntax {
        let location = start.location
        let invalid = leaf(.invalid, at: location)
        if case .identifier(let name) = start.kind, declares {
            return statement(.declare(Identifier(name, at: location), invalid), at: location)
        }
        return statement(.expression(invalid), at: location)
    }

    /// Whether the current token ends a statement (so `return` has no value).
    var atEndOfStatement: Bool {
        switch current.kind {
        case .newline, .semicolon, .dedent, .endOfFile, .keywordElse: true
        default: false
        }
    }

    mutating func parseStatement() throws(Diagnostic) -> StatementSyntax {
        let location = current.location
        switch current.kind {
        case .keywordReturn:
            advance()
            if atEndOfStatement {
                return statement(.returnValue(nil), at: location)
            }
            // (Parsed first: `statement` reads the tree the parse adds to.)
            let value = try parseExpressionOrIf()
            return statement(.returnValue(value), at: location)
        case .keywordBreak:
            advance()
            return statement(.breakLoop, at: location)
        case .keywordContinue:
            advance()
            return statement(.continueLoop, at: location)
        case .keywordWhile:
            advance()
            let condition = try parseExpression()
            let dot = try expect(.dot, " after the `while` condition")
            try enter()
            defer { leave() }
            let body = try parseBody(header: dot.location)
            return statement(.whileLoop(condition: condition, body: body), at: location)
        case .keywordElse:
            throw error("`else` without a matching `if`")
        case .keywordFun, .keywordForeign:
            throw error("functions can only be defined at the top level")
        case .keywordUse:
            throw error("`use` is only allowed at the top level")
        case .identifier(let name) where peek() == .declare:
            advance()
            advance()
            if current.kind == .keywordFun || current.kind == .keywordForeign {
                throw error("functions can only be defined at the top level")
            }
            let value = try parseExpressionOrIf()
            return statement(.declare(Identifier(name, at: location), value), at: location)
        default:
            let expression = try parseExpressionOrIf()
            guard current.kind == .assign else {
                return statement(.expression(expression), at: location)
            }
            let target = node(expression)
            switch target.kind {
            case .name, .index: break
            default: throw error("cannot assign to this expression", at: target.location)
            }
            advance()
            let value = try parseExpressionOrIf()
            return statement(.assign(target: expression, value: value), at: location)
        }
    }
}
