#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonSystem
import SQLiteSupport

/// A run's lookup of a unit: one query for the image and its machine code, the image
/// decompressed, decoded and hash-checked (`load(decode:)`). The warm path of a chunked image
/// is `CacheStore+Lazy.swift`; reads shared by a program's lookups, `CacheStore+SharedRead.swift`.
extension CacheStore {
    package struct MachineCodeRow: Sendable, Equatable {
        package var functionId: UInt32
        package var features: Set<String>
        /// The uncompressed, hash-checked blob.
        package var blob: [UInt8]

        package init(functionId: UInt32, features: Set<String>, blob: [UInt8]) {
            self.functionId = functionId
            self.features = features
            self.blob = blob
        }
    }

    package enum LoadResult: Equatable {
        case miss
        /// The image, and for each function the best blob whose features the host has.
        case hit(image: [UInt8], machineCode: [MachineCodeRow], badMachineCode: Int)
        /// The unit's row failed its checks (the caller recompiles; the next store replaces it).
        case bad(String)
    }

    /// `load` that also records the hit (tests and tools; a run uses `load(decode:)` and
    /// records the hit off the critical path).
    package func load(key: SHA256Digest, jitIdentity: String, hostFeatures: Set<String>) throws(CacheError) -> LoadResult {
        return try CacheError.wrapping {
            switch try load(key: key, jitIdentity: jitIdentity, hostFeatures: hostFeatures, decode: { $0 }) {
            case .miss: return .miss
            case .bad(let why): return .bad(why)
            case .hit(let image, let code, let bad, let saved):
                try? recordHit(key: key, savedMicroseconds: saved)
                return .hit(image: image, machineCode: code, badMachineCode: bad)
            }
        }
    }

    package enum Loaded<Unit> {
        case miss
        /// The decoded unit (its image's hash checked), each function's best blob, the number
        /// of blobs that failed their checks, and the compile and JIT time this hit saves.
        case hit(Unit, machineCode: [MachineCodeRow], badMachineCode: Int, savedMicroseconds: Int64)
        case bad(String)
    }

    /// One query brings the unit and every blob of this JIT identity; blobs needing a feature
    /// the host lacks are skipped, and of several that fit, the one needing most is taken.
    ///
    /// The image is decompressed, then `decode` runs on it while its SHA-256 is computed on a
    /// second thread; the decoded value is returned only if the hash matches (`decode` must
    /// therefore be safe on any bytes, as the unit loader is). A hash, decompression or decode
    /// failure is `.bad`. Counters and the unit's last use are not touched: see `recordHit`.
    package func load<Unit>(
        key: SHA256Digest, jitIdentity: String, hostFeatures: Set<String>,
        decode: ([UInt8]) throws -> Unit
    ) throws(CacheError) -> Loaded<Unit> {
        return try CacheError.wrapping {
            var clock = PhaseClock()
            defer { lastLoadPhases = clock.phases }
            // The image's size first, so that memory for a large one can be prepared before it is
            // read (see `willLoad`).
            let size = try db.statement("SELECT image_size FROM units WHERE key = ?1")
            try size.bind(key.bytes, at: 1)
            guard try size.step() else { return .miss }
            let imageSize = Int(size.int64(0))
            size.reset()
            willLoad(imageSize)
            clock.mark("lookup")
            let query = try db.statement(
                """
                SELECT 0, image, image_size, image_sha256, compile_us, NULL, 0, image_chunks FROM units WHERE key = ?1
                UNION ALL
                SELECT 1, blob, blob_size, blob_sha256, function_id, features, jit_us, NULL FROM machine_code
                WHERE unit_key = ?1 AND jit_identity = ?2
                """)
            try query.bind(key.bytes, at: 1)
            try query.bind(jitIdentity, at: 2)
            var unit: Result<Unit, Error>? = nil
            var unitProblem: String? = nil
            var choice = MachineCodeChoice(hostFeatures: hostFeatures)
            var compileMicroseconds: Int64 = 0
            while try query.step() {
                clock.mark("read")
                let size = Int(query.int64(2))
                let hash = query.blob(3)
                if query.int64(0) == 1 {
                    query.withBlob(1) {
                        choice.offer(
                            frame: $0, size: size, sha256: hash, functionId: query.int64(4), features: query.text(5),
                            jitMicroseconds: query.int64(6))
                    }
                    clock.mark("machine_code")
                    continue
                }
                let chunks = query.isNull(7) ? nil : query.blob(7)
                guard let bytes = try? query.withBlob(1, { frames in
                    guard let chunks else { return try LZ4Frame.decompress(frames, expectedSize: size) }
                    let entries = try ImageChunks.decodeIndex(chunks, imageSize: size, framesSize: frames.count)
                    return try ImageChunks.decompressAll(frames, entries: entries, imageSize: size)
                }) else {
                    unitProblem = "unit image failed to decompress"
                    continue
                }
                clock.mark("decompress")
                do {
                    compileMicroseconds = query.int64(4)
                    // A large image is hashed on a second thread while it is decoded; a small one
                    // costs less than starting a thread.
                    let hashing = bytes.count >= Self.parallelHashBytes ? BackgroundTask { SHA256.hash(bytes).bytes == hash } : nil
                    let hashMatches = hashing == nil ? SHA256.hash(bytes).bytes == hash : true
                    unit = hashMatches ? Result { try decode(bytes) } : nil
                    clock.mark("decode")
                    defer { clock.mark("hash") }
                    if !(hashing?.wait() ?? hashMatches) {
                        unit = nil
                        unitProblem = "unit image failed its hash check"
                    }
                }
            }
            if let unitProblem { return .bad(unitProblem) }
            guard let unit else { return .miss }
            let decoded: Unit
            switch unit {
            case .success(let value): decoded = value
            case .failure(let error):
                return .bad("unit image does not load: \(error)")
            }
            return .hit(
                decoded, machineCode: choice.rows, badMachineCode: choice.bad,
                savedMicroseconds: compileMicroseconds + choice.jitMicroseconds)
        }
    }

    /// Images at least this big are hashed on a second thread while they are decoded.
    static let parallelHashBytes = 256 << 10
}
