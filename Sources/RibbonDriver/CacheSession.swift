#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonJIT
import RibbonSystem

/// The cache as one run uses it, with ../shared/DESIGN.md's failure policy: anything the cache does
/// wrong — an untrusted or unwritable directory, a locked or full database, a bad row — is one
/// warning line and a run without (part of) the cache. It never changes the program's output
/// or exit status.
final class CacheSession {
    let store: CacheStore
    /// Warning lines, each `ribbon: warning: cache: …`, for standard error.
    private(set) var warnings: [String] = []
    let maxBytes: Int64

    private init(store: CacheStore, maxBytes: Int64, warnings: [String]) {
        self.store = store
        self.maxBytes = maxBytes
        self.warnings = warnings
    }

    func clearWarnings() { warnings = [] }

    deinit {
        finish()
    }

    static func warning(_ text: String) -> String { "ribbon: warning: cache: \(text)" }

    /// Opens the cache in `directory` (default: `CacheDirectory.defaultPath()`); nil, with the
    /// warning appended to `warnings`, when it cannot be used.
    static func open(directory: String?, warnings: inout [String]) -> CacheSession? {
        guard let path = directory ?? CacheDirectory.defaultPath() else {
            warnings.append(warning("no cache directory (set RIBBON_CACHE_DIR or HOME); running without the cache"))
            return nil
        }
        var maxBytes = CacheStore.defaultMaxBytes
        if let text = Environment.value("RIBBON_CACHE_MAX_SIZE") {
            if let parsed = ByteSize.parse(text) {
                maxBytes = parsed
            } else {
                warnings.append(warning("RIBBON_CACHE_MAX_SIZE=\(text) is not a size (like 512M or 2G); using 1G"))
            }
        }
        do {
            let store = try CacheStore(directory: path, replacingDamaged: true)
            return CacheSession(store: store, maxBytes: maxBytes, warnings: store.warnings.map(warning))
        } catch {
            warnings.append(warning("\(error); running without the cache"))
            return nil
        }
    }

    /// What a lookup found, already decoded and checked.
    enum Lookup {
        case miss
        /// The unit. `machineCode`: all of it, for a unit loaded whole (installed before `main`).
        /// `lazyMachineCode`: a lazily loaded unit that has machine code stored, fetched a
        /// function at a time as functions are placed (`machineCode(key:functionId:path:)`).
        /// `imageDigest`: the stored image's SHA-256, which an image compiled afresh mid-run
        /// must match (nil when the unit was loaded whole: nothing is read later).
        case hit(
            LoadedUnit, machineCode: [(functionId: UInt32, code: MachineCode)], lazyMachineCode: Bool,
            imageDigest: [UInt8]?)
    }

