import CacheCodecs
import SQLiteSupport

/// The stored images and machine code decompressed and hash-checked, row by row, and SQLite's
/// own check of the file: what `ribbon cache verify` and `show` read. Separate from the
/// summaries (`CacheStore+Queries.swift`) because these read and check every payload byte.
extension CacheStore {
    /// An image or blob after decompression and the SHA-256 check.
    package enum Payload: Sendable, Equatable {
        case intact([UInt8])
        /// What failed: the LZ4 error, or the hash.
        case damaged(String)

        package var bytes: [UInt8]? {
            if case .intact(let bytes) = self { return bytes }
            return nil
        }
    }

    /// Decompresses a frame (or, with `chunks`, a unit image's chunk frames: `ImageChunks`) to
    /// exactly `size` bytes and checks their SHA-256.
    static func check(frame: UnsafeRawBufferPointer, size: Int64, hash: [UInt8], chunks: [UInt8]? = nil) -> Payload {
        let bytes: [UInt8]
        do {
            if let chunks {
                let entries = try ImageChunks.decodeIndex(chunks, imageSize: Int(clamping: size), framesSize: frame.count)
                bytes = try ImageChunks.decompressAll(frame, entries: entries, imageSize: Int(clamping: size))
            } else {
                bytes = try LZ4Frame.decompress(frame, expectedSize: Int(clamping: size))
            }
        } catch {
            return .damaged("decompression failed (\(error))")
        }
        guard SHA256.hash(bytes).bytes == hash else {
            return .damaged("SHA-256 of the \(bytes.count) uncompressed bytes does not match the stored hash")
        }
        return .intact(bytes)
    }

    /// The unit's image, decompressed and hash-checked; nil when no unit has this key.
    package func image(key: [UInt8]) throws(CacheError) -> Payload? {
        return try CacheError.wrapping {
            let query = try db.statement("SELECT image, image_size, image_sha256, image_chunks FROM units WHERE key = ?1")
            try query.bind(key, at: 1)
            defer { query.reset() }
            guard try query.step() else { return nil }
            let hash = query.blob(2)
            let size = query.int64(1)
            let chunks = query.isNull(3) ? nil : query.blob(3)
            return query.withBlob(0) { Self.check(frame: $0, size: size, hash: hash, chunks: chunks) }
        }
    }

    /// One machine-code row: its primary key, what it records, and its checked blob.
    package struct StoredMachineCode: Sendable, Equatable {
        package var unitKey: [UInt8]
        package var functionId: UInt32
        package var jitIdentity: String
        /// The `features` column as stored (comma-separated, sorted; "" for the baseline).
        package var featuresText: String
        package var compressedBytes: Int64
        package var size: Int64
        package var jitMicroseconds: Int64
        package var payload: Payload

        package var features: Set<String> { Set(featuresText.split(separator: ",").map(String.init)) }
    }

    private func machineCodeRows(where condition: String, bind: (Statement) throws -> Void) throws -> [StoredMachineCode] {
        let query = try db.statement(
            """
            SELECT unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us
            FROM machine_code \(condition) ORDER BY unit_key, function_id, jit_identity, features
            """)
        try bind(query)
        defer { query.reset() }
        var rows: [StoredMachineCode] = []
        while try query.step() {
            let size = query.int64(5)
            let hash = query.blob(6)
            rows.append(
                StoredMachineCode(
                    unitKey: query.blob(0), functionId: UInt32(truncatingIfNeeded: query.int64(1)),
                    jitIdentity: query.text(2), featuresText: query.text(3), compressedBytes: Int64(query.withBlob(4) { $0.count }),
                    size: size, jitMicroseconds: query.int64(7),
                    payload: query.withBlob(4) { Self.check(frame: $0, size: size, hash: hash) }))
        }
        return rows
    }

    /// Every machine-code row of a unit (all JIT identities and feature sets), checked.
    package func machineCode(unitKey: [UInt8]) throws(CacheError) -> [StoredMachineCode] {
        return try CacheError.wrapping {
            try machineCodeRows(where: "WHERE unit_key = ?1", bind: { try $0.bind(unitKey, at: 1) })
        }
    }

    /// Machine code whose unit is not stored (the schema's cascade should make this empty;
    /// `verify` reports any as bad).
    package func orphanedMachineCode() throws(CacheError) -> [StoredMachineCode] {
        return try CacheError.wrapping {
            try machineCodeRows(where: "WHERE unit_key NOT IN (SELECT key FROM units)", bind: { _ in })
        }
    }

    /// SQLite's own check of the file's structure (`PRAGMA quick_check`: pages, records and
    /// free lists, in time linear in the file, without `integrity_check`'s index cross-check):
    /// empty when sound, else its messages.
    package func integrityProblems() throws(CacheError) -> [String] {
        return try CacheError.wrapping {
            let query = try db.statement("PRAGMA quick_check")
            defer { query.reset() }
            var lines: [String] = []
            while try query.step() { lines.append(query.text(0)) }
            return lines == ["ok"] ? [] : lines
        }
    }
}
