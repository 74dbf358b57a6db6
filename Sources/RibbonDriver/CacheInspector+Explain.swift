import CacheCodecs
import RibbonCache

/// `cache key --explain`: the key `run` computes for a file and, when the cache lacks it, the
/// nearest stored entry and the factors that differ.
extension CacheInspector {
    /// A factor that differs between a file's key and a stored entry's (nil: absent on that side).
    package struct FactorDifference: Sendable, Equatable {
        package var factor: UnitKeyFactor
        package var cached: String?
        package var now: String?
    }

    /// The stored unit that comes closest to a key that misses.
    package struct NearestEntry: Sendable, Equatable {
        package enum Match: Sendable, Equatable {
            /// The newest entry stored for the same source path.
            case samePath
            /// No entry for the path: the one sharing most factors.
            case mostFactors(shared: Int)
        }
        package var summary: CacheStore.UnitSummary
        package var match: Match
        /// False for rows stored before factors were recorded (then `differences` is empty).
        package var factorsRecorded: Bool
        package var differences: [FactorDifference]
    }

    /// `ribbon cache key FILE --explain`.
    package struct KeyExplanation: Sendable {
        package var file: String
        /// Where `run` stores the file's unit.
        package var storedPath: String
        package var factors: [(factor: UnitKeyFactor, value: String)]
        package var key: SHA256Digest
        /// The entry with this key, if the cache has it.
        package var entry: CacheStore.UnitSummary?
        /// When it has none: the nearest entry and what differs.
        package var nearest: NearestEntry?
        /// Whether the cache holds no unit at all (or does not exist).
        package var cacheIsEmpty = true
    }

    /// The key `run` would use for `file` and, with a cache, whether it is stored and if not,
    /// which stored entry is nearest and which factors differ. Throws `SystemError` when the
    /// file cannot be read.
    package static func explainKey(file: String, store: CacheStore?) throws -> KeyExplanation {
        let unitFactors = try CacheKeys.factors(forFile: file)
        var explanation = KeyExplanation(
            file: file, storedPath: CacheKeys.storedSourcePath(file), factors: unitFactors.factors,
            key: unitFactors.key)
        guard let store else { return explanation }
        explanation.entry = try store.unit(key: unitFactors.key.bytes)
        guard explanation.entry == nil else {
            explanation.cacheIsEmpty = false
            return explanation
        }
        let now = unitFactors.factors
        if let same = try units(storedFor: file, in: store).first {
            explanation.nearest = nearest(same, match: .samePath, now: now)
            explanation.cacheIsEmpty = false
            return explanation
        }
        var best: (summary: CacheStore.UnitSummary, shared: Int)? = nil
        let all = try store.units(orderedBy: .lastUsed)
        explanation.cacheIsEmpty = all.isEmpty
        for candidate in all where !candidate.factors.isEmpty {
            let stored = UnitKeyFactors.parseStored(candidate.factors)
            let shared = now.filter { factor in stored.contains { $0.factor == factor.factor && $0.value == factor.value } }.count
            if shared > (best?.shared ?? 0) { best = (candidate, shared) }
        }
        if let best { explanation.nearest = nearest(best.summary, match: .mostFactors(shared: best.shared), now: now) }
        return explanation
    }

    static func nearest(
        _ summary: CacheStore.UnitSummary, match: NearestEntry.Match, now: [(factor: UnitKeyFactor, value: String)]
    ) -> NearestEntry {
        guard !summary.factors.isEmpty else {
            return NearestEntry(summary: summary, match: match, factorsRecorded: false, differences: [])
        }
        let stored = UnitKeyFactors.parseStored(summary.factors)
        var names = now.map(\.factor)
        for (factor, _) in stored where !names.contains(factor) { names.append(factor) }
        let differences = names.compactMap { factor -> FactorDifference? in
            let cached = stored.first { $0.factor == factor }?.value
            let current = now.first { $0.factor == factor }?.value
            return cached == current ? nil : FactorDifference(factor: factor, cached: cached, now: current)
        }
        return NearestEntry(summary: summary, match: match, factorsRecorded: true, differences: differences)
    }
}
