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

    // MARK: Functions and statements

    mutating func lowerBody() {
        code.mark(line: function.line)
        hoistLoopConstants()
        if function.resultType == .unit {
            block(function.body, into: nil)
            code.emit(.retUnit)
        } else {
            tailBlock(function.body)
        }
    }

    /// A block whose value the function returns: an `if`/`else` there returns from each
    /// branch (`ret` in both) instead of joining to a shared `ret`.
    mutating func tailBlock(_ id: CheckedBlockID) {
        let b = program[id]
        statements(of: b)
        guard let resultID = b.result else {
            // The block always returns before this point; keep the function well-formed.
            code.emit(.ret, 0)
            return
        }
        let result = program[resultID]
        code.mark(line: Int(result.line))
        if case .ifElse(let condition, let then, let otherwise?) = result.kind {
            let elseLabel = code.makeLabel()
            branch(condition, when: false, to: elseLabel)
            let mark = nextTemp
            tailBlock(then)
            nextTemp = mark
            code.bind(elseLabel)
            tailBlock(otherwise)
            nextTemp = mark
        } else {
            code.emit(.ret, expression(resultID, into: nil))
        }
    }

    mutating func statements(of b: CheckedBlock) {
        for index in Int(b.statements.lowerBound)..<Int(b.statements.upperBound) {
            statement(program.statements[index])
        }
    }

    /// Gives each distinct literal that appears inside a loop (and is not small enough for an
    /// immediate field) a register loaded at entry. At most 24, and only while the frame has room.
    mutating func hoistLoopConstants() {
        // Only the first `limit` distinct literals get a register, so collecting stops there
        // (and a linear search of what was found is enough).
        let limit = min(24, max(0, 200 - localCount))
        guard limit > 0 else { return }
        var found: [UInt64] = []
        let program = self.program
        func note(_ bits: UInt64) {
            if found.count < limit, !found.contains(bits) { found.append(bits) }
        }
        func visit(_ id: CheckedExpressionID) {
            switch program[id].kind {
            case .intLiteral(let v):
                if !(-128...127).contains(v) { note(UInt64(bitPattern: v)) }
            case .floatLiteral(let v):
                note(v.bitPattern)
            case .unary(_, let a): visit(a)
            case .binary(let op, let a, let b) where op == .addI64 || op == .subI64 || op == .mulI64:
                // A small right operand goes into the instruction's immediate field instead.
                visit(a)
                if case .intLiteral(let v) = program[b].kind, v > Int64(Int32.min), v <= Int64(Int32.max) { break }
                visit(b)
            case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b), .index(let a, let b):
                visit(a)
                visit(b)
            case .call(_, let args), .callForeign(_, let args), .builtin(_, let args):
                for argument in program.arguments(args) { visit(argument) }
            case .ifElse(let c, let t, let o):
                visit(c)
                visitBlock(t)
                if let o { visitBlock(o) }
            default: break
            }
        }
        func visitBlock(_ id: CheckedBlockID) {
            let b = program[id]
            for s in program.statements(of: b) { visitStatement(s) }
            if let r = b.result { visit(r) }
        }
        func visitStatement(_ s: CheckedStatement) {
            switch s.kind {
            case .expression(let e), .declare(_, let e), .assignLocal(_, let e), .assignGlobal(_, let e):
                visit(e)
            case .assignIndex(let a, let i, let v):
                visit(a)
                visit(i)
                visit(v)
            case .whileLoop(let c, let body):
                visit(c)
                visitBlock(body)
            case .returnValue(let e):
                if let e { visit(e) }
            case .breakLoop, .continueLoop: break
            }
        }
        // Only literals inside loops pay for a register.
        func walk(_ id: CheckedBlockID) {
            for s in program.statements(of: program[id]) {
                if case .whileLoop = s.kind {
                    visitStatement(s)
                } else if case .expression(let e) = s.kind, case .ifElse(_, let t, let o) = program[e].kind {
                    walk(t)
                    if let o { walk(o) }
                }
            }
        }
        walk(function.body)
        for bits in found {
            let r = temp()
            loadConstant(r, bits)
            constantRegisters.append((bits, r))
        }
    }

    /// Lowers a block; returns the register holding its result (nil when it has none).
    @discardableResult
    mutating func block(_ id: CheckedBlockID, into target: Register?) -> Register? {
        let b = program[id]
        statements(of: b)
        guard let result = b.result else { return nil }
        code.mark(line: Int(program[result].line))
        return expression(result, into: target)
    }

    mutating func statement(_ s: CheckedStatement) {
        code.mark(line: Int(s.line))
        let mark = nextTemp
        defer { nextTemp = mark }
        switch s.kind {
        case .expression(let e):
            _ = expression(e, into: nil)
        case .declare(let local, let e), .assignLocal(let local, let e):
            _ = expression(e, into: reg(local))
        case .assignGlobal(let global, let e):
            let r = expression(e, into: nil)
            code.emit(.globalSet, r, id: globalIds[Int(global)])
        case .assignIndex(let array, let index, let value):
            let a = expression(array, into: nil)
            let i = operand(index, protectingFrom: value)
            let v = expression(value, into: nil)
            code.emit(program[array].type == .arrayBool ? .arrayStore8 : .arrayStore64, a, i, v)
        case .whileLoop(let condition, let body):
            // Condition at the bottom: one (fused) branch per iteration.
            let exit = code.makeLabel()
            let top = code.makeLabel()
            let check = code.makeLabel()
            branch(condition, when: false, to: exit)
            code.emit(.jitLoopHeader)
            code.bind(top)
            loops.append((check, exit))
            block(body, into: nil)
            loops.removeLast()
            code.bind(check)
            code.mark(line: Int(s.line))
            branch(condition, when: true, to: top)
            code.bind(exit)
        case .returnValue(let e):
            if let e {
                let r = expression(e, into: nil)
                code.emit(.ret, r)
            } else {
                code.emit(.retUnit)
            }
        case .breakLoop:
            if let loop = loops.last { code.emitBranch(.br, to: loop.exit) }
        case .continueLoop:
            if let loop = loops.last { code.emitBranch(.br, to: loop.continueLabel) }
        }
    }

    // MARK: Expressions

    /// Evaluates `e` into some register (`target` when given) and returns it.
    ///
    /// Operands are always evaluated into temporaries or read in place from locals; only the
    /// final operation writes `target`, so `x = y * x` reads `x` before writing it.
    mutating func expression(_ id: CheckedExpressionID, into target: Register?) -> Register {
        let e = program[id]
        switch e.kind {
        case .intLiteral(let v):
            if target == nil, let r = constantRegister(UInt64(bitPattern: v)) { return r }
            let d = target ?? temp()
            loadConstant(d, UInt64(bitPattern: v))
            return d
        case .floatLiteral(let v):
            if target == nil, let r = constantRegister(v.bitPattern) { return r }
            let d = target ?? temp()
            loadConstant(d, v.bitPattern)
            return d
        case .boolLiteral(let v):
            let d = target ?? temp()
            code.emit(.constI32, d, imm: v ? 1 : 0)
            return d
        case .stringLiteral(let bytes):
            let d = target ?? temp()
            code.emit(.constAddr, d, id: unit.constant(Array(program.string(bytes))))
            return d
        case .unitLiteral:
            let d = target ?? temp()
            code.emit(.constI32, d, imm: 0)
            return d
        case .local(let local):
            let r = reg(local)
            if let target, target != r {
                code.emit(.mov, target, r)
                return target
            }
            return r
        case .global(let g):
            let d = target ?? temp()
            code.emit(.globalGet, d, id: globalIds[Int(g)])
            return d
        case .unary(let op, let operand):
            let a = expression(operand, into: nil)
            let d = target ?? temp()
            switch op {
            case .negateI64: code.emit(.iNeg64, d, a)
            case .negateF64: code.emit(.fNeg64, d, a)
            case .not: code.emit(.bNot, d, a)
            }
            return d
        case .binary(let op, let lhs, let rhs):
            return binary(op, lhs, rhs, into: target)
        case .and, .or, .ifElse:
            // These write their result register more than once: never straight into a local
            // that the expression itself may still read.
            let d = (target.map { isLocal($0) } ?? true) ? temp() : target!
            switch e.kind {
            case .and(let a, let b), .or(let a, let b):
                let isAnd: Bool
                if case .and = e.kind { isAnd = true } else { isAnd = false }
                let end = code.makeLabel()
                _ = expression(a, into: d)
                code.emitBranch(isAnd ? .brIfnot : .brIf, d, to: end)
                _ = expression(b, into: d)
                code.bind(end)
            case .ifElse(let condition, let then, let otherwise):
                let elseLabel = code.makeLabel()
                let end = code.makeLabel()
                branch(condition, when: false, to: elseLabel)
                let mark = nextTemp
                if e.type == .unit || otherwise == nil {
                    block(then, into: nil)
                } else {
                    _ = block(then, into: d)
                }
                nextTemp = mark
                if let otherwise {
                    code.emitBranch(.br, to: end)
                    code.bind(elseLabel)
                    if e.type == .unit {
                        block(otherwise, into: nil)
                    } else {
                        _ = block(otherwise, into: d)
                    }
                    nextTemp = mark
                } else {
                    code.bind(elseLabel)
                }
                code.bind(end)
            default:
                preconditionFailure()
            }
            if let target, target != d {
                code.emit(.mov, target, d)
                return target
            }
            return d
        case .call(let function, let arguments):
            return call(.call, id: functionIds[Int(function)], arguments, into: target)
        case .callForeign(let foreign, let arguments):
            return call(.callC, id: foreignIds[Int(foreign)], arguments, into: target)
        case .builtin(let builtin, let arguments):
            return self.builtin(builtin, arguments, into: target)
        case .index(let array, let index):
            let a = expression(array, into: nil)
            let i = expression(index, into: nil)
            let d = target ?? temp()
            code.emit(program[array].type == .arrayBool ? .arrayLoad8 : .arrayLoad64, d, a, i)
            return d
        }
    }

    /// Evaluates an operand that must keep its value while `later` is evaluated: a local is
    /// read in place unless `later` could assign locals (only blocks inside `if` can).
    mutating func operand(_ e: CheckedExpressionID, protectingFrom later: CheckedExpressionID) -> Register {
        let r = expression(e, into: nil)
        if isLocal(r), containsBlock(later) {
            let t = temp()
            code.emit(.mov, t, r)
            return t
        }
        return r
    }

    func containsBlock(_ e: CheckedExpressionID) -> Bool {
        switch program[e].kind {
        case .ifElse: return true
        case .unary(_, let a): return containsBlock(a)
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b), .index(let a, let b):
            return containsBlock(a) || containsBlock(b)
        case .call(_, let args), .callForeign(_, let args), .builtin(_, let args):
            return program.arguments(args).contains { containsBlock($0) }
        default: return false
        }
    }

    mutating func loadConstant(_ d: Register, _ bits: UInt64) {
        let v = Int64(bitPattern: bits)
        if v >= Int64(Int32.min), v <= Int64(Int32.max) {
            code.emit(.constI32, d, imm: Int32(v))
        } else {
            code.emit(.const64, d, imm64: bits)
        }
    }

    /// A literal that fits the instruction's immediate field, if `e` is one.
    func smallInt(_ e: CheckedExpressionID, range: ClosedRange<Int64>) -> Int64? {
        if case .intLiteral(let v) = program[e].kind, range.contains(v) { return v }
        return nil
    }

    mutating func binary(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, into target: Register?
    ) -> Register {
        let imm32Range = Int64(Int32.min + 1)...Int64(Int32.max)
        // Forms with an immediate operand.
        switch op {
        case .addI64, .subI64, .mulI64:
            if let c = smallInt(rhs, range: imm32Range) {
                let a = expression(lhs, into: nil)
                let d = target ?? temp()
                switch op {
                case .addI64: code.emit(.iAdd64Imm, d, a, imm: Int32(c))
                case .subI64: code.emit(.iAdd64Imm, d, a, imm: Int32(-c))
                default: code.emit(.iMul64Imm, d, a, imm: Int32(c))
                }
                return d
            }
        default:
            break
        }
        if let fused = multiplyAdd(op, lhs, rhs, into: target) { return fused }
        let a = operand(lhs, protectingFrom: rhs)
        let b = expression(rhs, into: nil)
        let d = target ?? temp()
        switch op {
        case .addI64: code.emit(.iAdd64, d, a, b)
        case .subI64: code.emit(.iSub64, d, a, b)
        case .mulI64: code.emit(.iMul64, d, a, b)
        case .divI64: code.emit(.sDiv64, d, a, b)
        case .remI64: code.emit(.sRem64, d, a, b)
        case .addF64: code.emit(.fAdd64, d, a, b)
        case .subF64: code.emit(.fSub64, d, a, b)
        case .mulF64: code.emit(.fMul64, d, a, b)
        case .divF64: code.emit(.fDiv64, d, a, b)
        case .eqI64, .eqBool: code.emit(.iEq64, d, a, b)
        case .neI64, .neBool: code.emit(.iNe64, d, a, b)
        case .ltI64: code.emit(.sLt64, d, a, b)
        case .leI64: code.emit(.sLe64, d, a, b)
        case .gtI64: code.emit(.sLt64, d, b, a)
        case .geI64: code.emit(.sLe64, d, b, a)
        case .eqF64: code.emit(.fEq64, d, a, b)
        case .neF64: code.emit(.fNe64, d, a, b)
        case .ltF64: code.emit(.fLt64, d, a, b)
        case .leF64: code.emit(.fLe64, d, a, b)
        case .gtF64: code.emit(.fLt64, d, b, a)
        case .geF64: code.emit(.fLe64, d, b, a)
        }
        return d
    }

    /// `x * y + z`, `z + x * y` and `x * y - z` on F64 as one `f_mul_add64`/`f_mul_sub64`
    /// (two roundings, the same result as two instructions), evaluating x, y and z in source
    /// order. Not used when an operand holds an `if` block (it could assign a local read earlier).
    mutating func multiplyAdd(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, into target: Register?
    ) -> Register? {
        guard op == .addF64 || op == .subF64 else { return nil }
        if containsBlock(lhs) || containsBlock(rhs) { return nil }
        if case .binary(.mulF64, let x, let y) = program[lhs].kind {
            let a = expression(x, into: nil)
            let b = expression(y, into: nil)
            let c = expression(rhs, into: nil)
            let d = target ?? temp()
            code.emit(op == .addF64 ? .fMulAdd64 : .fMulSub64, d, a, b, c)
            return d
        }
        if op == .addF64, case .binary(.mulF64, let x, let y) = program[rhs].kind {
            let c = expression(lhs, into: nil)
            let a = expression(x, into: nil)
            let b = expression(y, into: nil)
            let d = target ?? temp()
            code.emit(.fMulAdd64, d, a, b, c)
            return d
        }
        return nil
    }

    /// Jumps to `label` when `e` evaluates to `when`; falls through otherwise. Comparisons
    /// become one fused compare-and-branch; `and`/`or`/`not` become control flow.
    mutating func branch(_ id: CheckedExpressionID, when: Bool, to label: Label) {
        let mark = nextTemp
        defer { nextTemp = mark }
        switch program[id].kind {
        case .boolLiteral(let v):
            if v == when { code.emitBranch(.br, to: label) }
            return
        case .unary(.not, let a):
            branch(a, when: !when, to: label)
            return
        case .and(let a, let b):
            if when {
                let skip = code.makeLabel()
                branch(a, when: false, to: skip)
                branch(b, when: true, to: label)
                code.bind(skip)
            } else {
                branch(a, when: false, to: label)
                branch(b, when: false, to: label)
            }
            return
        case .or(let a, let b):
            if when {
                branch(a, when: true, to: label)
                branch(b, when: true, to: label)
            } else {
                let skip = code.makeLabel()
                branch(a, when: true, to: skip)
                branch(b, when: false, to: label)
                code.bind(skip)
            }
            return
        case .binary(let op, let lhs, let rhs):
            if compareAndBranch(op, lhs, rhs, when: when, to: label) { return }
        default:
            break
        }
        let r = expression(id, into: nil)
        code.emitBranch(when ? .brIf : .brIfnot, r, to: label)
    }

    /// Emits the fused branch for a comparison; false when `op` is not a comparison.
    mutating func compareAndBranch(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, when: Bool, to label: Label
    ) -> Bool {
        // The relation that makes the branch jump: `op` itself, or its negation.
        enum Relation { case eq, ne, lt, le, gt, ge }
        let relation: Relation
        let isFloat: Bool
        switch op {
        case .eqI64, .eqBool: (relation, isFloat) = (.eq, false)
        case .neI64, .neBool: (relation, isFloat) = (.ne, false)
        case .ltI64: (relation, isFloat) = (.lt, false)
        case .leI64: (relation, isFloat) = (.le, false)
        case .gtI64: (relation, isFloat) = (.gt, false)
        case .geI64: (relation, isFloat) = (.ge, false)
        case .eqF64: (relation, isFloat) = (.eq, true)
        case .neF64: (relation, isFloat) = (.ne, true)
        case .ltF64: (relation, isFloat) = (.lt, true)
        case .leF64: (relation, isFloat) = (.le, true)
        case .gtF64: (relation, isFloat) = (.gt, true)
        case .geF64: (relation, isFloat) = (.ge, true)
        default: return false
        }
        if isFloat {
            let a = operand(lhs, protectingFrom: rhs)
            let b = expression(rhs, into: nil)
            // F64 negations are not the opposite comparison (NaN): use the `n` forms.
            switch (relation, when) {
            case (.eq, true): code.emitBranch(.brFEq64, a, b, to: label)
            case (.eq, false): code.emitBranch(.brFNe64, a, b, to: label)
            case (.ne, true): code.emitBranch(.brFNe64, a, b, to: label)
            case (.ne, false): code.emitBranch(.brFEq64, a, b, to: label)
            case (.lt, true): code.emitBranch(.brFLt64, a, b, to: label)
            case (.lt, false): code.emitBranch(.brFNlt64, a, b, to: label)
            case (.le, true): code.emitBranch(.brFLe64, a, b, to: label)
            case (.le, false): code.emitBranch(.brFNle64, a, b, to: label)
            case (.gt, true): code.emitBranch(.brFLt64, b, a, to: label)
            case (.gt, false): code.emitBranch(.brFNlt64, b, a, to: label)
            case (.ge, true): code.emitBranch(.brFLe64, b, a, to: label)
            case (.ge, false): code.emitBranch(.brFNle64, b, a, to: label)
            }
            return true
        }
        // I64 and Bool: the negation of a relation is another relation.
        var r = relation
        if !when {
            switch relation {
            case .eq: r = .ne
            case .ne: r = .eq
            case .lt: r = .ge
            case .le: r = .gt
            case .gt: r = .le
            case .ge: r = .lt
            }
        }
        if let c = smallInt(rhs, range: -128...127) {
            let a = expression(lhs, into: nil)
            let imm = UInt8(bitPattern: Int8(c))
            switch r {
            case .eq: code.emitBranch(.brIEq64Imm, a, imm, to: label)
            case .ne: code.emitBranch(.brINe64Imm, a, imm, to: label)
            case .lt: code.emitBranch(.brSLt64Imm, a, imm, to: label)
            case .le: code.emitBranch(.brSLe64Imm, a, imm, to: label)
            case .gt: code.emitBranch(.brSGt64Imm, a, imm, to: label)
            case .ge: code.emitBranch(.brSGe64Imm, a, imm, to: label)
            }
            return true
        }
        let a = operand(lhs, protectingFrom: rhs)
        let b = expression(rhs, into: nil)
        switch r {
        case .eq: code.emitBranch(.brIEq64, a, b, to: label)
        case .ne: code.emitBranch(.brINe64, a, b, to: label)
        case .lt: code.emitBranch(.brSLt64, a, b, to: label)
        case .le: code.emitBranch(.brSLe64, a, b, to: label)
        case .gt: code.emitBranch(.brSLt64, b, a, to: label)
        case .ge: code.emitBranch(.brSLe64, b, a, to: label)
        }
        return true
    }

    /// Arguments go into consecutive temporaries at the top of the frame: the callee's frame
    /// starts at the first of them. The result lands in `target`, or in that first register.
    mutating func call(_ op: Opcode, id: UInt32, _ arguments: Range<Int32>, into target: Register?) -> Register {
        let base = temp()
        for _ in 1..<max(1, arguments.count) { _ = temp() }
        for i in 0..<arguments.count {
            let argument = program.arguments[Int(arguments.lowerBound) + i]
            let slot = Register(truncatingIfNeeded: min(Int(base) + i, 254))
            let mark = nextTemp
            _ = expression(argument, into: slot)
            nextTemp = mark
        }
        let d = target ?? base
        code.emitCall(op, result: d, base: base, id: id)
        nextTemp = Int(base) + 1
        return d
    }

    mutating func builtin(_ builtin: BuiltinFunction, _ argumentRange: Range<Int32>, into target: Register?) -> Register {
        let arguments = program.arguments(argumentRange)
        if let name = builtin.runtimeName {
            return call(.call, id: unit.builtin(name), argumentRange, into: target)
        }
        let single: Opcode
        switch builtin {
        case .len: single = .arrayLen
        case .float: single = .sToF64
        case .int: single = .fToS64
        case .sqrt: single = .fSqrt64
        case .floor: single = .fFloor64
        case .absI64: single = .iAbs64
        case .absF64: single = .fAbs64
        case .band, .bor, .bxor, .shl, .shr:
            let a = operand(arguments[arguments.startIndex], protectingFrom: arguments[arguments.startIndex + 1])
            let b = expression(arguments[arguments.startIndex + 1], into: nil)
            let d = target ?? temp()
            let op: Opcode
            switch builtin {
            case .band: op = .iAnd64
            case .bor: op = .iOr64
            case .bxor: op = .iXor64
            case .shl: op = .iShl64
            default: op = .sShr64
            }
            code.emit(op, d, a, b)
            return d
        default:
            preconditionFailure("builtin \(builtin) has neither a runtime name nor an instruction")
        }
        let a = expression(arguments[arguments.startIndex], into: nil)
        let d = target ?? temp()
        code.emit(single, d, a)
        return d
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
