import RibbonSyntax
import Testing

@testable import RibbonCompiler

/// SplitMix64: a small deterministic generator, so every run mutates the same way.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutation fuzzing: every example, mutated a few hundred ways each, must check without
/// crashing or hanging, and a failing check must point inside the file.
@Suite struct CheckerFuzzTests {
    static let interesting: [UInt8] = Array("\t\"()[].:=;-+*/%<>!\\ \n0x_9eE\u{7F}".utf8) + [0xC3, 0xA9, 0x80]

    static func mutate(_ source: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = source
        let mutations = Int.random(in: 1...3, using: &random)
        for _ in 0..<mutations {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0:  // flip a byte to an interesting one
                bytes[at] = interesting.randomElement(using: &random)!
            case 1:  // delete a range
                let end = min(bytes.count, at + Int.random(in: 1...12, using: &random))
                bytes.removeSubrange(at..<end)
            case 2:  // duplicate a line
                let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                let line = Int.random(in: 0..<lines.count, using: &random)
                var copy = Array(lines.map(Array.init))
                copy.insert(copy[line], at: line)
                bytes = Array(copy.joined(separator: [UInt8(ascii: "\n")]))
            case 3:  // swap two words
                var words = bytes.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map(Array.init)
                let i = Int.random(in: 0..<words.count, using: &random)
                let j = Int.random(in: 0..<words.count, using: &random)
                words.swapAt(i, j)
                bytes = Array(words.joined(separator: [UInt8(ascii: " ")]))
            case 4:  // insert a tab, quote or bracket
                let inserted: [UInt8] = Array("\t\"()[]".utf8)
                bytes.insert(inserted.randomElement(using: &random)!, at: at)
            case 5:  // truncate
                bytes.removeSubrange(at...)
            case 6:  // change indentation of a line
                if let lineStart = bytes[..<at].lastIndex(of: UInt8(ascii: "\n")) {
                    bytes.insert(contentsOf: Array(repeating: UInt8(ascii: " "), count: Int.random(in: 1...5, using: &random)), at: lineStart + 1)
                }
            default:  // insert a random digit run or keyword
                let snippets = ["9999999999999999999999", "else", "if", "while", "return", ". ", "fun", ":=", "1.", "0x"]
                bytes.insert(contentsOf: Array(snippets.randomElement(using: &random)!.utf8), at: at)
            }
        }
        return bytes
    }

    @Test func mutatedExamplesNeverCrash() {
        let names = Examples.names() + Examples.names(in: "errors")
        #expect(!names.isEmpty)
        var random = SplitMix64(state: 0x5EED)
        var checked = 0
        var failed = 0
        for name in names {
            let original = Examples.read(name).bytes
            for _ in 0..<300 {
                let mutated = CheckerFuzzTests.mutate(original, &random)
                let file = SourceFile(path: name, bytes: mutated)
                let (program, diagnostics) = check(file)
                checked += 1
                if program == nil {
                    failed += 1
                    #expect(!diagnostics.isEmpty)
                    let lineCount = file.lineCount
                    for diagnostic in diagnostics {
                        let location = diagnostic.location
                        let inside =
                            (1...lineCount).contains(location.line) && location.column >= 1
                            && location.column <= file.lineLength(location.line) + 1
                        #expect(inside, "\(name): \(diagnostic) outside the file:\n\(String(decoding: mutated, as: UTF8.self))")
                        if !inside { return }
                    }
                } else {
                    #expect(diagnostics.isEmpty)
                }
            }
        }
        #expect(checked >= 3_000)
        // The mutations must actually break things most of the time.
        #expect(failed > checked / 2)
    }
}