    /// Looks a unit up and loads its image: hash-checked, decompressed, decoded, verified and
    /// relocated. A row that fails any of this is a miss (with one warning); the next store
    /// replaces it.
    /// `recordHit: false` for lookups that are not runs (`ribbon build`). `sourcePath` is the
    /// path the loaded unit names (see `LoadedUnit.init`).
    func lookup(
        key: SHA256Digest, path: String, resolver: SymbolResolver, recordHit: Bool = true, sourcePath: String? = nil
    ) -> Lookup {
        decodeMicroseconds = 0
        func hit(_ unit: LoadedUnit, _ rows: [CacheStore.MachineCodeRow], bad: Int, saved: Int64) -> Lookup {
            if recordHit { pendingHits[key, default: 0] += saved }
            return .hit(
                unit, machineCode: decodeMachineCode(rows, badMachineCode: bad, path: path), lazyMachineCode: false,
                imageDigest: nil)
        }
        func damaged(_ why: String) -> Lookup {
            warnings.append(Self.warning("entry for \(path) is damaged (\(why)); recompiling and replacing it"))
            return .miss
        }
        // A warm run loads the unit lazily: only the chunks of the image it uses are read,
        // decompressed, hash-checked and verified (`LoadedUnit(lazy:)`).
        do {
            // One read transaction for the lookup and the decode (a dozen reads of the row and
            // its chunks), or the program's (`beginSharedRead`); the chunks a run needs later
            // are each read on their own.
            let outcome = try store.readingShared { () throws -> Lookup? in
                switch try store.loadLazily(
                    key: key, jitIdentity: CacheKeys.jitIdentity, warmCode: loadsMachineCode ? Self.hostFeatures : nil)
                {
                case .miss:
                    return .miss
                case .bad(let why):
                    return damaged(why)
                case .wholeOnly:
                    return nil  // a row from before chunked images: loaded whole below
                case .hit(let image, let hasMachineCode, let compileMicroseconds, let warm):
                    let unit: LoadedUnit
                    let t0 = MonotonicClock.microseconds()
                    defer { decodeMicroseconds = MonotonicClock.microseconds() - t0 }
                    // No huge-page heap (`CompilerMemory`): a lazy load allocates the AddressTable
                    // and a stub per function, and each function it places on its own.
                    do {
                        unit = try image.inOneBatch {
                            let unit = try LoadedUnit(lazy: image, resolver: resolver, sourcePath: sourcePath ?? path)
                            // The functions whose machine code the lookup read are placed now,
                            // their chunks read through this batch's one transaction and blob
                            // handle, rather than one read each when the code is installed.
                            // Best effort: one that fails is placed again when it is called.
                            for row in warm.rows { _ = unit.placed(id: row.functionId) }
                            return unit
                        }
                    } catch {
                        warnings.append(
                            Self.warning("entry for \(path) does not load (\(error)); recompiling and replacing it"))
                        return .miss
                    }
                    if recordHit { pendingHits[key, default: 0] += compileMicroseconds + warm.jitMicroseconds }
                    warmCode[key] = Set(warm.functionIds)
                    return .hit(
                        unit, machineCode: decodeMachineCode(warm.rows, badMachineCode: warm.bad, path: path),
                        lazyMachineCode: hasMachineCode, imageDigest: image.sha256)
                }
            }
            if let outcome { return outcome }
        } catch {
            warnings.append(Self.warning("cannot read: \(error); compiling \(path) without it"))
            return .miss
        }
        let result: CacheStore.Loaded<LoadedUnit>
        store.willLoad = CompilerMemory.prepare(forLoadingImageBytes:)
        do {
            result = try store.load(
                key: key, jitIdentity: CacheKeys.jitIdentity, hostFeatures: Set(JITEngine.hostFeatures.names)
            ) { try LoadedUnit(image: UnitImage(bytes: $0), resolver: resolver, sourcePath: sourcePath ?? path) }
        } catch {
            warnings.append(Self.warning("cannot read: \(error); compiling \(path) without it"))
            return .miss
        }
        switch result {
        case .miss:
            return .miss
        case .bad(let why):
            return damaged(why)
        case .hit(let unit, let rows, let badMachineCode, let saved):
            return hit(unit, rows, bad: badMachineCode, saved: saved)
        }
    }

    /// Decodes hash-checked blobs; one warning for all that fail.
    private func decodeMachineCode(
        _ rows: [CacheStore.MachineCodeRow], badMachineCode: Int, path: String
    ) -> [(functionId: UInt32, code: MachineCode)] {
        var code: [(functionId: UInt32, code: MachineCode)] = []
        var bad = badMachineCode
        for row in rows {
            guard let decoded = try? MachineCode(serialized: row.blob), decoded.defect(recordedFeatures: row.features) == nil else {
                bad += 1
                continue
            }
            code.append((row.functionId, decoded))
        }
        if bad > 0 { warnings.append(Self.machineCodeWarning(bad, path: path, checksFailed: true)) }
        return code
    }

    func warn(_ text: String) { warnings.append(Self.warning(text)) }

    /// `N machine-code blob(s) for PATH failed its/their checks; …`, or `… did not relocate; …`.
    static func machineCodeWarning(_ count: Int, path: String, checksFailed: Bool) -> String {
        let what = checksFailed ? "failed \(count == 1 ? "its" : "their") checks" : "did not relocate"
        return warning("\(count) machine-code blob\(count == 1 ? "" : "s") for \(path) \(what); those functions are compiled again")
    }

