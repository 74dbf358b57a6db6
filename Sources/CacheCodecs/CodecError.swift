/// Why a cache image could not be encoded or decoded. Decoding errors come from untrusted bytes
/// (a database row): the cache treats any of them as a miss, never a crash.
package struct CodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line, no trailing newline.
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
