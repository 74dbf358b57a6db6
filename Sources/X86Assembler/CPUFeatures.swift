import CCPUID

/// Instruction-set extensions that machine code may need beyond the x86-64 baseline.
///
/// The assembler records in `usedFeatures` what the code it emitted needs, so a machine-code
/// blob can carry its minimal feature set and load only on a host that has all of it
/// (../shared/DESIGN.md, "Cache keys": subset rule). Bit positions are part of the cache format: append
/// new features, never renumber.
package struct CPUFeatures: OptionSet, Hashable, Sendable {
    package let rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Part of every x86-64 CPU; recorded anyway so a blob's set says what it uses.
    package static let sse2 = CPUFeatures(rawValue: 1 << 0)
    package static let sse3 = CPUFeatures(rawValue: 1 << 1)
    package static let ssse3 = CPUFeatures(rawValue: 1 << 2)
    /// `roundsd` (floor, ceil, trunc of doubles), `pinsrq`, `ptest`, ...
    package static let sse4_1 = CPUFeatures(rawValue: 1 << 3)
    package static let sse4_2 = CPUFeatures(rawValue: 1 << 4)
    package static let popcnt = CPUFeatures(rawValue: 1 << 5)
    /// AVX with the OS saving ymm state (cpuid AVX + OSXSAVE + XCR0 bits 1–2).
    package static let avx = CPUFeatures(rawValue: 1 << 6)
    package static let avx2 = CPUFeatures(rawValue: 1 << 7)
    package static let fma = CPUFeatures(rawValue: 1 << 8)
    package static let bmi1 = CPUFeatures(rawValue: 1 << 9)
    package static let bmi2 = CPUFeatures(rawValue: 1 << 10)
    /// `lzcnt` (AMD's ABM bit); without it the same bytes decode as `bsr`.
    package static let lzcnt = CPUFeatures(rawValue: 1 << 11)

    /// Every feature with its name, in bit order (the names of `RIBBON_CPU_FEATURES`).
    package static let named: [(name: String, feature: CPUFeatures)] = [
        ("sse2", .sse2), ("sse3", .sse3), ("ssse3", .ssse3), ("sse4.1", .sse4_1),
        ("sse4.2", .sse4_2), ("popcnt", .popcnt), ("avx", .avx), ("avx2", .avx2), ("fma", .fma),
        ("bmi1", .bmi1), ("bmi2", .bmi2), ("lzcnt", .lzcnt),
    ]

    /// The names of the features in this set, in bit order.
    package var names: [String] {
        Self.named.filter { contains($0.feature) }.map(\.name)
    }

    /// Parses a comma-separated list of names (`"sse2,sse4.1"`); nil if a name is unknown.
    /// The empty string is the empty set.
    package init?(names list: String) {
        self = []
        for part in list.split(separator: ",") {
            let name = part.filter { $0 != " " }
            guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
            insert(entry.feature)
        }
    }

    /// The features of the CPU this process runs on, read with `cpuid` (and `xgetbv` for the
    /// OS's support of AVX state). Read once.
    package static let host: CPUFeatures = readHost()

    private static func readHost() -> CPUFeatures {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        var features: CPUFeatures = []
        guard ribbon_cpuid(1, 0, &a, &b, &c, &d) else { return features }
        func bit(_ register: UInt32, _ n: UInt32) -> Bool { register & (1 << n) != 0 }
        if bit(d, 26) { features.insert(.sse2) }
        if bit(c, 0) { features.insert(.sse3) }
        if bit(c, 9) { features.insert(.ssse3) }
        if bit(c, 19) { features.insert(.sse4_1) }
        if bit(c, 20) { features.insert(.sse4_2) }
        if bit(c, 23) { features.insert(.popcnt) }
        // AVX is usable only if the OS saves xmm and ymm state (XCR0 bits 1 and 2).
        let osSavesYMM = bit(c, 27) && ribbon_xgetbv0() & 0b110 == 0b110
        if osSavesYMM && bit(c, 28) { features.insert(.avx) }
        if osSavesYMM && bit(c, 12) { features.insert(.fma) }
        if ribbon_cpuid(7, 0, &a, &b, &c, &d) {
            if bit(b, 3) { features.insert(.bmi1) }
            if osSavesYMM && bit(b, 5) { features.insert(.avx2) }
            if bit(b, 8) { features.insert(.bmi2) }
        }
        if ribbon_cpuid(0x8000_0001, 0, &a, &b, &c, &d), bit(c, 5) { features.insert(.lzcnt) }
        return features
    }
}
