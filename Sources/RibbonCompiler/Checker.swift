import RibbonSyntax

/// Parses and type-checks one source file.
///
/// `program` is non-nil exactly when `diagnostics` is empty. Diagnostics (syntax and type
/// errors together) are sorted by position. Every error is reported once: an expression whose
/// type is unknown because of an earlier error gets an "error type" that agrees with every
/// type, so one mistake does not cascade.
///
/// A `use` of a file gets no names here: `check(_:uses:)` is how the files a program uses are
/// passed in.
public func check(_ file: SourceFile) -> (program: CheckedProgram?, diagnostics: [Diagnostic]) {
    check(ParsedFile(file), uses: [:])
}

/// A file parsed for checking: the driver reads its `use` declarations first, compiles the
/// files they name, then checks it against their interfaces (`check(_:uses:)`).
public struct ParsedFile: Sendable {
    public let path: String
    var syntax: SourceFileSyntax
    /// Syntax errors (lexer errors included).
    public let diagnostics: [Diagnostic]
    /// The file's `use` declarations, in order.
    public let uses: [UseDeclaration]

    public init(_ file: SourceFile) {
        let (syntax, diagnostics) = parse(file)
        self.path = file.path
        self.uses = syntax.uses
        self.syntax = syntax
        self.diagnostics = diagnostics
    }
}

/// Type-checks a parsed file. `uses` maps each `use` path as written to the file it names; a
/// path missing from it gives no names (the driver reports why it could not be used).
public func check(_ file: consuming ParsedFile, uses: [String: UsedUnit]) -> (program: CheckedProgram?, diagnostics: [Diagnostic]) {
    var checker = Checker(path: file.path)
    let syntaxDiagnostics = file.diagnostics
    let program = checker.checkFile(file.syntax, uses: uses)
    let diagnostics = (syntaxDiagnostics + checker.diagnostics).sortedByLocation()
    return (diagnostics.isEmpty ? program : nil, diagnostics)
}

/// What a top-level name stands for.
enum TopLevelEntity {
    case function(Int)
    case foreign(Int)
    case global(Int)
    /// A name defined by a used file (`Checker.importedDefinitions`), not referred to yet: the
    /// first reference turns it into `.function`, `.global` or `.foreign` (`topLevelEntity`).
    case imported(Int)
    /// A definition that failed to parse or check: uses of it are not errors of their own.
    case invalid
}

/// A name some used file defines, as this file sees it.
struct ImportedDefinition {
    /// The name of its AddressTable entry: the `use` path as written, `:`, the name.
    var entryName: String
    var definition: UnitInterface.Definition
    /// The used file, as messages name it.
    var displayPath: String

    var place: String { "\(displayPath):\(definition.location)" }
}

/// A function's type as callers see it. `nil` types come from errors already reported.
struct FunctionSignature {
    var name: String
    var parameters: [ValueType?]
    var result: ValueType?
}

/// An expression after checking.
struct Typed {
    var expression: CheckedExpressionID
    /// The expression's type; `nil` is the error type (an error was already reported), which
    /// agrees with every type.
    var type: ValueType?
    /// Evaluating the expression never completes normally (an `if`/`else` whose branches all
    /// end in `return`, `break` or `continue`).
    var diverges = false
}

/// The type checker's state for one file. Its `check…` methods live in the `Checker…` files
/// next to this one: statements, expressions, built-ins, constants.
struct Checker {
    let path: String
    var diagnostics: [Diagnostic] = []

    /// The file being checked (its node tables are indexed by the ids in its nodes).
    var tree = SourceFileSyntax()
    /// The file's interned names; the tables below are indexed by `Name.id`.
    var names = NameTable()
    /// The built-in each name stands for, if any.
    var builtinOfName: [BuiltinName?] = []

    // Top level, by name id.
    var topLevel: [TopLevelEntity?] = []
    var topLevelLocations: [SourceLocation?] = []
    var globals: [CheckedGlobal] = []
    /// Parallel to `globals`; `nil` when the initialiser had an error.
    var globalTypes: [ValueType?] = []
    var signatures: [FunctionSignature] = []
    var foreigns: [CheckedForeign] = []
    var foreignSignatures: [FunctionSignature] = []
    /// Names of used files that this file mentions (`TopLevelEntity.imported`).
    var importedDefinitions: [ImportedDefinition] = []
    /// Functions and globals of used files that this file refers to, in the order of their
    /// first reference. Function index `f` at or above the file's own function count means
    /// `importedFunctions[f - own count]` (likewise for globals): `signatures` and
    /// `globalTypes` grow past the file's own definitions as imports are referred to.
    var importedFunctions: [CheckedImport] = []
    var importedGlobals: [CheckedImport] = []
    var ownFunctionCount = 0
    var ownGlobalCount = 0

