#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// The deterministic mutation harness: `iterations` inputs for one target, each a mutation of
/// a seed (or, for `bytecode`, fresh random decisions), from a fixed generator seed. The same
/// arguments always try the same inputs, so a finding replays. libFuzzer (`tools/fuzz/run.sh`)
/// runs the same targets with coverage guidance for longer.
package struct Campaign {
    package struct Report: CustomStringConvertible {
        package var target: FuzzTarget
        package var inputs = 0
        package var rejected = 0
        package var accepted = 0
        package var returned = 0
        package var trapped = 0
        package var stoppedByBudget = 0
        package var findings: [(finding: Finding, input: [UInt8])] = []
        package var microseconds = 0
        /// The slowest single input.
        package var slowestMicroseconds = 0

        package var inputsPerSecond: Int { microseconds == 0 ? 0 : inputs * 1_000_000 / microseconds }

        package var description: String {
            "\(target.rawValue): \(inputs) inputs in \(microseconds / 1000) ms (\(inputsPerSecond)/s): "
                + "\(rejected) rejected, \(accepted) accepted, ran \(returned + trapped + stoppedByBudget) "
                + "(\(returned) returned, \(trapped) trapped, \(stoppedByBudget) stopped by the budget), "
                + "slowest input \(slowestMicroseconds / 1000) ms, \(findings.count) findings"
        }
    }

    /// An input slower than this is a finding (as libFuzzer's `-timeout`; inputs take milliseconds).
    package static let slowInputMicroseconds = 10_000_000

    package var target: FuzzTarget
    package var seeds: [[UInt8]]
    package var runner: FuzzRunner

    package init(target: FuzzTarget, seeds: Seeds, runner: FuzzRunner) {
        self.target = target
        self.runner = runner
        switch target {
        case .frontEnd: self.seeds = seeds.sources.map(\.bytes)
        case .unitImage: self.seeds = seeds.images
        case .machineCode: self.seeds = seeds.blobs
        case .cache: self.seeds = seeds.cacheRows
        case .bytecode: self.seeds = []
        case .hitLog: self.seeds = seeds.hitLogs
        }
    }

    /// Runs every seed unchanged, then `iterations` mutated inputs.
    package func run(iterations: Int, seed: UInt64) -> Report {
        var report = Report(target: target)
        var random = SplitMix64(seed: seed)
        let t0 = MonotonicClock.microseconds()
        func attempt(_ input: [UInt8]) {
            report.inputs += 1
            let started = MonotonicClock.microseconds()
            // Every run is bounded (`BoundedRun`), so a slow input is a finding: the hang
            // libFuzzer's `-timeout` would catch, caught here long before it.
            defer {
                let took = MonotonicClock.microseconds() - started
                report.slowestMicroseconds = max(report.slowestMicroseconds, took)
                if took > Campaign.slowInputMicroseconds {
                    report.findings.append(
                        (Finding(target: target, message: "an input took \(took / 1000) ms"), input))
                }
            }
            do {
                switch try runner.run(target, input) {
                case .rejected: report.rejected += 1
                case .accepted: report.accepted += 1
                case .ran(.returned): report.returned += 1
                case .ran(.trapped): report.trapped += 1
                case .ran(.budgetExhausted): report.stoppedByBudget += 1
                }
            } catch {
                report.findings.append((error, input))
            }
        }
        for s in seeds { attempt(s) }
        for _ in 0..<iterations {
            if target == .bytecode {
                let count = Int.random(in: 16...512, using: &random)
                attempt((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
                continue
            }
            guard !seeds.isEmpty else { break }
            let seed = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            let other = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            let input =
                target == .frontEnd && Int.random(in: 0..<4, using: &random) != 0
                ? Mutator.mutateSource(seed, other: other, using: &random)
                : Mutator.mutate(seed, other: other, using: &random)
            attempt(input)
        }
        report.microseconds = MonotonicClock.microseconds() - t0
        return report
    }
}
