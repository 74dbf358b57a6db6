import RibbonBytecode
import RibbonCore
import RibbonVM

/// Small units built directly with the Builder (no front end), shared by the VM tests.
enum HandBuilt {
    static let resolver = SymbolResolver(builtin: Builtins.address(named:))

    /// fib(n) and main() = print(fib(n)); `hints` sprinkles JIT-only instructions everywhere.
    static func fibUnit(n: Int32, hints: Bool = false) -> UnitImage {
        var unit = UnitBuilder()
        let fib = unit.declareFunction(name: "fib", parameterCount: 1)
        let main = unit.declareFunction(name: "main", parameterCount: 0)
        let print = unit.builtin("print_i64")

        var f = FunctionBuilder()
        f.mark(line: 2)
        if hints { f.emit(.jitCold); f.emit(.jitLoopHeader) }
        let recurse = f.makeLabel()
        f.emitBranch(.brSGe64Imm, 0, UInt8(2), to: recurse)
        if hints { f.emit(.jitCold) }
        f.emit(.ret, 0)
        f.bind(recurse)
        f.mark(line: 3)
        f.emit(.iAdd64Imm, 2, 0, imm: -1)
        if hints { f.emit(.jitLoopHeader) }
        f.emitCall(.call, result: 1, base: 2, id: fib)
        f.emit(.iAdd64Imm, 2, 0, imm: -2)
        if hints { f.emit(.nop); f.emit(.jitCold) }
        f.emitCall(.call, result: 2, base: 2, id: fib)
        f.emit(.iAdd64, 0, 1, 2)
        f.emit(.ret, 0)
        f.finish()
        unit.define(function: fib, frameSize: 3, code: f)

        var m = FunctionBuilder()
        m.mark(line: 6)
        m.emit(.constI32, 0, imm: n)
        m.emitCall(.call, result: 0, base: 0, id: fib)
        m.emitCall(.call, result: 0, base: 0, id: print)
        m.emit(.constI32, 0, imm: 0)
        m.emit(.ret, 0)
        m.finish()
        unit.define(function: main, frameSize: 1, code: m)
        return unit.encode()
    }

    /// main() = a / b with b = 0, called through a helper, to test traps and backtraces.
    static func divideByZeroUnit() -> UnitImage {
        var unit = UnitBuilder()
        let divide = unit.declareFunction(name: "divide", parameterCount: 2)
        let main = unit.declareFunction(name: "main", parameterCount: 0)
        var d = FunctionBuilder()
        d.mark(line: 2)
        d.emit(.sDiv64, 0, 0, 1)
        d.emit(.ret, 0)
        d.finish()
        unit.define(function: divide, frameSize: 2, code: d)
        var m = FunctionBuilder()
        m.mark(line: 5)
        m.emit(.constI32, 0, imm: 10)
        m.emit(.constI32, 1, imm: 0)
        m.mark(line: 6)
        m.emitCall(.call, result: 0, base: 0, id: divide)
        m.emit(.ret, 0)
        m.finish()
        unit.define(function: main, frameSize: 2, code: m)
        return unit.encode()
    }

    /// down(n) = 1 + down(n + 1) until n == limit, then 0: recursion depth `limit`.
    static func recursionUnit(limit: Int32) -> UnitImage {
        var unit = UnitBuilder()
        let down = unit.declareFunction(name: "down", parameterCount: 1)
        var f = FunctionBuilder()
        f.mark(line: 1)
        let more = f.makeLabel()
        f.emit(.constI32, 1, imm: limit)
        f.emitBranch(.brINe64, 0, 1, to: more)
        f.emit(.constI32, 0, imm: 0)
        f.emit(.ret, 0)
        f.bind(more)
        f.emit(.iAdd64Imm, 1, 0, imm: 1)
        f.emitCall(.call, result: 1, base: 1, id: down)
        f.emit(.iAdd64Imm, 0, 1, imm: 1)
        f.emit(.ret, 0)
        f.finish()
        unit.define(function: down, frameSize: 2, code: f)
        return unit.encode()
    }
}
