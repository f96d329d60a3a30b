import Chips
import Foundation
import SimCore
import Simulator
import Systems
import Workloads

/// A long training run's settings beyond one step: how long it goes, how it checkpoints, the
/// storage, the day's heat, and the Monte Carlo.
public struct LongRunRequest: Sendable {
    public enum Length: Sendable, Equatable {
        case days(Double)
        case tokens(Double)
    }
    public var length: Length
    /// A fixed checkpoint interval (s of training); nil for the interval that maximises goodput.
    public var interval: Double?
    public var asynchronous: Bool
    /// The file system's aggregate bandwidth for the job (B/s); nil for the nodes' own paths only.
    public var storageBandwidth: Double?
    /// Amplitude of a sinusoidal daily swing of the ambient (or coolant) temperature (K); 0 for none.
    public var ambientSwing: Double
    public var trials: Int
    public var seed: UInt64

    public init(
        length: Length, interval: Double? = nil, asynchronous: Bool = false, storageBandwidth: Double? = nil, ambientSwing: Double = 0,
        trials: Int = 0, seed: UInt64 = 1
    ) {
        self.length = length
        self.interval = interval
        self.asynchronous = asynchronous
        self.storageBandwidth = storageBandwidth
        self.ambientSwing = ambientSwing
        self.trials = trials
        self.seed = seed
    }
}

/// The Monte Carlo's spread over its trials.
public struct LongRunSpread: Sendable, Equatable {
    public var trials: Int
    public var seed: UInt64
    public var goodput: Spread
    public var interruptions: Spread
    public var effectiveTokensPerDay: Spread
    public var wallTime: Spread
}

public struct LongRunEstimate: Sendable {
    public var request: LongRunRequest
    /// The step at the mean ambient.
    public var step: TrainingEstimate
    /// Tokens per second averaged over the day's ambient, and the day's lowest and highest.
    public var tokensPerSecond: Double
    public var tokensPerSecondRange: ClosedRange<Double>
    /// Junction temperature averaged over the day (°C).
    public var temperature: Double
    /// Fault rates averaged over the day.
    public var rates: FailureRates
    public var checkpoint: CheckpointPlan
    public var interval: Double
    public var youngInterval: Double
    public var dalyInterval: Double
    public var goodput: Goodput
    public var wallTime: Double
    public var usefulTime: Double
    /// Expected interruptions over the run, by class.
    public var interruptions: [FailureClass: Double]
    /// Expected faults while training (not during restarts): those that cost recomputation.
    public var workFaults: Double
    public var checkpointTime: Double
    public var reworkTime: Double
    public var restartTime: Double
    /// The system's power while training and while stalled or restarting (W).
    public var trainingPower: Double
    public var idlePower: Double
    public var spread: LongRunSpread?

    public var totalInterruptions: Double { FailureClass.allCases.reduce(0) { $0 + (interruptions[$1] ?? 0) } }
    public var effectiveTokensPerDay: Double { tokensPerSecond * goodput.fraction * 86_400 }
    public var usefulTokens: Double { tokensPerSecond * usefulTime }
    public var energy: Double { trainingPower * (usefulTime + reworkTime) + idlePower * (checkpointTime + restartTime) }
    public var joulesPerUsefulToken: Double { energy / usefulTokens }
    /// Work recomputed per failure while training on average (s): about half a checkpoint
    /// interval, plus the pending write's segment for asynchronous checkpoints.
    public var lostWorkPerFailure: Double { workFaults > 0 ? reworkTime / workFaults : 0 }
}

