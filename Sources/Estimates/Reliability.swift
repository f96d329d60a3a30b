import Chips
import Foundation
import SimCore
import Systems
import Workloads

/// A component class whose faults interrupt a training job (the Llama 3 paper's causes, grouped).
public enum FailureClass: String, CaseIterable, Sendable, Comparable {
    /// The accelerator's logic: cores, on-die SRAM, its system processor, links, SDC, thermal interface.
    case accelerator
    case hbm
    /// Switches, cables and optics of the scale-up and scale-out networks.
    case network
    case nic
    /// CPUs, system memory, drives, power supplies, chassis, unplanned host maintenance.
    case host
    /// Framework and collective-library faults, watchdog hangs, dependencies.
    case software

    /// Whether the rate follows the accelerator's junction temperature (the package's own parts).
    public var followsJunction: Bool { self == .accelerator || self == .hbm }

    public static func < (a: FailureClass, b: FailureClass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Job-interrupting fault rates (per second) of the hardware one job occupies, by class.
public struct FailureRates: Sendable, Equatable {
    public var perSecond: [FailureClass: Double]
    /// Summed in the classes' order, so the same rates give the same total to the last bit.
    public var total: Double { FailureClass.allCases.reduce(0) { $0 + (perSecond[$1] ?? 0) } }
    /// The job's mean time to interruption (s).
    public var mtti: Double { 1 / total }

    public init(perSecond: [FailureClass: Double]) { self.perSecond = perSecond }
}

/// Fault rates from the chip's and system's reliability figures: per-device classes times the
/// ranks, per-node classes times the nodes the ranks occupy (a fraction of a node counts as that
/// fraction), software per rank. The package's own classes follow its junction temperature by an
/// Arrhenius law: rate(T) = rate(T_ref) x exp(Ea / k x (1 / T_ref - 1 / T)), temperatures in kelvin.
public enum FailureModel {
    /// Boltzmann's constant (eV/K).
    public static let boltzmann = 8.617_333_262e-5

    /// How much faster the package fails at `temperature` than at `reference` (°C both).
    public static func acceleration(temperature: Double, reference: Double, activationEnergy: Double) -> Double {
        exp(activationEnergy / boltzmann * (1 / (reference + 273.15) - 1 / (temperature + 273.15)))
    }

    /// The rates of `ranks` devices of `system` with their junctions at `temperature` (°C).
    public static func rates(ranks: Int, system: SystemSpec, temperature: Double) throws -> FailureRates {
        let chip = system.chip
        let device = chip.device
        let r = device.reliability
        let s = system.reliability
        func need(_ value: Double?, _ path: String, _ file: String) throws -> Double {
            guard let value else {
                throw EstimateError(
                    "\(file) gives no \(path): a long run's failures need the chip's and the system's reliability figures")
            }
            return value
        }
        let chipFile = chip.document.file
        let systemFile = system.document.file
        let reference = try need(r.referenceTemperature, "reliability.reference_temperature", chipFile)
        let energy = try need(r.activationEnergy, "reliability.activation_energy", chipFile)
        let heat = acceleration(temperature: temperature, reference: reference, activationEnergy: energy)
        let devices = Double(ranks)
        let nodes = devices / Double(system.devicesPerNode)
        return FailureRates(perSecond: [
            .accelerator: devices * heat / (try need(r.acceleratorMTBF, "reliability.mtbf.accelerator", chipFile)),
            .hbm: devices * heat / (try need(r.hbmMTBF, "reliability.mtbf.hbm", chipFile)),
            .network: nodes / (try need(s.networkMTBF, "reliability.mtbf.network", systemFile)),
            .nic: nodes / (try need(s.nicMTBF, "reliability.mtbf.nic", systemFile)),
            .host: nodes / (try need(s.hostMTBF, "reliability.mtbf.host", systemFile)),
            .software: devices / (try need(s.softwareMTBF, "reliability.mtbf.software", systemFile)),
        ])
    }
}

/// What a checkpoint costs and what a restart takes, from the model's state and the storage.
///
/// A checkpoint holds bf16 weights and the fp32 master weights and Adam moments: 14 bytes per
/// parameter, written once (Megatron's distributed checkpoint spreads the replicated weights'
/// writing over the data-parallel ranks). All nodes write in parallel, up to the file system's
/// aggregate bandwidth. A synchronous checkpoint stalls training for the whole write; an
/// asynchronous one for the copy of each rank's share to host memory over PCIe, and the write
/// finishes behind the next steps. A restart reads the checkpoint back once (Megatron's fully
/// parallel load: each shard by one rank, the replicated weights exchanged between replicas) at
/// the read bandwidth, after detection and rescheduling, and before the warm-up.
public struct CheckpointPlan: Sendable, Equatable {
    public var bytes: Double
    /// Until the checkpoint is durable (s).
    public var writeTime: Double
    /// Training paused per checkpoint (s): the write (synchronous) or the copy to host (asynchronous).
    public var stall: Double
    public var asynchronous: Bool
    public var reloadTime: Double
    public var detection: Double
    public var reschedule: Double
    public var warmup: Double
    /// From a fault to training again (s).
    public var restart: Double { detection + reschedule + reloadTime + warmup }

    public init(
        bytes: Double, writeTime: Double, stall: Double, asynchronous: Bool, reloadTime: Double, detection: Double,
        reschedule: Double, warmup: Double
    ) {
        self.bytes = bytes
        self.writeTime = writeTime
        self.stall = stall
        self.asynchronous = asynchronous
        self.reloadTime = reloadTime
        self.detection = detection
        self.reschedule = reschedule
        self.warmup = warmup
    }

    /// `aggregate`: the file system's bandwidth for the whole job (B/s), nil for the nodes' own paths only.
    public static func plan(
        model: ModelDescription, parallelism: Parallelism, system: SystemSpec, asynchronous: Bool, aggregate: Double? = nil
    ) throws -> CheckpointPlan {
        let file = system.document.file
        guard let write = system.storage.writeBandwidth, let read = system.storage.readBandwidth else {
            throw EstimateError("\(file) gives no storage.write_bandwidth and storage.read_bandwidth: checkpoints need them")
        }
        let s = system.reliability
        guard let detection = s.detection, let reschedule = s.reschedule, let warmup = s.warmup else {
            throw EstimateError("\(file) gives no reliability.detection, reschedule and warmup: restarts need them")
        }
        let params = Double(model.parameters)
        let ranks = Double(parallelism.ranks)
        let nodes = ranks / Double(system.devicesPerNode)
        let writeRate = min(nodes * write, aggregate ?? .infinity)
        let readRate = min(nodes * read, aggregate ?? .infinity)
        let bytes = 14 * params
        let writeTime = bytes / writeRate
        let device = system.chip.device
        let toHost = device.interconnect.pcieBandwidth.value * max(device.efficiency.pcie, 0.1)
        let stall = asynchronous ? bytes / ranks / toHost : writeTime
        // Megatron's fully parallel load: each shard read once, the replicated weights exchanged
        // between the data-parallel ranks over the network (not counted).
        let reload = bytes / readRate
        return CheckpointPlan(
            bytes: bytes, writeTime: writeTime, stall: stall, asynchronous: asynchronous, reloadTime: reload, detection: detection,
            reschedule: reschedule, warmup: warmup)
    }
}

/// The expected course of a long run under exponentially distributed faults (Daly 2006): work
/// in segments of `interval` seconds, each followed by a checkpoint stall; a fault loses the
/// work since the last durable checkpoint and costs a restart, during which faults can strike
/// again. An asynchronous checkpoint is durable only `writeTime` after its stall, so a fault in
/// that window also loses the segment before: on average `writeTime` of extra work per fault,
/// taken here as part of each restart.
public struct Goodput: Sendable, Equatable {
    /// Faults per second of the whole job.
    public var rate: Double
    public var interval: Double
    public var stall: Double
    public var restart: Double
    /// Extra work lost per fault while an asynchronous checkpoint is still being written (s).
    public var pendingWrite: Double

    public init(rate: Double, interval: Double, stall: Double, restart: Double, pendingWrite: Double = 0) {
        self.rate = rate
        self.interval = interval
        self.stall = stall
        self.restart = restart
        self.pendingWrite = pendingWrite
    }

    /// Expected wall time to complete one segment and its checkpoint:
    /// (e^{λ(τ+δ)} - 1) e^{λR} / λ, with R the restart plus the pending write.
    public var segmentTime: Double {
        let l = rate * (interval + stall)
        let r = rate * (restart + pendingWrite)
        guard rate > 0 else { return interval + stall }
        return expm1(l) * exp(r) / rate
    }

    /// The useful fraction of wall time.
    public var fraction: Double { interval / segmentTime }

    /// Expected time per segment in each activity (s); they add up to `segmentTime`.
    public var checkpointTime: Double { stall }
    /// Work done in attempts that a fault cut short, and (asynchronous) the pending writes' segments.
    public var reworkTime: Double {
        guard rate > 0 else { return 0 }
        let failed = expm1(rate * (interval + stall)) / rate - (interval + stall)
        return failed + restartShare * (pendingWrite / max(restart + pendingWrite, .leastNonzeroMagnitude))
    }
    public var restartTime: Double { restartShare * (restart / max(restart + pendingWrite, .leastNonzeroMagnitude)) }
    /// Faults per segment, those during restarts included.
    public var faultsPerSegment: Double { expm1(rate * (interval + stall)) * exp(rate * (restart + pendingWrite)) }

    private var restartShare: Double {
        guard rate > 0 else { return 0 }
        return expm1(rate * (interval + stall)) * expm1(rate * (restart + pendingWrite)) / rate
    }

    /// Young's interval: sqrt(2 δ M).
    public static func young(stall: Double, mtti: Double) -> Double { (2 * stall * mtti).squareRoot() }

    /// Daly's higher-order interval: sqrt(2 δ M) (1 + sqrt(δ / 2M) / 3 + δ / 18M) - δ for δ < 2M, else M.
    public static func daly(stall: Double, mtti: Double) -> Double {
        guard stall < 2 * mtti else { return mtti }
        let x = stall / (2 * mtti)
        return (2 * stall * mtti).squareRoot() * (1 + x.squareRoot() / 3 + x / 9) - stall
    }

    /// The interval that maximises the useful fraction (golden-section search over log τ), no
    /// shorter than `minimum`.
    public static func optimalInterval(rate: Double, stall: Double, restart: Double, pendingWrite: Double = 0, minimum: Double = 1)
        -> Double
    {
        guard rate > 0 else { return .infinity }
        func loss(_ logTau: Double) -> Double {
            -Goodput(rate: rate, interval: exp(logTau), stall: stall, restart: restart, pendingWrite: pendingWrite).fraction
        }
        var lo = log(max(minimum, 1e-3))
        var hi = log(max(minimum * 2, 1 / rate * 10))
        let g = (5.0.squareRoot() - 1) / 2
        var a = hi - g * (hi - lo)
        var b = lo + g * (hi - lo)
        var fa = loss(a)
        var fb = loss(b)
        for _ in 0..<200 where hi - lo > 1e-9 {
            if fa < fb {
                hi = b
                b = a
                fb = fa
                a = hi - g * (hi - lo)
                fa = loss(a)
            } else {
                lo = a
                a = b
                fa = fb
                b = lo + g * (hi - lo)
                fb = loss(b)
            }
        }
        return exp((lo + hi) / 2)
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator whose streams are fixed by
/// their seed, so a Monte Carlo with a given --seed gives the same figures on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform on [0, 1), 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// An exponentially distributed time with `rate` per second.
    mutating func exponential(_ rate: Double) -> Double {
        guard rate > 0 else { return .infinity }
        return -log1p(-uniform()) / rate
    }
}

/// One simulated run: faults drawn as a Poisson process per class, checkpoints, rollbacks and
/// restarts as they would happen (an asynchronous checkpoint is lost with its segment when a
/// fault strikes before its write is durable).
public struct SimulatedRun: Sendable, Equatable {
    public var wallTime = 0.0
    public var usefulTime = 0.0
    public var checkpointTime = 0.0
    public var reworkTime = 0.0
    public var restartTime = 0.0
    public var faults: [FailureClass: Int] = [:]
    public var faultCount: Int { faults.values.reduce(0, +) }
    public var fraction: Double { wallTime > 0 ? usefulTime / wallTime : 0 }
}

public enum MonteCarlo {
    /// How long the run goes: until a wall-clock time, or until an amount of useful work is done (s).
    public enum Horizon: Sendable, Equatable {
        case wall(Double)
        case work(Double)
    }

    /// One run of `horizon` with the faults of `rates`, checkpoints every `interval` of work.
    public static func run(
        rates: FailureRates, interval: Double, stall: Double, writeTime: Double, asynchronous: Bool, restart: Double, horizon: Horizon,
        rng: inout SplitMix64
    ) -> SimulatedRun {
        let total = rates.total
        let classes = FailureClass.allCases.filter { (rates.perSecond[$0] ?? 0) > 0 }
        let weights = classes.map { rates.perSecond[$0]! / total }
        var out = SimulatedRun()
        func fault() {
            var u = rng.uniform()
            var pick = classes.last!
            for (c, w) in zip(classes, weights) {
                if u < w {
                    pick = c
                    break
                }
                u -= w
            }
            out.faults[pick, default: 0] += 1
        }
        var t = 0.0
        var nextFault = rng.exponential(total)
        var pendingUntil = -Double.infinity
        var pendingWork = 0.0
        let wallLimit: Double
        let workTarget: Double
        switch horizon {
        case .wall(let d):
            wallLimit = d
            workTarget = .infinity
        case .work(let w):
            wallLimit = .infinity
            workTarget = w
        }
        while t < wallLimit && out.usefulTime < workTarget {
            let work = min(interval, workTarget - out.usefulTime)
            let end = t + work + stall
            if nextFault >= min(end, wallLimit) {
                if end > wallLimit {
                    // The horizon ends inside this segment: its work so far counts (a last checkpoint at the end).
                    out.usefulTime += min(work, wallLimit - t)
                    out.checkpointTime += max(0, wallLimit - t - work)
                    t = wallLimit
                    break
                }
                t = end
                out.usefulTime += work
                out.checkpointTime += stall
                if asynchronous {
                    pendingUntil = t + writeTime
                    pendingWork = work
                }
                continue
            }
            // A fault: the attempt's work is lost, and the last segment's too if its write was not durable.
            out.reworkTime += nextFault - t
            if nextFault < pendingUntil {
                out.usefulTime -= pendingWork
                out.reworkTime += pendingWork
            }
            pendingUntil = -.infinity
            t = nextFault
            fault()
            // Restart; a fault during it starts it again.
            while true {
                let next = rng.exponential(total)
                let left = min(restart, wallLimit - t)
                if next >= left {
                    t += left
                    out.restartTime += left
                    break
                }
                t += next
                out.restartTime += next
                fault()
            }
            nextFault = t + rng.exponential(total)
        }
        out.wallTime = t
        return out
    }

    /// `trials` runs, trial i seeded from `seed` and i (the same figures however many threads run them).
    public static func runs(
        trials: Int, seed: UInt64, rates: FailureRates, interval: Double, stall: Double, writeTime: Double, asynchronous: Bool,
        restart: Double, horizon: Horizon
    ) -> [SimulatedRun] {
        Parallel.map(Array(0..<trials)) { i in
            var seeder = SplitMix64(seed: seed ^ (UInt64(i) &* 0xD1B5_4A32_D192_ED03))
            var rng = SplitMix64(seed: seeder.next())
            return run(
                rates: rates, interval: interval, stall: stall, writeTime: writeTime, asynchronous: asynchronous, restart: restart,
                horizon: horizon, rng: &rng)
        }
    }
}

/// The median and the 10th and 90th percentiles of a sample.
public struct Spread: Sendable, Equatable {
    public var p10: Double
    public var median: Double
    public var p90: Double

    public init(_ values: [Double]) {
        let s = values.sorted()
        func at(_ q: Double) -> Double {
            guard !s.isEmpty else { return .nan }
            let x = q * Double(s.count - 1)
            let i = Int(x)
            let f = x - Double(i)
            return i + 1 < s.count ? s[i] * (1 - f) + s[i + 1] * f : s[i]
        }
        p10 = at(0.1)
        median = at(0.5)
        p90 = at(0.9)
    }
}
