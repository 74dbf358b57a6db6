import CacheCodecs
import RibbonBytecode
import RibbonCache
import RibbonCore
import RibbonJIT

/// How this build of `ribbon` names what it puts in the cache (../shared/DESIGN.md, "Cache keys").
package enum CacheKeys {
    /// The release this tree is: `ribbon --version`. Not a cache-key factor (the build-id is).
    package static let version = "0.2.0-dev"

    /// Formats and versions a unit image depends on besides the source: the unit-image format,
    /// the ISA (opcode numbering) and the machine-code format.
    package static let compilerIdentity =
        "unit-image \(UnitImage.formatVersion); isa \(Opcode.numberLimit); machine-code \(MachineCode.formatVersion)"

    /// The executable's identity: its GNU build-id, so that a rebuilt `ribbon` never reads an
    /// older build's units or code.
    package static var ribbonBuild: String { ExecutableIdentity.buildID.map { "build-id " + $0 } ?? "unknown build" }

    /// What machine code is compiled by (besides the CPU features each blob records).
    package static let jitIdentity = "x86-64 jit \(MachineCode.formatVersion)"

    /// The factors of a unit's key. `dependencyKeys` are the keys of the units it uses.
    package static func factors(sourceDigest: SHA256Digest, dependencyKeys: [SHA256Digest] = []) -> UnitKeyFactors {
        UnitKeyFactors(
            sourceDigest: sourceDigest, dependencyKeys: dependencyKeys, compilerIdentity: compilerIdentity,
            ribbonBuild: ribbonBuild, options: "")
    }
}
