/// One 64-bit instruction word, little-endian: bits 0–15 the opcode, then operands byte by byte
/// (registers are one byte; 32-bit fields sit in bytes 4–7 so they load with one shift).
///
/// These helpers are the only place that knows the bit positions; the Builder, the decoder and
/// the interpreter all go through them.
public enum InstructionWord {
    /// Opcode bits of a word (may name no defined opcode in unverified input).
    @inlinable @inline(__always)
    public static func opcodeNumber(_ word: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: word) }

    /// The byte at position `index` (2…7).
    @inlinable @inline(__always)
    public static func byte(_ word: UInt64, _ index: Int) -> Int { Int((word >> UInt64(index &* 8)) & 0xFF) }

    /// Bytes 4–7 as a signed 32-bit value (immediates and branch offsets).
    @inlinable @inline(__always)
    public static func int32(_ word: UInt64) -> Int32 { Int32(truncatingIfNeeded: word >> 32) }

    /// Bytes 4–7 as an unsigned 32-bit Id.
    @inlinable @inline(__always)
    public static func id(_ word: UInt64) -> Int { Int(word >> 32) }

    /// Byte 3 as a signed 8-bit immediate.
    @inlinable @inline(__always)
    public static func int8(_ word: UInt64) -> Int64 { Int64(Int8(truncatingIfNeeded: word >> 24)) }

    // MARK: Encoding

    @inlinable @inline(__always)
    static func op(_ opcode: Opcode) -> UInt64 { UInt64(opcode.rawValue) }

    @inlinable @inline(__always)
    static func reg(_ r: UInt8, at index: Int) -> UInt64 { UInt64(r) << UInt64(index * 8) }

    @inlinable @inline(__always)
    static func high32(_ value: UInt32) -> UInt64 { UInt64(value) << 32 }

    /// Packs a word from its parts; operands a format does not use must be 0.
    @inlinable
    public static func encode(
        _ opcode: Opcode, _ r2: UInt8 = 0, _ r3: UInt8 = 0, _ r4: UInt8 = 0, _ r5: UInt8 = 0,
        high32 value: UInt32 = 0
    ) -> UInt64 {
        op(opcode) | reg(r2, at: 2) | reg(r3, at: 3) | reg(r4, at: 4) | reg(r5, at: 5) | high32(value)
    }
}

/// A register number within a frame (0…254).
public typealias Register = UInt8

/// The most registers a frame may have.
public let maximumFrameSize = 255
