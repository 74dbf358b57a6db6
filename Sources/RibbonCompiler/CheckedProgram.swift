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

/// A checked expression, statement or block: an index into the program's node tables.
///
/// The checked tree is index-based like the syntax tree: every node of a program lives in one
/// flat array of `CheckedProgram` and refers to its children by index. Nodes are trivial values
/// (no references, no nested arrays, no `indirect` boxes), so checking appends to a handful of
/// arrays instead of allocating a box per node, and lowering walks them without reference
/// counting.
public typealias CheckedExpressionID = NodeIndex<CheckedExpression>

/// A statement: an index into `CheckedProgram.statements`.
public typealias CheckedStatementID = NodeIndex<CheckedStatement>

/// A block: an index into `CheckedProgram.blocks`.
public typealias CheckedBlockID = NodeIndex<CheckedBlock>

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
    /// `use "path"` declarations as written (path text, line).
    public var uses: [(path: String, line: Int)]
    /// Functions of used files that this file calls, in the order of their first reference.
    /// `Kind.call(function: f)` with `f >= functions.count` calls `importedFunctions[f -
    /// functions.count]`.
    public var importedFunctions: [CheckedImport] = []
    /// Globals of used files that this file reads or assigns; `.global(g)` and `.assignGlobal`
    /// with `g >= globals.count` name `importedGlobals[g - globals.count]`.
    public var importedGlobals: [CheckedImport] = []
    /// What files that use this one see (`UnitInterface`).
    public var interface = UnitInterface()

    // The node tables every function's body indexes.

    /// Every expression (children before their parents).
    public var expressions: [CheckedExpression]
    /// Every statement; a block's statements are contiguous (`CheckedBlock.statements`).
    public var statements: [CheckedStatement]
    public var blocks: [CheckedBlock]
    /// Arguments of calls; a call's are contiguous (`Kind.call`, `.callForeign`, `.builtin`).
    public var arguments: [CheckedExpressionID]
    /// Bytes of all string literals (after escapes, no terminating NUL), back to back;
    /// `Kind.stringLiteral` holds a range of them.
    public var stringBytes: [UInt8]
    /// The type and name of every function's local slots, back to back
    /// (`CheckedFunction.locals` is a range of them).
    public var localTypes: [ValueType]
    public var localNames: [String]

    public init(
        path: String, globals: [CheckedGlobal], functions: [CheckedFunction],
        foreigns: [CheckedForeign], mainFunction: Int?, uses: [(path: String, line: Int)] = [],
        expressions: [CheckedExpression] = [], statements: [CheckedStatement] = [], blocks: [CheckedBlock] = [],
        arguments: [CheckedExpressionID] = [], stringBytes: [UInt8] = [],
        localTypes: [ValueType] = [], localNames: [String] = []
    ) {
        self.path = path
        self.globals = globals
        self.functions = functions
        self.foreigns = foreigns
        self.mainFunction = mainFunction
        self.uses = uses
        self.expressions = expressions
        self.statements = statements
        self.blocks = blocks
        self.arguments = arguments
        self.stringBytes = stringBytes
        self.localTypes = localTypes
        self.localNames = localNames
    }

    @inlinable
    public subscript(_ id: CheckedExpressionID) -> CheckedExpression {
        expressions[Int(id.index)]
    }

    @inlinable
    public subscript(_ id: CheckedStatementID) -> CheckedStatement {
        statements[Int(id.index)]
    }

    @inlinable
    public subscript(_ id: CheckedBlockID) -> CheckedBlock {
        blocks[Int(id.index)]
    }

    /// The statements of a block, in order.
    @inlinable
    public func statements(of block: CheckedBlock) -> ArraySlice<CheckedStatement> {
        statements[Int(block.statements.lowerBound)..<Int(block.statements.upperBound)]
    }

    /// The arguments of a call, in order.
    @inlinable
    public func arguments(_ range: Range<Int32>) -> ArraySlice<CheckedExpressionID> {
        arguments[Int(range.lowerBound)..<Int(range.upperBound)]
    }

    /// The bytes of a string literal.
    @inlinable
    public func string(_ range: Range<Int32>) -> ArraySlice<UInt8> {
        stringBytes[Int(range.lowerBound)..<Int(range.upperBound)]
    }

    /// The type of every local slot of `function`, parameters first.
    public func localTypes(of function: CheckedFunction) -> ArraySlice<ValueType> {
        localTypes[Int(function.locals.lowerBound)..<Int(function.locals.upperBound)]
    }

    /// The name of every local slot of `function`, parallel to `localTypes(of:)`.
    public func localNames(of function: CheckedFunction) -> ArraySlice<String> {
        localNames[Int(function.locals.lowerBound)..<Int(function.locals.upperBound)]
    }
}

