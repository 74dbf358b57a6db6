/// Bounds-checked little-endian reading of untrusted bytes: every read either succeeds or
/// throws `ImageError.truncated`, so a damaged image can never make the loader read outside it.
struct ByteReader {
    let base: UnsafeRawBufferPointer

    func u8(_ offset: Int) throws(ImageError) -> UInt8 {
        guard offset >= 0, offset < base.count else { throw .truncated }
        return base[offset]
    }

    func u16(_ offset: Int) throws(ImageError) -> UInt16 {
        guard offset >= 0, offset <= base.count - 2 else { throw .truncated }
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    func u32(_ offset: Int) throws(ImageError) -> UInt32 {
        guard offset >= 0, offset <= base.count - 4 else { throw .truncated }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func u64(_ offset: Int) throws(ImageError) -> UInt64 {
        guard offset >= 0, offset <= base.count - 8 else { throw .truncated }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A checked sub-range `[offset, offset + length)`.
    func range(_ offset: Int, _ length: Int) throws(ImageError) -> Range<Int> {
        guard offset >= 0, length >= 0, offset <= base.count, length <= base.count - offset else {
            throw .truncated
        }
        return offset..<(offset + length)
    }

    func string(_ offset: Int, _ length: Int) throws(ImageError) -> String {
        let r = try range(offset, length)
        return String(decoding: UnsafeRawBufferPointer(rebasing: base[r]), as: UTF8.self)
    }
}
