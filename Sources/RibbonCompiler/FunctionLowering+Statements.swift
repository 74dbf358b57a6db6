import RibbonBytecode
import RibbonCore
import RibbonSyntax

/// Lowering of function bodies, blocks and statements, and the hoisting of loop-invariant
/// literals into registers before a loop.
extension FunctionLowering {
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
}