/// A function or global of another file, referred to by name: the unit links it when the
/// program's units are loaded.
public struct CheckedImport: Sendable, Hashable {
    /// The AddressTable entry's name: the `use` path as written, `:`, the name it defines
    /// (`lib/geometry.rib:area`). The loader finds the unit by the path, the Id by the name.
    public var entryName: String

    public init(entryName: String) {
        self.entryName = entryName
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
    /// The function's local slots: a range of `CheckedProgram.localTypes` and `localNames`,
    /// parameters first (slot `n` is `locals.lowerBound + n`). Every `x := e` gets a slot of
    /// its own (shadowing declares a new one), so slots are unique within the function.
    public var locals: Range<Int32>
    public var resultType: ValueType
    /// The body. When `resultType` is not `.unit`, every path through it ends in `return e` or
    /// in a block result of that type (the checker guarantees it).
    public var body: CheckedBlockID
    /// Line of the `fun` header.
    public var line: Int

    public init(
        name: String, parameterCount: Int, locals: Range<Int32>, resultType: ValueType, body: CheckedBlockID,
        line: Int
    ) {
        self.name = name
        self.parameterCount = parameterCount
        self.locals = locals
        self.resultType = resultType
        self.body = body
        self.line = line
    }

    /// How many local slots the function has (parameters included).
    public var localCount: Int { locals.count }
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
    /// A range of `CheckedProgram.statements`.
    public var statements: Range<Int32>
    public var result: CheckedExpressionID?

    public init(statements: Range<Int32>, result: CheckedExpressionID?) {
        self.statements = statements
        self.result = result
    }
}

public struct CheckedStatement: Sendable {
    public enum Kind: Sendable {
        /// An expression evaluated for its effect; its value (if any) is dropped.
        case expression(CheckedExpressionID)
        /// `x := e`: initialise local slot `local`.
        case declare(local: Int32, CheckedExpressionID)
        case assignLocal(local: Int32, CheckedExpressionID)
        case assignGlobal(global: Int32, CheckedExpressionID)
        /// `a[i] = v`; the element type is `array`'s type's `elementType`.
        case assignIndex(array: CheckedExpressionID, index: CheckedExpressionID, value: CheckedExpressionID)
        case whileLoop(condition: CheckedExpressionID, body: CheckedBlockID)
        /// `return e`, or `return` alone (nil) in a `Unit` function.
        case returnValue(CheckedExpressionID?)
        case breakLoop
        case continueLoop
    }

    public var kind: Kind
    /// Source line of the statement (for the line table and backtraces).
    public var line: Int32

    public init(_ kind: Kind, line: Int32) {
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
    /// Children are ids of nodes appended before this one; argument lists are ranges of
    /// `CheckedProgram.arguments`. Every payload is a plain value, so a node is copied without
    /// reference counting.
    public enum Kind: Sendable {
        case intLiteral(Int64)
        case floatLiteral(Double)
        case boolLiteral(Bool)
        /// Bytes after escapes, without a terminating NUL: a range of `CheckedProgram.stringBytes`.
        case stringLiteral(Range<Int32>)
        /// `()`.
        case unitLiteral
        case local(Int32)
        case global(Int32)
        case unary(UnaryOperation, CheckedExpressionID)
        case binary(BinaryOperation, CheckedExpressionID, CheckedExpressionID)
        case and(CheckedExpressionID, CheckedExpressionID)
        case or(CheckedExpressionID, CheckedExpressionID)
        /// Call of `functions[function]`.
        case call(function: Int32, arguments: Range<Int32>)
        /// Call of `foreigns[foreign]`.
        case callForeign(foreign: Int32, arguments: Range<Int32>)
        case builtin(BuiltinFunction, arguments: Range<Int32>)
        /// `a[i]`; the expression's type is the element type.
        case index(array: CheckedExpressionID, index: CheckedExpressionID)
        /// `if c. A else. B` (`otherwise` nil when there is no `else`; the type is then `Unit`).
        /// `else if` chains nest: the `otherwise` block holds a single `if` as its result or
        /// statement.
        case ifElse(condition: CheckedExpressionID, then: CheckedBlockID, otherwise: CheckedBlockID?)
    }

    public var kind: Kind
    public var type: ValueType
    /// Source position of the expression (1-based).
    public var line: Int32
    public var column: Int32

    public init(_ kind: Kind, type: ValueType, line: Int32, column: Int32) {
        self.kind = kind
        self.type = type
        self.line = line
        self.column = column
    }
}
