/// Expressions by precedence climbing, loosest to tightest (see `Parser`'s grammar): `if`,
/// binary operators, prefix operators, application by juxtaposition and indexing.
extension Parser {
    /// An expression, or an `if` (allowed where a whole expression stands: a statement, the
    /// right side of `:=`, `=` and `return`, and inside parentheses).
    mutating func parseExpressionOrIf() throws(Diagnostic) -> ExpressionID {
        current.kind == .keywordIf ? try parseIf() : try parseExpression()
    }

    mutating func parseIf() throws(Diagnostic) -> ExpressionID {
        let location = current.location
        try enter()
        defer { leave() }
        advance()
        let condition = try parseExpression()
        let dot = try expect(.dot, " after the `if` condition")
        let then = try parseBody(header: dot.location)
        var otherwise: BlockID?
        // `else` on the same line, right after a block, or at the start of the next line.
        if current.kind == .newline, peek() == .keywordElse, !previousTokenEndedBlock {
            advance()
        }
        if current.kind == .keywordElse {
            advance()
            if current.kind == .keywordIf {
                let nested = try parseIf()
                otherwise = singleStatementBlock(statement(.expression(nested), at: node(nested).location))
            } else {
                let elseDot = try expect(.dot, " after `else`")
                otherwise = try parseBody(header: elseDot.location)
            }
        }
        return try node(.ifElse(IfSyntax(condition: condition, then: then, otherwise: otherwise)), at: location)
    }

    mutating func parseExpression() throws(Diagnostic) -> ExpressionID {
        try parseBinary(minimumLevel: 1)
    }

    /// Binding levels, loosest first. `not` (prefix) sits at level 3, between `and` and `==`.
    static let notLevel = 3
    static let comparisonLevel = 5

    /// The binary operator a token stands for, and its level.
    static func binaryOperator(_ kind: TokenKind) -> (BinaryOperator, level: Int)? {
        switch kind {
        case .keywordOr: (.or, 1)
        case .keywordAnd: (.and, 2)
        case .equal: (.equal, 4)
        case .notEqual: (.notEqual, 4)
        case .less: (.less, comparisonLevel)
        case .lessEqual: (.lessEqual, comparisonLevel)
        case .greater: (.greater, comparisonLevel)
        case .greaterEqual: (.greaterEqual, comparisonLevel)
        case .plus: (.add, 6)
        case .minus: (.subtract, 6)
        case .star: (.multiply, 7)
        case .slash: (.divide, 7)
        case .percent: (.remainder, 7)
        default: nil
        }
    }

    /// Precedence climbing over the binary levels: operators at `minimumLevel` or tighter.
    /// Chains are built in a loop (left-associative); a comparison may not follow another.
    mutating func parseBinary(minimumLevel: Int) throws(Diagnostic) -> ExpressionID {
        var left: ExpressionID
        if current.kind == .keywordNot, minimumLevel <= Parser.notLevel {
            let location = current.location
            try enter()
            defer { leave() }
            advance()
            let operand = try parseBinary(minimumLevel: Parser.notLevel)
            left = try node(.not(operand), at: location)
        } else {
            left = try parsePrefix()
        }
        while let (op, level) = Parser.binaryOperator(current.kind), level >= minimumLevel {
            let location = current.location
            advance()
            let right = try parseBinary(minimumLevel: level + 1)
            left = try node(.binary(op, left, right), at: location)
            if level == Parser.comparisonLevel, let (_, next) = Parser.binaryOperator(current.kind),
                next == Parser.comparisonLevel
            {
                throw error("comparison operators cannot be chained; use parentheses or `and`")
            }
        }
        return left
    }

    mutating func parsePrefix() throws(Diagnostic) -> ExpressionID {
        guard current.kind == .minus else { return try parseApplication() }
        let location = current.location
        try enter()
        defer { leave() }
        advance()
        let operand = try parsePrefix()
        return try node(.negate(operand), at: location)
    }

    /// Whether the current token can start an argument of an application.
    var startsArgument: Bool {
        switch current.kind {
        case .identifier, .integer, .float, .string, .keywordTrue, .keywordFalse, .leftParen: true
        default: false
        }
    }

    mutating func parseApplication() throws(Diagnostic) -> ExpressionID {
        let callee = try parsePostfix()
        guard startsArgument else { return callee }
        let mark = pendingArguments.count
        while startsArgument {
            let argument = try parsePostfix()
            pendingArguments.append(argument)
        }
        let start = Int32(truncatingIfNeeded: tree.arguments.count)
        tree.arguments.append(contentsOf: pendingArguments[mark...])
        pendingArguments.removeLast(pendingArguments.count - mark)
        let arguments = start..<Int32(truncatingIfNeeded: tree.arguments.count)
        return try node(.apply(callee: callee, arguments: arguments), at: node(callee).location)
    }

    mutating func parsePostfix() throws(Diagnostic) -> ExpressionID {
        var expression = try parsePrimary()
        while current.kind == .leftBracket {
            let location = current.location
            advance()
            try enter()
            defer { leave() }
            let index = try parseExpression()
            try expect(.rightBracket)
            expression = try node(.index(array: expression, index: index), at: location)
        }
        return expression
    }

    mutating func parsePrimary() throws(Diagnostic) -> ExpressionID {
        let token = current
        switch token.kind {
        case .integer(let value):
            advance()
            return leaf(.integer(value), at: token.location)
        case .float(let value):
            advance()
            return leaf(.float(value), at: token.location)
        case .string(let literal):
            advance()
            return leaf(.string(literal), at: token.location)
        case .keywordTrue, .keywordFalse:
            advance()
            return leaf(.bool(token.kind == .keywordTrue), at: token.location)
        case .identifier(let name):
            advance()
            return leaf(.name(name), at: token.location)
        case .leftParen:
            advance()
            if current.kind == .rightParen {
                advance()
                return leaf(.unit, at: token.location)
            }
            try enter()
            defer { leave() }
            let inner = try parseExpressionOrIf()
            try expect(.rightParen)
            return inner
        default:
            throw error("expected an expression, found \(describe(token.kind))")
        }
    }
}
