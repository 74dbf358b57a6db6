import CRibbonABI
import RibbonBytecode
import RibbonCompiler
import RibbonCore
import RibbonSyntax
import RibbonVM
import Testing

@testable import RibbonJIT

@Suite struct JITCompilerTests {
    static func load(_ source: String) throws -> LoadedUnit {
        let (program, diagnostics) = check(SourceFile(path: "test.rib", text: source))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let checked = try #require(program)
        let image = try #require(lower(checked).image)
        return try LoadedUnit(image: image, resolver: SymbolResolver(builtin: Builtins.address(named:)))
    }

    static let fibSource = """
        fib := fun (n: I64) -> I64.
            if n < 2. n
            else. fib (n - 1) + fib (n - 2)
        """

    /// Calls native code with the builtin ABI on a fresh fiber: arguments in frame[0...].
    static func callNative(_ entry: UnsafeRawPointer, _ arguments: [UInt64]) -> (BuiltinSignal, UInt64) {
        let fiber = Fiber(output: .buffer)
        let frame = fiber.header.pointee.frame!
        for (i, a) in arguments.enumerated() { frame[i] = a }
        let f = unsafeBitCast(entry, to: RibbonCore.BuiltinFunction.self)
        let signal = f(fiber.header)
        return (signal, frame[0])
    }

    /// The machine code is relocatable: copied to two places, each copy patched with its own
    /// relocations, both run (the recursion inside stays within each copy).
    @Test func compiledFunctionRunsFromTwoAddresses() throws {
        let unit = try Self.load(Self.fibSource)
        let fibId = try #require(unit.symbols["fib"])
        let fib = try #require(unit.function(id: fibId))
        let code = try JITCompiler.compile(fib)
        #expect(!code.relocations.isEmpty)
        let engine = JITEngine()
        let a = try LoadedMachineCode(code) { engine.resolve($0, unit: unit) }
        let b = try LoadedMachineCode(code) { engine.resolve($0, unit: unit) }
        #expect(a.entry != b.entry)
        #expect(Self.callNative(a.entry, [20]) == (RibbonSignalReturn, 6765))
        #expect(Self.callNative(b.entry, [25]) == (RibbonSignalReturn, 75025))
    }

    @Test func installedCodeReplacesTheAddressTableEntry() throws {
        let unit = try Self.load(Self.fibSource)
        let fibId = try #require(unit.symbols["fib"])
        let fib = try #require(unit.function(id: fibId))
        let before = unit.addressTable[Int(fib.id)]
        #expect(before & bytecodeEntryTag != 0)
        let engine = JITEngine()
        #expect(engine.install(fib, of: unit))
        let after = unit.addressTable[Int(fib.id)]
        #expect(after & bytecodeEntryTag == 0)
        // The interpreter now dispatches to native code through the same entry.
        let fiber = Fiber(output: .buffer)
        #expect(fiber.call(fib, arguments: [30]) == .success(832_040))
    }

    /// Division by zero and MIN / -1 never reach `idiv` (a hardware fault would kill the host).
    @Test func divisionEdgeCasesNeverFault() throws {
        let unit = try Self.load(
            """
            div := fun (a: I64, b: I64) -> I64.
                a / b
            rem := fun (a: I64, b: I64) -> I64.
                a % b
            """)
        let engine = JITEngine()
        engine.installAll(unit)
        #expect(engine.compiledCount == 2)
        let fiber = Fiber(output: .buffer)
        let div = try #require(unit.function(id: unit.symbols["div"]!))
        let rem = try #require(unit.function(id: unit.symbols["rem"]!))
        let min = UInt64(bitPattern: Int64.min)
        let minusOne = UInt64(bitPattern: -1)
        #expect(fiber.call(div, arguments: [min, minusOne]) == .success(min))
        #expect(fiber.call(rem, arguments: [min, minusOne]) == .success(0))
        #expect(fiber.call(div, arguments: [UInt64(bitPattern: -7), 2]) == .success(UInt64(bitPattern: -3)))
        #expect(fiber.call(rem, arguments: [UInt64(bitPattern: -7), 2]) == .success(UInt64(bitPattern: -1)))
        guard case .failure(let trap) = fiber.call(div, arguments: [1, 0]) else {
            Issue.record("expected division by zero")
            return
        }
        #expect(trap.reason == "division by zero")
        #expect(trap.backtrace.map(\.function) == ["div"])
        #expect(trap.backtrace.first?.line == 2)
    }

    /// A function that becomes hot while interpreted frames of it are still on the stack: the
    /// old frames finish in the interpreter, new calls run native code, the result is right.
    @Test func tierUpDuringRecursion() throws {
        let unit = try Self.load(Self.fibSource)
        let fibId = try #require(unit.symbols["fib"])
        let fib = try #require(unit.function(id: fibId))
        let engine = JITEngine()
        let fiber = Fiber(output: .buffer)
        engine.attach(to: fiber, threshold: 50)
        #expect(fiber.call(fib, arguments: [24]) == .success(46368))
        #expect(engine.compiledCount == 1)
        #expect(unit.addressTable[Int(fib.id)] & bytecodeEntryTag == 0)
    }

    /// Sums squares below n; divides by zero at `fail_at` (never when it is -1).
    static let sumSource = """
        sum := fun (n: I64, fail_at: I64) -> I64.
            s := 0
            i := 0
            while i < n.
                s = s + i * i
                if i == fail_at. s = s / (i - i)
                i = i + 1
            s
        """

