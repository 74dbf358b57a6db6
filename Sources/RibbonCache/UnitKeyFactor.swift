/// One factor of a unit's cache key, by the name it is hashed and stored under.
///
/// The names are part of the cache format: they are hashed into every key
/// (`UnitKeyFactors.key(of:)`) and stored with every unit (`units.factors`), so a case's
/// `storedName` never changes. A name this build does not know (a row written by another
/// ribbon) reads as `unknown`, and writes back as it was read.
package enum UnitKeyFactor: Sendable, Hashable {
    /// The SHA-256 of the file's bytes.
    case source
    /// The key of the `index`th unit the file uses, in `use` order.
    case dependency(index: Int)
    /// The unit-image, ISA and machine-code format versions (`CacheKeys.compilerIdentity`).
    case compiler
    /// The `ribbon` executable's build-id.
    case ribbonBuild
    /// Compile options that change the output.
    case options
    /// A stored name that is none of the above.
    case unknown(String)

    package var storedName: String {
        switch self {
        case .source: "source"
        case .dependency(let index): "dependency \(index)"
        case .compiler: "compiler"
        case .ribbonBuild: "ribbon build"
        case .options: "options"
        case .unknown(let name): name
        }
    }

    /// The factor a stored name names. Only the exact spelling `storedName` gives is known
    /// (`dependency 01` is `unknown`), so every name reads back as it was written.
    package init(storedName name: String) {
        switch name {
        case "source": self = .source
        case "compiler": self = .compiler
        case "ribbon build": self = .ribbonBuild
        case "options": self = .options
        default:
            let prefix = "dependency "
            if name.hasPrefix(prefix), let index = Int(name.dropFirst(prefix.count)), index >= 0,
                "\(index)" == name.dropFirst(prefix.count)
            {
                self = .dependency(index: index)
            } else {
                self = .unknown(name)
            }
        }
    }
}
