import CacheCodecs
import RibbonSystem
import SQLiteSupport

extension CacheStore {
    package enum LazyLoaded {
        case miss
        /// The row was stored before images were chunked: load it whole (`load(decode:)`).
        case wholeOnly
        /// The image, to be fetched a chunk at a time; whether any machine code is stored for
        /// the unit (fetched a function at a time: `machineCode(key:functionId:…)`); the
        /// compile time the hit saves; and the warm code: the Ids that earlier warm runs loaded
        /// machine code for (table `warm_code`), with the best blob of each that has one (read
        /// now, with `warmCode`), how many failed their checks, and the JIT time they save.
        case hit(LazyUnitImage, hasMachineCode: Bool, compileMicroseconds: Int64, warm: WarmCode)
        case bad(String)
    }

    package struct WarmCode {
        package var functionIds: [UInt32] = []
        package var rows: [MachineCodeRow] = []
        package var bad = 0
        package var jitMicroseconds: Int64 = 0
    }

    /// Stored images (LZ4 frames) up to this size come with the lookup's row: a program of a
    /// thousand small files then reads no blob handle per file (`LazyUnitImage.fillAll`).
    static let smallImageFrames = 8 << 10

    /// At most this many Ids are read from a `warm_code` row (a hint: more is not a unit's).
    static let warmCodeLimit = 1 << 20

    /// A warm run's lookup: the unit's chunk index, but none of the image yet
    /// (`LazyUnitImage.ensure` fetches what is used) and none of its machine code (each
    /// function's is fetched when the function is placed, so a warm run reads the machine code
    /// of the functions it runs, not of the 50,000 that `build --jit` compiled). Writes nothing.
    /// With `warmCode`, the machine code of the functions warm runs loaded before is read too.
    package func loadLazily(key: SHA256Digest, jitIdentity: String, warmCode: Set<String>? = nil) throws(CacheError) -> LazyLoaded {
        return try CacheError.wrapping {
            var clock = PhaseClock()
            defer { lastLoadPhases = clock.phases }
            let unit = try db.statement(
                """
                SELECT id, image_size, image_chunks, compile_us, length(image), image_sha256,
                    EXISTS (SELECT 1 FROM machine_code WHERE unit_key = ?1 AND jit_identity = ?2),
                    (SELECT function_ids FROM warm_code WHERE unit_key = ?1 AND jit_identity = ?2),
                    CASE WHEN length(image) <= ?3 THEN image END
                FROM units WHERE key = ?1
                """)
            try unit.bind(key.bytes, at: 1)
            try unit.bind(jitIdentity, at: 2)
            try unit.bind(Int64(Self.smallImageFrames), at: 3)
            guard try unit.step() else { return .miss }
            let rowid = unit.int64(0)
            let imageSize = Int(unit.int64(1))
            let chunks = unit.isNull(2) ? nil : unit.blob(2)
            let compileMicroseconds = unit.int64(3)
            let framesSize = Int(unit.int64(4))
            let imageHash = unit.blob(5)
            let hasMachineCode = unit.int64(6) != 0
            var warm = WarmCode()
            if hasMachineCode, warmCode != nil, !unit.isNull(7) {
                warm.functionIds = Self.decodeFunctionIds(unit.blob(7))
            }
            // A small image comes with the row (`smallImageFrames`).
            let smallFrames = unit.isNull(8) ? nil : unit.blob(8)
            unit.reset()
            guard let chunks else { return .wholeOnly }
            let image: LazyUnitImage
            do {
                let index = try ImageChunks.Index(chunks, imageSize: imageSize, framesSize: framesSize)
                image = try LazyUnitImage(store: self, rowid: rowid, imageSize: imageSize, index: index, sha256: imageHash)
                // Every chunk filled from it: no blob handle for a small unit.
                if let smallFrames { smallFrames.withUnsafeBytes { image.fillAll(from: $0) } }
                // The chunks the run that stored the unit used: read now, in the caller's read
                // transaction, rather than one by one (each its own transaction) as the program runs.
                image.prefetch(chunks: index.warm)
            } catch {
                return .bad("\(error)")
            }
            clock.mark("lookup")
            if let hostFeatures = warmCode {
                for id in warm.functionIds {
                    let found = try machineCode(key: key, functionId: id, jitIdentity: jitIdentity, hostFeatures: hostFeatures)
                    if let row = found.row { warm.rows.append(row) }
                    warm.bad += found.bad
                    warm.jitMicroseconds += found.jitMicroseconds
                }
                clock.mark("machine_code")
            }
            return .hit(image, hasMachineCode: hasMachineCode, compileMicroseconds: compileMicroseconds, warm: warm)
        }
    }

    /// Ids from a `warm_code` row: whole u32s only, ascending and unique (anything else is
    /// dropped: the row is a hint, and may be damaged), at most `warmCodeLimit`.
    static func decodeFunctionIds(_ bytes: [UInt8]) -> [UInt32] {
        var ids: [UInt32] = []
        var at = 0
        while at + 4 <= bytes.count, ids.count < warmCodeLimit {
            let id = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            if ids.last.map({ id > $0 }) ?? true { ids.append(id) }
            at += 4
        }
        return ids
    }

    /// One function's machine code, as a warm run fetches it when the function is placed: of
    /// the blobs stored for it, the best one whose CPU features the host has (read,
    /// decompressed and hash-checked: `MachineCodeChoice`). `bad` counts blobs that failed
    /// their checks; `jitMicroseconds` is the JIT time the chosen blob saves.
    package func machineCode(
        key: SHA256Digest, functionId: UInt32, jitIdentity: String, hostFeatures: Set<String>
    ) throws(CacheError) -> (row: MachineCodeRow?, bad: Int, jitMicroseconds: Int64) {
        return try CacheError.wrapping {
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
}
