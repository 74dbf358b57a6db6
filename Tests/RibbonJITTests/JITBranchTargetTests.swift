import RibbonBytecode
import RibbonCore
import RibbonVM
import Testing

@testable import RibbonJIT

/// Regression (found by the bytecode fuzzer's JIT-vs-interpreter comparison): the JIT reuses
/// rax when the previous instruction ended by storing it to the register about to be read
/// (`raxHolds`). At a branch target that knowledge is dropped — but if the instruction there
/// emitted no code (a `mov` of a register to itself, a hint), the next one started at the same
/// position and picked the stale store up again, so a value that arrived by the branch was
/// never loaded.
@Suite struct JITBranchTargetTests {
    @Test func aBranchTargetThatEmitsNothingForgetsRax() throws {
        var unit = UnitBuilder()
        let f = unit.declareFunction(name: "f", parameterCount: 0)
        var c = FunctionBuilder()
        c.emit(.constI32, 1, imm: -2_147_483_648)  // r1: the result when the branch is taken
        c.emit(.constI32, 2, imm: 191)  // r2, r3: compared as F64 bits (kept in xmm registers)
        c.emit(.constI32, 3, imm: 255)
        let join = c.makeLabel()
        c.emitBranch(.brFNe64, 2, 3, to: join)  // taken: 191 and 255 differ
        c.emit(.mov, 1, 2)  // r1 = r2 through rax (the store the JIT remembers)
        c.bind(join)
        c.emit(.mov, 1, 1)  // a branch target that emits no code
        c.emit(.mov, 1, 1)
        c.emit(.ret, 1)
        c.finish()
        unit.define(function: f, frameSize: 4, code: c)
        let loaded = try LoadedUnit(image: unit.encode(), resolver: SymbolResolver(builtin: Builtins.address(named:)))
        let function = try #require(loaded.function(id: f))
        let interpreted = Fiber(output: .buffer).call(function)
        #expect(interpreted == .success(UInt64(bitPattern: -2_147_483_648)))
        let engine = JITEngine()
        #expect(engine.install(function, of: loaded))
        #expect(Fiber(output: .buffer).call(function) == interpreted)
    }
}
