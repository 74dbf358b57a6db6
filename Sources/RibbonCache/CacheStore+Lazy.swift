import CacheCodecs
import SQLiteSupport

extension CacheStore {
    public enum LazyLoaded {
        case miss
        /// The row was stored before images were chunked: load it whole (`load(decode:)`).
        case wholeOnly
        /// The image, to be fetched a chunk at a time; whether any machine code is stored for
        /// the unit (fetched a function at a time: `machineCode(key:functionId:…)`); and the
        /// compile time the hit saves.
        case hit(LazyUnitImage, hasMachineCode: Bool, compileMicroseconds: Int64)
        case bad(String)
    }

    /// A warm run's lookup: the unit's chunk index, but none of the image yet
    /// (`LazyUnitImage.ensure` fetches what is used) and none of its machine code (each
    /// function's is fetched when the function is placed, so a warm run reads the machine code
    /// of the functions it runs, not of the 50,000 that `build --jit` compiled). Writes nothing.
    public func loadLazily(key: SHA256Digest, jitIdentity: String) throws -> LazyLoaded {
        var clock = PhaseClock()
        defer { lastLoadPhases = clock.phases }
        let unit = try db.statement(
            """
            SELECT id, image_size, image_chunks, compile_us, length(image), image_sha256,
                EXISTS (SELECT 1 FROM machine_code WHERE unit_key = ?1 AND jit_identity = ?2)
            FROM units WHERE key = ?1
            """)
        try unit.bind(key.bytes, at: 1)
        try unit.bind(jitIdentity, at: 2)
        guard try unit.step() else { return .miss }
        let rowid = unit.int64(0)
        let imageSize = Int(unit.int64(1))
        let chunks = unit.isNull(2) ? nil : unit.blob(2)
        let compileMicroseconds = unit.int64(3)
        let framesSize = Int(unit.int64(4))
        let imageHash = unit.blob(5)
        let hasMachineCode = unit.int64(6) != 0
        unit.reset()
        guard let chunks else { return .wholeOnly }
        let image: LazyUnitImage
        do {
            let index = try ImageChunks.Index(chunks, imageSize: imageSize, framesSize: framesSize)
            image = try LazyUnitImage(store: self, rowid: rowid, imageSize: imageSize, index: index, sha256: imageHash)
            // The chunks the run that stored the unit used: read now, in the caller's read
            // transaction, rather than one by one (each its own transaction) as the program runs.
            image.prefetch(chunks: index.warm)
        } catch {
            return .bad("\(error)")
        }
        clock.mark("lookup")
        return .hit(image, hasMachineCode: hasMachineCode, compileMicroseconds: compileMicroseconds)
    }

    /// One function's machine code, as a warm run fetches it when the function is placed: of
    /// the blobs stored for it, the best one whose CPU features the host has (read,
    /// decompressed and hash-checked: `MachineCodeChoice`). `bad` counts blobs that failed
    /// their checks; `jitMicroseconds` is the JIT time the chosen blob saves.
    public func machineCode(
        key: SHA256Digest, functionId: UInt32, jitIdentity: String, hostFeatures: Set<String>
    ) throws -> (row: MachineCodeRow?, bad: Int, jitMicroseconds: Int64) {
        let query = try db.statement(
            """
            SELECT blob, blob_size, blob_sha256, function_id, features, jit_us FROM machine_code
            WHERE unit_key = ?1 AND function_id = ?2 AND jit_identity = ?3
            """)
        try query.bind(key.bytes, at: 1)
        try query.bind(Int64(functionId), at: 2)
        try query.bind(jitIdentity, at: 3)
        defer { query.reset() }
        var choice = MachineCodeChoice(hostFeatures: hostFeatures)
        while try query.step() {
            query.withBlob(0) {
                choice.offer(
                    frame: $0, size: Int(query.int64(1)), sha256: query.blob(2), functionId: query.int64(3),
                    features: query.text(4), jitMicroseconds: query.int64(5))
            }
        }
        return (choice.rows.first, choice.bad, choice.jitMicroseconds)
    }
}
