import CacheCodecs
import SQLiteSupport

extension CacheStore {
    public enum LazyLoaded {
        case miss
        /// The row was stored before images were chunked: load it whole (`load(decode:)`).
        case wholeOnly
        /// The image, to be fetched a chunk at a time; each function's best machine-code blob
        /// (read, decompressed and hash-checked now: they are small); how many blobs failed; and
        /// the compile and JIT time the hit saves.
        case hit(LazyUnitImage, machineCode: [MachineCodeRow], badMachineCode: Int, savedMicroseconds: Int64)
        case bad(String)
    }

    /// A warm run's lookup: the unit's chunk index and its machine code, but none of the image
    /// yet (`LazyUnitImage.ensure` fetches what is used). Writes nothing.
    public func loadLazily(key: SHA256Digest, jitIdentity: String, hostFeatures: Set<String>) throws -> LazyLoaded {
        var clock = PhaseClock()
        defer { lastLoadPhases = clock.phases }
        let unit = try db.statement(
            "SELECT id, image_size, image_chunks, compile_us, length(image) FROM units WHERE key = ?1")
        try unit.bind(key.bytes, at: 1)
        guard try unit.step() else { return .miss }
        let rowid = unit.int64(0)
        let imageSize = Int(unit.int64(1))
        let chunks = unit.isNull(2) ? nil : unit.blob(2)
        let compileMicroseconds = unit.int64(3)
        let framesSize = Int(unit.int64(4))
        unit.reset()
        guard let chunks else { return .wholeOnly }
        let image: LazyUnitImage
        do {
            let index = try ImageChunks.Index(chunks, imageSize: imageSize, framesSize: framesSize)
            image = try LazyUnitImage(store: self, rowid: rowid, imageSize: imageSize, index: index)
            // The chunks the run that stored the unit used: read now, in the caller's read
            // transaction, rather than one by one (each its own transaction) as the program runs.
            image.prefetch(chunks: index.warm)
        } catch {
            return .bad("\(error)")
        }
        clock.mark("lookup")

        let query = try db.statement(
            """
            SELECT blob, blob_size, blob_sha256, function_id, features, jit_us FROM machine_code
            WHERE unit_key = ?1 AND jit_identity = ?2
            """)
        try query.bind(key.bytes, at: 1)
        try query.bind(jitIdentity, at: 2)
        var choice = MachineCodeChoice(hostFeatures: hostFeatures)
        while try query.step() {
            query.withBlob(0) {
                choice.offer(
                    frame: $0, size: Int(query.int64(1)), sha256: query.blob(2), functionId: query.int64(3),
                    features: query.text(4), jitMicroseconds: query.int64(5))
            }
        }
        clock.mark("machine_code")
        return .hit(
            image, machineCode: choice.rows, badMachineCode: choice.bad,
            savedMicroseconds: compileMicroseconds + choice.jitMicroseconds)
    }
}
