import ArgumentParser
import RibbonCache
import RibbonDriver
import RibbonSystem

/// Columns padded to the widest cell; `right` holds the indices of right-aligned (numeric)
/// columns. The last column is not padded, so lines carry no trailing blanks.
func table(_ header: [String], _ rows: [[String]], right: Set<Int> = [], indent: String = "") -> String {
    let all = [header] + rows
    var widths = Array(repeating: 0, count: header.count)
    for row in all {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    var out = ""
    for row in all {
        var line = indent
        for (i, cell) in row.enumerated() {
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            let last = i == row.count - 1
            line += right.contains(i) ? pad + cell : (last ? cell : cell + pad)
            if !last { line += "  " }
        }
        out += line + "\n"
    }
    return out
}

/// "label   value" lines with the labels padded to one width.
func fields(_ pairs: [(String, String)], indent: String = "") -> String {
    let width = pairs.map(\.0.count).max() ?? 0
    return pairs.map { indent + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 + "\n" }.joined()
}

func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : pluralForm ?? singular + "s")"
}

/// Prints `ribbon: error: MESSAGE` on standard error; returns the exit code to throw.
func failure(_ message: String, status: Int32) -> ExitCode {
    Driver.printError("ribbon: error: \(message)")
    return ExitCode(status)
}

/// Writes text to standard output as it is (no newline added).
func output(_ text: String) {
    print(text, terminator: "")
}

/// A size on the command line, as `ByteSize.parse` reads it: `512M`, `1G`, `4096`.
struct ByteSizeArgument: ExpressibleByArgument, Sendable {
    var bytes: Int64

    init?(argument: String) {
        guard let bytes = ByteSize.parse(argument) else { return nil }
        self.bytes = bytes
    }
}

/// An age on the command line, as `TimeText.parseSeconds` reads it: `30s`, `10m`, `12h`, `7d`, `2w`.
struct AgeArgument: ExpressibleByArgument, Sendable {
    var seconds: Int64

    init?(argument: String) {
        guard let seconds = TimeText.parseSeconds(argument) else { return nil }
        self.seconds = seconds
    }
}

extension CacheStore.UnitOrder: ExpressibleByArgument {}

extension CacheStore.UnitSummary {
    /// The fields `ls --json` and `show --json` share.
    func jsonFields(currentBuild: String) -> [(String, JSON)] {
        [
            ("key", .string(keyHex)),
            ("key_prefix", .string(shortKey)),
            ("path", .string(sourcePath)),
            ("bytes", .int(storedBytes)),
            ("image_bytes", .int(imageBytes)),
            ("image_size", .int(imageSize)),
            ("machine_code_blobs", .int(machineCodeBlobs)),
            ("machine_code_bytes", .int(machineCodeBytes)),
            ("machine_code_size", .int(machineCodeSize)),
            ("uncompressed_bytes", .int(uncompressedBytes)),
            ("compile_us", .int(compileMicroseconds)),
            ("jit_us", .int(jitMicroseconds)),
            ("created", .string(TimeText.iso8601(createdAt))),
            ("last_used", .string(TimeText.iso8601(lastUsedAt))),
            ("ribbon_build", .string(ribbonBuild)),
            ("current_build", .bool(ribbonBuild == currentBuild)),
        ]
    }
}
