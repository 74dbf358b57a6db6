import RibbonCache
import RibbonSystem

/// The JSON of a stored unit's row, shared by `ls --json`, `show --json` and `key --explain --json`.
extension CacheStore.UnitSummary {
    /// The fields `ls --json` and `show --json` share.
    func jsonFields(currentBuild: String) -> [(String, JSON)] {
        [
            ("key", .string(keyHex)),
            ("key_prefix", .string(shortKey)),
            ("path", .string(sourcePath)),
            ("bytes", .int(storedBytes)),
            ("image_bytes", .int(imageBytes)),
            ("image_size", .int(imageSize)),
            ("machine_code_blobs", .int(machineCodeBlobs)),
            ("machine_code_bytes", .int(machineCodeBytes)),
            ("machine_code_size", .int(machineCodeSize)),
            ("uncompressed_bytes", .int(uncompressedBytes)),
            ("compile_us", .int(compileMicroseconds)),
            ("jit_us", .int(jitMicroseconds)),
            ("created", .string(TimeText.iso8601(createdAt))),
            ("last_used", .string(TimeText.iso8601(lastUsedAt))),
            ("ribbon_build", .string(ribbonBuild)),
            ("current_build", .bool(ribbonBuild == currentBuild)),
        ]
    }
}
