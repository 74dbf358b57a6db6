// The libFuzzer entry points for every fuzz target in `RibbonFuzz` (tools/fuzz/build.sh builds
// this file with `-sanitize=fuzzer`; tools/fuzz/run.sh runs it). libFuzzer owns `main`.
//
// Environment: RIBBON_FUZZ_TARGET (frontend, image, blob, cache, bytecode, hitlog), RIBBON_ROOT (the
// repository: seeds come from its examples), RIBBON_FUZZ_SEED_DIR (if set and empty, the seeds
// are written there first, so it can be the corpus directory). RIBBON_FUZZ_MUTATIONS=N runs the
// deterministic harness instead (`Campaign`, what the smoke tests run; RIBBON_FUZZ_SEED picks
// its generator seed), prints its report and exits: 0 without findings, 1 with.
#if canImport(Glibc)
import Glibc
#endif
import RibbonDriver
import RibbonFuzz

nonisolated(unsafe) var target = FuzzTarget.frontEnd
nonisolated(unsafe) var runner = FuzzRunner()
nonisolated(unsafe) var cacheDirectory: String? = nil

func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = environment("RIBBON_FUZZ_TARGET") ?? "frontend"
    guard let chosen = FuzzTarget(rawValue: name) else {
        fputs("ribbon-fuzz: unknown RIBBON_FUZZ_TARGET \(name)\n", stderr)
        exit(2)
    }
    target = chosen
    if target == .cache || target == .hitLog {
        cacheDirectory = FuzzRunner.makeTemporaryCacheDirectory()
        atexit { if let d = cacheDirectory { FuzzRunner.removeCacheDirectory(d) } }
    }
    runner = FuzzRunner(budget: 2000, cacheDirectory: cacheDirectory)
    if let count = environment("RIBBON_FUZZ_MUTATIONS").flatMap({ Int($0) }), let root = environment("RIBBON_ROOT") {
        let seed = environment("RIBBON_FUZZ_SEED").flatMap { UInt64($0) } ?? 1
        let report = Campaign(target: target, seeds: Seeds(root: root), runner: runner).run(iterations: count, seed: seed)
        print(report)
        for (finding, input) in report.findings.prefix(20) {
            print("FINDING: \(finding) (input of \(input.count) bytes)")
        }
        exit(report.findings.isEmpty ? 0 : 1)
    }
    if let directory = environment("RIBBON_FUZZ_SEED_DIR"), let root = environment("RIBBON_ROOT") {
        writeSeeds(Seeds(root: root), to: directory)
    }
    return 0
}

/// The seeds of the target, one file each, unless the directory already has inputs.
func writeSeeds(_ seeds: Seeds, to directory: String) {
    mkdir(directory, 0o755)
    if let dir = opendir(directory) {
        var count = 0
        while let entry = readdir(dir) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        closedir(dir)
        if count > 0 { return }
    }
    let inputs: [[UInt8]]
    switch target {
    case .frontEnd: inputs = seeds.sources.map(\.bytes)
    case .unitImage: inputs = seeds.images
    case .machineCode: inputs = seeds.blobs
    case .cache: inputs = seeds.cacheRows
    case .hitLog: inputs = seeds.hitLogs
    case .bytecode: inputs = (0..<64).map { i in (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i &* 7) } }
    }
    for (i, input) in inputs.enumerated() {
        guard let f = fopen(directory + "/seed-\(i)", "wb") else { continue }
        _ = input.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try runner.run(target, input)
    } catch {
        // A broken property is a crash to libFuzzer: it saves the input as crash-….
        fputs("ribbon-fuzz: FINDING: \(error)\n", stderr)
        abort()
    }
    return 0
}