    /// A loop in a function called once gets hot: the running frame moves into machine code at
    /// the loop (on-stack replacement) and finishes there with the right result, also when the
    /// loop later stops with a runtime error.
    @Test func hotLoopMovesTheRunningFrameIntoMachineCode() throws {
        let unit = try Self.load(Self.sumSource)
        let sum = try #require(unit.function(id: unit.symbols["sum"]!))
        let engine = JITEngine()
        let fiber = Fiber(output: .buffer)
        engine.attach(to: fiber, threshold: 100)
        #expect(fiber.call(sum, arguments: [100_000, UInt64(bitPattern: -1)]) == .success(333_328_333_350_000))
        #expect(engine.compiledCount == 1)
        #expect(engine.loopEntriesTaken == 1)

        let again = try Self.load(Self.sumSource)
        let sum2 = try #require(again.function(id: again.symbols["sum"]!))
        let engine2 = JITEngine()
        let fiber2 = Fiber(output: .buffer)
        engine2.attach(to: fiber2, threshold: 100)
        guard case .failure(let trap) = fiber2.call(sum2, arguments: [100_000, 5000]) else {
            Issue.record("expected division by zero")
            return
        }
        #expect(engine2.loopEntriesTaken == 1)
        #expect(trap.reason == "division by zero")
        #expect(trap.backtrace.map(\.function) == ["sum"])
        #expect(trap.backtrace.first?.line == 6)
    }

    /// Every opcode the lowering emits has a translation (none is declined).
    @Test func everyExampleFunctionCompiles() throws {
        let unit = try Self.load(
            """
            g := 1.5
            f := fun (x: F64, n: I64, b: Bool) -> F64.
                xs := array 4 0.0
                ys := array 4 false
                i := 0
                while i < 4 and not b.
                    xs[i] = float i * x + g
                    ys[i] = xs[i] > 1.0
                    if ys[i] or i == 2. i = i + 1
                    else. i = i + 1
                    if i % 3 == 0. continue
                acc := sqrt (abs (-x)) + floor x
                k := band (shl n 3) (shr n 1) - bxor n (bor n 7)
                if len xs != 4 or x != x. return -1.0
                acc + float (int x / (k + 1) * (abs k)) + xs[1] / 2.0
            """)
        let engine = JITEngine()
        engine.installAll(unit)
        #expect(engine.declined.isEmpty, "declined: \(engine.declined)")
        #expect(engine.compiledCount == 1)
    }
}

@Suite struct CPUFeatureTests {
    /// `floor` without SSE4.1 (an SSE2 sequence) gives bit-for-bit what `roundsd` gives.
    @Test func floorWithoutSSE41MatchesRoundsd() throws {
        let unit = try JITCompilerTests.load(
            """
            f := fun (x: F64) -> F64.
                floor x
            """)
        let f = try #require(unit.function(id: unit.symbols["f"]!))
        let withRoundsd = try JITCompiler.compile(f, features: [.sse2, .sse4_1])
        let sse2Only = try JITCompiler.compile(f, features: [.sse2])
        #expect(withRoundsd.features == ["sse4.1"])
        #expect(sse2Only.features.isEmpty)
        let engine = JITEngine()
        let a = try LoadedMachineCode(withRoundsd) { engine.resolve($0, unit: unit) }
        let b = try LoadedMachineCode(sse2Only) { engine.resolve($0, unit: unit) }
        var values: [Double] = [
            0, -0.0, 0.5, -0.5, 1, -1, 1.5, -1.5, 2.5, -2.5, 1e15 + 0.5, -1e15 - 0.5, 4503599627370495.5,
            -4503599627370495.5, 4503599627370496, 1e300, -1e300, .infinity, -.infinity, .nan,
            .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.9999999999999999,
            -0.9999999999999999,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            values.append(Double(bitPattern: generator.next()))
            values.append(Double.random(in: -1e6...1e6, using: &generator))
        }
        for v in values {
            let (sa, ra) = JITCompilerTests.callNative(a.entry, [v.bitPattern])
            let (sb, rb) = JITCompilerTests.callNative(b.entry, [v.bitPattern])
            #expect(sa == RibbonSignalReturn && sb == RibbonSignalReturn)
            let expected = v.rounded(.down)
            if expected.isNaN {
                #expect(Double(bitPattern: ra).isNaN && Double(bitPattern: rb).isNaN)
            } else {
                #expect(ra == expected.bitPattern, "roundsd floor(\(v))")
                #expect(rb == expected.bitPattern, "SSE2 floor(\(v))")
            }
        }
    }

    /// With two NaN operands SSE keeps the first one's payload and sign, as the interpreter's
    /// `a * b` does; machine code must not commute `a op b` into `b op a` (which it did when the
    /// result went to `b`'s register). Ribbon prints every NaN as `nan`, but bytecode can read a
    /// NaN's bits, and the differential fuzzer compares them.
    @Test func twoNaNOperandsGiveTheFirstOnesBitsAsInTheInterpreter() throws {
        let nans: [UInt64] = [0xFFFF_FFFF_8000_0038, 0x7FF8_0000_0000_00D2, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001]
        for symbol in ["+", "-", "*", "/"] {
            let unit = try JITCompilerTests.load(
                """
                f := fun (a: F64, b: F64) -> F64.
                    b = a \(symbol) b
                    b
                """)
            let f = try #require(unit.function(id: unit.symbols["f"]!))
            let code = try LoadedMachineCode(try JITCompiler.compile(f)) { JITEngine().resolve($0, unit: unit) }
            for a in nans + [(1.5).bitPattern] {
                for b in nans + [(2.0).bitPattern] {
                    let interpreted = Fiber(output: .buffer).call(f, arguments: [a, b])
                    let (signal, compiled) = JITCompilerTests.callNative(code.entry, [a, b])
                    #expect(signal == RibbonSignalReturn)
                    #expect(interpreted == .success(compiled), "\(a) \(symbol) \(b)")
                }
            }
        }
    }
}
