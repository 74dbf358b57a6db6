import Foundation
import Testing

@testable import RibbonDriver
@testable import RibbonVM

/// Programs of many files (issue 12, item 4) give the same output, exit status and error text
/// uncached, cold (every unit stored in one transaction) and warm (every unit loaded in one
/// read transaction), in every engine mode: what the batched store and lookups must not change.
@Suite struct ManyFilesDifferentialTests {
    /// `files` files used by one main.rib: each defines a global and a function with a loop;
    /// main calls each function several times (hot enough for `--jit tier --jit-threshold 2`).
    static func fan(files: Int, in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory + "/lib", withIntermediateDirectories: true)
        var uses = ""
        var calls = ""
        for i in 1...files {
            let text = """
                ;; file \(i)
                label\(i) := "m\(i)"
                m\(i) := fun (x: I64) -> I64.
                    s := 0
                    j := 0
                    while j < \(i % 7 + 3).
                        s = s + x * j + \(i)
                        j = j + 1
                    s

                """
            try text.write(toFile: directory + "/lib/m\(i).rib", atomically: false, encoding: .utf8)
            uses += "use \"lib/m\(i).rib\"\n"
            calls += "        total = (total + m\(i) round) % 1000003\n"
        }
        let main = uses + """
            main := fun () -> I64.
                total := 0
                round := 0
                while round < 4.
            \(calls)        round = round + 1
                print total
                print label\(files)
                total % 256

            """
        try main.write(toFile: directory + "/main.rib", atomically: false, encoding: .utf8)
        return directory + "/main.rib"
    }

    /// A `use` chain `depth` files deep: main.rib calls down it, and fail.rib calls a function
    /// whose call at the bottom indexes out of bounds (a backtrace through every file).
    static func chain(depth: Int, in directory: String) throws -> (main: String, fail: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for k in 1...depth {
            let text =
                k < depth
                ? """
                use "c\(k + 1).rib"
                c\(k) := fun (x: I64) -> I64.
                    c\(k + 1) (x + 1) + \(k % 3)
                e\(k) := fun (x: I64) -> I64.
                    e\(k + 1) x + 1

                """
                : """
                c\(k) := fun (x: I64) -> I64.
                    x * 2
                e\(k) := fun (x: I64) -> I64.
                    xs := array 2 0
                    xs[x]

                """
            try text.write(toFile: directory + "/c\(k).rib", atomically: false, encoding: .utf8)
        }
        try "use \"c1.rib\"\nmain := fun () -> I64.\n    print (c1 3)\n    0\n"
            .write(toFile: directory + "/main.rib", atomically: false, encoding: .utf8)
        try "use \"c1.rib\"\nmain := fun () -> I64.\n    print (e1 7)\n    0\n"
            .write(toFile: directory + "/fail.rib", atomically: false, encoding: .utf8)
        return (directory + "/main.rib", directory + "/fail.rib")
    }

    static func expectAgreement(_ path: String, _ name: String) throws {
        let reference = MultiFileDifferentialTests.execute(path, .off, nil, cache: nil)
        #expect(!reference.standardOutput.isEmpty || reference.status != 0, "\(name)")
        for mode in MultiFileDifferentialTests.modes {
            let cache = try TemporaryDirectory()
            for run in ["uncached", "cold", "warm", "warm again"] {
                let report = MultiFileDifferentialTests.execute(
                    path, mode.mode, mode.threshold, cache: run == "uncached" ? nil : cache.path)
                let context = "\(name), \(mode.name), \(run)"
                #expect(report.status == reference.status, "\(context)")
                #expect(report.standardOutput == reference.standardOutput, "\(context)")
                #expect(report.standardError == reference.standardError, "\(context)")
            }
        }
    }

    @Test func aProgramOfSixtyFilesAgreesEverywhere() throws {
        let directory = try TemporaryDirectory()
        try Self.expectAgreement(try Self.fan(files: 60, in: directory.path), "60 files used by main")
    }

    @Test func aSixtyDeepChainAgreesEverywhereAndSoDoesItsBacktrace() throws {
        let directory = try TemporaryDirectory()
        let (main, fail) = try Self.chain(depth: 60, in: directory.path)
        try Self.expectAgreement(main, "60-deep chain")
        try Self.expectAgreement(fail, "60-deep chain, runtime error at the bottom")
        let failed = MultiFileDifferentialTests.execute(fail, .off, nil, cache: nil)
        #expect(failed.status == ExitStatus.runtimeError)
        #expect(failed.standardError.contains("at e60 (") && failed.standardError.contains("c60.rib:5)"), "\(failed.standardError)")
    }
}
