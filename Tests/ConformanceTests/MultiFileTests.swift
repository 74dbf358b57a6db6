import CacheCodecs
import Foundation
import RibbonBytecode
@testable import RibbonCache
import RibbonCore
import RibbonJIT
import SQLiteSupport
import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Programs of several files (LANGUAGE.md, "Files that use other files"): examples/use/main.rib
/// uses lib/mid.rib, which uses lib/leaf.rib, which main.rib uses directly too. One unit per
/// file, linked by name at load, each cached under its own key.
@Suite struct MultiFileTests {
    static let examples = ExampleFile.packageRoot.appendingPathComponent("examples/use").path
    static let expected = (try? String(contentsOfFile: examples + "/main.out", encoding: .utf8)) ?? ""

    static let modes: [(JITMode, Int?)] = [(.off, nil), (.eager, nil), (.tier, 2)]

    /// A copy of examples/use that a test may edit, and a cache of its own.
    final class Workspace {
        let temporary: TemporaryDirectory
        let cache: TemporaryDirectory
        /// The directory, spelled as the loader spells the paths it joins.
        let path: String
        var main: String { path + "/main.rib" }
        var mid: String { path + "/lib/mid.rib" }
        var leaf: String { path + "/lib/leaf.rib" }

        init() throws {
            temporary = try TemporaryDirectory()
            path = ProgramLoader.clean(temporary.path)
            cache = try TemporaryDirectory()
            for file in ["main.rib", "lib/mid.rib", "lib/leaf.rib"] {
                let target = path + "/" + file
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: MultiFileTests.examples + "/" + file, toPath: target)
            }
        }

        func append(_ text: String, to path: String) throws {
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            handle.closeFile()
        }

        func prepend(_ text: String, to path: String) throws {
            let old = try String(contentsOfFile: path, encoding: .utf8)
            try (text + old).write(toFile: path, atomically: false, encoding: .utf8)
        }

