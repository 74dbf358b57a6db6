import CCrypto
import RibbonSystem

/// A SHA-256 digest: 32 bytes.
package struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    package let bytes: [UInt8]

    package init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// 64 lowercase hex digits, as `sha256sum` prints them.
    package var hex: String { Hex.encode(bytes) }

    package var description: String { hex }
}

/// SHA-256 through OpenSSL's libcrypto (its `SHA256_*` functions; see CCrypto's shim.h).
package enum SHA256 {
    package static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    package static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Incremental hashing, for keys made of several parts. A value type: a copy continues
    /// independently from the state at the copy, and `finalize()` leaves the state untouched, so
    /// more `update` calls may follow it.
    package struct Hasher {
        private var context = SHA256_CTX()

        package init() {
            // SHA256_Init only fails on a null context.
            precondition(SHA256_Init(&context) == 1, "libcrypto: SHA256_Init failed")
        }

        package mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        package mutating func update(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            precondition(SHA256_Update(&context, base, bytes.count) == 1, "libcrypto: SHA256_Update failed")
        }

        package func finalize() -> SHA256Digest {
            var finished = context
            var digest = [UInt8](repeating: 0, count: 32)
            precondition(SHA256_Final(&digest, &finished) == 1, "libcrypto: SHA256_Final failed")
            return SHA256Digest(bytes: digest)!
        }
    }
}
