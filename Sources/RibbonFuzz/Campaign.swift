#if canImport(Glibc)
import Glibc
#endif
import RibbonSystem

/// The deterministic mutation harness: `iterations` inputs for one target, each a mutation of
/// a seed (or, for `bytecode`, fresh random decisions), from a fixed generator seed. The same
/// arguments always try the same inputs, so a finding replays. libFuzzer (`tools/fuzz/run.sh`)
/// runs the same targets with coverage guidance for longer.
public struct Campaign {
    public struct Report: CustomStringConvertible {
        public var target: FuzzTarget
        public var inputs = 0
        public var rejected = 0
        public var accepted = 0
        public var returned = 0
        public var trapped = 0
        public var stoppedByBudget = 0
        public var findings: [(finding: Finding, input: [UInt8])] = []
        public var microseconds = 0
        /// The slowest single input.
        public var slowestMicroseconds = 0

        public var inputsPerSecond: Int { microseconds == 0 ? 0 : inputs * 1_000_000 / microseconds }

        public var description: String {
            "\(target.rawValue): \(inputs) inputs in \(microseconds / 1000) ms (\(inputsPerSecond)/s): "
                + "\(rejected) rejected, \(accepted) accepted, ran \(returned + trapped + stoppedByBudget) "
                + "(\(returned) returned, \(trapped) trapped, \(stoppedByBudget) stopped by the budget), "
                + "slowest input \(slowestMicroseconds / 1000) ms, \(findings.count) findings"
        }
    }

    /// An input slower than this is a finding (as libFuzzer's `-timeout`; inputs take milliseconds).
    public static let slowInputMicroseconds = 10_000_000

    public var target: FuzzTarget
    public var seeds: [[UInt8]]
    public var runner: FuzzRunner

    public init(target: FuzzTarget, seeds: Seeds, runner: FuzzRunner) {
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
    public func run(iterations: Int, seed: UInt64) -> Report {
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
