// swift-tools-version:6.0
//
// Layers, bottom to top (Documentation/Architecture.md has the same list with the file where
// each step happens). A module uses only modules on lower lines, and each target below declares
// every module it imports directly (tools/check_layers.py checks this, run by LayeringTests).
//
//   system     RibbonSystem     errno errors, files, stderr, the monotonic clock, the background
//                               task, huge-page advice, hex, JSON, sizes and times as people write
//                               them. Glibc only; any module may use it
//              C modules        CRibbonABI (layout shared with native code), CCPUID, CCapstone,
//                               CLZ4, CCrypto, CSQLite, CRibbonSystem (build-id), CRibbonStartup
//   engine     RibbonCore       ISA table, instruction words, Ids, AddressTable kinds, foreign signatures
//              RibbonSyntax     lexer, parser, AST, diagnostics
//              RibbonBytecode   builders, unit image (encode, records), LoadedUnit (decode, relocate,
//                               link, place, look up), verifier, disassembler
//              RibbonCompiler   type checking and lowering AST -> bytecode
//              RibbonVM         Fiber, interpreter loop, builtins, traps and backtraces
//              X86Assembler     pure x86-64 encoder (no mmap, no VM knowledge)
//              X86Disassembler  x86-64 machine code -> Intel-syntax text, through Capstone
//              RibbonJIT        bytecode -> machine code by instruction category, validity, install, tier-up
//   storage    CacheCodecs      LZ4 frames and SHA-256
//              SQLiteSupport    thin sqlite3 wrapper: Database, Statement, SQLiteError, ResultCode, migrator
//              RibbonCache      the compilation cache: trust, schema, keys, CacheStore by concern,
//                               CacheError (no module above it sees SQLite)
//   pipeline   RibbonDriver     a program's files walked once, loaded or compiled, run, stored;
//                               build; the cache's failure policy; cache inspection
//   interface  RibbonCLI        ArgumentParser commands (a library, so tests can drive them)
//              ribbon           @main only
//   tools      RibbonFuzz       fuzz targets and a deterministic mutation harness (not in ribbon)
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
        .target(name: "RibbonBytecode", dependencies: ["RibbonCore", "CRibbonABI"]),
        .target(name: "RibbonCompiler", dependencies: ["RibbonSyntax", "RibbonBytecode", "RibbonCore"]),
        .target(name: "RibbonVM", dependencies: ["RibbonBytecode", "RibbonCore", "CRibbonABI", "RibbonSystem"]),
        .target(name: "CCPUID"),
        .target(name: "X86Assembler", dependencies: ["CCPUID"]),
        .systemLibrary(
            name: "CCapstone",
            providers: [.apt(["libcapstone-dev"])]
        ),
        .target(name: "X86Disassembler", dependencies: ["CCapstone", "RibbonSystem"]),
        .target(
            name: "RibbonJIT",
            dependencies: [
                "RibbonVM", "RibbonBytecode", "RibbonCore", "CRibbonABI", "X86Assembler", "X86Disassembler", "RibbonSystem",
            ]),
        .systemLibrary(name: "CLZ4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CacheCodecs", dependencies: ["CLZ4", "CCrypto", "RibbonSystem"]),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "SQLiteSupport", dependencies: ["CSQLite", "RibbonSystem"]),
        .target(
            name: "RibbonCache", dependencies: ["SQLiteSupport", "CacheCodecs", "RibbonSystem"],
            swiftSettings: [.swiftLanguageMode(.v6)]),
        .target(name: "CRibbonSystem"),
        .target(
            name: "RibbonDriver",
            dependencies: [
                "RibbonCompiler", "RibbonSyntax", "RibbonBytecode", "RibbonCore", "CRibbonABI", "RibbonVM", "RibbonJIT",
                "RibbonCache", "CacheCodecs", "RibbonSystem", "CRibbonSystem",
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "RibbonCLI",
            dependencies: [
                "RibbonDriver",
                "RibbonCache",
                "RibbonSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
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
                "RibbonDriver", "RibbonCompiler", "RibbonSyntax", "RibbonBytecode", "RibbonCore", "CRibbonABI", "RibbonVM",
                "RibbonJIT", "RibbonCache", "CacheCodecs", "SQLiteSupport", "RibbonSystem",
            ]),

        .testTarget(name: "RibbonSystemTests", dependencies: ["RibbonSystem"]),
        .testTarget(name: "RibbonCoreTests", dependencies: ["RibbonCore"]),
        .testTarget(name: "RibbonSyntaxTests", dependencies: ["RibbonSyntax"]),
        .testTarget(name: "RibbonBytecodeTests", dependencies: ["RibbonBytecode", "RibbonCore"]),
        .testTarget(
            name: "RibbonCompilerTests", dependencies: ["RibbonCompiler", "RibbonSyntax", "RibbonBytecode", "RibbonCore"]),
        .testTarget(
            name: "RibbonVMTests", dependencies: ["RibbonVM", "RibbonCompiler", "RibbonBytecode", "RibbonCore", "CRibbonABI"]),
        .testTarget(
            name: "RibbonCLITests",
            dependencies: [
                "RibbonCLI", "RibbonDriver", "RibbonVM", "RibbonJIT", "RibbonCache", "SQLiteSupport", "CSQLite", "CacheCodecs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "X86AssemblerTests", dependencies: ["X86Assembler"]),
        .testTarget(name: "X86DisassemblerTests", dependencies: ["X86Disassembler", "X86Assembler"]),
        .testTarget(
            name: "RibbonJITTests",
            dependencies: ["RibbonJIT", "RibbonCompiler", "RibbonSyntax", "RibbonBytecode", "RibbonCore", "CRibbonABI", "RibbonVM"]),
        .testTarget(name: "CacheCodecsTests", dependencies: ["CacheCodecs"]),
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "RibbonDriver", "RibbonVM", "RibbonCache", "RibbonJIT", "RibbonBytecode", "RibbonCore", "RibbonSyntax",
                "CacheCodecs", "SQLiteSupport", "RibbonSystem",
            ]),
        .testTarget(name: "SQLiteSupportTests", dependencies: ["SQLiteSupport"]),
        .testTarget(
            name: "RibbonCacheTests", dependencies: ["RibbonCache", "SQLiteSupport", "CSQLite", "CacheCodecs", "RibbonSystem"]),
        .testTarget(name: "RibbonFuzzTests", dependencies: ["RibbonFuzz", "RibbonBytecode", "RibbonVM", "RibbonJIT"]),
    ],
    // The modules that run work on several threads (RibbonSystem's background task, the cache's
    // decoding behind a lookup, the driver that hands it work, the CLI's parallel `build`)
    // build in Swift 6 mode, with strict concurrency checking. The engine below them (syntax,
    // compiler, bytecode, VM, JIT) runs on the thread that runs the program and talks to C
    // globals and raw pointers; it stays in Swift 5 mode until something there runs in parallel.
    swiftLanguageModes: [.v5]
)
