/// Parses a source file. Never fails: syntax errors are returned as diagnostics (sorted by
/// position, lexer errors included) and the tree holds what could be parsed, with
/// `.invalid` placeholders where a statement or declaration was dropped.
public func parse(_ file: SourceFile) -> (SourceFileSyntax, [Diagnostic]) {
    file.bytes.withUnsafeBufferPointer { bytes in
        var parser = Parser(lexer: Lexer(bytes: bytes))
        let syntax = parser.parseFile()
        return (syntax, (parser.lexer.diagnostics + parser.diagnostics).sortedByLocation())
    }
}

/// A recursive-descent parser over the token array.
///
/// Statement-level errors are thrown (typed throws, `Diagnostic`) up to the loop that parses a
/// block, which records the error, drops the rest of the line and any block indented under it,
/// and goes on with the next statement: several mistakes give several errors, one mistake one.
///
/// Grammar, loosest to tightest (LANGUAGE.md): `or`; `and`; prefix `not`; `== !=`;
/// `< <= > >=` (non-associative); `+ -`; `* / %`; prefix `-`; application by juxtaposition;
/// indexing `a[i]`. Arguments of an application are indexing-level expressions, so `f a[i]`
/// is `f (a[i])` and `f -1` is `f - 1`.
struct Parser {
    /// The deepest tree (and deepest parser recursion) accepted. Deeper input is reported as
    /// "expression nested too deeply" instead of overflowing the stack here or in the passes
    /// that walk the tree recursively.
    public static let maximumNesting = 200

    /// Produces tokens on demand into `lexer.tokens`, which the parser reads at `index` and
    /// trims now and then (keeping the previous token).
    var lexer: Lexer
    var index = 0
    var depth = 0
    var diagnostics: [Diagnostic] = []

    init(lexer: Lexer) {
        self.lexer = lexer
        self.lexer.lexMore()
    }

    var names: NameTable { lexer.names }

    var current: Token { lexer.tokens[index] }

    /// The token just consumed (or the current one at the start).
    var previous: Token { lexer.tokens[max(index - 1, 0)] }

    /// The kind of the token `offset` places ahead (`endOfFile` past the end).
    mutating func peek(_ offset: Int = 1) -> TokenKind {
        while index + offset >= lexer.tokens.count && !lexer.isFinished { lexer.lexMore() }
        return lexer.tokens[min(index + offset, lexer.tokens.count - 1)].kind
    }

    mutating func advance() {
        if index + 1 >= lexer.tokens.count {
            guard !lexer.isFinished else { return }
            // Drop consumed tokens, keeping the one just consumed for `previous`.
            lexer.tokens.removeSubrange(0..<index)
            index = 0
            while index + 1 >= lexer.tokens.count && !lexer.isFinished { lexer.lexMore() }
            if index + 1 >= lexer.tokens.count { return }
        }
        index += 1
    }

    /// How messages name a token: identifiers by their text.
    func describe(_ kind: TokenKind) -> String {
        if case .identifier(let name) = kind { return "`\(names[name])`" }
        return kind.description
    }

    func error(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(message, at: location ?? current.location)
    }

    /// Consumes a token of `kind` or throws "expected K, found X".
    @discardableResult
    mutating func expect(_ kind: TokenKind, _ context: String = "") throws(Diagnostic) -> Token {
        guard current.kind == kind else {
            throw error("expected \(describe(kind))\(context), found \(describe(current.kind))")
        }
        let token = current
        advance()
        return token
    }

    mutating func expectIdentifier(_ what: String) throws(Diagnostic) -> Identifier {
        guard case .identifier(let name) = current.kind else {
            throw error("expected \(what), found \(describe(current.kind))")
        }
        let identifier = Identifier(name, at: current.location)
        advance()
        return identifier
    }

    /// Counts one level of parser recursion; throws when input nests too deeply.
    mutating func enter() throws(Diagnostic) {
        depth += 1
        if depth > Parser.maximumNesting {
            depth -= 1
            throw error("expression nested too deeply")
        }
    }

    mutating func leave() { depth -= 1 }

