import CLZ4
#if canImport(Glibc)
import Glibc
#endif

/// Decompression contexts kept for reuse. A context allocates its block buffers (64 KiB and
/// more: a frame's smallest maximum block size) the first time it decodes; one made and freed
/// per frame made a warm run that reads 70 chunks grow and trim the heap 70 times, with a page
/// fault for every page each time. At most one context per thread that decodes at once.
enum DecompressionContexts {
    private nonisolated(unsafe) static var idle: [OpaquePointer] = []
    private nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()

    static func take() throws -> OpaquePointer {
        pthread_mutex_lock(lock)
        let kept = idle.popLast()
        pthread_mutex_unlock(lock)
        if let kept { return kept }
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else {
            throw LZ4Frame.lz4Error("LZ4F_createDecompressionContext", created)
        }
        return context
    }

    /// Returns a context for the next frame: kept if it decoded a whole frame, freed otherwise
    /// (a frame it stopped in the middle of may leave state that a reset does not clear).
    static func give(_ context: OpaquePointer, finished: Bool) {
        guard finished else {
            _ = LZ4F_freeDecompressionContext(context)
            return
        }
        LZ4F_resetDecompressionContext(context)
        pthread_mutex_lock(lock)
        idle.append(context)
        pthread_mutex_unlock(lock)
    }
}

