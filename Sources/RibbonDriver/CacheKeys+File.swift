#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonCache

extension CacheKeys {
    /// The key factors of the unit a source file compiles to, as `ribbon cache key FILE` reports
    /// them. A file uses no other unit yet; when `use` lands, the keys of the units it uses go
    /// into `dependencyKeys` here.
    public static func factors(forFile path: String) throws(SystemError) -> UnitKeyFactors {
        factors(sourceDigest: SHA256.hash(try FileSystem.readFile(path)))
    }

    /// The path `run` stores a unit under: absolute, from the working directory when relative
    /// (as `CacheSession` makes it, without resolving `.`, `..` or links).
    static func storedSourcePath(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }
}