    /// Builds an expression node, refusing trees higher than `maximumNesting`.
    func node(_ kind: ExpressionSyntax.Kind, at location: SourceLocation) throws(Diagnostic) -> ExpressionSyntax {
        let expression = ExpressionSyntax(kind, at: location)
        if expression.height > Parser.maximumNesting {
            throw error("expression nested too deeply", at: location)
        }
        return expression
    }

    // MARK: Recovery

    /// After an error: drop the rest of the line, then any block indented under it.
    mutating func recover() {
        while true {
            switch current.kind {
            case .newline:
                advance()
                if current.kind == .indent { skipIndentedBlock() }
                return
            case .dedent, .endOfFile:
                return
            case .indent:
                skipIndentedBlock()
            default:
                advance()
            }
        }
    }

    /// Skips from an `indent` through its matching `dedent`.
    mutating func skipIndentedBlock() {
        var level = 0
        while current.kind != .endOfFile {
            if current.kind == .indent { level += 1 }
            if current.kind == .dedent {
                level -= 1
                if level == 0 {
                    advance()
                    return
                }
            }
            advance()
        }
    }

    /// Whether the token just consumed closed a block (a statement with a block body needs no
    /// further terminator).
    var previousTokenEndedBlock: Bool {
        index > 0 && previous.kind == .dedent
    }

    /// A statement ends at `;`, at the end of its line, or where its block body ended.
    mutating func expectEndOfStatement() throws(Diagnostic) {
        switch current.kind {
        case .semicolon, .newline:
            advance()
        case .dedent, .endOfFile:
            break
        default:
            if !previousTokenEndedBlock {
                throw error("expected end of line, found \(describe(current.kind))")
            }
        }
    }

    // MARK: Top level

    mutating func parseFile() -> SourceFileSyntax {
        var declarations: [DeclarationSyntax] = []
        while true {
            switch current.kind {
            case .endOfFile:
                return SourceFileSyntax(declarations: declarations, names: names)
            case .newline, .semicolon, .dedent:
                advance()
            case .indent:
                diagnostics.append(error("unexpected indentation"))
                skipIndentedBlock()
            default:
                let start = current
                let declares = peek() == .declare
                do {
                    declarations.append(try parseDeclaration())
                    try expectEndOfStatement()
                } catch {
                    diagnostics.append(error)
                    if case .identifier(let name) = start.kind, declares {
                        declarations.append(.invalid(name: Identifier(name, at: start.location)))
                    }
                    recover()
                }
            }
        }
    }

    mutating func parseDeclaration() throws(Diagnostic) -> DeclarationSyntax {
        if current.kind == .keywordUse {
            let location = current.location
            advance()
            guard case .string(let path) = current.kind else {
                throw error("expected a path string after `use`, found \(describe(current.kind))")
            }
            advance()
            return .use(path: lexer.strings[Int(path)], location: location)
        }
        guard case .identifier(let name) = current.kind, peek() == .declare else {
            throw error("expected a declaration (`name := ...` or `use \"path\"`), found \(describe(current.kind))")
        }
        let identifier = Identifier(name, at: current.location)
        advance()
        advance()
        switch current.kind {
        case .keywordFun:
            return .function(name: identifier, try parseFunction())
        case .keywordForeign:
            return .foreign(name: identifier, try parseForeign())
        default:
            return .global(name: identifier, try parseExpressionOrIf())
        }
    }

    mutating func parseFunction() throws(Diagnostic) -> FunctionSyntax {
        let location = current.location
        advance()
        let parameters = try parseParameters()
        var result: TypeSyntax?
        if current.kind == .arrow {
            advance()
            result = try parseType()
        }
        let dot = try expect(.dot, " after the function header")
        let body = try parseBody(header: dot.location)
        return FunctionSyntax(parameters: parameters, result: result, body: body, at: location)
    }

