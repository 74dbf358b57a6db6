/// The syntax tree the parser produces: Ribbon Core as written, names unresolved, no types.
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

/// A parsed file: its top-level declarations in order.
public struct SourceFileSyntax: Sendable {
    public var declarations: [DeclarationSyntax]
    /// The text of every `Name` in the tree.
    public var names: NameTable

    public init(declarations: [DeclarationSyntax], names: NameTable) {
        self.declarations = declarations
        self.names = names
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
    case global(name: Identifier, ExpressionSyntax)
    /// `name := ...` whose right-hand side had a syntax error (already reported). The name is
    /// kept so uses of it elsewhere do not produce a second, misleading error.
    case invalid(name: Identifier)
}

/// A type as written: `I64`, `Array F64`. Resolved by the checker, which reports unknown names.
public struct TypeSyntax: Sendable {
    public var name: String
    /// The element type name after `Array`, if any.
    public var element: String?
    public var location: SourceLocation

    public init(name: String, element: String? = nil, at location: SourceLocation) {
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
    public var parameters: [ParameterSyntax]
    /// The declared result type; `nil` when omitted (the result is `Unit`).
    public var result: TypeSyntax?
    public var body: BlockSyntax
    /// Position of the `fun` keyword.
    public var location: SourceLocation

    public init(parameters: [ParameterSyntax], result: TypeSyntax?, body: BlockSyntax, at location: SourceLocation) {
        self.parameters = parameters
        self.result = result
        self.body = body
        self.location = location
    }
}

public struct ForeignSyntax: Sendable {
    /// The C symbol's bytes (a string literal).
    public var symbol: [UInt8]
    public var parameters: [ParameterSyntax]
    public var result: TypeSyntax?
    /// Position of the `foreign` keyword.
    public var location: SourceLocation

    public init(symbol: [UInt8], parameters: [ParameterSyntax], result: TypeSyntax?, at location: SourceLocation) {
        self.symbol = symbol
        self.parameters = parameters
        self.result = result
        self.location = location
    }
}

/// Statements of an indented block, or the single statement after a one-line header.
public struct BlockSyntax: Sendable {
    public var statements: [StatementSyntax]
    /// Position of the block's first statement (or of its header when it has none).
    public var location: SourceLocation
    /// Height of the deepest expression or block inside (see `ExpressionSyntax.height`).
    public var height: Int

    public init(statements: [StatementSyntax], at location: SourceLocation) {
        self.statements = statements
        self.location = location
        self.height = 1 + statements.reduce(0) { max($0, $1.height) }
    }
}

public struct StatementSyntax: Sendable {
    public enum Kind: Sendable {
        case expression(ExpressionSyntax)
        /// `name := value`
        case declare(Identifier, ExpressionSyntax)
        /// `target = value`; the target is a `.name` or an `.index` expression.
        indirect case assign(target: ExpressionSyntax, value: ExpressionSyntax)
        indirect case whileLoop(condition: ExpressionSyntax, body: BlockSyntax)
        case returnValue(ExpressionSyntax?)
        case breakLoop
        case continueLoop
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// How deep the tree under this statement goes (bounded by the parser; see
    /// `Parser.maximumNesting`).
    public var height: Int {
        switch kind {
        case .expression(let expression), .declare(_, let expression): expression.height
        case .assign(let target, let value): max(target.height, value.height)
        case .whileLoop(let condition, let body): max(condition.height, body.height) + 1
        case .returnValue(let value): value?.height ?? 0
        case .breakLoop, .continueLoop: 0
        }
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
    public var condition: ExpressionSyntax
    public var then: BlockSyntax
    /// The `else` block; an `else if` is a block holding that one `if` as an expression statement.
    public var otherwise: BlockSyntax?

    public init(condition: ExpressionSyntax, then: BlockSyntax, otherwise: BlockSyntax?) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
    }
}

public struct ExpressionSyntax: Sendable {
    /// Only the recursive cases are `indirect`: leaves (the most common nodes) are stored
    /// inline, without an allocation each.
    public enum Kind: Sendable {
        /// The literal's magnitude (see `TokenKind.integer`).
        case integer(UInt64)
        case float(Double)
        case string([UInt8])
        case bool(Bool)
        /// `()`
        case unit
        case name(Name)
        /// Prefix `-`.
        indirect case negate(ExpressionSyntax)
        indirect case not(ExpressionSyntax)
        indirect case binary(BinaryOperator, ExpressionSyntax, ExpressionSyntax)
        /// Application by juxtaposition: `f a b`; `f ()` has the one argument `()`.
        indirect case apply(callee: ExpressionSyntax, arguments: [ExpressionSyntax])
        indirect case index(array: ExpressionSyntax, index: ExpressionSyntax)
        indirect case ifElse(IfSyntax)
        /// Stands in for something that failed to parse (already reported); the checker gives
        /// it a type that agrees with everything, so it causes no further errors.
        case invalid
    }

    public var kind: Kind
    public var location: SourceLocation
    private var storedHeight: Int32

    /// The height of the tree under this node (a leaf is 1). The parser refuses trees higher
    /// than `Parser.maximumNesting`, so every later recursive pass has a bounded depth.
    public var height: Int { Int(storedHeight) }

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
        let height: Int
        switch kind {
        case .integer, .float, .string, .bool, .unit, .name, .invalid:
            height = 1
        case .negate(let operand), .not(let operand):
            height = operand.height + 1
        case .binary(_, let left, let right):
            height = max(left.height, right.height) + 1
        case .apply(let callee, let arguments):
            height = arguments.reduce(callee.height) { max($0, $1.height) } + 1
        case .index(let array, let index):
            height = max(array.height, index.height) + 1
        case .ifElse(let syntax):
            height = max(syntax.condition.height, syntax.then.height, syntax.otherwise?.height ?? 0) + 1
        }
        storedHeight = Int32(clamping: height)
    }
}
