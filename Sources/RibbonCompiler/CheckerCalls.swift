import RibbonSyntax

/// The built-in functions by name (LANGUAGE.md, "Built-in functions"). Their names are
/// reserved: no top-level definition, parameter or local may use them.
enum BuiltinName: String, CaseIterable {
    case print, write, array, len, float, int, sqrt, floor, abs, band, bor, bxor, shl, shr, clock

    /// How many arguments the built-in takes (`clock` takes none and is called `clock ()`).
    var arity: Int {
        switch self {
        case .clock: 0
        case .array, .band, .bor, .bxor, .shl, .shr: 2
        default: 1
        }
    }
}

/// The argument types a built-in accepts, as bits (checking a call allocates nothing).
struct AcceptedTypes {
    var bits: UInt8

    static var i64: AcceptedTypes { AcceptedTypes(bits: 1 << 0) }
    static var f64: AcceptedTypes { AcceptedTypes(bits: 1 << 1) }
    /// I64 or F64.
    static var numbers: AcceptedTypes { AcceptedTypes(bits: 0b11) }
    /// What `array` can fill an array with: I64, F64 or Bool.
    static var elements: AcceptedTypes { AcceptedTypes(bits: 0b111) }
    /// What `print` and `write` take: I64, F64, Bool or Str.
    static var printable: AcceptedTypes { AcceptedTypes(bits: 0b1111) }
    static var arrays: AcceptedTypes { AcceptedTypes(bits: 0b111 << 5) }

    func contains(_ type: ValueType) -> Bool {
        let bit: UInt8 =
            switch type {
            case .i64: 1 << 0
            case .f64: 1 << 1
            case .bool: 1 << 2
            case .str: 1 << 3
            case .unit: 1 << 4
            case .arrayI64: 1 << 5
            case .arrayF64: 1 << 6
            case .arrayBool: 1 << 7
            }
        return bits & bit != 0
    }
}

extension Checker {
    /// Application by juxtaposition: `callee arg1 arg2 …`.
    mutating func checkApplication(_ calleeID: ExpressionID, _ argumentSyntaxes: Range<Int32>) -> Typed {
        let callee = tree[calleeID]
        let location = callee.location
        guard case .name(let nameID) = callee.kind else {
            let value = checkExpression(calleeID)
            checkAll(argumentSyntaxes)  // for the errors inside them
            if let type = value.type {
                report("a value of type \(type) is not a function and cannot be applied to arguments", at: location)
            }
            return failed(at: location)
        }
        // The name's text is only needed for messages.
        var name: String { names[nameID] }
        if let slot = lookupLocal(nameID) {
            checkAll(argumentSyntaxes)
            if let type = localTypes[slot] {
                report("`\(name)` is a variable of type \(type), not a function", at: location)
            }
            return failed(at: location)
        }
        if let entity = topLevelEntity(nameID) {
            switch entity {
            case .function(let index):
                let signature = signatures[index]
                let arguments = checkArguments(of: signature, argumentSyntaxes, at: location)
                guard let result = signature.result else { return failed(at: location) }
                return typed(.call(function: Int32(index), arguments: arguments), result, at: location)
            case .foreign(let index):
                let signature = foreignSignatures[index]
                let arguments = checkArguments(of: signature, argumentSyntaxes, at: location)
                guard let result = signature.result else { return failed(at: location) }
                return typed(.callForeign(foreign: Int32(index), arguments: arguments), result, at: location)
            case .global(let index):
                checkAll(argumentSyntaxes)
                if let type = globalTypes[index] {
                    report("`\(name)` is a global of type \(type), not a function", at: location)
                }
                return failed(at: location)
            case .invalid, .imported:
                checkAll(argumentSyntaxes)
                return failed(at: location)
            }
        }
        if let builtin = builtin(nameID) {
            return checkBuiltin(builtin, argumentSyntaxes, at: location)
        }
        report("undefined name `\(name)`", at: location)
        checkAll(argumentSyntaxes)
        return failed(at: location)
    }

    /// Checks expressions only for the errors inside them.
    mutating func checkAll(_ syntaxes: Range<Int32>) {
        for position in Int(syntaxes.lowerBound)..<Int(syntaxes.upperBound) {
            _ = checkExpression(tree.arguments[position])
        }
    }

    /// Whether the arguments are the single `()` that calls a function without parameters.
    func isUnitArgument(_ arguments: Range<Int32>) -> Bool {
        guard arguments.count == 1, case .unit = tree[tree.arguments[Int(arguments.lowerBound)]].kind else { return false }
        return true
    }

    static func argumentCount(_ count: Int) -> String {
        count == 1 ? "1 argument" : "\(count) arguments"
    }

