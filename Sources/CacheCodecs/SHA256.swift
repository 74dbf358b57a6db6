import CCrypto

/// A SHA-256 digest: 32 bytes.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// 64 lowercase hex digits, as `sha256sum` prints them.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }
}

/// SHA-256 through OpenSSL's libcrypto (EVP API).
public enum SHA256 {
    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        var dummy: UInt8 = 0
        let ok = withUnsafeMutablePointer(to: &dummy) { dummyPointer in
            EVP_Digest(bytes.baseAddress ?? UnsafeRawPointer(dummyPointer), bytes.count,
                       &digest, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only when libcrypto cannot allocate or has no SHA-256: not a state
        // the process can continue from.
        precondition(ok == 1 && length == 32, "libcrypto: EVP_Digest(SHA-256) failed")
        return SHA256Digest(bytes: Array(digest[0..<32]))!
    }

    /// Incremental hashing, for keys made of several parts. A value type: a copy continues
    /// independently from the state at the copy, and `finalize()` leaves the state untouched, so
    /// more `update` calls may follow it.
    public struct Hasher {
        private var box: Context

        public init() {
            box = Context()
        }

        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            if !isKnownUniquelyReferenced(&box) { box = box.copy() }
            guard bytes.count > 0, let base = bytes.baseAddress else { return }
            precondition(EVP_DigestUpdate(box.context, base, bytes.count) == 1,
                         "libcrypto: EVP_DigestUpdate failed")
        }

        public func finalize() -> SHA256Digest {
            let finished = box.copy()
            var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
            var length: UInt32 = 0
            precondition(EVP_DigestFinal_ex(finished.context, &digest, &length) == 1 && length == 32,
                         "libcrypto: EVP_DigestFinal_ex failed")
            return SHA256Digest(bytes: Array(digest[0..<32]))!
        }
    }

    /// Owns one EVP_MD_CTX.
    private final class Context {
        let context: OpaquePointer

        init() {
            guard let context = EVP_MD_CTX_new() else {
                preconditionFailure("libcrypto: EVP_MD_CTX_new failed")
            }
            precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1,
                         "libcrypto: EVP_DigestInit_ex(SHA-256) failed")
            self.context = context
        }

        private init(copying other: Context) {
            guard let context = EVP_MD_CTX_new() else {
                preconditionFailure("libcrypto: EVP_MD_CTX_new failed")
            }
            precondition(EVP_MD_CTX_copy_ex(context, other.context) == 1,
                         "libcrypto: EVP_MD_CTX_copy_ex failed")
            self.context = context
        }

        func copy() -> Context { Context(copying: self) }

        deinit { EVP_MD_CTX_free(context) }
    }
}
