@testable import RibbonCache
import SQLiteSupport

/// Damages a stored unit image the way a failing disk would, for the tests of a chunk met in the
/// middle of a run: one byte in the middle of every chunk frame that lies wholly inside the
/// image's code section (so the run meets the damage only when it calls a function).
enum ChunkDamage {
    /// Damages the code chunks of the unit row that `filter` (an SQL condition on `units`)
    /// selects in the cache database at `databasePath`; returns how many chunks it damaged.
    static func damageCode(databasePath: String, filter: String = "1") throws -> Int {
        let db = try Database(path: databasePath)
        let q = try db.statement("SELECT id, image, image_chunks, image_size FROM units WHERE \(filter)")
        guard try q.step() else { return 0 }
        let id = q.int64(0)
        var frames = q.blob(1)
        let index = q.blob(2)
        let size = Int(q.int64(3))
        q.reset()
        let entries = try ImageChunks.decodeIndex(index, imageSize: size, framesSize: frames.count)
        let image = try frames.withUnsafeBytes { try ImageChunks.decompressAll($0, entries: entries, imageSize: size) }
        // The code section: the fifth (offset, length) pair of the section table.
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(image[at + $1]) << (8 * $1) } }
        let code = u32(32 + 4 * 8)..<u32(32 + 4 * 8) + u32(32 + 4 * 8 + 4)
        var damaged = 0
        for (i, entry) in entries.enumerated()
        where i * ImageChunks.chunkSize >= code.lowerBound && (i + 1) * ImageChunks.chunkSize <= code.upperBound {
            frames[entry.offset + entry.length / 2] ^= 0xFF
            damaged += 1
        }
        let update = try db.statement("UPDATE units SET image = ?1 WHERE id = ?2")
        try update.bind(frames, at: 1)
        try update.bind(id, at: 2)
        try update.run()
        return damaged
    }
}
