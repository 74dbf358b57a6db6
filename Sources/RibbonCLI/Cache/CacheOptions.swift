import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// The options every `cache` subcommand takes.
struct CacheOptions: ParsableArguments {
    @Option(
        name: .customLong("cache-dir"),
        help: ArgumentHelp(
            "Cache directory (default $RIBBON_CACHE_DIR, else $XDG_CACHE_HOME/ribbon, else ~/.cache/ribbon).",
            valueName: "dir"))
    var cacheDir: String?

    @Flag(help: "Print one JSON value on standard output instead of text.")
    var json = false

    /// The cache directory: `--cache-dir`, else the environment's.
    func directory() throws -> String {
        if let cacheDir { return cacheDir }
        guard let path = CacheDirectory.defaultPath() else {
            throw failure(
                "no cache directory: set RIBBON_CACHE_DIR, or XDG_CACHE_HOME or HOME to an absolute path, or pass --cache-dir",
                status: ExitStatus.ioError)
        }
        return path
    }

    /// The cache in `directory` if it has a database (nil: none, and none is created). An
    /// untrusted or unreadable cache is an error (74); with `damagedFileIsAnError` false, a
    /// file SQLite cannot read is rethrown as it is (`clear` removes it).
    func openExisting(_ directory: String, damagedFileIsAnError: Bool = true) throws -> CacheStore? {
        let store: CacheStore?
        do {
            store = try CacheStore.openExisting(
                directory: directory, busyTimeoutMilliseconds: CacheStore.maintenanceBusyTimeoutMilliseconds)
        } catch where error.kind == .untrusted {
            throw failure(error.description, status: ExitStatus.ioError)
        } catch where !damagedFileIsAnError && CacheStore.isDamagedFile(error) {
            throw error
        } catch {
            throw failure(
                "cannot open the cache database \(CacheStore.databasePath(in: directory)): \(error)",
                status: ExitStatus.ioError)
        }
        for warning in store?.warnings ?? [] { Driver.printError("ribbon: warning: cache: \(warning)") }
        // Warm runs record hits outside the database; folding them first makes `ls` and `show`
        // show true last uses. A busy database only leaves them for later.
        try? store?.foldHitLog()
        return store
    }
}

/// Runs a subcommand's body; any error that is not already an exit status (a SQLite failure
/// mid-way, say) becomes one `ribbon: error:` line and status 74.
func reportingCacheErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch where CacheStore.isDamagedFile(error) {
        let why = (error as? CacheError)?.message ?? "\(error)"
        throw failure("the cache database is damaged (\(why)); `ribbon cache clear` starts it afresh", status: ExitStatus.ioError)
    } catch {
        throw failure("cache: \(error)", status: ExitStatus.ioError)
    }
}

/// A `cache` subcommand that works in the cache directory: `run()` finds the directory
/// (`--cache-dir`, else the environment's) and runs `run(in:)` under `reportingCacheErrors`.
protocol CacheSubcommand: ParsableCommand {
    var options: CacheOptions { get }
    func run(in directory: String) throws
}

extension CacheSubcommand {
    func run() throws {
        try reportingCacheErrors { try run(in: try options.directory()) }
    }
}