    mutating func parseForeign() throws(Diagnostic) -> ForeignSyntax {
        let location = current.location
        advance()
        guard case .string(let symbolIndex) = current.kind else {
            throw error("expected the C symbol name as a string after `foreign`, found \(describe(current.kind))")
        }
        let symbol = lexer.strings[Int(symbolIndex)]
        advance()
        let parameters = try parseParameters()
        var result: TypeSyntax?
        if current.kind == .arrow {
            advance()
            result = try parseType()
        }
        return ForeignSyntax(symbol: symbol, parameters: parameters, result: result, at: location)
    }

    /// `( name: Type, ... )`
    mutating func parseParameters() throws(Diagnostic) -> [ParameterSyntax] {
        try expect(.leftParen)
        var parameters: [ParameterSyntax] = []
        if current.kind != .rightParen {
            while true {
                let name = try expectIdentifier("a parameter name")
                try expect(.colon, " after the parameter name")
                parameters.append(ParameterSyntax(name: name, type: try parseType()))
                guard current.kind == .comma else { break }
                advance()
            }
        }
        try expect(.rightParen)
        return parameters
    }

    /// `Name` or `Array Name`.
    mutating func parseType() throws(Diagnostic) -> TypeSyntax {
        let location = current.location
        let name = try expectIdentifier("a type").name
        let text = names[name]
        if text == "Array", case .identifier(let element) = current.kind {
            advance()
            return TypeSyntax(name: text, element: names[element], at: location)
        }
        return TypeSyntax(name: text, at: location)
    }

    // MARK: Blocks and statements

    /// The body after a header's `.`: an indented block on the following lines, or one
    /// statement on the same line.
    mutating func parseBody(header dot: SourceLocation) throws(Diagnostic) -> BlockSyntax {
        guard current.kind == .newline else {
            let statement = try parseStatement()
            return BlockSyntax(statements: [statement], at: statement.location)
        }
        guard peek() == .indent else {
            throw error("expected an indented block after `.`", at: dot)
        }
        advance()
        let location = current.location
        advance()
        try enter()
        defer { leave() }
        let statements = parseStatements()
        if current.kind == .dedent { advance() }
        let block = BlockSyntax(statements: statements, at: location)
        if block.height > Parser.maximumNesting {
            throw error("expression nested too deeply", at: location)
        }
        return block
    }

    /// Statements up to the end of the current block (a `dedent`, not consumed, or the end).
    mutating func parseStatements() -> [StatementSyntax] {
        var statements: [StatementSyntax] = []
        while true {
            switch current.kind {
            case .dedent, .endOfFile:
                return statements
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
                statements += parseStatements()
                if current.kind == .dedent { advance() }
                depth -= 1
            default:
                let start = current
                let declares = peek() == .declare
                do {
                    statements.append(try parseStatement())
                    try expectEndOfStatement()
                } catch {
                    diagnostics.append(error)
                    statements.append(placeholder(forStatementAt: start, declares: declares))
                    recover()
                }
            }
        }
    }

