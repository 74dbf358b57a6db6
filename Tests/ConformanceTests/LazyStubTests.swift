import Foundation
import RibbonBytecode
import RibbonSyntax
import Testing

@testable import RibbonCache
@testable import RibbonDriver
@testable import RibbonVM

/// A lazily loaded unit (a warm run) gives every function of its function prefix the one stub
/// without reading its entry; the entry is read when the function is first called. The stub's
/// frame size is 0, so `load_code` checks the real frame against the stack itself.
@Suite struct LazyStubTests {
    /// 1,200 functions that call nothing (enough for the per-row tables to be mappings,
    /// `ZeroFilledWords`); main calls two of them.
    static func writeIndependent(_ directory: String) throws -> String {
        var text = ""
        for i in 0..<1200 { text += "f\(i) := fun (x: I64) -> I64. x + \(i)\n" }
        text += "main := fun () -> I64.\n    print (f10 1 + f900 2)\n    0\n"
        let path = directory + "/independent.rib"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The entries section's range, from a lazily loaded image's header.
    static func entriesSection(of image: LazyUnitImage) -> Range<Int> {
        let offset = Int(image.base.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        let length = Int(image.base.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
        return offset..<offset + length
    }

    @Test func aWarmRunReadsNoEntryOfAFunctionItDoesNotCall() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.writeIndependent(directory.path)
        var options = RunOptions()
        options.jit = .off
        options.cacheDirectory = directory.path
        let cold = Driver.execute(path: path, options: options, output: .buffer)
        #expect(cold.status == 0, "\(cold.standardError)")

        let image = try LazyLoadingTests.lazyImage(of: path, cache: directory.path)
        let unit = try LoadedUnit(lazy: image, resolver: Driver.resolver)
        let main = try #require(unit.symbol(named: "main").flatMap { unit.function(id: $0) })
        let fiber = Fiber(output: .buffer)
        #expect(fiber.call(main) == .success(0))
        fiber.flush()
        #expect(fiber.capturedOutput == cold.standardOutput)
        #expect(unit.placedCount == 3)
        // main, f10 and f900 are Ids 0 to 2 (what main calls comes first); the entries of
        // Ids 300..<700 lie in chunks of their own, and nothing read them.
        let entries = Self.entriesSection(of: image)
        #expect(entries.count == unit.entryCount * 16)
        let unused = entries.lowerBound + 300 * 16..<entries.lowerBound + 700 * 16
        #expect(image.chunksRead(in: unused) == 0)
        #expect(image.chunksRead(in: entries.lowerBound..<entries.lowerBound + 48) == 1)
    }

    /// A program whose `deep n` recurses n times and then calls `wide`, a function with a large
    /// frame, for the first time.
    static let overflowProgram: String = {
        var text = "wide := fun (x: I64) -> I64.\n"
        for i in 0..<120 { text += "    v\(i) := x + \(i)\n" }
        text += "    v0 + v119\n"
        text += """
            deep := fun (n: I64) -> I64.
                if n == 0. wide 1 else. (deep (n - 1)) + 1
            main := fun () -> I64.
                print (deep 3)
                0

            """
        return text
    }()

    /// The first call of a function through the stub overflows the register stack exactly where
    /// a call of its placed code does: with the stack's end lowered word by word, an eagerly
    /// loaded and a lazily loaded unit give the same result or the same runtime error.
    @Test func aFirstCallOverflowsTheStackWhereAPlacedOneDoes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/overflow.rib"
        try Self.overflowProgram.write(toFile: path, atomically: true, encoding: .utf8)
        var options = RunOptions()
        options.jit = .off
        options.cacheDirectory = directory.path
        let cold = Driver.execute(path: path, options: options, output: .buffer)
        #expect(cold.status == 0, "\(cold.standardError)")
        var statistics = RunStatistics()
        guard case .success(let compiled, _) = Driver.compile(
            SourceFile(path: path, bytes: Array(Self.overflowProgram.utf8)), statistics: &statistics)
        else {
            Issue.record("the program does not compile")
            return
        }

        var outcomes: [Bool] = []
        // deep's frames start a few registers apart; wide needs about 125. Around 140 words the
        // stack holds main and deep's frames but not wide's.
        for words in stride(from: 100, through: 220, by: 1) {
            func run(_ unit: LoadedUnit) -> Result<UInt64, Trap> {
                let fiber = Fiber(output: .buffer)
                fiber.header.pointee.stackLimit = fiber.header.pointee.frame! + words
                let main = unit.symbol(named: "main").flatMap { unit.function(id: $0) }!
                return fiber.call(main)
            }
            let eager = try LoadedUnit(image: compiled, resolver: Driver.resolver)
            let lazy = try LoadedUnit(
                lazy: try LazyLoadingTests.lazyImage(of: path, cache: directory.path), resolver: Driver.resolver)
            let expected = run(eager)
            #expect(run(lazy) == expected, "stack of \(words) words")
            if case .failure(let trap) = expected { #expect(trap.code == .stackOverflow) }
            outcomes.append((try? expected.get()) != nil)
        }
        // The range covers both outcomes: overflowing, then (with a larger stack) not.
        #expect(outcomes.first == false && outcomes.last == true)
    }
}
