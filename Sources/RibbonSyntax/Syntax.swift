/// The syntax tree the parser produces: Ribbon Core as written, names unresolved, no types.
///
/// The tree is index-based: every expression, statement, block, argument list and parameter
/// of a file lives in one flat array of `SourceFileSyntax`, and nodes refer to their children
/// by index (`ExpressionID`, `BlockID`, ranges into `statements`, `arguments` and
/// `parameters`). Nodes are trivial values (no references), so building the tree costs a few
/// array appends instead of one heap allocation per node, and dropping it frees a handful of
/// arrays.
///
/// Every node keeps the position it is reported at. For operators that is the operator
/// itself (`a + b` is at the `+`, `a[i]` at the `[`, `-x` at the `-`); for an application it is
/// the start of the callee; for everything else it is the first token.

/// A name as written and where (`SourceFileSyntax.names` has its text).
public struct Identifier: Sendable, Hashable {
    public var name: Name
    public var location: SourceLocation

    public init(_ name: Name, at location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// An index into one of a tree's flat node arrays, typed by what it indexes (`Node`), so an
/// expression's index cannot be used as a block's. The syntax tree and the checked tree
/// (RibbonCompiler) both store their nodes this way.
@frozen
public struct NodeIndex<Node>: Sendable, Hashable {
    public var index: Int32

    @inlinable
    public init(_ index: Int32) {
        self.index = index
    }
}

/// An expression of a file: an index into `SourceFileSyntax.expressions`.
public typealias ExpressionID = NodeIndex<ExpressionSyntax>

/// A block of a file: an index into `SourceFileSyntax.blocks`.
public typealias BlockID = NodeIndex<BlockSyntax>

/// A parsed file: its top-level declarations in order, and the node tables they index.
public struct SourceFileSyntax: Sendable {
    public var declarations: [DeclarationSyntax]
    /// The text of every `Name` in the tree.
    public var names: NameTable
    /// Every expression node (children before their parents).
    public var expressions: [ExpressionSyntax]
    /// Every statement; a block's statements are contiguous (`BlockSyntax.statements`).
    public var statements: [StatementSyntax]
    public var blocks: [BlockSyntax]
    /// Arguments of applications; an application's are contiguous (`Kind.apply`).
    public var arguments: [ExpressionID]
    /// Parameters of functions and foreign declarations (`FunctionSyntax.parameters`).
    public var parameters: [ParameterSyntax]
    /// Bytes of the string literals (after escapes), indexed by `Kind.string`.
    public var strings: [[UInt8]]

    public init(
        declarations: [DeclarationSyntax] = [], names: NameTable = NameTable(),
        expressions: [ExpressionSyntax] = [], statements: [StatementSyntax] = [], blocks: [BlockSyntax] = [],
        arguments: [ExpressionID] = [], parameters: [ParameterSyntax] = [], strings: [[UInt8]] = []
    ) {
        self.declarations = declarations
        self.names = names
        self.expressions = expressions
        self.statements = statements
        self.blocks = blocks
        self.arguments = arguments
        self.parameters = parameters
        self.strings = strings
    }

    @inlinable
    public subscript(_ id: ExpressionID) -> ExpressionSyntax {
        expressions[Int(id.index)]
    }

    @inlinable
    public subscript(_ id: BlockID) -> BlockSyntax {
        blocks[Int(id.index)]
    }

    /// The statements of `block`, in order.
    @inlinable
    public func statements(of block: BlockSyntax) -> ArraySlice<StatementSyntax> {
        statements[Int(block.statements.lowerBound)..<Int(block.statements.upperBound)]
    }

    /// The arguments of an application (`Kind.apply`), in order.
    @inlinable
    public func arguments(_ range: Range<Int32>) -> ArraySlice<ExpressionID> {
        arguments[Int(range.lowerBound)..<Int(range.upperBound)]
    }

    /// The parameters of a function or foreign declaration, in order.
    public func parameters(_ range: Range<Int32>) -> ArraySlice<ParameterSyntax> {
        parameters[Int(range.lowerBound)..<Int(range.upperBound)]
    }

    /// The bytes of a string literal.
    @inlinable
    public func string(_ index: Int32) -> [UInt8] {
        strings[Int(index)]
    }
}

public enum DeclarationSyntax: Sendable {
    /// `use "path"`: the path's bytes as written (after escapes).
    case use(path: [UInt8], location: SourceLocation)
    /// `name := fun (...) -> T. body`
    case function(name: Identifier, FunctionSyntax)
    /// `name := foreign "symbol" (...) -> T`
    case foreign(name: Identifier, ForeignSyntax)
    /// `name := expression` (a global).
    case global(name: Identifier, ExpressionID)
    /// `name := ...` whose right-hand side had a syntax error (already reported). The name is
    /// kept so uses of it elsewhere do not produce a second, misleading error.
    case invalid(name: Identifier)
}

/// A type as written: `I64`, `Array F64`. Resolved by the checker, which reports unknown names.
public struct TypeSyntax: Sendable {
    public var name: Name
    /// The element type name after `Array`, if any.
    public var element: Name?
    public var location: SourceLocation

    public init(name: Name, element: Name? = nil, at location: SourceLocation) {
        self.name = name
        self.element = element
        self.location = location
    }
}

public struct ParameterSyntax: Sendable {
    public var name: Identifier
    public var type: TypeSyntax

    public init(name: Identifier, type: TypeSyntax) {
        self.name = name
        self.type = type
    }
}

public struct FunctionSyntax: Sendable {
    /// A range of `SourceFileSyntax.parameters`.
    public var parameters: Range<Int32>
    /// The declared result type; `nil` when omitted (the result is `Unit`).
    public var result: TypeSyntax?
    public var body: BlockID
    /// Position of the `fun` keyword.
    public var location: SourceLocation

    public init(parameters: Range<Int32>, result: TypeSyntax?, body: BlockID, at location: SourceLocation) {
        self.parameters = parameters
        self.result = result
        self.body = body
        self.location = location
    }
}

public struct ForeignSyntax: Sendable {
    /// The C symbol's bytes (a string literal).
    public var symbol: [UInt8]
    /// A range of `SourceFileSyntax.parameters`.
    public var parameters: Range<Int32>
    public var result: TypeSyntax?
    /// Position of the `foreign` keyword.
    public var location: SourceLocation

    public init(symbol: [UInt8], parameters: Range<Int32>, result: TypeSyntax?, at location: SourceLocation) {
        self.symbol = symbol
        self.parameters = parameters
        self.result = result
        self.location = location
    }
}

/// Statements of an indented block, or the single statement after a one-line header.
public struct BlockSyntax: Sendable {
    /// A range of `SourceFileSyntax.statements`.
    public var statements: Range<Int32>
    /// Position of the block's first statement (or of its header when it has none).
    public var location: SourceLocation
    /// Height of the deepest expression or block inside (see `ExpressionSyntax.height`).
    public var height: Int32

    public init(statements: Range<Int32>, at location: SourceLocation, height: Int32) {
        self.statements = statements
        self.location = location
        self.height = height
    }

    public var count: Int { statements.count }
}

public struct StatementSyntax: Sendable {
    public enum Kind: Sendable {
        case expression(ExpressionID)
        /// `name := value`
        case declare(Identifier, ExpressionID)
        /// `target = value`; the target is a `.name` or an `.index` expression.
        case assign(target: ExpressionID, value: ExpressionID)
        case whileLoop(condition: ExpressionID, body: BlockID)
        case returnValue(ExpressionID?)
        case breakLoop
        case continueLoop
    }

    public var kind: Kind
    public var location: SourceLocation
    /// How deep the tree under this statement goes (bounded by the parser; see
    /// `Parser.maximumNesting`).
    public var height: Int32

    public init(_ kind: Kind, at location: SourceLocation, height: Int32) {
        self.kind = kind
        self.location = location
        self.height = height
    }
}

public enum BinaryOperator: Sendable, Hashable {
    case or, and
    case equal, notEqual
    case less, lessEqual, greater, greaterEqual
    case add, subtract, multiply, divide, remainder

    /// The operator as written.
    public var spelling: String {
        switch self {
        case .or: "or"
        case .and: "and"
        case .equal: "=="
        case .notEqual: "!="
        case .less: "<"
        case .lessEqual: "<="
        case .greater: ">"
        case .greaterEqual: ">="
        case .add: "+"
        case .subtract: "-"
        case .multiply: "*"
        case .divide: "/"
        case .remainder: "%"
        }
    }
}

public struct IfSyntax: Sendable {
    public var condition: ExpressionID
    public var then: BlockID
    /// The `else` block; an `else if` is a block holding that one `if` as an expression statement.
    public var otherwise: BlockID?

    public init(condition: ExpressionID, then: BlockID, otherwise: BlockID?) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
    }
}

public struct ExpressionSyntax: Sendable {
    public enum Kind: Sendable {
        /// The literal's magnitude (see `TokenKind.integer`).
        case integer(UInt64)
        case float(Double)
        /// An index into `SourceFileSyntax.strings`.
        case string(Int32)
        case bool(Bool)
        /// `()`
        case unit
        case name(Name)
        /// Prefix `-`.
        case negate(ExpressionID)
        case not(ExpressionID)
        case binary(BinaryOperator, ExpressionID, ExpressionID)
        /// Application by juxtaposition: `f a b`; `f ()` has the one argument `()`. The
        /// arguments are a range of `SourceFileSyntax.arguments`.
        case apply(callee: ExpressionID, arguments: Range<Int32>)
        case index(array: ExpressionID, index: ExpressionID)
        case ifElse(IfSyntax)
        /// Stands in for something that failed to parse (already reported); the checker gives
        /// it a type that agrees with everything, so it causes no further errors.
        case invalid
    }

    public var kind: Kind
    public var location: SourceLocation

    /// (The parser refuses trees higher than `Parser.maximumNesting`, so every later recursive
    /// pass has a bounded depth. Heights are kept by the parser, not in the node: a node is 24
    /// bytes, and a large file has hundreds of thousands.)
    @inlinable
    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}
