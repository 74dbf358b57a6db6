#if canImport(Glibc)
import Glibc
#endif
import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonCore
import RibbonJIT
import RibbonVM

/// The half of `ribbon cache` that decodes what the cache holds: `verify` (images and blobs
/// decoded and checked as a run would), `show` (symbols, functions, listings) and
/// `key --explain` (why a file misses). Rows, sizes and deletes are `CacheStore`'s.
///
/// This file holds the decoding they share; each concern has its own file:
/// `CacheInspector+Verify` (`verify`), `+FindEntry` (which unit `show ENTRY` means),
/// `+Describe` (what `show` prints) and `+Explain` (`key --explain`).
package enum CacheInspector {
    // MARK: Decoding

    /// Resolves names as a run would, except that a foreign symbol this host lacks, and an
    /// import, get a placeholder address instead of failing the load: the unit is inspected,
    /// never run, and a C library missing here is not damage to the cache.
    final class InspectionResolver {
        private(set) var missingForeignSymbols: [String] = []

        var resolver: SymbolResolver {
            SymbolResolver(
                builtin: Builtins.address(named:),
                foreign: { [self] symbol in
                    if let address = SymbolResolver.dlsymLookup(symbol) { return address }
                    missingForeignSymbols.append(symbol)
                    return 1
                },
                imported: { _, _ in ImportedSymbol(address: 1, unit: nil, id: 0) })
        }
    }

    /// An image decoded, verified and relocated (as `LoadedUnit` does for a run), with the C
    /// symbols this host lacks.
    struct DecodedUnit {
        var unit: LoadedUnit
        var missingForeignSymbols: [String]
    }

    static func decode(_ image: [UInt8]) -> Result<DecodedUnit, ImageError> {
        let names = InspectionResolver()
        do {
            let unit = try LoadedUnit(image: UnitImage(bytes: image), resolver: names.resolver)
            return .success(DecodedUnit(unit: unit, missingForeignSymbols: names.missingForeignSymbols))
        } catch {
            return .failure(error)
        }
    }
}
