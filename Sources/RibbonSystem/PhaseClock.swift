// Named phases of elapsed time on the monotonic clock (the cache's `cache_phases_us`); its
// own file because it is no part of the background task it used to share a file with.

/// Splits elapsed time into named phases (`mark` ends the current phase); repeated names add up.
package struct PhaseClock {
    package private(set) var phases: [(name: String, microseconds: Int)] = []
    private var last = PhaseClock.now()

    package init() {}

    static func now() -> Int { MonotonicClock.microseconds() }

    package mutating func mark(_ name: String) {
        let t = PhaseClock.now()
        if let i = phases.firstIndex(where: { $0.name == name }) {
            phases[i].microseconds += t - last
        } else {
            phases.append((name, t - last))
        }
        last = t
    }
}