    /// What stands in for a statement that failed to parse: `name := <invalid>` if it
    /// declared a name (so later uses of the name stay quiet), else an invalid expression.
    func placeholder(forStatementAt start: Token, declares: Bool) -> StatementSyntax {
        let location = start.location
        let invalid = ExpressionSyntax(.invalid, at: location)
        if case .identifier(let name) = start.kind, declares {
            return StatementSyntax(.declare(Identifier(name, at: location), invalid), at: location)
        }
        return StatementSyntax(.expression(invalid), at: location)
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
                return StatementSyntax(.returnValue(nil), at: location)
            }
            return StatementSyntax(.returnValue(try parseExpressionOrIf()), at: location)
        case .keywordBreak:
            advance()
            return StatementSyntax(.breakLoop, at: location)
        case .keywordContinue:
            advance()
            return StatementSyntax(.continueLoop, at: location)
        case .keywordWhile:
            advance()
            let condition = try parseExpression()
            let dot = try expect(.dot, " after the `while` condition")
            try enter()
            defer { leave() }
            let body = try parseBody(header: dot.location)
            return StatementSyntax(.whileLoop(condition: condition, body: body), at: location)
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
            return StatementSyntax(.declare(Identifier(name, at: location), value), at: location)
        default:
            let expression = try parseExpressionOrIf()
            guard current.kind == .assign else {
                return StatementSyntax(.expression(expression), at: location)
            }
            switch expression.kind {
            case .name, .index: break
            default: throw error("cannot assign to this expression", at: expression.location)
            }
            advance()
            let value = try parseExpressionOrIf()
            return StatementSyntax(.assign(target: expression, value: value), at: location)
        }
    }

    // MARK: Expressions

    /// An expression, or an `if` (allowed where a whole expression stands: a statement, the
    /// right side of `:=`, `=` and `return`, and inside parentheses).
    mutating func parseExpressionOrIf() throws(Diagnostic) -> ExpressionSyntax {
        current.kind == .keywordIf ? try parseIf() : try parseExpression()
    }

    mutating func parseIf() throws(Diagnostic) -> ExpressionSyntax {
        let location = current.location
        try enter()
        defer { leave() }
        advance()
        let condition = try parseExpression()
        let dot = try expect(.dot, " after the `if` condition")
        let then = try parseBody(header: dot.location)
        var otherwise: BlockSyntax?
        // `else` on the same line, right after a block, or at the start of the next line.
        if current.kind == .newline, peek() == .keywordElse, !previousTokenEndedBlock {
            advance()
        }
        if current.kind == .keywordElse {
            advance()
            if current.kind == .keywordIf {
                let nested = try parseIf()
                otherwise = BlockSyntax(statements: [StatementSyntax(.expression(nested), at: nested.location)], at: nested.location)
            } else {
                let elseDot = try expect(.dot, " after `else`")
                otherwise = try parseBody(header: elseDot.location)
            }
        }
        return try node(.ifElse(IfSyntax(condition: condition, then: then, otherwise: otherwise)), at: location)
    }

    mutating func parseExpression() throws(Diagnostic) -> ExpressionSyntax {
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
    mutating func parseBinary(minimumLevel: Int) throws(Diagnostic) -> ExpressionSyntax {
        var left: ExpressionSyntax
        if current.kind == .keywordNot, minimumLevel <= Parser.notLevel {
            let location = current.location
            try enter()
            defer { leave() }
            advance()
            left = try node(.not(try parseBinary(minimumLevel: Parser.notLevel)), at: location)
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

    mutating func parsePrefix() throws(Diagnostic) -> ExpressionSyntax {
        guard current.kind == .minus else { return try parseApplication() }
        let location = current.location
        try enter()
        defer { leave() }
        advance()
        return try node(.negate(try parsePrefix()), at: location)
    }

    /// Whether the current token can start an argument of an application.
    var startsArgument: Bool {
        switch current.kind {
        case .identifier, .integer, .float, .string, .keywordTrue, .keywordFalse, .leftParen: true
        default: false
        }
    }

    mutating func parseApplication() throws(Diagnostic) -> ExpressionSyntax {
        let callee = try parsePostfix()
        guard startsArgument else { return callee }
        var arguments: [ExpressionSyntax] = []
        while startsArgument {
            arguments.append(try parsePostfix())
        }
        return try node(.apply(callee: callee, arguments: arguments), at: callee.location)
    }

    mutating func parsePostfix() throws(Diagnostic) -> ExpressionSyntax {
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

    mutating func parsePrimary() throws(Diagnostic) -> ExpressionSyntax {
        let token = current
        switch token.kind {
        case .integer(let value):
            advance()
            return ExpressionSyntax(.integer(value), at: token.location)
        case .float(let value):
            advance()
            return ExpressionSyntax(.float(value), at: token.location)
        case .string(let literal):
            advance()
            return ExpressionSyntax(.string(lexer.strings[Int(literal)]), at: token.location)
        case .keywordTrue, .keywordFalse:
            advance()
            return ExpressionSyntax(.bool(token.kind == .keywordTrue), at: token.location)
        case .identifier(let name):
            advance()
            return ExpressionSyntax(.name(name), at: token.location)
        case .leftParen:
            advance()
            if current.kind == .rightParen {
                advance()
                return ExpressionSyntax(.unit, at: token.location)
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
