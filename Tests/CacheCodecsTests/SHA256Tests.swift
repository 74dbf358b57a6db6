import CacheCodecs
import Foundation
import Testing

@Suite struct SHA256Tests {
    // FIPS 180-2 / NIST example vectors.
    @Test func knownDigests() {
        #expect(SHA256.hash([]).hex
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func digestValue() {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(digest.bytes.count == 32)
        #expect(digest.bytes.prefix(4) == [0xBA, 0x78, 0x16, 0xBF])
        #expect(digest == SHA256.hash(Array("abc".utf8)))
        #expect(digest != SHA256.hash(Array("abd".utf8)))
        #expect(Set([digest, SHA256.hash(Array("abc".utf8))]).count == 1)
        #expect(SHA256Digest(bytes: digest.bytes) == digest)
        #expect(SHA256Digest(bytes: [1, 2, 3]) == nil)
        #expect("\(digest)" == digest.hex)
    }

    @Test func incrementalMatchesOneShot() {
        var generator = SplitMix64(seed: 7)
        for round in 0..<40 {
            let count = Int(generator.next() % 5000)
            let bytes = randomBytes(count, seed: UInt64(round))
            var hasher = SHA256.Hasher()
            var start = 0
            while start < count {
                let end = min(count, start + Int(generator.next() % 700))
                bytes[start..<end].withUnsafeBytes { hasher.update($0) }
                start = end
                if generator.next() % 4 == 0 { hasher.update([]) }
            }
            #expect(hasher.finalize() == SHA256.hash(bytes), "round \(round), \(count) bytes")
        }
        #expect(SHA256.Hasher().finalize() == SHA256.hash([]))
    }

    @Test func hasherIsAValue() {
        var first = SHA256.Hasher()
        first.update(Array("ab".utf8))
        var second = first  // copies the state at this point
        first.update(Array("c".utf8))
        second.update(Array("d".utf8))
        #expect(first.finalize() == SHA256.hash(Array("abc".utf8)))
        #expect(second.finalize() == SHA256.hash(Array("abd".utf8)))
        // finalize leaves the state alone: asking twice, or updating afterwards, still works.
        #expect(first.finalize() == SHA256.hash(Array("abc".utf8)))
        first.update(Array("def".utf8))
        #expect(first.finalize() == SHA256.hash(Array("abcdef".utf8)))
    }

    @Test func agreesWithSha256sum() throws {
        let scratch = try ScratchDirectory()
        let bytes = randomBytes(100 * 1024, seed: 0x5A5A)
        try writeBytes(bytes, to: scratch.file("input"))
        try runTool(["sha256sum", scratch.file("input").path], stdout: scratch.file("sum"))
        let line = String(decoding: try readBytes(scratch.file("sum")), as: UTF8.self)
        #expect(String(line.prefix(64)) == SHA256.hash(bytes).hex)
    }
}
