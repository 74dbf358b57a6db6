import ArgumentParser
import RibbonDriver
import Testing

@testable import RibbonCLI

/// `RunFastPath` against ArgumentParser: whatever the fast path accepts, ArgumentParser parses
/// to the same path and options; whatever ArgumentParser rejects, the fast path leaves to it.
@Suite struct RunFastPathTests {
    /// Command lines the fast path must take (and ArgumentParser accepts).
    static let accepted: [[String]] = [
        ["run", "x.rib"],
        ["run", "examples/hello.rib"],
        ["run", "/abs/path with spaces.rib"],
        ["run", "x.rib", "--jit", "off"],
        ["run", "x.rib", "--jit", "tier"],
        ["run", "x.rib", "--jit", "eager"],
        ["run", "x.rib", "--jit=off"],
        ["run", "--jit=eager", "x.rib"],
        ["run", "--jit", "off", "x.rib"],
        ["run", "x.rib", "--jit-threshold", "1"],
        ["run", "x.rib", "--jit-threshold", "1000"],
        ["run", "x.rib", "--jit-threshold", "007"],
        ["run", "x.rib", "--jit-threshold", "9223372036854775807"],
        ["run", "x.rib", "--no-cache"],
        ["run", "--no-cache", "x.rib"],
        ["run", "x.rib", "--cache-dir", "/tmp/c"],
        ["run", "x.rib", "--cache-dir=/tmp/c"],
        ["run", "x.rib", "--cache-dir=a=b"],
        ["run", "x.rib", "--stats"],
        ["run", "--stats", "--no-cache", "x.rib"],
        ["run", "x.rib", "--jit", "eager", "--jit-threshold", "7", "--no-cache", "--cache-dir", "/tmp/c", "--stats"],
        ["run", "--stats", "--cache-dir", "d", "--no-cache", "--jit-threshold", "2", "--jit", "tier", "x.rib"],
        ["run", "run"],
        ["run", "disasm"],
        ["run", "help"],
        ["run", "a=b.rib"],
        ["run", "x.rib", "--jit", "off", "--stats", "--no-cache", "--cache-dir=/c", "--jit-threshold", "3"],
    ]

    /// Command lines ArgumentParser rejects (or answers with help): the fast path must not take them.
    static let rejected: [[String]] = [
        [],
        ["run"],
        ["x.rib"],
        ["--help"],
        ["-h"],
        ["help"],
        ["help", "run"],
        ["run", "--help"],
        ["run", "-h"],
        ["run", "x.rib", "--help"],
        ["run", "x.rib", "-h"],
        ["run", "x.rib", "--jit"],
        ["run", "x.rib", "--jit", "fast"],
        ["run", "x.rib", "--jit="],
        ["run", "x.rib", "--jit", "OFF"],
        ["run", "x.rib", "--jit-threshold"],
        ["run", "x.rib", "--jit-threshold", "0"],
        ["run", "x.rib", "--jit-threshold", "-5"],
        ["run", "x.rib", "--jit-threshold", "ten"],
        ["run", "x.rib", "--jit-threshold", "99999999999999999999"],
        ["run", "x.rib", "--jit-threshold", "1.5"],
        ["run", "x.rib", "--cache-dir"],
        ["run", "x.rib", "--cache-dir", "--stats"],
        ["run", "x.rib", "--no-cache=yes"],
        ["run", "x.rib", "--stats=1"],
        ["run", "x.rib", "--unknown"],
        ["run", "x.rib", "-x"],
        ["run", "x.rib", "y.rib"],
        ["run", "--stats"],
        ["disasm", "x.rib", "--stats"],
        ["walk", "x.rib"],
        ["run", "x.rib", "--jit", "tier", "--cache-dir"],
        ["run", "--version"],
    ]

    /// Command lines ArgumentParser may accept but the fast path leaves to it, to be safe.
    static let leftToArgumentParser: [[String]] = [
        ["run", "--", "x.rib"],
        ["run", "x.rib", "--"],
        ["run", "--", "-x.rib"],
        ["run", "-x.rib"],
        ["run", ""],
        ["run", "x.rib", "--jit-threshold=5"],
        ["run", "x.rib", "--jit-threshold", "+5"],
        ["run", "x.rib", "--jit", "off", "--jit", "eager"],
        ["run", "x.rib", "--stats", "--stats"],
        ["run", "x.rib", "--no-cache", "--no-cache"],
        ["run", "x.rib", "--cache-dir", "a", "--cache-dir", "b"],
        ["run", "x.rib", "--cache-dir", "-"],
        ["run", "x.rib", "--cache-dir="],
        ["disasm", "x.rib"],
        ["disasm", "--machine", "x.rib"],
    ]

    /// ArgumentParser's answer for a command line: the `run` command it parsed, or `nil`.
    static func argumentParser(_ arguments: [String]) -> RunCommand? {
        (try? RibbonCommand.parseAsRoot(arguments)) as? RunCommand
    }

    static func expectSame(_ fast: RunFastPath.Invocation, _ command: RunCommand) {
        #expect(fast.path == command.file)
        #expect(fast.options == command.options)
        #expect(fast.options.jit == command.jit)
        #expect(fast.options.jitThreshold == command.jitThreshold)
        #expect(fast.options.useCache == !command.noCache)
        #expect(fast.options.cacheDirectory == command.cacheDir)
        #expect(fast.options.printStats == command.stats)
    }

    @Test(arguments: accepted + rejected + leftToArgumentParser)
    func agreesWithArgumentParser(_ arguments: [String]) throws {
        let fast = RunFastPath.parse(arguments)
        let parsed = Self.argumentParser(arguments)
        if let fast {
            let command = try #require(parsed, "the fast path took a command line ArgumentParser rejects")
            Self.expectSame(fast, command)
            // RunCommand parsed on its own (without the root command) agrees too.
            Self.expectSame(fast, try RunCommand.parse(Array(arguments.dropFirst())))
        }
        if parsed == nil { #expect(fast == nil) }
    }

    @Test(arguments: accepted)
    func takesEveryPlainRunCommandLine(_ arguments: [String]) throws {
        let fast = try #require(RunFastPath.parse(arguments))
        let command = try #require(Self.argumentParser(arguments))
        Self.expectSame(fast, command)
    }

    @Test(arguments: rejected + leftToArgumentParser)
    func leavesEverythingElseToArgumentParser(_ arguments: [String]) {
        #expect(RunFastPath.parse(arguments) == nil)
    }

    @Test func rejectedCommandLinesAreRejectedByArgumentParser() {
        for arguments in Self.rejected {
            #expect(Self.argumentParser(arguments) == nil, "\(arguments)")
        }
    }

    @Test func defaultsMatchRunOptions() throws {
        let fast = try #require(RunFastPath.parse(["run", "x.rib"]))
        // The defaults, except that the process ends after the run (it skips the teardown).
        var expected = RunOptions()
        expected.processExitsAfterRun = true
        #expect(fast.options == expected)
    }
}