/// A long run as it goes: the training step (at thermal steady state) at each hour's ambient, the
/// fault rates at the junction temperatures it reaches, the checkpoint and restart costs, the
/// checkpoint interval, and the expected goodput under exponential faults (``Goodput``), with
/// optionally a Monte Carlo over fault times (``MonteCarlo``).
///
/// The daily ambient swing is sampled at four evenly spaced hours of a sinusoid (the thermal time
/// constants, seconds to a minute, are far below a day, so each hour runs at its own steady state);
/// throughput and fault rates are their averages over the day.
public enum LongRunEstimator {
    /// `step`: the training request's estimate on `system` where the caller has it already.
    public static func estimate(
        _ training: TrainingRequest, _ run: LongRunRequest, system: SystemSpec, step: TrainingEstimate? = nil
    ) throws -> LongRunEstimate {
        let device = system.chip.device
        let base = try step ?? TrainingEstimator.estimate(training, device: device, system: system)
        let ambient = training.conditions.ambient ?? device.thermal.ambient.value
        var samples: [(TrainingEstimate, Double)] = []
        if run.ambientSwing > 0 {
            // Four evenly spaced hours of the sinusoid (sin = 1, 0, -1, 0): exact for the day's mean of any
            // response up to the third harmonic, and the hottest and coolest hours among them.
            let phases: [(Double, Double)] = [(1, 1), (0, 2), (-1, 1)]
            for (s, weight) in phases {
                var r = training
                r.conditions.ambient = ambient + run.ambientSwing * s
                samples.append((s == 0 ? base : try TrainingEstimator.estimate(r, device: device, system: system), weight / 4))
            }
        } else {
            samples = [(base, 1)]
        }
        var tokens = 0.0
        var temperature = 0.0
        var perSecond: [FailureClass: Double] = [:]
        for (e, weight) in samples {
            tokens += e.tokensPerSecond * weight
            temperature += e.peakTemperature * weight
            let rates = try FailureModel.rates(ranks: e.ranks, system: system, temperature: e.peakTemperature)
            for c in FailureClass.allCases { perSecond[c, default: 0] += (rates.perSecond[c] ?? 0) * weight }
        }
        let throughputs = samples.map(\.0.tokensPerSecond)
        let rates = FailureRates(perSecond: perSecond)
        let plan = try CheckpointPlan.plan(
            model: training.model, parallelism: training.parallelism, system: system, asynchronous: run.asynchronous,
            aggregate: run.storageBandwidth)
        let pending = plan.asynchronous ? plan.writeTime : 0
        // An asynchronous checkpoint cannot start before the last one's write is done.
        let minimum = max(1, plan.asynchronous ? plan.writeTime : 0)
        if let fixed = run.interval, fixed < 1 {
            throw EstimateError("a checkpoint interval of \(Quantity.format(fixed, .time)) is below the 1 s this model takes")
        }
        if let fixed = run.interval, fixed < minimum {
            throw EstimateError(
                "a checkpoint interval of \(Quantity.format(fixed, .time)) is shorter than the asynchronous write of "
                    + "\(Quantity.format(plan.writeTime, .time)): the next checkpoint would wait for it")
        }
        // The run's training time: the horizon with --tokens, at most the wall clock with --days.
        let runWork: Double
        switch run.length {
        case .days(let d): runWork = d * 86_400
        case .tokens(let t): runWork = t / tokens
        }
        if let fixed = run.interval, fixed > runWork {
            throw EstimateError(
                "a checkpoint interval of \(Quantity.format(fixed, .time)) is longer than the run's "
                    + "\(Quantity.format(runWork, .time)) of training")
        }
        let interval = min(
            runWork,
            run.interval
                ?? Goodput.optimalInterval(
                    rate: rates.total, stall: plan.stall, restart: plan.restart, pendingWrite: pending, minimum: minimum))
        guard rates.total * (interval + plan.stall + plan.restart + pending) < 700 else {
            throw EstimateError(
                "checkpoints every \(Quantity.format(interval, .time)) against a mean time to interruption of "
                    + "\(Quantity.format(rates.mtti, .time)): almost no segment would finish")
        }
        let g = Goodput(rate: rates.total, interval: interval, stall: plan.stall, restart: plan.restart, pendingWrite: pending)
        let wall: Double
        let useful: Double
        switch run.length {
        case .days(let d):
            wall = d * 86_400
            useful = wall * g.fraction
        case .tokens(let t):
            useful = t / tokens
            wall = useful / g.fraction
        }
        guard wall <= 3650 * 86_400 else {
            throw EstimateError(
                "the run would take \(formatNumber(wall / 86_400)) days of wall clock, more than the 3650 this estimate covers")
        }
        let segments = wall / g.segmentTime
        var interruptions: [FailureClass: Double] = [:]
        for (c, v) in rates.perSecond { interruptions[c] = segments * g.faultsPerSegment * v / rates.total }
        let workFaults = segments * expm1(rates.total * (interval + plan.stall))
        let idle = system.powerShare(devicePower: base.idlePower, ranks: base.ranks)
        var spread: LongRunSpread?
        // The Monte Carlo's events: segments and faults (with restarts repeated by faults during them).
        let events = Double(run.trials) * (wall / interval + rates.total * wall * exp(rates.total * plan.restart))
        if events > 2e9 {
            throw EstimateError(
                "\(run.trials) trials of this run are about \(formatNumber(events)) simulated events, more than 2e9: "
                    + "use fewer trials or a longer checkpoint interval")
        }
        if run.trials > 0 {
            let horizon: MonteCarlo.Horizon
            switch run.length {
            case .days(let d): horizon = .wall(d * 86_400)
            case .tokens(let t): horizon = .work(t / tokens)
            }
            let runs = MonteCarlo.runs(
                trials: run.trials, seed: run.seed, rates: rates, interval: interval, stall: plan.stall, writeTime: plan.writeTime,
                asynchronous: plan.asynchronous, restart: plan.restart, horizon: horizon)
            spread = LongRunSpread(
                trials: run.trials, seed: run.seed, goodput: Spread(runs.map(\.fraction)),
                interruptions: Spread(runs.map { Double($0.faultCount) }),
                effectiveTokensPerDay: Spread(runs.map { $0.usefulTime * tokens / ($0.wallTime / 86_400) }),
                wallTime: Spread(runs.map(\.wallTime)))
        }
        return LongRunEstimate(
            request: run, step: base, tokensPerSecond: tokens, tokensPerSecondRange: throughputs.min()!...throughputs.max()!,
            temperature: temperature, rates: rates, checkpoint: plan, interval: interval,
            youngInterval: Goodput.young(stall: plan.stall, mtti: rates.mtti),
            dalyInterval: Goodput.daly(stall: plan.stall, mtti: rates.mtti),
            goodput: g, wallTime: wall, usefulTime: useful, interruptions: interruptions, workFaults: workFaults,
            checkpointTime: segments * g.checkpointTime,
            reworkTime: segments * g.reworkTime, restartTime: segments * g.restartTime, trainingPower: base.systemPower, idlePower: idle,
            spread: spread)
    }
}