        func write(_ text: String, _ name: String) throws -> String {
            let file = path + "/" + name
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: file, atomically: false, encoding: .utf8)
            return file
        }
    }

    struct Run {
        var report: Driver.ExecutionReport
        var stats: [String: Any]
        var output: String { String(decoding: report.standardOutput, as: UTF8.self) }
        var errors: String { report.standardError }
        func count(_ name: String) -> Int { stats[name] as? Int ?? -1 }
    }

    static func run(_ path: String, _ mode: JITMode = .tier, threshold: Int? = 2, cache: String?) -> Run {
        var options = RunOptions()
        options.jit = mode
        options.jitThreshold = threshold
        options.useCache = cache != nil
        options.cacheDirectory = cache
        options.printStats = true
        let report = Driver.execute(path: path, options: options, output: .buffer)
        let line = report.standardError.split(separator: "\n").last.map(String.init) ?? ""
        let stats = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return Run(report: report, stats: stats)
    }

    @Test(arguments: [0, 1, 2])
    func threeFilesRunColdThenWarmInEveryEngineMode(_ modeIndex: Int) throws {
        let (mode, threshold) = Self.modes[modeIndex]
        let w = try Workspace()
        let plain = Self.run(w.main, mode, threshold: threshold, cache: nil)
        #expect(plain.output == Self.expected, "--jit \(mode)")
        #expect(plain.report.status == 0, "\(plain.errors)")
        #expect(plain.count("units_compiled") == 3)

        let cold = Self.run(w.main, mode, threshold: threshold, cache: w.cache.path)
        #expect(cold.output == Self.expected)
        #expect(cold.report.status == 0, "\(cold.errors)")
        #expect(cold.stats["unit"] as? String == "miss")
        #expect(cold.count("units_compiled") == 3 && cold.count("units_loaded") == 0)
        #expect(cold.count("functions_compiled") == 8)

        for _ in 0..<2 {
            let warm = Self.run(w.main, mode, threshold: threshold, cache: w.cache.path)
            #expect(warm.output == Self.expected)
            #expect(warm.report.status == 0, "\(warm.errors)")
            #expect(warm.stats["unit"] as? String == "hit")
            #expect(warm.count("units_compiled") == 0 && warm.count("units_loaded") == 3, "\(warm.stats)")
            #expect(warm.count("functions_compiled") == 0)
            #expect(!warm.errors.contains("warning"), "\(warm.errors)")
            if mode != .off { #expect(warm.count("jit_compiled") == 0, "machine code of every unit is loaded") }
        }
    }

    @Test func editingAFileRecompilesItAndTheFilesThatUseItNoOthers() throws {
        let w = try Workspace()
        func compiled() -> (compiled: Int, loaded: Int, unit: String) {
            let r = Self.run(w.main, cache: w.cache.path)
            #expect(r.output == Self.expected)
            #expect(r.report.status == 0, "\(r.errors)")
            return (r.count("units_compiled"), r.count("units_loaded"), r.stats["unit"] as? String ?? "")
        }
        #expect(compiled() == (3, 0, "miss"))
        #expect(compiled() == (0, 3, "hit"))
        try w.append(";; the leaf changed\n", to: w.leaf)
        #expect(compiled() == (3, 0, "miss"))  // leaf, and mid and main, which use it
        try w.prepend(";; main changed: its lines move\n", to: w.main)
        #expect(compiled() == (1, 2, "miss"))  // main only
        try w.append(";; mid changed\n", to: w.mid)
        #expect(compiled() == (2, 1, "miss"))  // mid and main
        #expect(compiled() == (0, 3, "hit"))

        // main.rib's image depends on its source and the interfaces of what it uses, not on
        // their bodies: the leaf's edit changed main's key, not main's bytes.
        let db = try Database(path: w.cache.path + "/cache.sqlite")
        let rows = try db.statement("SELECT hex(image_sha256) FROM units WHERE source_path LIKE '%/main.rib'")
        var hashes: [String] = []
        while try rows.step() { hashes.append(rows.text(0)) }
        #expect(hashes.count == 4)  // first, after the leaf's, main's and mid's edits
        #expect(Set(hashes).count == 2)  // main's own edit is the only one that changed its image
    }

    @Test func aChangedInterfaceIsCheckedAgainstTheFilesThatUseIt() throws {
        let w = try Workspace()
        #expect(Self.run(w.main, cache: w.cache.path).report.status == 0)
        var leaf = try String(contentsOfFile: w.leaf, encoding: .utf8)
        leaf = leaf.replacingOccurrences(of: "bump := fun (by: I64) -> I64.", with: "bump := fun (by: F64) -> I64.")
        leaf = leaf.replacingOccurrences(of: "counter = counter + by", with: "counter = counter + int by")
        try leaf.write(toFile: w.leaf, atomically: false, encoding: .utf8)
        let r = Self.run(w.main, cache: w.cache.path)
        #expect(r.report.status == 1)
        #expect(r.errors.contains("\(w.mid):6:10: error: argument 1 of `bump` must be F64, not I64"), "\(r.errors)")
    }

    @Test func aCycleIsACompileErrorThatNamesTheFiles() throws {
        let w = try Workspace()
        let a = try w.write("use \"b.rib\"\nmain := fun () -> I64.\n    0\n", "a.rib")
        _ = try w.write(";; b\nuse \"sub/c.rib\"\n", "b.rib")
        _ = try w.write("use \"../a.rib\"\n", "sub/c.rib")
        let d = w.path
        for cache in [nil, w.cache.path] {
            let r = Self.run(a, cache: cache)
            #expect(r.report.status == 1)
            #expect(
                r.errors.contains(
                    "\(d)/sub/c.rib:1:1: error: `use` cycle: \(d)/a.rib uses \(d)/b.rib, which uses \(d)/sub/c.rib, which uses \(d)/a.rib\nuse \"../a.rib\"\n^\n"
                ), "\(r.errors)")
            #expect(r.errors.contains("ribbon: 1 error in \(d)/sub/c.rib"))
        }
        let itself = try w.write("x := 1\nuse \"self.rib\"\n", "self.rib")
        #expect(Self.run(itself, cache: nil).errors.contains("self.rib:2:1: error: `use` cycle: \(d)/self.rib uses \(d)/self.rib"))
    }

    @Test func aMissingUsedFileIsAnErrorAtTheUse() throws {
        let w = try Workspace()
        let path = try w.write("x := 1\n\nuse \"lib/gone.rib\"\nuse \"lib\"\n", "missing.rib")
        for cache in [nil, w.cache.path] {
            let r = Self.run(path, cache: cache)
            #expect(r.report.status == 1)
            let d = w.path
            #expect(r.errors.contains(
                "\(d)/missing.rib:3:1: error: cannot use \"lib/gone.rib\": cannot read \(d)/lib/gone.rib: No such file or directory\nuse \"lib/gone.rib\"\n^\n"),
                "\(r.errors)")
            #expect(r.errors.contains("missing.rib:4:1: error: cannot use \"lib\": cannot read \(d)/lib: Is a directory"))
            #expect(r.errors.contains("ribbon: 2 errors in \(d)/missing.rib"))
        }
    }

    @Test func errorsInAUsedFileAreReportedInThatFile() throws {
        let w = try Workspace()
        _ = try w.write("broken := fun () -> I64.\n    true\n", "lib/broken.rib")
        let path = try w.write("use \"lib/broken.rib\"\nmain := fun () -> I64.\n    broken ()\n", "uses_broken.rib")
        let r = Self.run(path, cache: w.cache.path)
        #expect(r.report.status == 1)
        #expect(r.errors.contains("\(w.path)/lib/broken.rib:2:5: error:"), "\(r.errors)")
        #expect(r.errors.contains("ribbon: 1 error in \(w.path)/lib/broken.rib"))
    }

    /// The backtrace names each frame's own file and line, in every engine mode, from the
    /// cache or not.
    @Test func aRuntimeErrorInAUsedFileShowsThatFilesLine() throws {
        let path = ExampleFile.packageRoot.appendingPathComponent("examples/use/runtime_error.rib").path
        let cache = try TemporaryDirectory()
        var texts: [String] = []
        for (mode, threshold) in Self.modes {
            for cachePath in [nil, cache.path, cache.path] {
                let r = Self.run(path, mode, threshold: threshold, cache: cachePath)
                #expect(r.report.status == 70)
                texts.append(r.errors.split(separator: "\n").dropLast().joined(separator: "\n"))
            }
        }
        let lib = Self.examples + "/lib/table.rib"
        #expect(
            texts[0]
                == "runtime error: index 4 out of range for array of length 4\n  at total (\(lib):14)\n  at main (\(path):12)")
        #expect(Set(texts).count == 1, "\(texts)")
    }

    /// A function of one unit that the JIT compiles is reached through the slots of the units
    /// that import it too: the swap rewrites them.
    @Test func importedSlotsFollowTheJIT() throws {
        let loader = ProgramLoader(cache: nil)
        let root = try loader.load(root: Self.examples + "/main.rib")
        #expect(loader.files.map { ($0.path as NSString).lastPathComponent } == ["leaf.rib", "mid.rib", "main.rib"])
        let leaf = try #require(loader.files[0].unit)
        let mid = try #require(loader.files[1].unit)
        let main = try #require(root.unit)
        let bumpId = try #require(leaf.symbol(named: "bump"))
        func slot(_ unit: LoadedUnit, _ name: String) throws -> UInt64 {
            let id = try #require(unit.entryNames.first { $0.value.hasSuffix(":" + name) }?.key)
            return unit.addressTable[id]
        }
        #expect(try slot(main, "bump") == leaf.addressTable[Int(bumpId)])
        #expect(try slot(mid, "bump") == leaf.addressTable[Int(bumpId)])
        #expect(leaf.addressTable[Int(bumpId)] & bytecodeEntryTag != 0)
        let jit = JITEngine()
        #expect(jit.install(try #require(leaf.function(id: bumpId)), of: leaf))
        #expect(leaf.addressTable[Int(bumpId)] & bytecodeEntryTag == 0)
        #expect(try slot(main, "bump") == leaf.addressTable[Int(bumpId)])
        #expect(try slot(mid, "bump") == leaf.addressTable[Int(bumpId)])
        // Globals: the same cell everywhere.
        let counterId = try #require(leaf.symbol(named: "counter"))
        #expect(try slot(main, "counter") == leaf.addressTable[Int(counterId)])
        withExtendedLifetime((loader, jit)) {}
    }

    @Test func buildNamesEveryFileAndSharesLibraries() throws {
        let w = try Workspace()
        let other = try w.write("use \"lib/leaf.rib\"\nmain := fun () -> I64.\n    bump 2\n", "other.rib")
        var options = BuildOptions()
        options.cacheDirectory = w.cache.path
        let built = Driver.build(path: w.main, options: options)
        #expect(built.outcome == .compiled, "\(built.messages)")
        #expect(built.files == [w.main, w.leaf, w.mid])
        #expect(built.key == (try CacheKeys.factors(forFile: w.main)).key.hex)
        #expect(Driver.depfile(target: "out", files: built.files) == "out: \(w.main) \(w.leaf) \(w.mid)\n")
        // A second program that shares the leaf compiles only itself.
        let second = Driver.build(path: other, options: options)
        #expect(second.files == [other, w.leaf])
        #expect(second.outcome == .compiled)
        let warm = Self.run(other, cache: w.cache.path)
        #expect(warm.count("units_loaded") == 2 && warm.count("units_compiled") == 0)
        #expect(warm.report.status == 2)
        #expect(Driver.build(path: w.main, options: options).outcome == .cached)
    }

    /// A used file's unit, loaded lazily, with damaged code met in the middle of the run: that
    /// file alone is compiled afresh against what it uses, the output does not change, and the
    /// next run is clean and warm.
    @Test func aDamagedUsedUnitIsRecompiledMidRun() throws {
        let w = try Workspace()
        var chain = "use \"leaf.rib\"\nf0 := fun (x: I64) -> I64.\n    x + bump 0\n"
        for i in 1..<400 {
            chain += "f\(i) := fun (x: I64) -> I64.\n    y := x * 3 + \(i)\n    if y % 2 == 0. (f\(i - 1) 0) + y % 7 else. y % 5\n"
        }
        _ = try w.write(chain, "lib/chain.rib")
        let main = try w.write("use \"lib/chain.rib\"\nmain := fun () -> I64.\n    print (f399 1)\n    print (f201 1)\n    0\n", "chain_main.rib")
        let cold = Self.run(main, .off, threshold: nil, cache: w.cache.path)
        #expect(cold.report.status == 0, "\(cold.errors)")
        #expect(cold.count("units_compiled") == 3)
        // Damage every chunk of the chain's code section.
        let damaged = try ChunkDamage.damageCode(
            databasePath: w.cache.path + "/" + CacheDirectory.databaseName, filter: "source_path LIKE '%/chain.rib'")
        #expect(damaged >= 2)

        let hurt = Self.run(main, .off, threshold: nil, cache: w.cache.path)
        #expect(hurt.report.status == 0)
        #expect(hurt.output == cold.output)
        #expect(hurt.count("units_loaded") == 3)
        let warnings = hurt.errors.split(separator: "\n").filter { $0.hasPrefix("ribbon: warning: cache:") }
        #expect(warnings.count == 1, "\(hurt.errors)")
        #expect(warnings.first?.contains("chain.rib was damaged") == true, "\(warnings)")
        let again = Self.run(main, .off, threshold: nil, cache: w.cache.path)
        #expect(again.output == cold.output)
        #expect(!again.errors.contains("warning"), "\(again.errors)")
        #expect(again.count("units_loaded") == 3 && again.count("units_compiled") == 0)
    }

    /// `clean` returns a path it recognizes as clean already as it is: exactly what splitting
    /// and joining its segments gives, for every path of up to 7 bytes of `a`, `.` and `/`.
    @Test func aPathThatIsCleanAlreadyIsKeptAsItIs() {
        var paths = [""]
        var all: [String] = [""]
        for _ in 1...7 {
            paths = paths.flatMap { p in ["a", ".", "/"].map { p + $0 } }
            all += paths
        }
        var kept = 0
        for path in all {
            #expect(ProgramLoader.clean(path) == ProgramLoader.cleanedBySegments(path), "\(path)")
            if ProgramLoader.isClean(path) { kept += 1 }
        }
        #expect(kept > 100)
    }

    @Test func keyFactorsListTheKeysOfTheUsedFilesInUseOrder() throws {
        let w = try Workspace()
        let main = try CacheKeys.factors(forFile: w.main)
        let mid = try CacheKeys.factors(forFile: w.mid)
        let leaf = try CacheKeys.factors(forFile: w.leaf)
        #expect(leaf.dependencyKeys.isEmpty)
        #expect(mid.dependencyKeys == [leaf.key])
        #expect(main.dependencyKeys == [mid.key, leaf.key])
        #expect(main.factors.map(\.factor) == [.source, .dependency(index: 0), .dependency(index: 1), .compiler, .ribbonBuild, .options])
        // What `run` stores is under exactly these keys.
        #expect(Self.run(w.main, cache: w.cache.path).report.status == 0)
        let store = try CacheStore(directory: w.cache.path)
        for key in [main.key, mid.key, leaf.key] { #expect(try store.unit(key: key.bytes) != nil) }
    }
}
