import CRibbonABI
import RibbonBytecode
import RibbonCore
import Testing

@testable import RibbonVM

/// Regression (found by the bytecode fuzzer): a branch to itself (offset 0, which the verifier
/// allows) is a loop, and must burn tier-up fuel like any backward branch. It did not, so such
/// a loop never reported its function hot and could not be bounded by the fuel.
@Suite struct InterpreterBudgetTests {
    static let stop: BuiltinFunction = { header in
        header!.pointee.trapCode = TrapCode.invalidInstruction.rawValue
        return RibbonSignalTrap
    }

    @Test func aBranchToItselfBurnsFuel() throws {
        var unit = UnitBuilder()
        let main = unit.declareFunction(name: "main", parameterCount: 0)
        var code = FunctionBuilder()
        code.emit(.constI32, 0, imm: 1)
        let spin = code.makeLabel()
        code.bind(spin)
        code.emitBranch(.brIf, 0, to: spin)  // offset 0: spins while r0 != 0
        code.emit(.ret, 0)
        code.finish()
        unit.define(function: main, frameSize: 1, code: code)
        let loaded = try LoadedUnit(image: unit.encode(), resolver: SymbolResolver(builtin: Builtins.address(named:)))
        let fiber = Fiber(output: .buffer)
        fiber.tierUpThreshold = 100
        var reported = 0
        fiber.hotFunctionHandler = { _ in reported += 1 }
        // When the loop is hot, "machine code for the loop" is a builtin that stops the run.
        fiber.loopEntryHandler = { _, word in
            #expect(word == 1)
            return UInt64(UInt(bitPattern: unsafeBitCast(InterpreterBudgetTests.stop, to: UnsafeRawPointer.self)))
        }
        let result = fiber.call(try #require(loaded.function(id: main)))
        #expect(reported == 1)
        guard case .failure(let trap) = result else {
            Issue.record("the loop ended by itself")
            return
        }
        #expect(trap.code == .invalidInstruction)
    }
}
