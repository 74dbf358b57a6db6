#if canImport(Glibc)
import Glibc
#endif

/// Ages and times as people write and read them: `cache gc --older-than 7d`, "3 min ago" in
/// `cache ls`, ISO 8601 in `--json` output.
package enum TimeText {
    /// Seconds in a span written as a number and a unit: `30s`, `10m`, `12h`, `7d`, `2w` (a bare
    /// number is seconds; `min` is accepted for minutes). Nil for anything else, negative
    /// numbers and overflow included.
    package static func parseSeconds(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let digits = lower.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 15, let value = Int64(digits) else { return nil }
        let units: [Substring: Int64] = [
            "": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800,
        ]
        guard let scale = units[lower.dropFirst(digits.count)] else { return nil }
        let (seconds, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : seconds
    }

    /// How long before `now` a Unix time was: "just now", "42 s ago", "3 min ago", "5 h ago",
    /// "12 d ago"; older than 60 days, the date ("2026-09-14").
    package static func relative(_ time: Int64, now: Int64) -> String {
        let (age, overflow) = now.subtractingReportingOverflow(time)
        if overflow { return age < 0 ? String(iso8601(time).prefix(10)) : "in the future (" + iso8601(time) + ")" }
        if age < 0 { return "in the future (" + iso8601(time) + ")" }
        if age < 2 { return "just now" }
        if age < 60 { return "\(age) s ago" }
        if age < 3600 { return "\(age / 60) min ago" }
        if age < 86_400 { return "\(age / 3600) h ago" }
        if age < 60 * 86_400 { return "\(age / 86_400) d ago" }
        return String(iso8601(time).prefix(10))
    }

    /// A Unix time in UTC as ISO 8601: "2026-11-25T01:42:02Z".
    package static func iso8601(_ time: Int64) -> String {
        var t = time_t(time)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "\(time)" }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(Int(parts.tm_year) + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// Milliseconds with one decimal, from microseconds: "0.4 ms", "1234.5 ms".
    package static func milliseconds(_ microseconds: Int64) -> String {
        // Rounded without `+ 50`, which traps near Int64.max (a saturated counter).
        let tenths = microseconds / 100 + (microseconds % 100 >= 50 ? 1 : 0)
        return "\(tenths / 10).\(tenths % 10) ms"
    }

    /// The wall clock in Unix seconds.
    package static func now() -> Int64 { Int64(time(nil)) }
}
