#if canImport(Glibc)
import Glibc
#endif
import RibbonBytecode
import RibbonCompiler
import RibbonDriver
import RibbonJIT
import RibbonSyntax
import RibbonSystem

/// The inputs every campaign starts from, built from the example programs: their sources, the
/// unit images the compiler makes of them, the machine code the JIT makes of every function, and the cache rows that hold both.
package struct Seeds {
    package var sources: [(path: String, bytes: [UInt8])] = []
    package var images: [[UInt8]] = []
    package var blobs: [[UInt8]] = []
    package var cacheRows: [[UInt8]] = []
    /// Hit logs with the damage of issue 12 (`HitLogInput.seeds`; not from the examples).
    package var hitLogs: [[UInt8]] = HitLogInput.seeds

    /// The `.rib` files under `examples/` and `../shared/examples/` of the repository at `root`
    /// (sorted, so that campaigns are deterministic).
    package static func exampleSources(root: String) -> [(path: String, bytes: [UInt8])] {
        var paths: [String] = []
        for directory in [root + "/examples", root + "/../shared/examples"] {
            collect(directory, into: &paths)
        }
        return paths.sorted().compactMap { path in
            (try? FileSystem.readFile(path)).map { (path, $0) }
        }
    }

    static func collect(_ directory: String, into paths: inout [String]) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            guard let st = try? FileSystem.status(path) else { continue }
            if FileSystem.isDirectory(st) {
                collect(path, into: &paths)
            } else if name.hasSuffix(".rib") {
                paths.append(path)
            }
        }
    }

    /// Compiles every source that compiles; JIT-compiles every function of each image.
    package init(root: String) {
        sources = Seeds.exampleSources(root: root)
        for (path, bytes) in sources {
            let (program, diagnostics) = check(SourceFile(path: path, bytes: bytes))
            guard let program, diagnostics.isEmpty, program.uses.isEmpty, let image = lower(program).image else {
                continue
            }
            images.append(image.bytes)
            guard let unit = try? LoadedUnit(image: image, resolver: BoundedRun.resolver) else { continue }
            var unitBlobs: [(UInt32, [UInt8])] = []
            for function in unit.functions {
                if let code = try? JITCompiler.compile(function) {
                    unitBlobs.append((function.id, code.serialized()))
                }
            }
            blobs += unitBlobs.map(\.1)
            cacheRows.append(CacheRows(image: image.bytes, blobs: unitBlobs).encoded())
        }
    }
}

/// One unit's cache rows as a single fuzz input: the image and its machine-code blobs.
///
/// Layout: u32 image length, the image, then for each blob u32 function Id, u32 length and the
/// blob. Whatever does not parse is dropped (a truncated blob list is still an input).
package struct CacheRows: Equatable {
    package var image: [UInt8]
    package var blobs: [(functionId: UInt32, blob: [UInt8])]

    package init(image: [UInt8], blobs: [(UInt32, [UInt8])]) {
        self.image = image
        self.blobs = blobs.map { ($0.0, $0.1) }
    }

    package static func == (a: CacheRows, b: CacheRows) -> Bool {
        a.image == b.image && a.blobs.elementsEqual(b.blobs) { $0.functionId == $1.functionId && $0.blob == $1.blob }
    }

    package func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        u32(UInt32(image.count))
        out += image
        for (id, blob) in blobs {
            u32(id)
            u32(UInt32(blob.count))
            out += blob
        }
        return out
    }

    package init(decoding bytes: [UInt8]) {
        var at = 0
        func u32() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            defer { at += 4 }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        func take(_ n: UInt32?) -> [UInt8]? {
            guard let n, Int(n) <= bytes.count - at else { return nil }
            defer { at += Int(n) }
            return Array(bytes[at..<at + Int(n)])
        }
        blobs = []
        guard let image = take(u32()) else {
            self.image = Array(bytes[min(4, bytes.count)...])
            return
        }
        self.image = image
        while let id = u32(), let blob = take(u32()) { blobs.append((id, blob)) }
    }
}
