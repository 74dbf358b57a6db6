#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// Parses a source file. Never fails: syntax errors are returned as diagnostics (sorted by
/// position, lexer errors included) and the tree holds what could be parsed, with
/// `.invalid` placeholders where a statement or declaration was dropped.
public func parse(_ file: SourceFile) -> (SourceFileSyntax, [Diagnostic]) {
    // A file that is not UTF-8 text is one error at its first bad byte, not one per byte.
    if let error = file.encodingError() { return (SourceFileSyntax(), [error]) }
    return file.bytes.withUnsafeBufferPointer { bytes in
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
}
