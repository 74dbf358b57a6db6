/// Why a cache image could not be encoded or decoded. Decoding errors come from untrusted bytes
/// (a database row): the cache treats any of them as a miss, never a crash.
public struct CodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line, no trailing newline.
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
