// Lowercase hexadecimal text, the one encoder: digests and cache keys, the build-id, machine
// code offsets, undecodable bytes in listings and JSON's `\u` escapes.

///
/// Generic over the bytes' collection, so `@inlinable public`: a package function would be
/// called unspecialized from other modules, iterating through witness tables and instantiating
/// iterator metadata at run time (measured on a warm run: about 170,000 instructions more).
package enum Hex {
    /// Two lowercase hex digits per byte, as `sha256sum` prints them.
    @inlinable
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digit(byte >> 4))
            text.append(digit(byte & 0xF))
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `value` in lowercase hex, zero-padded to at least `width` digits (`padded(0x2a, width: 4)`
    /// is "002a"). `value` must not be negative.
    @inlinable
    public static func padded(_ value: some BinaryInteger, width: Int) -> String {
        let digits = String(value, radix: 16)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    @inlinable @inline(__always)
    static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
