// swift-tools-version:6.0
//
// Layers, bottom to top (arrows point down only):
//   RibbonSystem          errno errors, files, the monotonic clock, the background task, huge-page
//                         advice, hex, JSON. Glibc only, depends on nothing; any module may use it
//                         ("leaf" below: nothing but RibbonSystem)
//   CRibbonABI            C layout of the structures shared with native code (FiberHeader, signals)
//   RibbonCore            ISA table, instruction words, Ids, unit-image format constants      (leaf)
//   RibbonSyntax          lexer, parser, AST, diagnostics                                       (leaf)
//   RibbonBytecode        Builder, Encoder, Decoder/disassembler, unit images (serialize, load)
//   RibbonCompiler        type checking and lowering AST -> Builder
//   RibbonVM              Fiber, interpreter loop, builtins, traps and backtraces
//   X86Assembler          pure x86-64 encoder (no mmap, no VM knowledge); CCPUID for host features
//   X86Disassembler       x86-64 machine code -> Intel-syntax text, through Capstone (CCapstone)
//   RibbonJIT             bytecode -> machine code with the builtin ABI, executable memory, tier-up
//   CacheCodecs           LZ4 frames (CLZ4) and SHA-256 (CCrypto) for the compilation cache  (leaf)
//   SQLiteSupport         thin sqlite3 wrapper (CSQLite): Database, Statement, errors, migrator (leaf)
//   RibbonCache           the persistent compilation cache: schema (embedded migrations), keys, store
//   RibbonDriver          the pipeline: source -> compile -> load -> run
//   RibbonCLI             ArgumentParser commands (a library, so tests can drive them)
//   RibbonFuzz            fuzz targets and a deterministic mutation harness (tools/fuzz; not in ribbon)
//   CRibbonStartup        the executable's argv for Swift's CommandLine, from glibc (release)
//   ribbon                @main only
import PackageDescription

/// How the release `ribbon` is linked, for start-up time (Documentation/Performance.md,
/// "Start-up"; each measured with hyperfine on hello.rib, together about 2.8 -> 2.0 ms):
/// - `-no-pie`: a position-dependent executable has no relative relocations for ld.so to apply
///   at every start (38,000 of them, each page of metadata and witness tables they touch copied
///   on write).
/// - libstdc++ and libgcc linked statically (`tools/link/libstdc++.so` is a linker script that
///   sends `--static-swift-stdlib`'s `-lstdc++` to libstdc++.a): two shared libraries fewer to
///   map, relocate and bind symbols for. libc and libm stay shared: `foreign` functions come
///   from them through `dlsym`.
/// - `--no-export-dynamic`: the executable's own 2,700 Swift symbols are not exported (nothing
///   looks them up; `dladdr` in the Swift runtime's start-up scans them linearly).
/// - SQLite, LZ4 and libcrypto statically, the same way (`tools/link/lib*.so` scripts), once the
///   product links the cache: loaded as shared libraries they add about 1.3 ms to every start
///   (libcrypto alone about 0.65 ms), linked statically about 0.1 ms. Their `systemLibrary`
///   targets name no `pkgConfig`, because pkg-config's `-L/usr/lib/x86_64-linux-gnu` would come
///   before `tools/link` and find the `.so` first (Debian's headers are in /usr/include anyway).
/// Debug builds (the tests) link as SwiftPM does by default.
let releaseStartupLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-Xclang-linker", "-no-pie",
            "-Xclang-linker", "-static-libgcc",
            "-L", Context.packageDirectory + "/tools/link",
            "-Xlinker", "--no-export-dynamic",
        ],
        .when(configuration: .release)),
]

