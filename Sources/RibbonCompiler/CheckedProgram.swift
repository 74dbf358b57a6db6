import RibbonSyntax

/// The checked program: what the type checker hands to lowering.
///
/// Every name is resolved (to a local slot, a global, a function, a foreign function or one
/// overload of a builtin), every expression carries its type, and every operator is the typed
/// operation it stands for. Lowering never looks at names or guesses types; a program only
/// becomes a `CheckedProgram` when checking found no error.

/// A Ribbon Core value type (LANGUAGE.md, "Types").
public enum ValueType: Hashable, Sendable, CustomStringConvertible {
    case i64, f64, bool, str, unit
    case arrayI64, arrayF64, arrayBool

    public var description: String {
        switch self {
        case .i64: "I64"
        case .f64: "F64"
        case .bool: "Bool"
        case .str: "Str"
        case .unit: "Unit"
        case .arrayI64: "Array I64"
        case .arrayF64: "Array F64"
        case .arrayBool: "Array Bool"
        }
    }

    /// The element type of an array type, `nil` for the others.
    public var elementType: ValueType? {
        switch self {
        case .arrayI64: .i64
        case .arrayF64: .f64
        case .arrayBool: .bool
        default: nil
        }
    }
}

public struct CheckedProgram: Sendable {
    /// The file the program came from (its path is what backtraces and diagnostics name).
    public var path: String
    public var globals: [CheckedGlobal]
    /// Functions in declaration order; `CheckedExpression.Kind.call` indexes this array.
    public var functions: [CheckedFunction]
    /// Foreign declarations in declaration order; `.callForeign` indexes this array.
    public var foreigns: [CheckedForeign]
    /// Index into `functions` of `main := fun () -> I64.`, if the file declares one.
    public var mainFunction: Int?
    /// `use "path"` declarations as written (path text, line); their meaning comes later.
    public var uses: [(path: String, line: Int)]

    public init(
        path: String, globals: [CheckedGlobal], functions: [CheckedFunction],
        foreigns: [CheckedForeign], mainFunction: Int?, uses: [(path: String, line: Int)] = []
    ) {
        self.path = path
        self.globals = globals
        self.functions = functions
        self.foreigns = foreigns
        self.mainFunction = mainFunction
        self.uses = uses
    }
}

/// The value a global starts with: its initialiser, evaluated by the checker.
public enum ConstantValue: Hashable, Sendable {
    case i64(Int64)
    case f64(Double)
    case bool(Bool)
    /// The bytes of a string literal after escapes, without the terminating NUL.
    case str([UInt8])
}

public struct CheckedGlobal: Sendable {
    public var name: String
    public var type: ValueType
    public var initialValue: ConstantValue
    public var line: Int

    public init(name: String, type: ValueType, initialValue: ConstantValue, line: Int) {
        self.name = name
        self.type = type
        self.initialValue = initialValue
        self.line = line
    }
}

public struct CheckedFunction: Sendable {
    public var name: String
    /// Parameters are locals `0 ..< parameterCount`.
    public var parameterCount: Int
    /// The type of every local slot, parameters first. Every `x := e` gets a slot of its own
    /// (shadowing declares a new one), so slots are unique within the function.
    public var localTypes: [ValueType]
    /// Local names, parallel to `localTypes` (for disassembly and debugging).
    public var localNames: [String]
    public var resultType: ValueType
    /// The body. When `resultType` is not `.unit`, every path through it ends in `return e` or
    /// in a block result of that type (the checker guarantees it).
    public var body: CheckedBlock
    /// Line of the `fun` header.
    public var line: Int

    public init(
        name: String, parameterCount: Int, localTypes: [ValueType], localNames: [String],
        resultType: ValueType, body: CheckedBlock, line: Int
    ) {
        self.name = name
        self.parameterCount = parameterCount
        self.localTypes = localTypes
        self.localNames = localNames
        self.resultType = resultType
        self.body = body
        self.line = line
    }
}

public struct CheckedForeign: Sendable {
    public var name: String
    /// The C symbol looked up with `dlsym`.
    public var symbol: String
    public var parameterTypes: [ValueType]
    public var resultType: ValueType
    public var line: Int