    /// The machine code stored for one function of a lazily loaded unit (`Lookup.hit`'s
    /// `lazyMachineCode`), when the function is placed: the best blob for the host, decoded
    /// and checked; nil if there is none. A blob that fails its checks is counted for one
    /// warning per file at `finish` (the function is interpreted, and compiled again when hot);
    /// a database that cannot be read is one warning, and no more machine code is fetched.
    func machineCode(key: SHA256Digest, functionId: UInt32, path: String) -> MachineCode? {
        // Listed functions were fetched with the lookup: what was good is installed already.
        guard !machineCodeUnreadable, warmCode[key]?.contains(functionId) != true else { return nil }
        let found: (row: CacheStore.MachineCodeRow?, bad: Int, jitMicroseconds: Int64)
        do {
            found = try store.machineCode(
                key: key, functionId: functionId, jitIdentity: CacheKeys.jitIdentity, hostFeatures: Self.hostFeatures)
        } catch {
            machineCodeUnreadable = true
            warnings.append(Self.warning("cannot read machine code: \(error); interpreting what it would have run"))
            return nil
        }
        var bad = found.bad
        var code: MachineCode? = nil
        if let row = found.row {
            if let decoded = try? MachineCode(serialized: row.blob), decoded.defect(recordedFeatures: row.features) == nil {
                code = decoded
                if pendingHits[key] != nil { pendingHits[key]! += found.jitMicroseconds }
                loadedLazily[key, default: []].append(functionId)
            } else {
                bad += 1
            }
        }
        if bad > 0 { badMachineCode[path, default: 0] += bad }
        return code
    }

    /// Whether lookups read the machine code of the functions earlier warm runs loaded
    /// (`CacheStore.loadLazily`'s `warmCode`); a run with `--jit off` installs none.
    var loadsMachineCode = true
    /// Per unit key: the Ids of the warm code list read at lookup, and the functions whose
    /// machine code was fetched as they were placed. The latter are added to the list at
    /// `finish`, so the next warm run reads them with its lookup.
    private var warmCode: [SHA256Digest: Set<UInt32>] = [:]
    private var loadedLazily: [SHA256Digest: [UInt32]] = [:]

    private static let hostFeatures = Set(JITEngine.hostFeatures.names)
    private var machineCodeUnreadable = false
    /// Blobs fetched for placed functions that failed their checks, by file (one warning each).
    private var badMachineCode: [String: Int] = [:]
    /// Hits of this run, with the compile and JIT time each saved: appended to the hit log at
    /// `finish` (not the database: a warm run writes nothing to SQLite), when the machine code
    /// the run loaded, a function at a time, is known.
    private var pendingHits: [SHA256Digest: Int64] = [:]

    /// Microseconds the last lazy lookup spent decoding what a unit needs at once (the
    /// `decode` phase of `--stats`).
    private(set) var decodeMicroseconds = 0

    /// Whether this run wrote to the database outside `store` (which checkpoints by itself).
    private var wrote = false

    /// Source digests `rememberDigest` took, by path, not written yet: they go into the run's
    /// first store transaction, or, when the run stores nothing, into a write of their own at
    /// `finish`. Not written at once: each write waits for another process's write lock, and a
    /// run that wrote a digest first and its unit later would wait the busy timeout twice.
    private var pendingDigests: [String: CacheStore.SourceDigestRecord] = [:]

    /// Set when a store failed (the lock held past the busy timeout, the disk full, an I/O
    /// error): nothing else is written in this run (`finish` does not wait for the lock again).
    private var storeFailed = false

    /// Whether a store of this run failed (`ribbon build` then exits 74).
    var didFailToStore: Bool { storeFailed }

    /// Writes the pending source digests unless another process holds the write lock, and
    /// empties the WAL if this run wrote to the database; call before the process ends.
    func finish() {
        for (path, bad) in badMachineCode.sorted(by: { $0.key < $1.key }) {
            warnings.append(Self.machineCodeWarning(bad, path: path, checksFailed: true))
        }
        badMachineCode = [:]
        for (path, count) in rejectedMachineCode.sorted(by: { $0.key < $1.key }) {
            warnings.append(Self.machineCodeWarning(count, path: path, checksFailed: false))
        }
        rejectedMachineCode = [:]
        try? store.recordHits(pendingHits.map { (key: $0.key, savedMicroseconds: $0.value) })
        pendingHits = [:]
        let warm = loadedLazily.map { (key: $0.key, functionIds: Array(warmCode[$0.key] ?? []) + $0.value) }
        loadedLazily = [:]
        if !pendingDigests.isEmpty || !warm.isEmpty, !storeFailed {
            let digests = pendingDigests.values.sorted { $0.path < $1.path }
            if (try? store.recordUnlessBusy(digests: digests, warmCode: warm, jitIdentity: CacheKeys.jitIdentity)) != nil {
                wrote = true
            }
        }
        pendingDigests = [:]
        if wrote { store.checkpoint() }
        wrote = false
    }

    /// The source's digest without reading it, when the cache remembers it for the file's
    /// current stat data (see `CacheStore.trustedDigest`).
    func rememberedDigest(path: String, stat: FileStat?) -> SHA256Digest? {
        guard let stat else { return nil }
        return try? store.trustedDigest(path: absolutePath(path), stat: stat)
    }

