import CacheCodecs

/// Which stored blob of each function a run loads (`CacheStore.load`, `loadLazily`): only blobs
/// that decompress and match their hash, only those whose CPU features the host has all of,
/// and of several that fit, the one needing the most.
struct MachineCodeChoice {
    let hostFeatures: Set<String>
    private var best: [UInt32: (row: CacheStore.MachineCodeRow, jitMicroseconds: Int64)] = [:]
    /// Blobs that failed decompression or their hash.
    private(set) var bad = 0

    init(hostFeatures: Set<String>) {
        self.hostFeatures = hostFeatures
    }

    /// Considers one stored row: its LZ4 frame (`nil`: could not be read), uncompressed size,
    /// hash, function Id, features (comma-separated) and the JIT time it saves.
    mutating func offer(
        frame: UnsafeRawBufferPointer?, size: Int, sha256: [UInt8], functionId: Int64, features text: String,
        jitMicroseconds: Int64
    ) {
        guard let frame, let bytes = try? LZ4Frame.decompress(frame, expectedSize: size),
            SHA256.hash(bytes).bytes == sha256
        else {
            bad += 1
            return
        }
        let features = Set(text.split(separator: ",").map(String.init))
        guard features.isSubset(of: hostFeatures) else { return }
        let id = UInt32(truncatingIfNeeded: functionId)
        if let current = best[id], current.row.features.count >= features.count { return }
        best[id] = (CacheStore.MachineCodeRow(functionId: id, features: features, blob: bytes), jitMicroseconds)
    }

    /// The chosen blobs, by function Id.
    var rows: [CacheStore.MachineCodeRow] { best.values.map(\.row).sorted { $0.functionId < $1.functionId } }
    /// The JIT time the chosen blobs save.
    var jitMicroseconds: Int64 { best.values.reduce(0) { $0 + $1.jitMicroseconds } }
}
