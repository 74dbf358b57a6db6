#if canImport(Glibc)
import Glibc
#endif

// The two system look-ups the `cache` subcommands make: an environment variable (`gc`'s
// RIBBON_CACHE_MAX_SIZE) and whether a path exists (`path`).

func getenvString(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}