    /// `rememberedDigest` of each file, with one query (per hundred files).
    func rememberedDigests(_ files: [(path: String, stat: FileStat)]) -> [SHA256Digest?] {
        let absolute = files.map { (path: absolutePath($0.path), stat: $0.stat) }
        return (try? store.trustedDigests(absolute)) ?? Array(repeating: nil, count: files.count)
    }

    /// Lookups and digest queries from here to `endSharedRead` share one read transaction
    /// (`CacheStore.beginSharedRead`): a warm run of a program of many files takes SQLite's
    /// locks once, not three times per file. Best effort: without it each query has its own.
    func beginSharedRead() {
        try? store.beginSharedRead()
    }

    /// Call before compiling (a reader held open holds back other processes' checkpoints)
    /// and before anything writes.
    func endSharedRead() {
        store.endSharedRead()
    }

    /// Remembers a digest just computed for the file (stat data taken before it was read); it
    /// is written with the run's store, or at `finish` (see `pendingDigests`).
    func rememberDigest(_ digest: SHA256Digest, path: String, stat: FileStat?) {
        guard let stat else { return }
        let absolute = absolutePath(path)
        pendingDigests[absolute] = CacheStore.SourceDigestRecord(
            path: absolute, stat: stat, digest: digest, recordedAt: CacheStore.nowNanoseconds())
    }

    /// Counts blobs that did not install (one warning per file at `finish`).
    func noteRejectedMachineCode(_ count: Int, path: String) {
        guard count > 0 else { return }
        rejectedMachineCode[path, default: 0] += count
    }

    private var rejectedMachineCode: [String: Int] = [:]
    /// Microseconds spent fetching and installing machine code as functions were placed.
    var lazyMachineCodeMicroseconds = 0

    /// A unit for `store(_:)`: compiled in this run (`image`), or from the cache (`image` nil)
    /// with machine code compiled in this run.
    struct UnitToStore {
        var key: UnitKeyFactors
        var path: String
        var image: UnitImage?
        var compileMicroseconds: Int
        var compiled: [JITEngine.Compiled]
        /// What of the image the run used (`ImageChunks.encode`).
        var warmRanges: [Range<Int>] = []
    }

    /// Stores the run's units (those with nothing new are left out) and the pending source
    /// digests in one transaction, then evicts least-recently-used units beyond the size bound
    /// (none of these) and empties the WAL, once for the whole program. A failure is one
    /// warning, and nothing of it is stored; nothing is stored after a store of this run has
    /// failed (see `storeFailed`).
    func store(_ units: [UnitToStore]) {
        let stored = units.filter { $0.image != nil || !$0.compiled.isEmpty }
        guard !stored.isEmpty, !storeFailed else { return }
        let rows = stored.map { unit in
            CacheStore.UnitToStore(
                key: unit.key.key, sourcePath: absolutePath(unit.path), image: unit.image?.bytes,
                compileMicroseconds: unit.compileMicroseconds,
                machineCode: unit.compiled.map {
                    CacheStore.MachineCodeEntry(
                        functionId: $0.functionId, features: $0.code.features, blob: $0.code.serialized(),
                        jitMicroseconds: $0.microseconds)
                },
                factors: unit.key.storedText, countsMiss: unit.image != nil, warmRanges: unit.warmRanges)
        }
        wrote = false  // `store` checkpoints
        // Tried once: after a store that failed (locked, full), `finish` does not wait again.
        let digests = pendingDigests.values.sorted { $0.path < $1.path }
        pendingDigests = [:]
        do {
            try store.store(
                units: rows, ribbonBuild: CacheKeys.ribbonBuild, jitIdentity: CacheKeys.jitIdentity, maxBytes: maxBytes,
                sourceDigests: digests)
        } catch {
            storeFailed = true
            // The last is the file run, when it was compiled: dependencies come first.
            let others = stored.count == 1 ? "" : " and \(stored.count - 1) other unit\(stored.count == 2 ? "" : "s")"
            warnings.append(Self.warning("cannot store \(stored[stored.count - 1].path)\(others): \(error)"))
        }
    }

    func absolutePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let workingDirectory else { return path }
        return workingDirectory + "/" + path
    }

    /// Asked once per run, not once per file.
    private lazy var workingDirectory: String? = {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }()
}

extension LazyUnitImage: UnitImageSource {}
