import CacheCodecs
import Foundation
import SQLiteSupport
import Testing

@testable import RibbonCache

@Suite struct CacheStoreTests {
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/ribbon-cache-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        lstat(path, &st)
        return st.st_mode & 0o777
    }

    static let key = UnitKeyFactors(source: Array("main := 1".utf8), compilerIdentity: "test", ribbonBuild: "b1").key

    @Test func createsAPrivateDirectoryAndDatabase() throws {
        let root = Self.temporaryDirectory()
        let store = try CacheStore(directory: root + "/nested/cache")
        #expect(Self.mode(root + "/nested/cache") == 0o700)
        #expect(Self.mode(store.databasePath) == 0o600)
        #expect(store.warnings.isEmpty)
    }

    @Test func refusesCachesOthersCouldHaveWritten() throws {
        let root = Self.temporaryDirectory()
        let open = root + "/open"
        mkdir(open, 0o700)
        chmod(open, 0o777)
        let untrusted1 = #expect(throws: CacheError.self) { _ = try CacheStore(directory: open) }
        #expect(untrusted1?.kind == .untrusted)

        let real = root + "/real"
        mkdir(real, 0o700)
        symlink(real, root + "/link")
        let untrusted2 = #expect(throws: CacheError.self) { _ = try CacheStore(directory: root + "/link") }
        #expect(untrusted2?.kind == .untrusted)

        let theirs = root + "/theirs"
        mkdir(theirs, 0o700)
        if getuid() == 0 {  // only root can give a directory away
            chown(theirs, 12345, 12345)
            let untrusted3 = #expect(throws: CacheError.self) { _ = try CacheStore(directory: theirs) }
            #expect(untrusted3?.kind == .untrusted)
        }

        let mine = root + "/mine"
        _ = try CacheStore(directory: mine)
        chmod(mine + "/" + CacheDirectory.databaseName, 0o666)
        let untrusted4 = #expect(throws: CacheError.self) { _ = try CacheStore(directory: mine) }
        #expect(untrusted4?.kind == .untrusted)
    }

    @Test func keysChangeWithEveryFactor() {
        let base = UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "c", ribbonBuild: "b", options: "o")
        var variants = [base]
        variants.append(UnitKeyFactors(source: [1, 2, 4], compilerIdentity: "c", ribbonBuild: "b", options: "o"))
        variants.append(UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "d", ribbonBuild: "b", options: "o"))
        variants.append(UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "c", ribbonBuild: "x", options: "o"))
        variants.append(UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "c", ribbonBuild: "b", options: ""))
        variants.append(
            UnitKeyFactors(
                source: [1, 2, 3], dependencyKeys: [Self.key], compilerIdentity: "c", ribbonBuild: "b", options: "o"))
        // Moving text between factors must not give the same key (length-prefixed parts).
        variants.append(UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "cb", ribbonBuild: "", options: "o"))
        #expect(Set(variants.map(\.key)).count == variants.count)
        #expect(base.key == UnitKeyFactors(source: [1, 2, 3], compilerIdentity: "c", ribbonBuild: "b", options: "o").key)
    }

    @Test func storedUnitAndMachineCodeComeBack() throws {
        let store = try CacheStore(directory: Self.temporaryDirectory())
        #expect(try store.load(key: Self.key, jitIdentity: "j", hostFeatures: []) == .miss)
        let image = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try store.store(
            key: Self.key, sourcePath: "a.rib", image: image, compileMicroseconds: 120, ribbonBuild: "b1",
            jitIdentity: "j",
            machineCode: [
                .init(functionId: 0, features: [], blob: [1, 2, 3], jitMicroseconds: 10),
                .init(functionId: 0, features: ["sse4.1"], blob: [4, 5, 6], jitMicroseconds: 10),
                .init(functionId: 1, features: ["avx2"], blob: [7], jitMicroseconds: 10),
            ])
        // The host without SSE4.1 gets the baseline blob of function 0 and nothing for 1.
        #expect(
            try store.load(key: Self.key, jitIdentity: "j", hostFeatures: ["sse2"])
                == .hit(image: image, machineCode: [.init(functionId: 0, features: [], blob: [1, 2, 3])], badMachineCode: 0))
        // A newer host gets the better blob.
        #expect(
            try store.load(key: Self.key, jitIdentity: "j", hostFeatures: ["sse4.1", "avx2"])
                == .hit(
                    image: image,
                    machineCode: [
                        .init(functionId: 0, features: ["sse4.1"], blob: [4, 5, 6]),
                        .init(functionId: 1, features: ["avx2"], blob: [7]),
                    ], badMachineCode: 0))
        // Another JIT identity sees the unit but none of this JIT's code.
        #expect(try store.load(key: Self.key, jitIdentity: "other", hostFeatures: []) == .hit(image: image, machineCode: [], badMachineCode: 0))
    }

    /// Flipping a byte of a stored frame makes the row bad (hash or decompression), never a
    /// crash; storing again replaces it.
    @Test func damagedRowsAreReportedAndReplaced() throws {
        let store = try CacheStore(directory: Self.temporaryDirectory())
        let image = Array(repeating: UInt8(42), count: 3000) + [1, 2, 3]
        func put() throws {
            try store.store(
                key: Self.key, sourcePath: "a.rib", image: image, compileMicroseconds: 1, ribbonBuild: "b1",
                jitIdentity: "j", machineCode: [.init(functionId: 0, features: [], blob: [9, 9, 9], jitMicroseconds: 1)])
        }
        try put()
        let raw = try Database(path: store.databasePath)
        let frameLength = try { () throws -> Int in
            let s = try raw.statement("SELECT length(image) FROM units")
            _ = try s.step()
            defer { s.reset() }  // end the read snapshot before writing on this connection
            return Int(s.int64(0))
        }()
        for position in stride(from: 0, to: frameLength, by: 3) {
            try raw.execute(
                "UPDATE units SET image = substr(image, 1, \(position)) || x'FF' || substr(image, \(position + 2))")
            let result = try store.load(key: Self.key, jitIdentity: "j", hostFeatures: [])
            if case .hit(let got, _, _) = result { #expect(got == image) }  // a flip that changed nothing
            try put()
        }
        try raw.execute("UPDATE machine_code SET blob = x'00'")
        #expect(try store.load(key: Self.key, jitIdentity: "j", hostFeatures: []) == .hit(image: image, machineCode: [], badMachineCode: 1))
        try put()
        #expect(
            try store.load(key: Self.key, jitIdentity: "j", hostFeatures: [])
                == .hit(image: image, machineCode: [.init(functionId: 0, features: [], blob: [9, 9, 9])], badMachineCode: 0))
    }

    @Test func databaseFromANewerRibbonIsMovedAside() throws {
        let directory = Self.temporaryDirectory()
        let first = try CacheStore(directory: directory)
        let raw = try Database(path: first.databasePath)
        try raw.setUserVersion(99)
        raw.close()
        let second = try CacheStore(directory: directory)
        #expect(second.warnings.count == 1)
        #expect(second.warnings[0].contains("newer"))
        #expect(try second.load(key: Self.key, jitIdentity: "j", hostFeatures: []) == .miss)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(names.contains { $0.contains(".newer-v99") })
    }

    /// Several writers on one cache at once (each with its own connection) all land.
    @Test func concurrentWritersAllLand() throws {
        let directory = Self.temporaryDirectory()
        _ = try CacheStore(directory: directory)
        let keys = (0..<8).map { UnitKeyFactors(source: [UInt8($0)], compilerIdentity: "c", ribbonBuild: "b").key }
        DispatchQueue.concurrentPerform(iterations: keys.count) { i in
            let store = try! CacheStore(directory: directory)
            for round in 0..<5 {
                try! store.store(
                    key: keys[i], sourcePath: "\(i).rib", image: Array(repeating: UInt8(i), count: 1000 + round),
                    compileMicroseconds: 1, ribbonBuild: "b", jitIdentity: "j", machineCode: [])
            }
        }
        let store = try CacheStore(directory: directory)
        for (i, key) in keys.enumerated() {
            #expect(try store.load(key: key, jitIdentity: "j", hostFeatures: []) == .hit(image: Array(repeating: UInt8(i), count: 1004), machineCode: [], badMachineCode: 0))
        }
    }
}
