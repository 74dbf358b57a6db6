import CacheCodecs

/// What a unit's cache key is made of (../shared/DESIGN.md, "Cache keys"): change any factor and
/// the key changes. `factors` lists them, each named by a `UnitKeyFactor`, for
/// `cache key --explain`.
package struct UnitKeyFactors: Sendable, Equatable {
    package var sourceDigest: SHA256Digest
    /// Keys of the units this one uses, in `use` order.
    package var dependencyKeys: [SHA256Digest]
    /// The unit-image, ISA and machine-code format versions (`CacheKeys.compilerIdentity`).
    package var compilerIdentity: String
    /// The `ribbon` executable's build-id: a rebuilt compiler never reads an older build's output.
    package var ribbonBuild: String
    /// Compile options that change the output.
    package var options: String

    package init(
        source: [UInt8], dependencyKeys: [SHA256Digest] = [], compilerIdentity: String, ribbonBuild: String,
        options: String = ""
    ) {
        self.init(
            sourceDigest: SHA256.hash(source), dependencyKeys: dependencyKeys, compilerIdentity: compilerIdentity,
            ribbonBuild: ribbonBuild, options: options)
    }

    package init(
        sourceDigest: SHA256Digest, dependencyKeys: [SHA256Digest] = [], compilerIdentity: String,
        ribbonBuild: String, options: String = ""
    ) {
        self.sourceDigest = sourceDigest
        self.dependencyKeys = dependencyKeys
        self.compilerIdentity = compilerIdentity
        self.ribbonBuild = ribbonBuild
        self.options = options
    }

    /// (factor, value) pairs in the order they are hashed.
    package var factors: [(factor: UnitKeyFactor, value: String)] {
        [(.source, sourceDigest.hex)] + dependencyKeys.enumerated().map { (.dependency(index: $0.offset), $0.element.hex) }
            + [(.compiler, compilerIdentity), (.ribbonBuild, ribbonBuild), (.options, options)]
    }

    /// The factors as stored with a unit (`units.factors`): one "name<TAB>value" line each.
    package var storedText: String {
        Self.storedText(of: factors)
    }

    /// (factor, value) pairs as `storedText` writes them.
    package static func storedText(of factors: [(factor: UnitKeyFactor, value: String)]) -> String {
        factors.map { "\($0.factor.storedName)\t\($0.value)" }.joined(separator: "\n")
    }

    /// Parses `storedText` back into (factor, value) pairs; a name this build does not know
    /// (another ribbon's row) is an `unknown` factor.
    package static func parseStored(_ text: String) -> [(factor: UnitKeyFactor, value: String)] {
        text.split(separator: "\n").compactMap { line -> (factor: UnitKeyFactor, value: String)? in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return (UnitKeyFactor(storedName: String(parts[0])), String(parts[1]))
        }
    }

    /// SHA-256 over every factor, each prefixed by its name and length so that no two
    /// different sets of factors hash the same bytes.
    package var key: SHA256Digest { Self.key(of: factors) }

    /// The key of (factor, value) pairs as `key` hashes them (`cache verify` rehashes stored
    /// factors): by each factor's `storedName`.
    package static func key(of factors: [(factor: UnitKeyFactor, value: String)]) -> SHA256Digest {
        var hasher = SHA256.Hasher()
        for (factor, value) in factors {
            for part in [factor.storedName, value] {
                let bytes = Array(part.utf8)
                var length = UInt64(bytes.count).littleEndian
                withUnsafeBytes(of: &length) { hasher.update(Array($0)) }
                hasher.update(bytes)
            }
        }
        return hasher.finalize()
    }
}
