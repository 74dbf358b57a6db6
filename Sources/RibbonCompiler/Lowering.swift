import RibbonBytecode
import RibbonCore
import RibbonSyntax

/// Lowers a checked program to one Bytecode unit.
///
/// Registers: a function's locals take registers `0 ..< localCount` (parameters first, as the
/// calling convention delivers them); temporaries are allocated above them like a stack and
/// released after each statement. A call evaluates its arguments into the top of that stack,
/// because the callee's frame starts there.
public func lower(_ program: CheckedProgram) -> (image: UnitImage?, diagnostics: [Diagnostic]) {
    var unit = UnitBuilder(interface: program.interface.encoded())
    // Ids, rows and code follow `functionOrder` (what `main` calls first), not declaration order.
    let order = functionOrder(of: program)
    var functionIds = [UInt32](repeating: 0, count: program.functions.count)
    for index in order {
        let f = program.functions[index]
        let id = unit.declareFunction(name: f.name, parameterCount: f.parameterCount)
        // What the verifier checks it and its callers against: its declared types' kinds.
        let parameters = program.localTypes[Int(f.locals.lowerBound)..<Int(f.locals.lowerBound) + f.parameterCount]
        unit.setSignature(KindSignature(parameters: parameters.map(\.kind), result: f.resultType.kind), ofFunction: id)
        functionIds[index] = id
    }
    var globalIds: [UInt32] = []
    for g in program.globals {
        let initializer: GlobalInitializer
        switch g.initialValue {
        case .i64(let v): initializer = .bits(UInt64(bitPattern: v))
        case .f64(let v): initializer = .bits(v.bitPattern)
        case .bool(let v): initializer = .bits(v ? 1 : 0)
        case .str(let bytes): initializer = .constantAddress(unit.constant(bytes))
        }
        globalIds.append(unit.addGlobal(name: g.name, initialValue: initializer))
    }
    // Names of other units, after this unit's own (the checker numbers them that way).
    for f in program.importedFunctions { functionIds.append(unit.importFunction(f.entryName)) }
    for g in program.importedGlobals { globalIds.append(unit.importGlobal(g.entryName)) }
    // Every foreign declaration gets its entry, called or not, so that loading resolves each
    // symbol and an unknown one stops the program before it starts (LANGUAGE.md).
    var foreignIds: [UInt32] = []
    for f in program.foreigns { foreignIds.append(unit.declareForeign(f.signature)) }
    // Most nodes become about one instruction word.
    unit.reserveCodeCapacity(words: program.expressions.count + program.statements.count)
    var diagnostics: [(index: Int, Diagnostic)] = []
    // One builder for every function: `define` copies the words out, `reset` keeps the storage.
    var code = FunctionBuilder()
    for index in order {
        let f = program.functions[index]
        // `consume` hands the unit and code builders over without a copy; copying the unit per
        // function made lowering quadratic in the number of functions.
        var lowering = FunctionLowering(
            function: f, program: program, unit: consume unit, code: consume code, functionIds: functionIds,
            globalIds: globalIds, foreignIds: foreignIds)
        lowering.lowerBody()
        let highestRegister = lowering.highestRegister
        code = lowering.code
        unit = lowering.unit
        _ = consume lowering  // so `unit` and `code` are uniquely referenced again
        if highestRegister > maximumFrameSize {
            diagnostics.append(
                (index, Diagnostic(
                    "function `\(f.name)` needs more than \(maximumFrameSize) registers; split it",
                    at: SourceLocation(line: f.line, column: 1))))
        } else {
            code.finish()
            unit.define(function: functionIds[index], frameSize: max(1, highestRegister), code: code)
        }
        code.reset()
    }
    // In declaration order, like every other diagnostic.
    if !diagnostics.isEmpty { return (nil, diagnostics.sorted { $0.index < $1.index }.map(\.1)) }
    return (unit.encode(), [])
}

extension CheckedForeign {
    /// What the System V glue needs to know (the checker allows only these four types).
    var signature: ForeignSignature {
        func kind(_ t: ValueType) -> ForeignSignature.ValueKind {
            switch t {
            case .f64: .f64
            case .bool: .bool
            case .str: .str
            default: .i64
            }
        }
        return ForeignSignature(symbol: symbol, parameters: parameterTypes.map(kind), result: kind(resultType))
    }
}

/// The bytecode name of each builtin that is a call rather than an instruction.
extension BuiltinFunction {
    var runtimeName: String? {
        switch self {
        case .printI64: "print_i64"
        case .printF64: "print_f64"
        case .printBool: "print_bool"
        case .printStr: "print_str"
        case .writeI64: "write_i64"
        case .writeF64: "write_f64"
        case .writeBool: "write_bool"
        case .writeStr: "write_str"
        case .arrayI64: "array_i64"
        case .arrayF64: "array_f64"
        case .arrayBool: "array_bool"
        case .clock: "clock"
        default: nil
        }
    }
}

struct FunctionLowering {
    let function: CheckedFunction
    /// The node tables `function`'s body indexes (read only).
    let program: CheckedProgram
    var unit: UnitBuilder
    let functionIds: [UInt32]
    let globalIds: [UInt32]
    /// The entry of each foreign declaration (made up front: every one gets its entry).
    let foreignIds: [UInt32]
    /// Empty on entry.
    var code: FunctionBuilder
    /// The first free temporary register.
    var nextTemp: Int
    /// One past the highest register used so far (the frame size).
    var highestRegister: Int
    /// (continue target, exit) of each enclosing loop, innermost last.
    var loops: [(continueLabel: Label, exit: Label)] = []
    /// Literals used inside loops, loaded once at function entry into registers just above the
    /// locals, so a loop body does not reload them each iteration: (their 64 bits, register).
    /// At most 24, so a linear search beats hashing.
    var constantRegisters: [(bits: UInt64, register: Register)] = []
    var localCount: Int { function.localCount }

    init(
        function: CheckedFunction, program: CheckedProgram, unit: UnitBuilder, code: FunctionBuilder,
        functionIds: [UInt32], globalIds: [UInt32], foreignIds: [UInt32]
    ) {
        self.function = function
        self.program = program
        self.unit = unit
        self.code = code
        self.functionIds = functionIds
        self.globalIds = globalIds
        self.foreignIds = foreignIds
        nextTemp = function.localCount
        highestRegister = max(function.localCount, function.parameterCount)
    }

    // MARK: Registers

    /// A new temporary. Past 255 the function is reported as too large (see `lower`); until
    /// then register numbers are clamped so encoding never traps.
    mutating func temp() -> Register {
        let r = nextTemp
        nextTemp += 1
        highestRegister = max(highestRegister, nextTemp)
        return Register(truncatingIfNeeded: min(r, 254))
    }

    func reg(_ local: Int32) -> Register { Register(truncatingIfNeeded: min(local, 254)) }

    func isLocal(_ r: Register) -> Bool { Int(r) < localCount }

    /// The register a hoisted literal was loaded into, if it was hoisted.
    func constantRegister(_ bits: UInt64) -> Register? {
        for constant in constantRegisters where constant.bits == bits { return constant.register }
        return nil
    }
}

extension ValueType {
    /// What values of this type are to the verifier (`ValueKind`): bits, or the one layout
    /// that instructions dereferencing them expect.
    var kind: ValueKind {
        switch self {
        case .i64, .f64, .bool, .unit: .scalar
        case .str: .string
        case .arrayI64, .arrayF64: .array64
        case .arrayBool: .array8
        }
    }
}