    // The checked tree under construction (see `CheckedProgram`): nodes are appended
    // children first, so a parent only ever refers to ids that exist.
    var expressions: [CheckedExpression] = []
    var statements: [CheckedStatement] = []
    var blocks: [CheckedBlock] = []
    var arguments: [CheckedExpressionID] = []
    var stringBytes: [UInt8] = []
    var programLocalTypes: [ValueType] = []
    var programLocalNames: [String] = []
    /// Statements of the blocks being checked, innermost last: a block's statements are copied
    /// to `statements` together when it ends (nested blocks end first), so they are contiguous
    /// there. Reused across blocks and functions.
    var pendingStatements: [CheckedStatement] = []
    /// Arguments of the calls being checked, innermost last (like `pendingStatements`).
    var pendingArguments: [CheckedExpressionID] = []

    // The function being checked.
    var currentFunction = FunctionSignature(name: "", parameters: [], result: .unit)
    /// Local slots of the current function; `nil` types come from errors. (Reused across
    /// functions; copied to `programLocalTypes` when the function is done.)
    var localTypes: [ValueType?] = []
    /// The local slot each name currently refers to (-1: none), by name id.
    var localOfName: [Int] = []
    /// Undo log for `localOfName`: (name id, the slot it referred to before), innermost last.
    /// A block truncates it back to its mark on exit, restoring outer bindings.
    var scope: [(name: Int, previous: Int)] = []
    /// For each enclosing `while`, how many `break`s target it.
    var loopBreaks: [Int] = []

    init(path: String) {
        self.path = path
    }

