/// SplitMix64: a small deterministic generator, so a campaign with the same seed mutates the
/// same way every time (the smoke tests and a reported failure can be replayed).
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Decisions read from a fuzzer's bytes (libFuzzer's `FuzzedDataProvider`, simplified): each
/// call consumes bytes from the front; once they run out every answer is 0. A mutation of the
/// input is then a small change of the decisions, which is what structure-aware fuzzing needs.
package struct FuzzBytes {
    let bytes: [UInt8]
    var position = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var isExhausted: Bool { position >= bytes.count }

    package mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A number in `0..<bound` (0 when `bound` is 0).
    package mutating func below(_ bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        var value = 0
        var range = 1
        while range < bound {
            value = value << 8 | Int(byte())
            range <<= 8
        }
        return value % bound
    }

    package mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    package mutating func u32() -> UInt32 {
        UInt32(byte()) | UInt32(byte()) << 8 | UInt32(byte()) << 16 | UInt32(byte()) << 24
    }

    package mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
}

/// Byte-level mutations in the spirit of libFuzzer's default mutators, for the deterministic
/// harness: bit flips, interesting bytes and 32-bit values (at aligned offsets, where image
/// fields sit), insertions, deletions, copies within the input and splices with another seed.
package enum Mutator {
    static let interestingBytes: [UInt8] = [0, 1, 2, 7, 8, 0x10, 0x20, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF]
    static let interestingWords: [UInt32] = [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 40, 63, 64, 96, 127, 128, 254, 255, 256, 4096, 0x7FFF, 0xFFFF,
        0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF8, 0xFFFF_FFFE, 0xFFFF_FFFF,
    ]

    /// One to `maximum` random changes of `input`; `other` is another seed to splice from.
    package static func mutate(
        _ input: [UInt8], other: [UInt8], maximum: Int = 4, using random: inout SplitMix64
    ) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...maximum, using: &random) {
            mutateOnce(&bytes, other: other, using: &random)
        }
        return bytes
    }

    static func mutateOnce(_ bytes: inout [UInt8], other: [UInt8], using random: inout SplitMix64) {
        if bytes.isEmpty {
            bytes = Array(other.prefix(Int.random(in: 0...64, using: &random)))
            return
        }
        let at = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<11, using: &random) {
        case 0:  // flip one bit
            bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
        case 1:  // an interesting byte
            bytes[at] = interestingBytes.randomElement(using: &random)!
        case 2, 3:  // an interesting 32-bit value at an aligned offset (counts, offsets, lengths)
            let aligned = at & ~3
            guard aligned + 4 <= bytes.count else { return }
            var value = interestingWords.randomElement(using: &random)!
            if Bool.random(using: &random) {
                // Near the value that is there (off by a little: the classic boundary bug).
                let old = UInt32(bytes[aligned]) | UInt32(bytes[aligned + 1]) << 8 | UInt32(bytes[aligned + 2]) << 16
                    | UInt32(bytes[aligned + 3]) << 24
                value = old &+ UInt32(bitPattern: Int32.random(in: -16...16, using: &random))
            }
            for i in 0..<4 { bytes[aligned + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        case 4:  // a random byte
            bytes[at] = UInt8.random(in: 0...255, using: &random)
        case 5:  // delete a range
            let end = min(bytes.count, at + Int.random(in: 1...16, using: &random))
            bytes.removeSubrange(at..<end)
        case 6:  // insert random bytes
            let count = Int.random(in: 1...8, using: &random)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
        case 7:  // copy a range of the input over another place
            let from = Int.random(in: 0..<bytes.count, using: &random)
            let count = min(Int.random(in: 1...16, using: &random), bytes.count - from, bytes.count - at)
            let piece = Array(bytes[from..<from + count])
            bytes.replaceSubrange(at..<at + count, with: piece)
        case 8:  // splice: a piece of another seed
            guard !other.isEmpty else { return }
            let from = Int.random(in: 0..<other.count, using: &random)
            let count = min(Int.random(in: 1...32, using: &random), other.count - from)
            bytes.insert(contentsOf: other[from..<from + count], at: at)
        case 9:  // truncate
            bytes.removeSubrange(at...)
        default:  // a 64-bit word at an aligned offset: all ones, or one bit
            let aligned = at & ~7
            guard aligned + 8 <= bytes.count else { return }
            let value: UInt64 = Bool.random(using: &random) ? ~0 : UInt64(1) << UInt64.random(in: 0..<64, using: &random)
            for i in 0..<8 { bytes[aligned + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
    }

    static let sourceSnippets = [
        "9999999999999999999999", "else", "if", "while", "return", ". ", "fun", ":=", "1.", "0x", "array ", "len ",
        "[", "]", "(", ")", "\"", "\t", "\n    ", "-> Unit", "-> I64", "-> Str", "-> Array I64", "foreign ",
        "not ", " and ", " or ", "break", "continue", "use \"x.rib\"", "main", "0.0", "-9_223_372_036_854_775_808",
        "print ", "write ", "int ", "float ", "(x: I64)", "true", "false", "_",
    ]

    /// Mutations of Ribbon source that keep it close to a program: snippets and tokens inserted,
    /// lines duplicated, swapped or re-indented, words swapped; plus the byte mutations.
    package static func mutateSource(_ source: [UInt8], other: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = source
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0:
                bytes.insert(contentsOf: Array(sourceSnippets.randomElement(using: &random)!.utf8), at: at)
            case 1:  // duplicate or move a line
                var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
                let i = Int.random(in: 0..<lines.count, using: &random)
                let j = Int.random(in: 0..<lines.count, using: &random)
                if Bool.random(using: &random) { lines.insert(lines[i], at: j) } else { lines.swapAt(i, j) }
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 2:  // swap two words
                var words = bytes.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map(Array.init)
                let i = Int.random(in: 0..<words.count, using: &random)
                let j = Int.random(in: 0..<words.count, using: &random)
                words.swapAt(i, j)
                bytes = Array(words.joined(separator: [UInt8(ascii: " ")]))
            case 3:  // re-indent a line
                if let lineStart = bytes[..<at].lastIndex(of: UInt8(ascii: "\n")) {
                    let spaces = [UInt8](repeating: UInt8(ascii: " "), count: Int.random(in: 1...8, using: &random))
                    bytes.insert(contentsOf: spaces, at: lineStart + 1)
                }
            case 4:  // replace a digit run's digit, or any byte, with a digit
                bytes[at] = UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &random)
            default:
                mutateOnce(&bytes, other: other, using: &random)
            }
        }
        return bytes
    }
}
