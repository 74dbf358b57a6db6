#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import SQLiteSupport

/// Unit images in 4 KiB chunks (migration 0004): each chunk is its own LZ4 frame, the frames
/// are stored one after another in `units.image`, and `units.image_chunks` indexes them with
/// the SHA-256 of each chunk's frame. A warm run then reads, checks and decompresses only the
/// chunks holding what it uses (`LazyUnitImage`); every frame is hash-checked before it is
/// decompressed (the stored bytes are hashed: fewer than the chunk's, and no unchecked byte
/// reaches the decompressor).
package enum ImageChunks {
    /// Small, because a run touches a few functions scattered over the code: the 5,000-function
    /// benchmark program runs 44 of them, which lie in nearly every 64 KiB chunk but in about a
    /// tenth of the 4 KiB ones.
    package static let chunkSize = 4 << 10
    /// Index format 2 ("…CHK2"): digests of the frames (format 1 hashed the decompressed chunks).
    static let magic: [UInt8] = Array("RIBNCHK2".utf8)
    static let entrySize = 40

    package struct Entry: Sendable, Equatable {
        /// Where the chunk's frame is in `image`, and its length.
        package var offset: Int
        package var length: Int
        /// The SHA-256 of the chunk's frame, as four words (no array per chunk: a large image
        /// has hundreds of chunks, and a warm run decodes the whole index).
        var digest: (UInt64, UInt64, UInt64, UInt64)

        package var sha256: [UInt8] { withUnsafeBytes(of: digest) { Array($0) } }

        /// Whether `bytes` hash to this chunk's digest.
        func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
            SHA256.hash(bytes).bytes.withUnsafeBytes { hash in
                hash.loadUnaligned(fromByteOffset: 0, as: UInt64.self) == digest.0
                    && hash.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == digest.1
                    && hash.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == digest.2
                    && hash.loadUnaligned(fromByteOffset: 24, as: UInt64.self) == digest.3
            }
        }

        package static func == (a: Entry, b: Entry) -> Bool {
            a.offset == b.offset && a.length == b.length && a.digest == b.digest
        }
    }

    /// The frames of `image`'s chunks, concatenated, and their index. `warm`: byte ranges of the
    /// image a run used (the code and signatures of the functions it called), recorded in the
    /// index as the chunks a warm run reads at once, before it starts (`LazyUnitImage.prefetch`).
    static func encode(_ image: [UInt8], warm: [Range<Int>] = []) throws -> (frames: [UInt8], index: [UInt8]) {
        var frames: [UInt8] = []
        var index = magic
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { index.append(contentsOf: $0) } }
        let count = (image.count + chunkSize - 1) / chunkSize
        u32(chunkSize)
        u32(count)
        try image.withUnsafeBytes { raw in
            for i in 0..<count {
                let range = i * chunkSize..<min((i + 1) * chunkSize, image.count)
                let chunk = UnsafeRawBufferPointer(rebasing: raw[range])
                let frame = try LZ4Frame.compress(chunk, contentChecksum: false)
                u32(frames.count)
                u32(frame.count)
                index += frame.withUnsafeBytes { SHA256.hash($0).bytes }
                frames += frame
            }
        }
        // The warm set: u32 count, then the chunk numbers, ascending.
        var warmChunks = Set<Int>()
        for range in warm where !range.isEmpty && range.lowerBound >= 0 && range.upperBound <= image.count {
            for chunk in range.lowerBound / chunkSize...(range.upperBound - 1) / chunkSize { warmChunks.insert(chunk) }
        }
        u32(warmChunks.count)
        for chunk in warmChunks.sorted() { u32(chunk) }
        index += SHA256.hash(index).bytes
        return (frames, index)
    }

    /// Checks an index (its own hash, the chunk size, one entry per chunk of `imageSize`, frames
    /// inside `framesSize`) and returns its entries.
    static func decodeIndex(_ bytes: [UInt8], imageSize: Int, framesSize: Int) throws -> [Entry] {
        let index = try Index(bytes, imageSize: imageSize, framesSize: framesSize)
        return try (0..<index.count).map { try index.entry($0) }
    }

    struct BadIndex: Error, CustomStringConvertible { var description: String }

    /// A checked index (its own hash, the chunk size, one entry per chunk of the image), whose
    /// entries are decoded, and checked against the stored frames' size, one at a time: a warm
    /// run reads a dozen chunks of an image's hundreds.
    struct Index {
        let bytes: [UInt8]
        /// The number of chunks.
        let count: Int
        let framesSize: Int
        /// The chunks a warm run reads at once (see `encode`; each below `count`).
        let warm: [Int]

        init(_ bytes: [UInt8], imageSize: Int, framesSize: Int) throws {
            guard bytes.count >= 16 + 32, Array(bytes[0..<8]) == magic else {
                throw BadIndex(description: "chunk index malformed")
            }
            let hash = bytes.withUnsafeBytes { SHA256.hash(UnsafeRawBufferPointer(rebasing: $0[0..<bytes.count - 32])) }
            guard hash.bytes.elementsEqual(bytes[bytes.count - 32..<bytes.count]) else {
                throw BadIndex(description: "chunk index failed its hash check")
            }
            func u32(_ at: Int) -> Int { Index.u32(bytes, at) }
            let count = u32(12)
            let warmAt = 16 + count * entrySize
            guard u32(8) == chunkSize, count == (imageSize + chunkSize - 1) / chunkSize, bytes.count >= warmAt + 4 + 32,
                bytes.count == warmAt + 4 + u32(warmAt) * 4 + 32
            else { throw BadIndex(description: "chunk index does not match the image") }
            self.bytes = bytes
            self.count = count
            self.framesSize = framesSize
            warm = (0..<u32(warmAt)).map { u32(warmAt + 4 + 4 * $0) }.filter { $0 < count }
        }

        static func u32(_ bytes: [UInt8], _ at: Int) -> Int {
            bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        }

        /// Chunk `i`'s entry (`i` below `count`); throws if its frame is outside the stored image.
        func entry(_ i: Int) throws -> Entry {
            let at = 16 + i * entrySize
            let entry = bytes.withUnsafeBytes { raw in
                func u64(_ at: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: at, as: UInt64.self) }
                return Entry(
                    offset: Index.u32(bytes, at), length: Index.u32(bytes, at + 4),
                    digest: (u64(at + 8), u64(at + 16), u64(at + 24), u64(at + 32)))
            }
            guard entry.length > 0, entry.offset <= framesSize, entry.length <= framesSize - entry.offset else {
                throw BadIndex(description: "chunk \(i) is outside the stored image")
            }
            return entry
        }
    }

    /// The uncompressed range of chunk `i` of an image of `imageSize` bytes.
    static func range(ofChunk i: Int, imageSize: Int) -> Range<Int> {
        i * chunkSize..<min((i + 1) * chunkSize, imageSize)
    }

    /// Checks and decompresses every chunk: the whole image.
    static func decompressAll(_ frames: UnsafeRawBufferPointer, entries: [Entry], imageSize: Int) throws -> [UInt8] {
        var image = [UInt8](repeating: 0, count: imageSize)
        try image.withUnsafeMutableBytes { out in
            for (i, entry) in entries.enumerated() {
                let destination = UnsafeMutableRawBufferPointer(rebasing: out[range(ofChunk: i, imageSize: imageSize)])
                let frame = UnsafeRawBufferPointer(rebasing: frames[entry.offset..<entry.offset + entry.length])
                guard entry.matches(frame) else { throw CodecError("chunk \(i) failed its hash check") }
                try LZ4Frame.decompress(frame, into: destination)
            }
        }
        return image
    }
}