let package = Package(
    name: "Ribbon",
    products: [
        .executable(name: "ribbon", targets: ["ribbon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // Swift 6 mode: its background task is shared between threads.
        .target(name: "RibbonSystem", swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "CRibbonABI"),
        .target(name: "RibbonCore", dependencies: ["CRibbonABI"]),
        .target(name: "RibbonSyntax", dependencies: ["RibbonSystem"]),
        .target(name: "RibbonBytecode", dependencies: ["RibbonCore"]),
        .target(name: "RibbonCompiler", dependencies: ["RibbonSyntax", "RibbonBytecode"]),
        .target(name: "RibbonVM", dependencies: ["RibbonBytecode", "RibbonSystem"]),
        .target(name: "CCPUID"),
        .target(name: "X86Assembler", dependencies: ["CCPUID"]),
        .systemLibrary(
            name: "CCapstone",
            providers: [.apt(["libcapstone-dev"])]
        ),
        .target(name: "X86Disassembler", dependencies: ["CCapstone", "RibbonSystem"]),
        .target(name: "RibbonJIT", dependencies: ["RibbonVM", "X86Assembler", "X86Disassembler", "RibbonSystem"]),
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CacheCodecs", dependencies: ["CLZ4", "CCrypto", "RibbonSystem"]),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "SQLiteSupport", dependencies: ["CSQLite", "RibbonSystem"]),
        .target(name: "RibbonCache", dependencies: ["SQLiteSupport", "CacheCodecs", "RibbonSystem"]),
        .target(name: "CRibbonSystem"),
        .target(
            name: "RibbonDriver",
            dependencies: ["RibbonCompiler", "RibbonVM", "RibbonJIT", "RibbonCache", "RibbonSystem", "CRibbonSystem"]
        ),
        .target(
            name: "RibbonCLI",
            dependencies: [
                "RibbonDriver",
                "RibbonCache",
                "RibbonSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Replaces the Swift runtime's /proc/self/maps argv lookup in the release binary.
        .target(name: "CRibbonStartup", cSettings: [.define("RIBBON_STATIC_ARGV", .when(configuration: .release))]),
        .executableTarget(
            name: "ribbon", dependencies: ["RibbonCLI", "CRibbonStartup"], linkerSettings: releaseStartupLinking),
        // Fuzz targets and the deterministic mutation harness (tools/fuzz/run.sh builds them
        // with libFuzzer; RibbonFuzzTests runs a smoke campaign of each). Not part of `ribbon`.
        .target(
            name: "RibbonFuzz",
            dependencies: [
                "RibbonDriver", "RibbonCompiler", "RibbonVM", "RibbonJIT", "RibbonCache", "CacheCodecs", "SQLiteSupport",
                "RibbonSystem",
            ]),

        .testTarget(name: "RibbonSystemTests", dependencies: ["RibbonSystem"]),
        .testTarget(name: "RibbonCoreTests", dependencies: ["RibbonCore"]),
        .testTarget(name: "RibbonSyntaxTests", dependencies: ["RibbonSyntax"]),
        .testTarget(name: "RibbonBytecodeTests", dependencies: ["RibbonBytecode"]),
        .testTarget(name: "RibbonCompilerTests", dependencies: ["RibbonCompiler"]),
        .testTarget(name: "RibbonVMTests", dependencies: ["RibbonVM", "RibbonCompiler"]),
        .testTarget(
            name: "RibbonCLITests",
            dependencies: ["RibbonCLI", "RibbonDriver", "RibbonVM", "RibbonCache", "SQLiteSupport", "CacheCodecs"]),
        .testTarget(name: "X86AssemblerTests", dependencies: ["X86Assembler"]),
        .testTarget(name: "X86DisassemblerTests", dependencies: ["X86Disassembler", "X86Assembler"]),
        .testTarget(name: "RibbonJITTests", dependencies: ["RibbonJIT", "RibbonCompiler"]),
        .testTarget(name: "CacheCodecsTests", dependencies: ["CacheCodecs"]),
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "RibbonDriver", "RibbonVM", "RibbonCache", "RibbonJIT", "RibbonBytecode", "RibbonSyntax", "CacheCodecs",
                "SQLiteSupport", "RibbonSystem",
            ]),
        .testTarget(name: "SQLiteSupportTests", dependencies: ["SQLiteSupport"]),
        .testTarget(name: "RibbonCacheTests", dependencies: ["RibbonCache", "SQLiteSupport", "CacheCodecs"]),
        .testTarget(name: "RibbonFuzzTests", dependencies: ["RibbonFuzz", "RibbonBytecode", "RibbonVM", "RibbonJIT"]),
    ],
    // Swift 5 mode: the engine talks to C globals (stdout) and raw pointers across a single
    // thread; Swift 6's strict checking would only add `nonisolated(unsafe)` noise.
    swiftLanguageModes: [.v5]
)