    mutating func report(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    // MARK: File

    /// Checks a file. The syntax tree is consumed (it is a handful of flat arrays, freed when
    /// checking is done).
    mutating func checkFile(_ syntax: consuming SourceFileSyntax, uses usedUnits: [String: UsedUnit] = [:]) -> CheckedProgram {
        tree = syntax
        defer { tree = SourceFileSyntax() }
        names = tree.names
        builtinOfName = Array(repeating: nil, count: names.count)
        for builtin in BuiltinName.allCases {
            if let name = names.lookup(builtin.rawValue) { builtinOfName[Int(name.id)] = builtin }
        }
        topLevel = Array(repeating: nil, count: names.count)
        topLevelLocations = Array(repeating: nil, count: names.count)
        localOfName = Array(repeating: -1, count: names.count)
        // The checked tree has about as many nodes as the syntax tree.
        expressions.reserveCapacity(tree.expressions.count)
        statements.reserveCapacity(tree.statements.count)
        blocks.reserveCapacity(tree.blocks.count)
        arguments.reserveCapacity(tree.arguments.count)

        var uses: [(path: String, line: Int)] = []
        var functionSyntaxes: [(name: Identifier, syntax: FunctionSyntax)] = []

        // The names of used files first, so that a definition here that clashes with one is
        // reported at the definition.
        importNames(from: usedUnits)

        // Pass 1: every top-level name, signature and global value, so that bodies may refer
        // to names defined later in the file.
        for declaration in tree.declarations {
            switch declaration {
            case .use(let pathBytes, let location):
                uses.append((String(decoding: pathBytes, as: UTF8.self), location.line))
            case .function(let name, let function):
                let index = signatures.count
                signatures.append(checkSignature(name: names[name.name], function))
                functionSyntaxes.append((name, function))
                define(name, as: .function(index))
            case .foreign(let name, let foreign):
                let index = foreigns.count
                checkForeign(name: name, foreign)
                define(name, as: .foreign(index))
            case .global(let name, let initialiser):
                let index = globals.count
                let value = evaluateGlobal(initialiser)
                globalTypes.append(value?.type)
                globals.append(
                    CheckedGlobal(
                        name: names[name.name], type: value?.type ?? .i64, initialValue: value ?? .i64(0),
                        line: name.location.line))
                define(name, as: .global(index))
            case .invalid(let name):
                define(name, as: .invalid)
            }
        }

        let mainFunction = checkMain()
        ownFunctionCount = signatures.count
        ownGlobalCount = globalTypes.count

        // Pass 2: function bodies.
        var functions: [CheckedFunction] = []
        functions.reserveCapacity(functionSyntaxes.count)
        for index in functionSyntaxes.indices {
            let (name, function) = functionSyntaxes[index]
            functions.append(checkFunction(name: name, function, signature: signatures[index]))
        }

        var program = CheckedProgram(
            path: path, globals: globals, functions: functions, foreigns: foreigns,
            mainFunction: mainFunction, uses: uses, expressions: expressions, statements: statements,
            blocks: blocks, arguments: arguments, stringBytes: stringBytes, localTypes: programLocalTypes,
            localNames: programLocalNames)
        program.importedFunctions = importedFunctions
        program.importedGlobals = importedGlobals
        program.interface = interface(functions: functionSyntaxes.map(\.name), mainFunction: mainFunction)
        return program
    }

    /// Makes the names each used file defines visible (LANGUAGE.md, "Files that use other
    /// files"): only names this file mentions are recorded. Two used files that define the
    /// same name are an error at the second `use`, naming both places. A file used twice (by
    /// the same path or another that names it) counts once.
    mutating func importNames(from usedUnits: [String: UsedUnit]) {
        guard !usedUnits.isEmpty else { return }
        var usedFiles: Set<String> = []
        var visible: [String: ImportedDefinition] = [:]
        for declaration in tree.declarations {
            guard case .use(let pathBytes, let location) = declaration else { continue }
            let usePath = String(decoding: pathBytes, as: UTF8.self)
            guard let used = usedUnits[usePath], usedFiles.insert(used.displayPath).inserted else { continue }
            for definition in used.interface.definitions {
                let imported = ImportedDefinition(
                    entryName: usePath + ":" + definition.name, definition: definition, displayPath: used.displayPath)
                if let other = visible[definition.name] {
                    report(
                        "`\(definition.name)` is defined both in \(other.place) and in \(imported.place), which this file uses",
                        at: location)
                    continue
                }
                visible[definition.name] = imported
                guard let name = names.lookup(definition.name) else { continue }
                topLevel[Int(name.id)] = .imported(importedDefinitions.count)
                importedDefinitions.append(imported)
            }
        }
    }

    /// What files that use this one see: every function, global and foreign declaration but
    /// `main` (a used file's `main` is not the program's entry point, and every file may have
    /// its own), each with the location of its name.
    func interface(functions: [Identifier], mainFunction: Int?) -> UnitInterface {
        var definitions: [UnitInterface.Definition] = []
        var function = 0
        var global = 0
        var foreign = 0
        for declaration in tree.declarations {
            switch declaration {
            case .function(let name, _):
                defer { function += 1 }
                guard function != mainFunction, isDefinition(name) else { continue }
                let signature = signatures[function]
                definitions.append(
                    .init(
                        name: names[name.name],
                        entity: .function(parameters: signature.parameters.map { $0 ?? .i64 }, result: signature.result ?? .unit),
                        location: name.location))
            case .global(let name, _):
                defer { global += 1 }
                guard isDefinition(name) else { continue }
                definitions.append(.init(name: names[name.name], entity: .global(globals[global].type), location: name.location))
            case .foreign(let name, _):
                defer { foreign += 1 }
                guard isDefinition(name) else { continue }
                let f = foreigns[foreign]
                definitions.append(
                    .init(
                        name: f.name, entity: .foreign(symbol: f.symbol, parameters: f.parameterTypes, result: f.resultType),
                        location: name.location))
            case .use, .invalid:
                break
            }
        }
        return UnitInterface(definitions: definitions)
    }

    /// Whether this declaration of `name` is the one its name stands for (not a duplicate).
    func isDefinition(_ name: Identifier) -> Bool {
        topLevelLocations[Int(name.name.id)] == name.location
    }

    /// Records a top-level name, reporting built-in names and duplicates (the first
    /// definition keeps the name).
    mutating func define(_ name: Identifier, as entity: TopLevelEntity) {
        let id = Int(name.name.id)
        if builtinOfName[id] != nil {
            report("`\(names[name.name])` is a built-in function and cannot be redefined", at: name.location)
            return
        }
        if case .imported(let index)? = topLevel[id] {
            report(
                "`\(names[name.name])` is already defined in \(importedDefinitions[index].place), which this file uses",
                at: name.location)
            return
        }
        if let previous = topLevelLocations[id] {
            report("`\(names[name.name])` is already defined at \(previous)", at: name.location)
            return
        }
        topLevel[id] = entity
        topLevelLocations[id] = name.location
    }

    func builtin(_ name: Name) -> BuiltinName? { builtinOfName[Int(name.id)] }

    /// What a top-level name stands for; the first reference to a used file's name binds it
    /// (see `importedFunctions`).
    mutating func topLevelEntity(_ name: Name) -> TopLevelEntity? {
        let id = Int(name.id)
        guard case .imported(let index)? = topLevel[id] else { return topLevel[id] }
        let imported = importedDefinitions[index]
        let entity: TopLevelEntity
        switch imported.definition.entity {
        case .function(let parameters, let result):
            entity = .function(signatures.count)
            signatures.append(FunctionSignature(name: imported.definition.name, parameters: parameters, result: result))
            importedFunctions.append(CheckedImport(entryName: imported.entryName))
        case .global(let type):
            entity = .global(globalTypes.count)
            globalTypes.append(type)
            importedGlobals.append(CheckedImport(entryName: imported.entryName))
        case .foreign(let symbol, let parameters, let result):
            // The C function gets an entry in this unit too: nothing to link.
            entity = .foreign(foreigns.count)
            foreignSignatures.append(FunctionSignature(name: imported.definition.name, parameters: parameters, result: result))
            foreigns.append(
                CheckedForeign(
                    name: imported.definition.name, symbol: symbol, parameterTypes: parameters, resultType: result,
                    line: imported.definition.location.line))
        }
        topLevel[id] = entity
        return entity
    }

    /// `main`, if declared, must be `fun () -> I64`; returns its index in `functions`.
    mutating func checkMain() -> Int? {
        guard let main = names.lookup("main"), let entity = topLevel[Int(main.id)],
            let location = topLevelLocations[Int(main.id)]
        else { return nil }
        switch entity {
        case .function(let index):
            let signature = signatures[index]
            // Unknown parameter or result types were reported already.
            if !signature.parameters.isEmpty || (signature.result != nil && signature.result != .i64) {
                report("`main` must be declared as `fun () -> I64`", at: location)
            }
            return index
        case .foreign, .global:
            report("`main` must be a function declared as `fun () -> I64`", at: location)
            return nil
        case .invalid, .imported:
            return nil
        }
    }

    // MARK: Types and signatures

    /// Resolves a written type; reports unknown names and returns `nil` for them.
    mutating func resolve(_ type: TypeSyntax) -> ValueType? {
        let name = names[type.name]
        switch name {
        case "I64": return .i64
        case "F64": return .f64
        case "Bool": return .bool
        case "Str": return .str
        case "Unit": return .unit
        case "Array":
            switch type.element.map({ names[$0] }) {
            case "I64": return .arrayI64
            case "F64": return .arrayF64
            case "Bool": return .arrayBool
            case nil:
                report("`Array` needs an element type: `Array I64`, `Array F64` or `Array Bool`", at: type.location)
            case let element?:
                report("arrays of `\(element)` are not supported: use `Array I64`, `Array F64` or `Array Bool`", at: type.location)
            }
            return nil
        default:
            report("unknown type `\(name)`", at: type.location)
            return nil
        }
    }

    /// Parameter types (reporting `Unit` parameters, duplicates and built-in names) and the
    /// result type (`Unit` when omitted).
    mutating func checkSignature(name: String, _ function: FunctionSyntax) -> FunctionSignature {
        var parameters: [ValueType?] = []
        parameters.reserveCapacity(function.parameters.count)
        let syntaxes = tree.parameters(function.parameters)
        for (position, parameter) in zip(syntaxes.indices, syntaxes) {
            var type = resolve(parameter.type)
            if type == .unit {
                report("a parameter cannot have type Unit", at: parameter.type.location)
                type = nil
            }
            parameters.append(type)
            if builtin(parameter.name.name) != nil {
                report("`\(names[parameter.name.name])` is a built-in function and cannot be used as a name", at: parameter.name.location)
            } else if syntaxes[..<position].contains(where: { $0.name.name == parameter.name.name }) {
                report("duplicate parameter `\(names[parameter.name.name])`", at: parameter.name.location)
            }
        }
        let result = function.result.map { resolve($0) } ?? .unit
        return FunctionSignature(name: name, parameters: parameters, result: result)
    }

    /// A foreign declaration: C-compatible types only, and no more arguments than the
    /// System V argument registers (6 integer-class, 8 `F64`).
    mutating func checkForeign(name: Identifier, _ foreign: ForeignSyntax) {
        func cType(_ syntax: TypeSyntax, _ what: String) -> ValueType? {
            guard let type = resolve(syntax) else { return nil }
            switch type {
            case .i64, .f64, .bool, .str:
                return type
            default:
                report("a foreign function's \(what) must be I64, F64, Bool or Str, not \(type)", at: syntax.location)
                return nil
            }
        }
        var parameterTypes: [ValueType?] = []
        var integerCount = 0
        var floatCount = 0
        for parameter in tree.parameters(foreign.parameters) {
            let type = cType(parameter.type, "parameter")
            parameterTypes.append(type)
            if type == .f64 {
                floatCount += 1
                if floatCount == 9 {
                    report("a foreign function takes at most 8 F64 parameters", at: parameter.name.location)
                }
            } else if type != nil {
                integerCount += 1
                if integerCount == 7 {
                    report("a foreign function takes at most 6 integer-class (I64, Bool, Str) parameters", at: parameter.name.location)
                }
            }
        }
        var result: ValueType?
        if let syntax = foreign.result {
            result = cType(syntax, "result")
        } else {
            report("a foreign function must declare its result type (`-> I64`, `F64`, `Bool` or `Str`)", at: foreign.location)
        }
        foreignSignatures.append(FunctionSignature(name: names[name.name], parameters: parameterTypes, result: result))
        foreigns.append(
            CheckedForeign(
                name: names[name.name], symbol: String(decoding: foreign.symbol, as: UTF8.self),
                parameterTypes: parameterTypes.map { $0 ?? .i64 }, resultType: result ?? .i64,
                line: name.location.line))
    }

    // MARK: Functions and locals

    mutating func checkFunction(name: Identifier, _ function: FunctionSyntax, signature: FunctionSignature) -> CheckedFunction {
        currentFunction = signature
        localTypes.removeAll(keepingCapacity: true)
        loopBreaks.removeAll(keepingCapacity: true)
        let firstLocal = Int32(programLocalTypes.count)
        let scopeMark = scope.count
        defer { closeScope(scopeMark) }
        // A parameter named like a built-in, or repeating an earlier one, was reported by
        // `checkSignature`; it gets a slot but no name, so its uses do not mislead.
        for (parameter, type) in zip(tree.parameters(function.parameters), signature.parameters) {
            let name = parameter.name.name
            let visible = builtin(name) == nil && lookupLocal(name) == nil
            declareLocal(name, type: type, visible: visible)
        }

        let expected = signature.result
        let body = checkBlock(function.body, wantsValue: expected != .unit)
        if let expected, expected != .unit, !body.diverges, let found = body.type {
            if found == .unit {
                let location = function.result?.location ?? function.location
                report("`\(names[name.name])` must produce a value of type \(expected) on every path (end the body with one, or `return` it)", at: location)
            } else if found != expected {
                let location = tree.statements(of: tree[function.body]).last?.location ?? function.location
                report("`\(names[name.name])` returns \(expected), but its body ends with a value of type \(found)", at: location)
            }
        }
        for type in localTypes { programLocalTypes.append(type ?? .i64) }
        return CheckedFunction(
            name: names[name.name], parameterCount: function.parameters.count,
            locals: firstLocal..<Int32(programLocalTypes.count), resultType: expected ?? .unit, body: body.block,
            line: function.location.line)
    }

    /// Adds a local slot and makes `name` refer to it from now on.
    /// A local named like a built-in gets a slot but stays invisible (the error was reported),
    /// so later uses of the name still mean the built-in.
    @discardableResult
    mutating func declareLocal(_ name: Name, type: ValueType?, visible: Bool = true) -> Int {
        let slot = localTypes.count
        localTypes.append(type)
        programLocalNames.append(names[name])
        if visible {
            let id = Int(name.id)
            scope.append((id, localOfName[id]))
            localOfName[id] = slot
        }
        return slot
    }

    /// Forgets the locals declared since `mark` (a count of `scope`), restoring what their
    /// names referred to before.
    mutating func closeScope(_ mark: Int) {
        while scope.count > mark {
            let (id, previous) = scope.removeLast()
            localOfName[id] = previous
        }
    }

    func lookupLocal(_ name: Name) -> Int? {
        let slot = localOfName[Int(name.id)]
        return slot >= 0 ? slot : nil
    }
}