/// LZ4 in the standard frame format (liblz4's LZ4F_* API), so `lz4 -d` reads an exported image.
///
/// Frames we write record the content size in the header and end with a content checksum
/// (xxHash32 of the uncompressed bytes). Decoding trusts nothing in the input: every failure is a
/// thrown `CodecError`, and the output buffer is exactly `expectedSize` bytes.
package enum LZ4Frame {
    /// The largest image either direction accepts; a bigger `expectedSize` is refused before any
    /// allocation, so a corrupt size column cannot ask for terabytes.
    package static let maximumSize = 1 << 30

    private static let magic: UInt32 = 0x184D_2204

    package static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0) }
    }

    /// `contentChecksum: false` leaves out the frame's xxHash32 (for chunks the caller checks
    /// with SHA-256 anyway: it is one more pass over the bytes on every read).
    package static func compress(_ bytes: UnsafeRawBufferPointer, contentChecksum: Bool = true) throws -> [UInt8] {
        guard bytes.count <= maximumSize else {
            throw CodecError("LZ4: \(bytes.count) bytes is more than the \(maximumSize)-byte limit")
        }
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentSize = UInt64(bytes.count)
        preferences.frameInfo.contentChecksumFlag = contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
        // One independent block of up to 4 MiB: a cached image decompresses in one call straight
        // into its buffer (64 KiB linked blocks go through a window copy: ~1.6x slower to read).
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        let bound = LZ4F_compressFrameBound(bytes.count, &preferences)
        guard LZ4F_isError(bound) == 0 else { throw lz4Error("LZ4F_compressFrameBound", bound) }
        var dummy: UInt8 = 0
        return try withUnsafeMutablePointer(to: &dummy) { dummyPointer in
            let source = bytes.baseAddress ?? UnsafeRawPointer(dummyPointer)
            var failure: CodecError?
            let frame = [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
                let written = LZ4F_compressFrame(buffer.baseAddress, bound, source, bytes.count, &preferences)
                if LZ4F_isError(written) != 0 {
                    failure = lz4Error("LZ4F_compressFrame", written)
                    initialized = 0
                } else {
                    initialized = written
                }
            }
            if let failure { throw failure }
            return frame
        }
    }

    package static func decompress(_ frame: [UInt8], expectedSize: Int) throws -> [UInt8] {
        try frame.withUnsafeBytes { try decompress($0, expectedSize: expectedSize) }
    }

    /// Decodes exactly one LZ4 frame that holds exactly `expectedSize` bytes. Throws on any
    /// liblz4 error (bad header, corrupt block, checksum mismatch), on a truncated frame, on
    /// content that is shorter or longer than `expectedSize`, on a content size in the header that
    /// disagrees with it, and on bytes after the end of the frame.
    package static func decompress(_ frame: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        guard expectedSize >= 0, expectedSize <= maximumSize else {
            throw CodecError("LZ4: expected size \(expectedSize) is outside 0...\(maximumSize)")
        }
        var failure: Error?
        // One spare byte past `expectedSize` never handed to liblz4: it keeps the base address
        // non-nil for an empty image.
        let output = [UInt8](unsafeUninitializedCapacity: expectedSize + 1) { buffer, initialized in
            initialized = 0
            do {
                try decompress(frame, into: UnsafeMutableRawBufferPointer(start: buffer.baseAddress!, count: expectedSize))
                initialized = expectedSize
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Decodes exactly one LZ4 frame whose content is exactly `destination.count` bytes into
    /// `destination` (the same checks as `decompress(_:expectedSize:)`; on a throw the
    /// destination holds garbage).
    package static func decompress(_ frame: UnsafeRawBufferPointer, into destinationBuffer: UnsafeMutableRawBufferPointer) throws {
        let expectedSize = destinationBuffer.count
        guard expectedSize <= maximumSize else {
            throw CodecError("LZ4: expected size \(expectedSize) is outside 0...\(maximumSize)")
        }
        guard frame.count >= 4, let source = frame.baseAddress else {
            throw CodecError("LZ4: \(frame.count) bytes is too short for a frame")
        }
        let leadingWord = UInt32(frame[0]) | UInt32(frame[1]) << 8 | UInt32(frame[2]) << 16
            | UInt32(frame[3]) << 24
        guard leadingWord == magic else {
            throw CodecError("LZ4: not an LZ4 frame (magic number 0x\(String(leadingWord, radix: 16)))")
        }

        let context = try DecompressionContexts.take()
        var finished = false
        defer { DecompressionContexts.give(context, finished: finished) }

        // The header first: a recorded content size that disagrees is refused before decoding.
        var consumed = frame.count
        var info = LZ4F_frameInfo_t()
        let hint = LZ4F_getFrameInfo(context, &info, source, &consumed)
        guard LZ4F_isError(hint) == 0 else { throw lz4Error("frame header", hint) }
        if info.contentSize != 0 && info.contentSize != UInt64(expectedSize) {
            throw CodecError("LZ4: the frame holds \(info.contentSize) bytes, expected \(expectedSize)")
        }
        var spare: UInt8 = 0
        try withUnsafeMutablePointer(to: &spare) { sparePointer in
            let destination = destinationBuffer.baseAddress ?? UnsafeMutableRawPointer(sparePointer)
            var produced = 0
            while true {
                var sourceSize = frame.count - consumed
                var destinationSize = expectedSize - produced
                let result = LZ4F_decompress(
                    context, destination + produced, &destinationSize,
                    source + consumed, &sourceSize, nil)
                if LZ4F_isError(result) != 0 { throw lz4Error("frame", result) }
                consumed += sourceSize
                produced += destinationSize
                if result == 0 { break }  // the frame is complete and its checksum verified
                if sourceSize == 0 && destinationSize == 0 {
                    // No progress: liblz4 wants more input than there is, or has more output
                    // than fits.
                    if consumed == frame.count {
                        throw CodecError("LZ4: the frame is truncated after \(produced) bytes of content")
                    } else if produced == expectedSize {
                        throw CodecError("LZ4: the frame holds more than the expected \(expectedSize) bytes")
                    } else {
                        throw CodecError("LZ4: the decoder stopped at byte \(consumed) of \(frame.count)")
                    }
                }
            }
            if produced != expectedSize {
                throw CodecError("LZ4: the frame holds \(produced) bytes, expected \(expectedSize)")
            } else if consumed != frame.count {
                throw CodecError("LZ4: \(frame.count - consumed) trailing byte(s) after the end of the frame")
            }
        }
        finished = true
    }

    static func lz4Error(_ what: String, _ code: Int) -> CodecError {
        let name = LZ4F_getErrorName(code).map { String(cString: $0) } ?? "error \(code)"
        return CodecError("LZ4: \(what): \(name)")
    }
}