/// One training job on clusters of about equal peak compute: for each system, the nodes nearest
/// a target peak (whole model-parallel groups and scale-up domains), the global batch rounded up
/// to whole micro-batches per replica, and the long run under each cooling.
public struct ClusterComparison: Sendable {
    public struct Entry: Sendable {
        public var system: SystemSpec
        public var cooling: Cooling
        public var peakFLOPS: Double
        public var globalBatch: Int
        public var estimate: LongRunEstimate
    }
    public var entries: [Entry]

    /// Nodes of `system` nearest `peak` FLOP/s, in steps that hold whole model-parallel groups of
    /// `modelRanks` and whole scale-up domains.
    public static func nodes(for peak: Double, system: SystemSpec, modelRanks: Int) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let perNode = system.devicesPerNode
        let groupNodes = modelRanks / gcd(modelRanks, perNode)
        let domain = max(1, system.scaleUp.domainNodes)
        let step = groupNodes / gcd(groupNodes, domain) * domain
        let nodePeak = Double(perNode) * devicePeak(system.chip.device)
        let steps = (peak / nodePeak / Double(step)).rounded()
        guard nodePeak > 0, steps.isFinite, steps * Double(step) <= Double(maxNodes) else { return maxNodes + 1 }
        return max(step, Int(steps) * step)
    }

    /// The most nodes a compared cluster may have.
    public static let maxNodes = 1_000_000

    /// The vendor's dense bf16 peak of one device (FLOP/s), what equal peak compute compares.
    public static func devicePeak(_ device: ChipSpec) -> Double {
        device.compute.vendorPeak[.bf16] ?? device.compute.vendorPeak[.fp16] ?? device.peakMatrixFLOPS(.bf16) ?? 0
    }

    public static func compare(
        _ training: TrainingRequest, _ run: LongRunRequest, systems: [SystemSpec], peak: Double, coolings: [Cooling],
        resolve: (SystemSpec, Int) throws -> SystemSpec
    ) throws -> ClusterComparison {
        var entries: [Entry] = []
        let p = training.parallelism
        let modelRanks = p.tp * p.pp * p.cp
        for base in systems {
            let nodes = Self.nodes(for: peak, system: base, modelRanks: modelRanks)
            guard nodes <= maxNodes else {
                throw EstimateError(
                    "\(base.id) would need more than \(maxNodes) nodes for \(Quantity.format(peak, .flopRate)) "
                        + "(or its chip gives no dense bf16 peak)")
            }
            let system = try resolve(base, nodes)
            var request = training
            request.parallelism.dp = system.totalDevices / modelRanks
            let replica = request.parallelism.dp * request.microBatch
            request.globalBatch = (training.globalBatch + replica - 1) / replica * replica
            for cooling in coolings {
                var r = request
                r.conditions.cooling = cooling
                let e = try LongRunEstimator.estimate(r, run, system: system)
                entries.append(
                    Entry(
                        system: system, cooling: cooling, peakFLOPS: Double(system.totalDevices) * devicePeak(system.chip.device),
                        globalBatch: r.globalBatch, estimate: e))
            }
        }
        return ClusterComparison(entries: entries)
    }
}