/// A unit image from the cache, fetched a chunk at a time (see `ImageChunks`): a mapping the
/// size of the image in which only the chunks asked for (`ensure`) are filled in, each read
/// with `sqlite3_blob_read`, decompressed and hash-checked first. Every fetch is a short read of
/// its own (no transaction stays open while the program runs); if the row has changed or gone
/// meanwhile, the hash check or the read fails and the caller falls back.
package final class LazyUnitImage {
    package let count: Int
    /// The whole image's address range; only `ensure`d ranges hold the image's bytes.
    package let base: UnsafeRawPointer
    private let mapped: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let index: ImageChunks.Index
    private var loaded: [Bool]
    private let rowid: Int64
    private let store: CacheStore
    /// The SHA-256 of the whole image, as stored: what an image compiled afresh must match to
    /// stand in for a part that fails its checks mid-run (`LoadedUnit.fallbackImage`).
    package let sha256: [UInt8]
    /// Chunks read so far.
    package private(set) var chunksRead = 0
    package var chunkCount: Int { index.count }

    init(store: CacheStore, rowid: Int64, imageSize: Int, index: ImageChunks.Index, sha256: [UInt8]) throws {
        self.store = store
        self.sha256 = sha256
        self.rowid = rowid
        count = imageSize
        self.index = index
        loaded = Array(repeating: false, count: index.count)
        // Plain 4 KiB pages: a warm run touches a few hundred KiB of a large image (its tables
        // and the code of the functions it runs), and a transparent huge page would zero 2 MiB
        // for each part touched (measured: 0.6 ms of a 7 ms warm start). A small image comes
        // from the allocator: a program of many small files has thousands, for which a mapping
        // each cost two system calls and a page fault.
        if imageSize < Self.mappedBytes {
            mappedSize = 0
            mapping = UnsafeMutableRawPointer.allocate(byteCount: max(imageSize, 16), alignment: 16)
            mapping.initializeMemory(as: UInt8.self, repeating: 0, count: max(imageSize, 16))  // as a mapping is
        } else {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            mappedSize = (imageSize + page - 1) / page * page
            let memory = mmap(nil, mappedSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            guard let memory, memory != MAP_FAILED else { throw CodecError("cannot map \(imageSize) bytes for a unit image") }
            mapping = memory
        }
        mapped = mapping
        base = UnsafeRawPointer(mapping)
    }

    /// Images at least this big are mapped; smaller ones are allocated (`mappedSize` 0).
    static let mappedBytes = 64 << 10

    deinit {
        if mappedSize > 0 { munmap(mapping, mappedSize) } else { mapping.deallocate() }
        scratchBuffer.deallocate()
    }

    /// Where frames are read before they are checked and decompressed: one buffer for a batch
    /// of reads (`inOneBatch`), grown as needed (a warm run reads dozens of runs of frames,
    /// mostly a few KiB each), and freed after it: a program of many files keeps thousands of
    /// units, and a buffer kept by each grew the heap by 16 KiB a unit.
    private var scratchBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    private func scratch(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if scratchBuffer.count < count {
            scratchBuffer.deallocate()
            scratchBuffer = .allocate(byteCount: max(count, 2 * scratchBuffer.count, 4 << 10), alignment: 16)
        }
        return UnsafeMutableRawBufferPointer(rebasing: scratchBuffer[0..<count])
    }

    private func releaseScratch() {
        scratchBuffer.deallocate()
        scratchBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    }

    /// How many of the chunks that `range` touches have been read.
    package func chunksRead(in range: Range<Int>) -> Int {
        guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else { return 0 }
        let chunkSize = ImageChunks.chunkSize
        return loaded[range.lowerBound / chunkSize...(range.upperBound - 1) / chunkSize].filter { $0 }.count
    }

    /// Makes the given chunks valid now, best effort (a chunk that cannot be read is left to
    /// `ensure` to report when it is needed): the warm set a previous run recorded.
    package func prefetch(chunks: [Int]) {
        inOneBatch {
            for chunk in chunks where chunk < index.count && !loaded[chunk] {
                try? ensure(ImageChunks.range(ofChunk: chunk, imageSize: count))
            }
        }
    }

    /// The blob handle `ensure` reads through inside `inOneBatch`, opened at its first read.
    private var batch: Blob?
    private var batching = false

    /// Runs `body` with one blob handle for all the reads it makes (one `sqlite3_blob_open`,
    /// and SQLite keeps the value's overflow-page list between reads), opened only if `body`
    /// reads anything. Call it inside a read transaction (`CacheStore.reading`), whose snapshot
    /// the handle holds until `body` returns.
    package func inOneBatch<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard !batching else { return try body() }
        batching = true
        defer {
            batch?.close()
            batch = nil
            batching = false
            releaseScratch()
        }
        return try body()
    }

    /// Fills every chunk from `frames`, the whole stored `image` value, which the lookup read
    /// with the unit's row when it is small (`CacheStore.smallImageFrames`): a unit of a chunk
    /// or two then costs no blob handle. Best effort, like `prefetch`: a chunk that fails its
    /// checks is left to `ensure`.
    func fillAll(from frames: UnsafeRawBufferPointer) {
        for i in 0..<index.count where !loaded[i] {
            guard let entry = try? index.entry(i), entry.offset >= 0, entry.length >= 0,
                entry.offset + entry.length <= frames.count
            else { continue }
            try? fill(i, entry, from: UnsafeRawBufferPointer(rebasing: frames[entry.offset..<entry.offset + entry.length]))
        }
    }

    /// Makes `range` of the image valid: reads, decompresses and hash-checks each chunk it
    /// touches that is not there yet. Throws if a chunk cannot be read or fails its checks.
    package func ensure(_ range: Range<Int>) throws(CacheError) {
        try CacheError.wrapping {
            guard !range.isEmpty else { return }
            guard range.lowerBound >= 0, range.upperBound <= count else { throw CodecError("range outside the image") }
            defer { if batch == nil { releaseScratch() } }
            let wanted = range.lowerBound / ImageChunks.chunkSize...(range.upperBound - 1) / ImageChunks.chunkSize
            var i = wanted.lowerBound
            while i <= wanted.upperBound {
                guard !loaded[i] else {
                    i += 1
                    continue
                }
                // A run of missing chunks: their frames are contiguous in `image`, read at once.
                var last = i
                var entries = [try index.entry(i)]
                while last < wanted.upperBound, !loaded[last + 1], let next = try? index.entry(last + 1),
                    next.offset == entries[entries.count - 1].offset + entries[entries.count - 1].length
                {
                    entries.append(next)
                    last += 1
                }
                let first = entries[0].offset
                let frames = scratch(entries[entries.count - 1].offset + entries[entries.count - 1].length - first)
                if batching, batch == nil { batch = try? Blob(store.db, table: "units", column: "image", rowid: rowid) }
                if let batch {
                    try batch.read(offset: first, into: frames)
                } else {
                    try store.db.readBlob(table: "units", column: "image", rowid: rowid, offset: first, into: frames)
                }
                for (j, entry) in zip(i...last, entries) {
                    try fill(j, entry, from: UnsafeRawBufferPointer(rebasing: frames[entry.offset - first..<entry.offset - first + entry.length]))
                }
                i = last + 1
            }
        }
    }

    /// Checks chunk `i`'s frame against its hash, then decompresses it into place (exactly the
    /// chunk's size, or it throws); only then is it marked loaded.
    private func fill(_ i: Int, _ entry: ImageChunks.Entry, from frame: UnsafeRawBufferPointer) throws {
        guard entry.matches(frame) else { throw CodecError("chunk \(i) of the unit image failed its hash check") }
        let chunk = ImageChunks.range(ofChunk: i, imageSize: count)
        try LZ4Frame.decompress(frame, into: UnsafeMutableRawBufferPointer(start: mapped + chunk.lowerBound, count: chunk.count))
        loaded[i] = true
        chunksRead += 1
    }
}
