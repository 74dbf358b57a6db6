#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// Parses a source file. Never fails: syntax errors are returned as diagnostics (sorted by
/// position, lexer errors included) and the tree holds what could be parsed, with
/// `.invalid` placeholders where a statement or declaration was dropped.
public func parse(_ file: SourceFile) -> (SourceFileSyntax, [Diagnostic]) {
    file.bytes.withUnsafeBufferPointer { bytes in
        var parser = Parser(lexer: Lexer(bytes: bytes))
        parser.reserve(forBytes: bytes.count)
        let syntax = parser.parseFile()
        parser.lexer.releaseTokens()
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

    /// Produces tokens on demand into its token buffer, which the parser reads at `index` and
    /// trims now and then (keeping the previous token).
    var lexer: Lexer
    var index = 0
    var depth = 0
    var diagnostics: [Diagnostic] = []
    /// The tree being built (its `names` and `strings` are filled in at the end).
    var tree = SourceFileSyntax()
    /// Statements of the blocks being parsed, innermost block last; a finished block moves its
    /// own (the top of the stack) to `tree.statements` in one piece.
    var pendingStatements: [StatementSyntax] = []
    /// Arguments of the applications being parsed, likewise moved to `tree.arguments`.
    var pendingArguments: [ExpressionID] = []
    /// The height of every expression in `tree.expressions` (a leaf is 1). Never above
    /// `maximumNesting` + 1: deeper trees are refused as they are built.
    var expressionHeights: [UInt8] = []

    init(lexer: Lexer) {
        self.lexer = lexer
        self.lexer.lexMore()
    }

    var names: NameTable { lexer.names }

    /// Reserves room in the node tables for a file of `count` bytes (measured on generated
    /// code: about one expression per 3 bytes, one statement per 25). Untouched capacity
    /// costs no memory, and growing the tables by copying is what this avoids.
    mutating func reserve(forBytes count: Int) {
        tree.expressions.reserveCapacity(count / 3 + 16)
        expressionHeights.reserveCapacity(count / 3 + 16)
        tree.parameters.reserveCapacity(count / 100 + 16)
        tree.statements.reserveCapacity(count / 20 + 16)
        tree.blocks.reserveCapacity(count / 60 + 16)
        tree.arguments.reserveCapacity(count / 12 + 16)
        adviseHugePages(&tree.expressions)
        pendingStatements.reserveCapacity(64)
        pendingArguments.reserveCapacity(64)
    }

    /// Asks the kernel to back the reserved (still untouched) capacity of a large table with
    /// transparent huge pages: filling a fresh table otherwise costs one page fault per 4 KiB,
    /// which for a large file is a sizeable part of parsing. Only a hint; harmless if ignored.
    func adviseHugePages<Element>(_ table: inout [Element]) {
        let bytes = table.capacity * MemoryLayout<Element>.stride
        guard table.isEmpty, bytes >= 2 * HugePages.size else { return }
        table.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            HugePages.advise(from: UInt(bitPattern: base), to: UInt(bitPattern: base) + UInt(bytes))
        }
    }

    /// The node an id refers to.
    func node(_ id: ExpressionID) -> ExpressionSyntax { tree.expressions[Int(id.index)] }

    func height(_ id: ExpressionID) -> Int { Int(expressionHeights[Int(id.index)]) }

    func height(_ id: BlockID) -> Int { Int(tree.blocks[Int(id.index)].height) }

    /// Adds a leaf expression.
    mutating func leaf(_ kind: ExpressionSyntax.Kind, at location: SourceLocation) -> ExpressionID {
        let id = ExpressionID(Int32(truncatingIfNeeded: tree.expressions.count))
        tree.expressions.append(ExpressionSyntax(kind, at: location))
        expressionHeights.append(1)
        return id
    }

    /// The height of the tree under a statement of this kind.
    func height(_ kind: StatementSyntax.Kind) -> Int {
        switch kind {
        case .expression(let expression), .declare(_, let expression): height(expression)
        case .assign(let target, let value): max(height(target), height(value))
        case .whileLoop(let condition, let body): max(height(condition), height(body)) + 1
        case .returnValue(let value): value.map { height($0) } ?? 0
        case .breakLoop, .continueLoop: 0
        }
    }

    func statement(_ kind: StatementSyntax.Kind, at location: SourceLocation) -> StatementSyntax {
        StatementSyntax(kind, at: location, height: Int32(clamping: height(kind)))
    }

    /// Moves the pending statements from `mark` on into a block.
    mutating func finishBlock(from mark: Int, at location: SourceLocation) -> BlockID {
        let start = Int32(truncatingIfNeeded: tree.statements.count)
        var height = 0
        for index in mark..<pendingStatements.count {
            height = max(height, Int(pendingStatements[index].height))
        }
        tree.statements.append(contentsOf: pendingStatements[mark...])
        pendingStatements.removeLast(pendingStatements.count - mark)
        let end = Int32(truncatingIfNeeded: tree.statements.count)
        let id = BlockID(Int32(truncatingIfNeeded: tree.blocks.count))
        tree.blocks.append(BlockSyntax(statements: start..<end, at: location, height: Int32(clamping: height + 1)))
        return id
    }

    /// A block of the one statement `statement`.
    mutating func singleStatementBlock(_ statement: StatementSyntax) -> BlockID {
        let mark = pendingStatements.count
        pendingStatements.append(statement)
        return finishBlock(from: mark, at: statement.location)
    }

    /// (`index` is always below `lexer.tokenCount`: the stream ends with `endOfFile`, which
    /// `advance` never moves past.)
    var current: Token {
        @inline(__always) get { lexer.tokenBase[index] }
    }

    /// The token just consumed (or the current one at the start).
    var previous: Token { lexer.tokenBase[max(index - 1, 0)] }

    /// The kind of the token `offset` places ahead (`endOfFile` past the end).
    mutating func peek(_ offset: Int = 1) -> TokenKind {
        while index + offset >= lexer.tokenCount && !lexer.isFinished { lexer.lexMore() }
        return lexer.tokenBase[min(index + offset, lexer.tokenCount - 1)].kind
    }

    @inline(__always)
    mutating func advance() {
        if index + 1 < lexer.tokenCount {
            index += 1
        } else {
            refillAndAdvance()
        }
    }

    /// `advance` at the end of the buffered tokens.
    mutating func refillAndAdvance() {
        guard !lexer.isFinished else { return }
        // Drop consumed tokens, keeping the one just consumed for `previous`.
        lexer.dropTokens(index)
        index = 0
        while index + 1 >= lexer.tokenCount && !lexer.isFinished { lexer.lexMore() }
        if index + 1 >= lexer.tokenCount { return }
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

    /// Builds an inner expression node, refusing trees higher than `maximumNesting`.
    mutating func node(_ kind: ExpressionSyntax.Kind, at location: SourceLocation) throws(Diagnostic) -> ExpressionID {
        let height: Int
        switch kind {
        case .integer, .float, .string, .bool, .unit, .name, .invalid:
            height = 1
        case .negate(let operand), .not(let operand):
            height = self.height(operand) + 1
        case .binary(_, let left, let right):
            height = max(self.height(left), self.height(right)) + 1
        case .apply(let callee, let arguments):
            var deepest = self.height(callee)
            for index in Int(arguments.lowerBound)..<Int(arguments.upperBound) {
                deepest = max(deepest, self.height(tree.arguments[index]))
            }
            height = deepest + 1
        case .index(let array, let index):
            height = max(self.height(array), self.height(index)) + 1
        case .ifElse(let syntax):
            height = max(self.height(syntax.condition), self.height(syntax.then), syntax.otherwise.map { self.height($0) } ?? 0) + 1
        }
        if height > Parser.maximumNesting {
            throw error("expression nested too deeply", at: location)
        }
        let id = ExpressionID(Int32(truncatingIfNeeded: tree.expressions.count))
        tree.expressions.append(ExpressionSyntax(kind, at: location))
        expressionHeights.append(UInt8(height))
        return id
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
                tree.declarations = declarations
                tree.names = names
                tree.strings = lexer.strings
                return tree
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
                    pendingStatements.removeAll(keepingCapacity: true)
                    pendingArguments.removeAll(keepingCapacity: true)
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
    mutating func parseParameters() throws(Diagnostic) -> Range<Int32> {
        try expect(.leftParen)
        let start = Int32(truncatingIfNeeded: tree.parameters.count)
        if current.kind != .rightParen {
            while true {
                let name = try expectIdentifier("a parameter name")
                try expect(.colon, " after the parameter name")
                tree.parameters.append(ParameterSyntax(name: name, type: try parseType()))
                guard current.kind == .comma else { break }
                advance()
            }
        }
        try expect(.rightParen)
        return start..<Int32(truncatingIfNeeded: tree.parameters.count)
    }

    /// `Name` or `Array Name`.
    mutating func parseType() throws(Diagnostic) -> TypeSyntax {
        let location = current.location
        let name = try expectIdentifier("a type").name
        if case .identifier(let element) = current.kind, lexer.names.isArray(name) {
            advance()
            return TypeSyntax(name: name, element: element, at: location)
        }
        return TypeSyntax(name: name, at: location)
    }

    // MARK: Blocks and statements

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

    // MARK: Expressions

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
