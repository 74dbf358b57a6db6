#if canImport(Glibc)
import Glibc
#endif
import RibbonDriver
import RibbonSystem

/// A hand-written parser for the common shapes of `ribbon run`, so a warm run skips
/// ArgumentParser.
///
/// ArgumentParser's `parseAsRoot` costs about a third of the process's time on a small program:
/// it builds the command tree through reflection (`Mirror`), looks up types by mangled name and
/// checks protocol conformances by scanning every conformance record in the binary, all before
/// `run` starts. This parser recognizes exactly
///
///     run FILE [--jit off|tier|eager | --jit=VALUE] [--jit-threshold N] [--no-cache]
///              [--cache-dir DIR | --cache-dir=DIR] [--stats]
///
/// in any order, each option at most once, and answers what `RunCommand` would: the same path
/// and the same `RunOptions` (`RunFastPathTests` compares the two over a corpus). Everything
/// else — help, unknown or repeated options, missing or invalid values, `--`, a file name that
/// starts with `-` — gives `nil`, and ArgumentParser handles the command line as before, so every
/// message and help text stays its own.
package enum RunFastPath {
    /// What `ribbon run` was asked to do.
    package struct Invocation: Equatable, Sendable {
        package var path: String
        package var options: RunOptions
    }

    /// The invocation `arguments` (without the program name) describes, or `nil` when the
    /// command line is anything but a plain, valid `run`.
    package static func parse<Arguments: Collection>(_ arguments: Arguments) -> Invocation?
    where Arguments.Element == String {
        var rest = arguments[...]
        guard rest.popFirst() == "run" else { return nil }
        var path: String?
        var jit: JITMode?
        var jitThreshold: Int?
        var noCache = false
        var cacheDirectory: String?
        var stats = false
        while let argument = rest.popFirst() {
            guard argument.utf8.first == UInt8(ascii: "-") else {
                // A second positional argument is ArgumentParser's error to report.
                guard path == nil, !argument.isEmpty else { return nil }
                path = argument
                continue
            }
            // `--name=value` or `--name value`.
            let name: Substring
            var attachedValue: Substring?
            if let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                attachedValue = argument[argument.index(after: equals)...]
            } else {
                name = argument[...]
            }
            /// The option's value: attached, or the next argument; `nil` when it is missing or
            /// looks like an option (ArgumentParser would not take it as a value).
            func value() -> Substring? {
                let v = attachedValue ?? rest.popFirst().map { $0[...] }
                guard let v, !v.isEmpty, v.utf8.first != UInt8(ascii: "-") else { return nil }
                return v
            }
            switch name {
            case "--jit":
                guard jit == nil, let v = value(), let mode = JITMode(rawValue: String(v)) else { return nil }
                jit = mode
            case "--jit-threshold" where attachedValue == nil:
                guard jitThreshold == nil, let v = value(), v.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let n = Int(v), n >= 1
                else { return nil }
                jitThreshold = n
            case "--cache-dir":
                guard cacheDirectory == nil, let v = value() else { return nil }
                cacheDirectory = String(v)
            case "--no-cache" where attachedValue == nil:
                guard !noCache else { return nil }
                noCache = true
            case "--stats" where attachedValue == nil:
                guard !stats else { return nil }
                stats = true
            default:
                return nil  // -h, --help, --, unknown options, flags given a value
            }
        }
        guard let path else { return nil }
        return Invocation(
            path: path,
            options: RunCommand.options(
                jit: jit ?? .tier, jitThreshold: jitThreshold, noCache: noCache, cacheDir: cacheDirectory,
                stats: stats))
    }
}

extension RibbonCommand {
    /// The entry point: `ribbon run` through `RunFastPath` when it recognizes the command line,
    /// everything else through ArgumentParser (`main()`).
    public static func mainFast() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let invocation = RunFastPath.parse(arguments) else {
            mainThroughArgumentParser(Array(arguments))
            return
        }
        let status = RunCommand.run(path: invocation.path, options: invocation.options)
        // As ArgumentParser does for `ExitCode`: exit(3), which flushes stdio.
        if status != 0 { Glibc.exit(status) }
    }

    /// ArgumentParser's `main()`, except that an error it reports says `ribbon: error:` like
    /// every other error of ribbon's, not `Error:` (usage errors still exit 64 with the usage).
    static func mainThroughArgumentParser(_ arguments: [String]) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let text = fullMessage(for: error)
            guard exitCode(for: error) != .success, text.hasPrefix("Error: ") else { exit(withError: error) }
            StandardError.write("ribbon: error: " + text.dropFirst("Error: ".count) + "\n", flushingOutput: true)
            Glibc.exit(exitCode(for: error).rawValue)
        }
    }
}
