/// Sizes as people write them: `RIBBON_CACHE_MAX_SIZE=512M`, `cache gc --max-size 1G`.
package enum ByteSize {
    /// Parses a number of bytes with an optional suffix K, M, G or T (powers of 1024, an
    /// optional trailing `B` or `iB`, any case): "1", "4096", "512K", "1.5G", "2GiB".
    /// Returns nil for anything else, negative numbers included.
    package static func parse(_ text: String) -> Int64? {
        var s = Substring(text.uppercased())
        if s.hasSuffix("IB") { s = s.dropLast(2) } else if s.hasSuffix("B") { s = s.dropLast() }
        var scale: Double = 1
        if let last = s.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][last] {
            scale = Double(1 << (10 * power))
            s = s.dropLast()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(s), value >= 0 else {
            return nil
        }
        let bytes = value * scale
        guard bytes < 9.0e18 else { return nil }
        return Int64(bytes)
    }

    /// "812 B", "3.4 KiB", "12.0 MiB", "1.50 GiB": for tables and messages.
    package static func format(_ bytes: Int64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = (value * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) \(units[unit])"
    }
}
