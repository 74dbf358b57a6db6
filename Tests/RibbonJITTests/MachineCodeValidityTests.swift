import RibbonBytecode
import Testing

@testable import RibbonJIT

/// `MachineCode+Validity`: the one decision a warm install and `cache verify` share.
@Suite struct MachineCodeValidityTests {
    static func fib() throws -> (MachineCode, LoadedUnit, LoadedUnit.FunctionInfo) {
        let unit = try JITCompilerTests.load(JITCompilerTests.fibSource)
        let fib = try #require(unit.functions.first { $0.name == "fib" })
        return (try JITCompiler.compile(fib), unit, fib)
    }

    @Test func compiledCodeHasNoDefect() throws {
        let (code, unit, fib) = try Self.fib()
        #expect(code.defects(recordedFeatures: code.features, asFunction: fib.id, of: unit).isEmpty)
        #expect(throws: Never.self) { try code.function(fib.id, of: unit).get() }
    }

    @Test func eachDefectIsNamedInVerifyOrder() throws {
        var (code, unit, fib) = try Self.fib()
        let words = UInt32(fib.codeWords)
        code.loopEntries = [words + 1: 0, words: 0]
        code.relocations.append(Relocation(offset: 0, target: .runtimeHelper("nope")))
        code.relocations.append(Relocation(offset: 0, target: .bytecodeWord(function: fib.id, word: words)))
        code.relocations.append(Relocation(offset: 0, target: .functionHeader(999)))
        code.relocations.append(Relocation(offset: 0, target: .foreignSymbol("no_such_symbol_here")))
        let defects = code.defects(recordedFeatures: ["avx2"], asFunction: fib.id, of: unit)
        #expect(
            defects == [
                .featuresDiffer(recorded: "avx2", needed: code.features.sorted().joined(separator: ",")),
                .loopEntryPastCode(word: words, codeWords: words),
                .loopEntryPastCode(word: words + 1, codeWords: words),
                .unknownHelper("nope"),
                .wordPastCode(word: words, function: "fib", codeWords: words),
                .missingFunction(999),
                .unavailableSymbol("no_such_symbol_here"),
            ])
        #expect(defects.filter { !$0.isDamage } == [.unavailableSymbol("no_such_symbol_here")])
        // The install stops at the first (one of its function's loop entries), and skips the blob.
        guard case .failure(.loopEntryPastCode(_, let codeWords)) = code.function(fib.id, of: unit) else {
            Issue.record("a loop entry past the code was not the first defect")
            return
        }
        #expect(codeWords == words)
        #expect(JITEngine().installCached([(fib.id, code)], of: unit) == [fib.id])
    }

    @Test func aFunctionTheUnitLacksEndsTheChecks() throws {
        let (code, unit, _) = try Self.fib()
        #expect(code.defects(recordedFeatures: code.features, asFunction: 999, of: unit) == [.notAFunction(999)])
        #expect(code.defects(recordedFeatures: code.features, asFunction: 999, of: nil).isEmpty)
    }
}
