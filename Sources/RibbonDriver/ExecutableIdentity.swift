import CRibbonSystem
import RibbonSystem

/// Which `ribbon` build is running: the GNU build-id the linker stamps into the executable
/// (SwiftPM links with `--build-id`), read from the loaded program headers at no I/O cost.
///
/// Cache keys include it so that a rebuilt compiler never reads what an older build wrote
/// (../shared/DESIGN.md, "Cache keys"). Hashing the 27 MB executable instead would cost more than a
/// whole warm run.
package enum ExecutableIdentity {
    /// The build-id as lowercase hex, or nil if the executable has none.
    package static let buildID: String? = readBuildID()

    private static func readBuildID() -> String? {
        var bytes = [UInt8](repeating: 0, count: 64)
        let length = ribbon_executable_build_id(&bytes, bytes.count)
        guard length > 0 else { return nil }
        return Hex.encode(bytes[0..<length])
    }
}