    /// Checks the arguments of a call to a user or foreign function. There is no currying: the
    /// number of arguments must match. A function without parameters is called with `()`.
    mutating func checkArguments(
        of signature: FunctionSignature, _ syntaxes: Range<Int32>, at location: SourceLocation
    ) -> Range<Int32> {
        let name = signature.name
        if signature.parameters.isEmpty {
            if !isUnitArgument(syntaxes) {
                report("`\(name)` takes no arguments: call it as `\(name) ()`", at: location)
                checkAll(syntaxes)
            }
            return noArguments
        }
        // Each argument's mismatch is reported right after the errors inside it, which is the
        // order checking all arguments first and then comparing them would give once sorted.
        let countMatches = syntaxes.count == signature.parameters.count
        let pendingMark = pendingArguments.count
        for position in 0..<syntaxes.count {
            let syntax = tree.arguments[Int(syntaxes.lowerBound) + position]
            let argument = checkExpression(syntax)
            if countMatches, let parameter = signature.parameters[position], let type = argument.type, type != parameter,
                !argument.diverges
            {
                report(
                    "argument \(position + 1) of `\(name)` must be \(parameter), not \(type)",
                    at: tree[syntax].location)
            }
            pendingArguments.append(argument.expression)
        }
        if !countMatches {
            report(
                "`\(name)` takes \(Checker.argumentCount(signature.parameters.count)), got \(syntaxes.count)",
                at: location)
        }
        return finishArguments(from: pendingMark)
    }

    /// An empty argument list.
    var noArguments: Range<Int32> {
        let end = Int32(arguments.count)
        return end..<end
    }

    /// Moves the arguments pending since `mark` (nested calls have moved theirs already) to
    /// `arguments`, where they are contiguous; returns their range.
    mutating func finishArguments(from mark: Int) -> Range<Int32> {
        let first = Int32(arguments.count)
        arguments.append(contentsOf: pendingArguments[mark...])
        pendingArguments.removeSubrange(mark...)
        return first..<Int32(arguments.count)
    }

    /// Resolves a built-in to the overload its argument types select.
    mutating func checkBuiltin(_ builtin: BuiltinName, _ syntaxes: Range<Int32>, at location: SourceLocation) -> Typed {
        // The name's text is only needed for messages.
        var name: String { builtin.rawValue }
        if builtin.arity == 0 {
            if !isUnitArgument(syntaxes) {
                report("`\(name)` takes no arguments: call it as `\(name) ()`", at: location)
                checkAll(syntaxes)
            }
            return typed(.builtin(.clock, arguments: noArguments), .i64, at: location)
        }
        let pendingMark = pendingArguments.count
        // The arity is at most 2: the first two argument types are all `accept` needs.
        var types: (ValueType?, ValueType?) = (nil, nil)
        for position in 0..<syntaxes.count {
            let argument = checkExpression(tree.arguments[Int(syntaxes.lowerBound) + position])
            if position == 0 { types.0 = argument.type } else if position == 1 { types.1 = argument.type }
            pendingArguments.append(argument.expression)
        }
        let arguments = finishArguments(from: pendingMark)
        guard syntaxes.count == builtin.arity else {
            report("`\(name)` takes \(Checker.argumentCount(builtin.arity)), got \(syntaxes.count)", at: location)
            return failed(at: location)
        }

        /// Reports argument `position` unless its type is one of `accepted`; returns its type
        /// when it is (nil otherwise).
        func accept(_ position: Int, _ accepted: AcceptedTypes, _ expected: String) -> ValueType? {
            guard let type = position == 0 ? types.0 : types.1 else { return nil }
            if accepted.contains(type) { return type }
            let ordinal = builtin.arity == 1 ? "the argument" : "argument \(position + 1)"
            report("\(ordinal) of `\(name)` must be \(expected), not \(type)", at: tree[tree.arguments[Int(syntaxes.lowerBound) + position]].location)
            return nil
        }
        func result(_ function: BuiltinFunction, _ type: ValueType) -> Typed {
            typed(.builtin(function, arguments: arguments), type, at: location)
        }

        switch builtin {
        case .print, .write:
            let isPrint = builtin == .print
            switch accept(0, .printable, "I64, F64, Bool or Str") {
            case .i64?: return result(isPrint ? .printI64 : .writeI64, .unit)
            case .f64?: return result(isPrint ? .printF64 : .writeF64, .unit)
            case .bool?: return result(isPrint ? .printBool : .writeBool, .unit)
            case .str?: return result(isPrint ? .printStr : .writeStr, .unit)
            default: return Typed(expression: placeholder(at: location), type: .unit)
            }
        case .array:
            _ = accept(0, .i64, "I64 (the length)")
            switch accept(1, .elements, "I64, F64 or Bool (the initial element)") {
            case .i64?: return result(.arrayI64, .arrayI64)
            case .f64?: return result(.arrayF64, .arrayF64)
            case .bool?: return result(.arrayBool, .arrayBool)
            default: return failed(at: location)
            }
        case .len:
            _ = accept(0, .arrays, "an array")
            return result(.len, .i64)
        case .float:
            _ = accept(0, .i64, "I64")
            return result(.float, .f64)
        case .int:
            _ = accept(0, .f64, "F64")
            return result(.int, .i64)
        case .sqrt:
            _ = accept(0, .f64, "F64")
            return result(.sqrt, .f64)
        case .floor:
            _ = accept(0, .f64, "F64")
            return result(.floor, .f64)
        case .abs:
            switch accept(0, .numbers, "I64 or F64") {
            case .i64?: return result(.absI64, .i64)
            case .f64?: return result(.absF64, .f64)
            default: return failed(at: location)
            }
        case .band, .bor, .bxor, .shl, .shr:
            _ = accept(0, .i64, "I64")
            _ = accept(1, .i64, "I64")
            let function: BuiltinFunction =
                switch builtin {
                case .band: .band
                case .bor: .bor
                case .bxor: .bxor
                case .shl: .shl
                default: .shr
                }
            return result(function, .i64)
        case .clock:
            return result(.clock, .i64)
        }
    }
}
