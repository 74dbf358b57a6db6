#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonCompiler
import RibbonCore
import RibbonDriver
import RibbonJIT
import RibbonSyntax
import RibbonSystem
import RibbonVM
import SQLiteSupport

/// What one fuzz input exercises. Each target takes raw bytes (libFuzzer's or the
/// deterministic mutator's) and either returns what happened or stops the process: a crash is
/// a crash, and a broken property (`Finding`) is reported like one.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// Source → parse → check → lower; every image the compiler makes must load (verifier
    /// included) and run within the budget.
    case frontEnd = "frontend"
    /// Unit image → `LoadedUnit` (decode, verify, relocate); a unit that loads is disassembled,
    /// JIT-compiled and its `main` run within the budget.
    case unitImage = "image"
    /// Machine-code blob → `MachineCode(serialized:)` → `LoadedMachineCode.loadBatch`: no
    /// relocation outside the code, no entry outside the bytes. Never executed.
    case machineCode = "blob"
    /// Cache rows (an image and its blobs) stored with their hashes recomputed, then loaded the
    /// way a run loads them, and checked by `ribbon cache verify` and `show --disasm`.
    case cache = "cache"
    /// Random bytecode units (`BytecodeGenerator`): those the verifier accepts are run.
    case bytecode = "bytecode"
    /// Hit logs (`HitLogInput`: whole, torn and raw records, a crashed fold's leftover file,
    /// counters as the old code left them) folded into a real cache by a command's path;
    /// counters must stay non-negative INTEGERs, every whole record count, no log stay behind.
    case hitLog = "hitlog"
}

/// A property an input broke without crashing (it stops a libFuzzer run like a crash).
package struct Finding: Error, CustomStringConvertible {
    package var target: FuzzTarget
    package var message: String
    package var description: String { "\(target.rawValue): \(message)" }
}

/// What happened to one input.
package enum InputOutcome: Equatable {
    /// Rejected with an error by the code under test (the usual fate of a damaged input).
    case rejected
    /// Accepted (compiled, loaded, decoded), and not run.
    case accepted
    /// Accepted and run: it returned, trapped, or used up its budget.
    case ran(BoundedRun.Outcome)
}

