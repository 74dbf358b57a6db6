import RibbonBytecode
import RibbonCore
import Testing

@testable import RibbonVM

@Suite struct InterpreterTests {
    /// Runs a hand-built unit, loaded as the file `div.rib` (the path backtraces name).
    func run(_ image: UnitImage, _ name: String = "main", arguments: [UInt64] = []) throws -> (Result<UInt64, Trap>, String) {
        let unit = try LoadedUnit(image: image, resolver: HandBuilt.resolver, sourcePath: "div.rib")
        let fiber = Fiber(output: .buffer)
        let id = try #require(unit.symbols[name])
        let f = try #require(unit.function(id: id))
        let result = fiber.call(f, arguments: arguments)
        return (result, String(decoding: fiber.capturedOutput, as: UTF8.self))
    }

    @Test func handBuiltFibRunsAndPrintsThroughABuiltin() throws {
        let (result, output) = try run(HandBuilt.fibUnit(n: 20))
        #expect(result == .success(0))
        #expect(output == "6765\n")
    }

    @Test func jitHintsRunAsNops() throws {
        let plain = try run(HandBuilt.fibUnit(n: 15))
        let hinted = try run(HandBuilt.fibUnit(n: 15, hints: true))
        #expect(plain.1 == "610\n")
        #expect(hinted.1 == plain.1)
        #expect(hinted.0 == plain.0)
    }

    /// The image is position-independent: the same bytes loaded twice land at two addresses,
    /// each with its own AddressTable, and both run.
    @Test func oneImageLoadedTwiceAtTwoAddressesRunsAtBoth() throws {
        let image = HandBuilt.fibUnit(n: 10)
        let a = try LoadedUnit(image: image, resolver: HandBuilt.resolver)
        let b = try LoadedUnit(image: image, resolver: HandBuilt.resolver)
        #expect(a.addressTable != b.addressTable)
        let fa = try #require(a.function(id: a.symbols["fib"]!))
        let fb = try #require(b.function(id: b.symbols["fib"]!))
        #expect(fa.header != fb.header)
        // Each table points into its own copy.
        #expect(a.addressTable[Int(fa.id)] & ~bytecodeEntryTag == UInt64(UInt(bitPattern: fa.header)))
        #expect(b.addressTable[Int(fb.id)] & ~bytecodeEntryTag == UInt64(UInt(bitPattern: fb.header)))
        let fiber = Fiber(output: .buffer)
        #expect(fiber.call(fa, arguments: [25]) == .success(75025))
        #expect(fiber.call(fb, arguments: [25]) == .success(75025))
    }

    @Test func divisionByZeroTrapsWithBacktrace() throws {
        let (result, _) = try run(HandBuilt.divideByZeroUnit())
        guard case .failure(let trap) = result else {
            Issue.record("expected a trap")
            return
        }
        #expect(trap.code == .divisionByZero)
        #expect(trap.reason == "division by zero")
        #expect(trap.backtrace.map(\.function) == ["divide", "main"])
        #expect(trap.backtrace.map(\.line) == [2, 6])
        #expect(trap.rendered.hasPrefix("runtime error: division by zero\n  at divide (div.rib:2)\n"))
    }

    @Test func tenThousandFramesWorkAndUnboundedRecursionIsStackOverflow() throws {
        let (deep, _) = try run(HandBuilt.recursionUnit(limit: 10_000), "down", arguments: [0])
        #expect(deep == .success(10_000))
        let (tooDeep, _) = try run(HandBuilt.recursionUnit(limit: 10_000_000), "down", arguments: [0])
        guard case .failure(let trap) = tooDeep else {
            Issue.record("expected stack overflow")
            return
        }
        #expect(trap.code == .stackOverflow)
        #expect(trap.backtrace.count == Fiber.maximumDepth + 1)
        #expect(trap.rendered.contains("more frames"))
    }
}

@Suite struct RegisterStackTests {
    /// Machine code does not check that its frame fits: the reservation must hold the deepest
    /// possible stack (every frame up to 254 registers above its caller's, 255 registers each).
    @Test func registerStackOutlastsTheDepthLimit() {
        #expect(Fiber.maximumDepth * 254 + 255 < Fiber.stackWords)
    }
}