    public init(name: String, symbol: String, parameterTypes: [ValueType], resultType: ValueType, line: Int) {
        self.name = name
        self.symbol = symbol
        self.parameterTypes = parameterTypes
        self.resultType = resultType
        self.line = line
    }
}

/// A sequence of statements and, when the block has a non-`Unit` value, the expression that
/// gives it (the block's last expression). A block whose last statement is an expression of
/// type `Unit` has `result == nil` and keeps that expression as a statement.
public struct CheckedBlock: Sendable {
    public var statements: [CheckedStatement]
    public var result: CheckedExpression?

    public init(statements: [CheckedStatement], result: CheckedExpression?) {
        self.statements = statements
        self.result = result
    }
}

public struct CheckedStatement: Sendable {
    public enum Kind: Sendable {
        /// An expression evaluated for its effect; its value (if any) is dropped.
        case expression(CheckedExpression)
        /// `x := e`: initialise local slot `local`.
        case declare(local: Int, CheckedExpression)
        case assignLocal(local: Int, CheckedExpression)
        case assignGlobal(global: Int, CheckedExpression)
        /// `a[i] = v`; the element type is `array.type.elementType`.
        /// (The two large cases are `indirect` to keep every statement small.)
        indirect case assignIndex(array: CheckedExpression, index: CheckedExpression, value: CheckedExpression)
        indirect case whileLoop(condition: CheckedExpression, body: CheckedBlock)
        /// `return e`, or `return` alone (nil) in a `Unit` function.
        case returnValue(CheckedExpression?)
        case breakLoop
        case continueLoop
    }

    public var kind: Kind
    /// Source line of the statement (for the line table and backtraces).
    public var line: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }
}

/// Typed unary operations.
public enum UnaryOperation: Sendable {
    case negateI64, negateF64, not
}

/// Typed binary operations (`and`/`or` are separate: they short-circuit).
public enum BinaryOperation: Sendable {
    case addI64, subI64, mulI64, divI64, remI64
    case addF64, subF64, mulF64, divF64
    case eqI64, neI64, ltI64, leI64, gtI64, geI64
    case eqF64, neF64, ltF64, leF64, gtF64, geF64
    case eqBool, neBool
}

/// One resolved overload of a built-in function (LANGUAGE.md, "Built-in functions").
public enum BuiltinFunction: String, CaseIterable, Sendable {
    case printI64, printF64, printBool, printStr
    case writeI64, writeF64, writeBool, writeStr
    case arrayI64, arrayF64, arrayBool
    /// `len` of any array type.
    case len
    case float
    case int
    case sqrt, floor
    case absI64, absF64
    case band, bor, bxor, shl, shr
    case clock
}

public struct CheckedExpression: Sendable {
    /// Only the recursive cases are `indirect`, so literals, locals and globals are stored
    /// inline instead of in a heap box each (the checker builds hundreds of thousands).
    public enum Kind: Sendable {
        case intLiteral(Int64)
        case floatLiteral(Double)
        case boolLiteral(Bool)
        /// Bytes after escapes, without a terminating NUL.
        case stringLiteral([UInt8])
        /// `()`.
        case unitLiteral
        case local(Int)
        case global(Int)
        indirect case unary(UnaryOperation, CheckedExpression)
        indirect case binary(BinaryOperation, CheckedExpression, CheckedExpression)
        indirect case and(CheckedExpression, CheckedExpression)
        indirect case or(CheckedExpression, CheckedExpression)
        /// Call of `functions[function]`.
        case call(function: Int, arguments: [CheckedExpression])
        /// Call of `foreigns[foreign]`.
        case callForeign(foreign: Int, arguments: [CheckedExpression])
        case builtin(BuiltinFunction, arguments: [CheckedExpression])
        /// `a[i]`; the expression's type is the element type.
        indirect case index(array: CheckedExpression, index: CheckedExpression)
        /// `if c. A else. B` (`otherwise` nil when there is no `else`; the type is then `Unit`).
        /// `else if` chains nest: the `otherwise` block holds a single `if` as its result or
        /// statement.
        indirect case ifElse(condition: CheckedExpression, then: CheckedBlock, otherwise: CheckedBlock?)
    }

    public var kind: Kind
    public var type: ValueType
    /// Source position of the expression (1-based).
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, type: ValueType, line: Int, column: Int) {
        self.kind = kind
        self.type = type
        self.line = line
        self.column = column
    }
}