/// Running inputs against targets.
package final class FuzzRunner {
    /// The tier-up threshold a run gets as its budget (`BoundedRun`).
    package var budget: UInt64
    /// For the cache target: one database, reused by every input (rows are replaced).
    private var store: CacheStore?
    /// For the hit-log target: a second connection, to set the counters behind the store.
    private var counterDatabase: Database?
    private let cacheDirectory: String?

    /// - Parameter cacheDirectory: where the cache target keeps its database (created; nil:
    ///   the cache target is not available).
    package init(budget: UInt64 = 2000, cacheDirectory: String? = nil) {
        self.budget = budget
        self.cacheDirectory = cacheDirectory
    }

    /// A fresh directory for the cache target, in memory when `/dev/shm` is there (a store
    /// writes the database for every input).
    package static func makeTemporaryCacheDirectory() -> String? {
        let parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array((parent + "/ribbon-fuzz-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) }
    }

    /// Removes what `makeTemporaryCacheDirectory` made and the cache put in it.
    package static func removeCacheDirectory(_ directory: String) {
        _ = CacheStore.removeDatabaseFiles(in: directory)
        rmdir(directory)
    }

    package func run(_ target: FuzzTarget, _ input: [UInt8]) throws(Finding) -> InputOutcome {
        switch target {
        case .frontEnd: return try frontEnd(input)
        case .unitImage: return try unitImage(input)
        case .machineCode: return try machineCode(input)
        case .cache: return try cache(input)
        case .bytecode: return try bytecode(input)
        case .hitLog: return try hitLog(input)
        }
    }

    // MARK: Front end

    func frontEnd(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        let file = SourceFile(path: "fuzz.rib", bytes: input)
        let (program, diagnostics) = check(file)
        for d in diagnostics { _ = d.rendered(in: file) }  // rendering reads the source at the location
        guard let program, diagnostics.isEmpty else {
            if diagnostics.isEmpty { throw Finding(target: .frontEnd, message: "check failed without a diagnostic") }
            return .rejected
        }
        guard program.uses.isEmpty else { return .rejected }  // `use` needs other files
        let lowered = lower(program)
        guard let image = lowered.image else {
            if lowered.diagnostics.isEmpty { throw Finding(target: .frontEnd, message: "lowering failed without a diagnostic") }
            return .rejected
        }
        // The compiler's output must pass the verifier: anything else is a compiler bug, or a
        // verifier too strict for real programs.
        let unit: LoadedUnit
        do {
            unit = try LoadedUnit(image: image, resolver: BoundedRun.resolver)
        } catch .unresolvedForeign {
            return .rejected  // `foreign` names a C function this process does not have: correct
        } catch {
            throw Finding(target: .frontEnd, message: "the compiler made an image the loader rejects: \(error)")
        }
        for function in unit.functions { _ = try? JITCompiler.compile(function) }
        return runMain(unit)
    }

    /// Runs `main` if there is one (the verifier guarantees it takes no parameters).
    func runMain(_ unit: LoadedUnit) -> InputOutcome {
        guard let id = unit.symbol(named: "main"), let main = unit.function(id: id) else { return .accepted }
        return .ran(BoundedRun.run(unit, main, budget: budget).outcome)
    }

    // MARK: Unit images

    func unitImage(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        guard let unit = try? LoadedUnit(image: UnitImage(bytes: input), resolver: BoundedRun.resolver) else {
            return .rejected
        }
        _ = Disassembler.disassemble(unit)
        for function in unit.functions { _ = try? JITCompiler.compile(function) }
        return runMain(unit)
    }

    // MARK: Machine code

    /// A resolver that knows every target: fake addresses, distinct per target, so that loading
    /// goes through every relocation (nothing here is executed).
    static func fakeResolve(_ target: RelocationTarget) -> UInt64? {
        switch target {
        case .addressTable: 0x1000
        case .runtimeHelper(let name): JITRuntime.helper(named: name)
        case .functionHeader(let id): id < 64 ? 0x2000 + UInt64(id) * 64 : nil
        case .bytecodeWord(let f, let w): f < 64 && w < 4096 ? 0x10_0000 + UInt64(f) << 16 + UInt64(w) * 8 : nil
        case .foreignSymbol(let symbol): symbol.count < 64 ? SymbolResolver.dlsymLookup(symbol) : nil
        }
    }

    func machineCode(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        guard let code = try? MachineCode(serialized: input) else { return .rejected }
        try checkBounds(code, target: .machineCode)
        // Decoding is exact: what decodes re-encodes to a blob that decodes to the same code.
        guard let again = try? MachineCode(serialized: code.serialized()), again == code else {
            throw Finding(target: .machineCode, message: "a decoded blob does not survive re-encoding")
        }
        _ = MachineCodeListing.listing(code)  // `cache show --disasm`
        // Loaded alone and in a batch with a valid blob before it (so offsets are not 0).
        let results = LoadedMachineCode.loadBatch([Self.paddingBlob, code, code], resolve: Self.fakeResolve)
        for (i, result) in results.enumerated() {
            guard case .success(let loaded) = result else { continue }
            let blob = i == 0 ? Self.paddingBlob : code
            try checkLoaded(loaded, blob, target: .machineCode)
        }
        return results[1].isSuccess ? .accepted : .rejected
    }

    static let paddingBlob = MachineCode(bytes: [0xC3] + [UInt8](repeating: 0x90, count: 20))

    /// What decoding promises: every relocation's 8 bytes inside the code, the entry and every
    /// loop entry at a byte of the code.
    func checkBounds(_ code: MachineCode, target: FuzzTarget) throws(Finding) {
        guard code.entryOffset >= 0, code.entryOffset < code.bytes.count else {
            throw Finding(target: target, message: "entry \(code.entryOffset) outside \(code.bytes.count) bytes")
        }
        for r in code.relocations where r.offset < 0 || r.offset + 8 > code.bytes.count {
            throw Finding(target: target, message: "relocation at \(r.offset) outside \(code.bytes.count) bytes")
        }
        for (_, offset) in code.loopEntries where offset < 0 || offset >= code.bytes.count {
            throw Finding(target: target, message: "loop entry at \(offset) outside \(code.bytes.count) bytes")
        }
    }

    /// What loading promises: the entry and loop entries inside the mapping, at the blob's own
    /// bytes, and every relocation written.
    func checkLoaded(_ loaded: LoadedMachineCode, _ code: MachineCode, target: FuzzTarget) throws(Finding) {
        let base = UnsafeRawPointer(loaded.memory.base)
        let start = loaded.entry - code.entryOffset
        guard start >= base, start + code.bytes.count <= base + loaded.memory.size, loaded.entry < start + code.bytes.count
        else {
            throw Finding(target: target, message: "a loaded entry lies outside its code")
        }
        for (_, entry) in loaded.loopEntries where entry < start || entry >= start + code.bytes.count {
            throw Finding(target: target, message: "a loaded loop entry lies outside its code")
        }
        for r in code.relocations {
            let written = start.loadUnaligned(fromByteOffset: r.offset, as: UInt64.self)
            guard written == Self.fakeResolve(r.target) else {
                throw Finding(target: target, message: "relocation at \(r.offset) holds \(written)")
            }
        }
    }

    // MARK: Cache

    /// Stores the rows (the store hashes them, so the hashes match and only the loaders' own
    /// checks stand between the bytes and a run), then loads them as `CacheSession.lookup` and
    /// `JITEngine.installCached` do, and checks them as `ribbon cache verify` and
    /// `ribbon cache show --disasm` do.
    func cache(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        guard let cacheDirectory else { throw Finding(target: .cache, message: "no cache directory") }
        let rows = CacheRows(decoding: input)
        do {
            if store == nil { store = try CacheStore(directory: cacheDirectory) }
            guard let store else { return .rejected }
            let key = SHA256.hash([0x52])
            try store.store(
                key: key, sourcePath: "fuzz.rib", image: rows.image, compileMicroseconds: 1,
                ribbonBuild: CacheKeys.ribbonBuild, jitIdentity: CacheKeys.jitIdentity,
                machineCode: rows.blobs.map { blob in
                    CacheStore.MachineCodeEntry(
                        functionId: blob.functionId,
                        features: (try? MachineCode(serialized: blob.blob))?.features ?? [],
                        blob: blob.blob, jitMicroseconds: 1)
                })
            let outcome = try lookUp(store, key)
            // `ribbon cache verify` and `ribbon cache show --disasm`.
            _ = try CacheInspector.verify(store, repair: false)
            for summary in try store.units() {
                _ = try CacheInspector.describe(summary, in: store, disassemble: true)
            }
            // Leave the database empty for the next input (a hit must come from this one).
            try store.deleteUnits([key.bytes])
            return outcome
        } catch let finding as Finding {
            throw finding
        } catch {
            throw Finding(target: .cache, message: "the cache failed: \(error)")
        }
    }

    /// A warm run's lookup (`CacheSession.lookup`): the image lazily, a chunk at a time, each
    /// function verified when placed (here: all of them, then `main` runs), and each placed
    /// function's best blob fetched, decoded, matched to its features and installed. Machine
    /// code is installed, never called.
    func lookUp(_ store: CacheStore, _ key: SHA256Digest) throws -> InputOutcome {
        let features = Set(JITEngine.hostFeatures.names)
        let unit: LoadedUnit
        var rows: [CacheStore.MachineCodeRow]
        switch try store.loadLazily(key: key, jitIdentity: CacheKeys.jitIdentity) {
        case .miss, .bad:
            return .rejected
        case .hit(let image, _, _, _):
            guard let loaded = try? LoadedUnit(lazy: image, resolver: BoundedRun.resolver) else { return .rejected }
            unit = loaded
            rows = []
            for function in unit.functions where unit.placeCode(function) {
                let found = try store.machineCode(
                    key: key, functionId: function.id, jitIdentity: CacheKeys.jitIdentity, hostFeatures: features)
                if let row = found.row { rows.append(row) }
            }
        case .wholeOnly:
            let result = try store.load(key: key, jitIdentity: CacheKeys.jitIdentity, hostFeatures: features) {
                try LoadedUnit(image: UnitImage(bytes: $0), resolver: BoundedRun.resolver)
            }
            guard case .hit(let loaded, let machineCode, _, _) = result else { return .rejected }
            unit = loaded
            rows = machineCode
        }
        var code: [(functionId: UInt32, code: MachineCode)] = []
        for row in rows {
            guard let decoded = try? MachineCode(serialized: row.blob), decoded.defect(recordedFeatures: row.features) == nil
            else { continue }
            try checkBounds(decoded, target: .cache)
            code.append((row.functionId, decoded))
        }
        rows = []
        let saved = (0..<unit.entryCount).map { unit.addressTable[$0] }
        let engine = JITEngine()
        let rejected = engine.installCached(code, of: unit)
        // An installed blob's entry must be in the unit's table: the function's slot no longer
        // holds its (tagged) bytecode header.
        for (id, _) in code where !rejected.contains(id) {
            guard let function = unit.function(id: id), unit.addressTable[Int(function.id)] & bytecodeEntryTag == 0 else {
                throw Finding(target: .cache, message: "blob for function #\(id) was installed nowhere")
            }
        }
        for (i, entry) in saved.enumerated() { unit.addressTable[i] = entry }
        // The interpreter, which never runs the installed code, runs the unit's `main`.
        return runMain(unit)
    }

    // MARK: Hit log

    /// Writes the input's hit logs into the cache directory, folds them the way a command does
    /// (`HitLogInput.Fold`), and checks what every command relies on.
    func hitLog(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        guard let cacheDirectory else { throw Finding(target: .hitLog, message: "no cache directory") }
        let plan = HitLogInput(decoding: input)
        func finding(_ message: String) -> Finding { Finding(target: .hitLog, message: message) }
        do {
            if store == nil {
                let opened = try CacheStore(directory: cacheDirectory)
                try opened.store(
                    key: HitLogInput.unitKey, sourcePath: "fuzz.rib", image: [1, 2, 3, 4], compileMicroseconds: 1,
                    ribbonBuild: CacheKeys.ribbonBuild, jitIdentity: CacheKeys.jitIdentity, machineCode: [])
                store = opened
                counterDatabase = try Database(path: opened.databasePath)
            }
            guard let store, let db = counterDatabase else { return .rejected }
            try db.execute("DELETE FROM counters")
            switch plan.counters {
            case .none: break
            case .oldBuild:  // an overflowed sum stored as a REAL, a TEXT, a negative
                try db.execute("INSERT INTO counters VALUES ('saved_us', 1.8e19), ('hits', 'lots'), ('misses', -7)")
            case .nearlyFull:
                try db.execute("INSERT INTO counters VALUES ('saved_us', 9223372036854775800), ('hits', 9223372036854775806)")
            case .small:
                try db.execute("INSERT INTO counters VALUES ('saved_us', 100), ('hits', 5), ('misses', 2)")
            }
            let before = try store.counters()
            let logName = CacheStore.hitLogName
            Self.write(plan.log, to: cacheDirectory + "/" + logName)
            if plan.writesFoldingFile {
                // A pid no process can have (the kernel's pids stay below 2²²).
                Self.write(plan.folding, to: cacheDirectory + "/" + CacheStore.takenHitLogName(pid: .max, number: 1))
            }
            let now = TimeText.now()
            switch plan.fold {
            case .counters:
                _ = try store.counters()
            case .statistics:  // `cache stats`, and what it prints
                let s = try store.statistics(currentBuild: CacheKeys.ribbonBuild)
                _ = (TimeText.milliseconds(s.savedMicroseconds), s.hitRate, TimeText.milliseconds(s.storedCompileMicroseconds))
            case .store:  // a cold run's store folds in its transaction
                try store.store(
                    key: HitLogInput.secondKey, sourcePath: "fuzz2.rib", image: [5, 6], compileMicroseconds: 1,
                    ribbonBuild: CacheKeys.ribbonBuild, jitIdentity: CacheKeys.jitIdentity, machineCode: [])
            case .garbageCollection:  // `cache gc` (nothing of another build, no limits: nothing goes)
                _ = try store.collectGarbage(currentBuild: CacheKeys.ribbonBuild, unusedSince: nil, maxBytes: nil)
            }
            // `cache ls`: what it prints of every unit's last use.
            for unit in try store.units() {
                _ = (TimeText.relative(unit.lastUsedAt, now: now), TimeText.iso8601(unit.lastUsedAt))
                guard unit.lastUsedAt >= 0, unit.lastUsedAt <= TimeText.now() else {
                    throw finding("a unit's last use is \(unit.lastUsedAt), now is \(now)")
                }
            }
            if plan.fold == .store { try store.deleteUnits([HitLogInput.secondKey.bytes]) }
            let left = Self.names(in: cacheDirectory).filter { $0.hasPrefix(logName) }
            guard left.isEmpty else { throw finding("hit logs left after the fold: \(left)") }
            let types = try db.statement("SELECT name, typeof(value), value FROM counters WHERE name IN ('hits', 'saved_us')")
            // (Only counters a fold added to: it does not rewrite the others.) Reset even after a
            // finding: an open read would hold up every later checkpoint.
            defer { types.reset() }
            while plan.wholeRecords > 0, try types.step() {
                guard types.text(1) == "integer", types.int64(2) >= 0 else {
                    throw finding("counter \(types.text(0)) is \(types.text(1)) \(types.text(2))")
                }
            }
            let after = try store.counters()
            for (name, value) in after where value < 0 { throw finding("counter \(name) reads \(value)") }
            let hitsBefore = before["hits", default: 0]
            let hitsAfter = after["hits", default: 0]
            let savedBefore = before["saved_us", default: 0]
            let savedAfter = after["saved_us", default: 0]
            guard savedAfter >= savedBefore else { throw finding("saved_us went from \(savedBefore) to \(savedAfter)") }
            // Every whole record counts; damage can hide one only by forging a record over it
            // (a raw piece), and add at most one per 64 bytes.
            let most = plan.wholeRecords + plan.damagedBytes / 64
            let least = max(0, plan.wholeRecords - plan.rawPieces)
            let added = hitsAfter - hitsBefore
            guard hitsAfter == .max ? added <= most : (added >= least && added <= most) else {
                throw finding("\(added) hits counted for \(plan.wholeRecords) whole records (\(plan.rawPieces) raw pieces, \(plan.damagedBytes) damaged bytes)")
            }
            return plan.wholeRecords > 0 ? .accepted : .rejected
        } catch let finding as Finding {
            throw finding
        } catch {
            throw finding("the cache failed: \(error)")
        }
    }

    static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }

    // MARK: Generated bytecode

    func bytecode(_ input: [UInt8]) throws(Finding) -> InputOutcome {
        let image = BytecodeGenerator.unit(from: input)
        guard let unit = try? LoadedUnit(image: image, resolver: BoundedRun.resolver) else { return .rejected }
        for function in unit.functions { _ = try? JITCompiler.compile(function) }
        let interpreted = BoundedRun.run(unit, unit.functions[0], budget: budget, arena: arena)
        // Machine code has no budget: only a unit that cannot loop (every branch forward) or
        // recurse (no call of a bytecode function) runs there, and must do what the
        // interpreter did: the same arena gives its arrays the same addresses.
        if Self.endsWithoutABudget(unit) {
            let engine = JITEngine()
            engine.installAll(unit)
            let compiled = BoundedRun.run(unit, unit.functions[0], budget: budget, arena: arena)
            // What `ret_unit` leaves as the result is whatever the register held: then compare
            // that it returned, not what.
            var same = compiled.outcome == interpreted.outcome
            if case .returned = compiled.outcome, case .returned = interpreted.outcome,
                Self.returnsUnit(unit.functions[0])
            {
                same = true
            }
            guard same, compiled.output == interpreted.output else {
                throw Finding(
                    target: .bytecode,
                    message: "the JIT gives \(compiled.outcome) and \(compiled.output.count) bytes of output, "
                        + "the interpreter \(interpreted.outcome) and \(interpreted.output.count) bytes")
            }
            jitCompared += 1
        }
        return .ran(interpreted.outcome)
    }

    /// Where the runs of `bytecode` allocate their arrays.
    let arena = BoundedRun.Arena()

    /// Units the JIT ran and compared with the interpreter (`bytecode`).
    package private(set) var jitCompared = 0

    /// Whether the function has a `ret_unit`.
    static func returnsUnit(_ function: LoadedUnit.FunctionInfo) -> Bool {
        let code = UnsafeRawPointer(function.header).advanced(by: functionHeaderWords * 8)
            .assumingMemoryBound(to: UInt64.self)
        var at = 0
        while at < Int(function.header.pointee.codeWords) {
            guard let op = Opcode(rawValue: InstructionWord.opcodeNumber(code[at])) else { return false }
            if op == .retUnit { return true }
            at += op.format.wordCount
        }
        return false
    }

    /// Whether every function only branches forward and calls no bytecode function.
    static func endsWithoutABudget(_ unit: LoadedUnit) -> Bool {
        for function in unit.functions {
            let h = function.header.pointee
            let code = UnsafeRawPointer(function.header).advanced(by: functionHeaderWords * 8)
                .assumingMemoryBound(to: UInt64.self)
            var at = 0
            while at < Int(h.codeWords) {
                let w = code[at]
                guard let op = Opcode(rawValue: InstructionWord.opcodeNumber(w)) else { return false }
                if op.format.hasBranchOffset, InstructionWord.int32(w) <= 0 { return false }
                if op == .call, unit.entryKinds[InstructionWord.id(w)] != .builtin { return false }
                at += op.format.wordCount
            }
        }
        return true
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
