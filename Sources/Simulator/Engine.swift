import Chips
import HeapModule
import Workloads

/// The result of one kernel in a run.
public struct KernelResult: Sendable {
    public var id: String
    public var op: String
    public var dtype: DataType
    public var stream: Int
    public var start: Double
    public var end: Double
    public var duration: Double { end - start }
    /// Duration in core cycles at the run's clock.
    public var cycles: Double
    /// The kernel's cost when alone (time, bytes, busy fractions, bound).
    public var cost: KernelCost
    /// Energy attributed to the kernel: its dynamic energy plus its share of static and uncore power (J).
    public var energy: Double = 0
    public var achievedFLOPS: Double { duration > 0 ? cost.flops / duration : 0 }

    public init(id: String, op: String, dtype: DataType, stream: Int, start: Double, end: Double, cycles: Double, cost: KernelCost) {
        self.id = id; self.op = op; self.dtype = dtype; self.stream = stream
        self.start = start; self.end = end; self.cycles = cycles; self.cost = cost
    }
    public var achievedHBMBandwidth: Double { duration > 0 ? cost.hbmBytes / duration : 0 }
}

/// The result of running a trace on a chip.
public struct RunResult: Sendable {
    public var chip: String
    public var workload: String
    public var clock: Double
    public var kernels: [KernelResult]
    public var totalTime: Double
    public var totalFLOPs: Double { kernels.reduce(0) { $0 + $1.cost.flops } }
    public var totalHBMBytes: Double { kernels.reduce(0) { $0 + $1.cost.hbmBytes } }
    public var tokens: Int?
    public var power = PowerSummary()
    public var samples: [Sample] = []

    public init(chip: String, workload: String, clock: Double, kernels: [KernelResult], totalTime: Double, tokens: Int?) {
        self.chip = chip; self.workload = workload; self.clock = clock; self.kernels = kernels
        self.totalTime = totalTime; self.tokens = tokens
    }
}

/// Power, temperature and throttling totals of a run.
public struct PowerSummary: Sendable {
    public var energy: Double = 0
    public var averagePower: Double = 0
    /// Highest power over one control interval.
    public var peakPower: Double = 0
    public var peakTemperature: Double = 0
    /// Time-weighted mean core clock.
    public var averageClock: Double = 0
    /// Time during which the power cap held the clock below the requested clock.
    public var powerThrottled: Double = 0
    /// Time during which temperature held the clock down (software slowdown or hardware slowdown).
    public var thermalThrottled: Double = 0
    /// Whether the junction reached the shutdown temperature.
    public var reachedShutdown = false
    public var powerLimit: Double = 0
    public var ambient: Double = 0
    public var cooling: String = ""
    public init() {}
}

extension RunResult {
    /// At most `limit` samples, evenly strided (the stride is returned), for printing and storing.
    public func downsampledSamples(limit: Int = 5000) -> (samples: [Sample], stride: Int) {
        guard samples.count > limit else { return (samples, 1) }
        let stride = (samples.count + limit - 1) / limit
        return (Swift.stride(from: 0, to: samples.count, by: stride).map { samples[$0] }, stride)
    }
}

/// One control interval of a run.
public struct Sample: Sendable {
    public var time: Double
    public var power: Double
    public var temperature: Double
    public var clock: Double
    public var hbmBandwidth: Double
}

/// Runs a trace on a machine: kernels on streams with dependencies, overlapping where the trace
/// allows and sharing HBM bandwidth and compute units at flow level while they overlap.
///
/// Each kernel's cost alone comes from its cost model. While several kernels run at once, each
/// progresses at 1 / (duration x dilation): the dilation is the over-subscription of the compute
/// units (each kernel demands its units in proportion to its occupancy of them), and, for the
/// share of the kernel's time spent waiting on HBM, the over-subscription of HBM bandwidth. Rates change only when a kernel starts or ends, so the engine jumps from event
/// to event; identical tiles are never simulated one by one (the cost models cost a full wave once).
public struct Engine: Sendable {
    public var machine: Machine

    public init(machine: Machine) { self.machine = machine }

    public func cost(of kernel: Kernel) throws -> KernelCost {
        let m = machine
        let warm = kernel.inputsInL2 ?? !kernel.deps.isEmpty
        switch kernel.op {
        case .gemm(let g):
            return try GemmModel.cost(.init(m: g.m, n: g.n, k: g.k, batch: g.batch), kernel.dtype, m, kernel: kernel.id, inputsInL2: warm)
        case .groupedGemm(let g):
            return try groupedGemm(g, kernel)
        case .attention(let a):
            return try AttentionModel.cost(a, kernel.dtype, m, kernel: kernel.id)
        case .elementwise(let e):
            return StreamingModel.elementwise(e, kernel.dtype, m, inputsInL2: warm)
        case .rowwise(let r):
            return StreamingModel.rowwise(r, kernel.dtype, m, inputsInL2: warm)
        case .embedding(let e):
            return StreamingModel.embedding(e, kernel.dtype, m)
        case .memcpy(let c):
            return StreamingModel.memcpy(c, m)
        case .collective(let c):
            throw SimulationError(kernel: kernel.id, message: "\(c.kind.rawValue) across \(c.ranks) ranks needs a system of several chips; a single-chip run cannot simulate collectives")
        }
    }

    /// A kernel run back to back, as benchmarks time it: the clock it settles at under the power
    /// limit (junction at its steady-state temperature), and its duration and power there.
    public func sustained(_ kernel: Kernel, conditions: RunConditions = RunConditions()) throws -> (duration: Double, clock: Double, power: Double) {
        let cost = try cost(of: kernel)
        let spec = machine.spec
        let model = PowerModel(spec)
        let energy = model.dynamicEnergy(cost, dtype: kernel.dtype, activity: kernel.activity)
        let limit = conditions.powerLimit ?? spec.power.limitMax
        let ambient = conditions.ambient ?? spec.thermal.ambient
        let cooling = conditions.cooling ?? spec.thermal.cooling
        let resistance = spec.thermal.junctionResistance + (cooling == "liquid" ? spec.thermal.heatsinkResistanceLiquid : spec.thermal.heatsinkResistanceAir)
        let boost = spec.clocks.boost
        func duration(_ f: Double) -> Double { cost.duration * (cost.computeFraction * boost / f + 1 - cost.computeFraction) }
        func power(_ f: Double) -> Double {
            let v = spec.clocks.voltage(at: f) / model.referenceVoltage
            let dynamic = energy * v * v / duration(f)
            var p = dynamic + model.uncorePower + model.clockPower(at: f)
            for _ in 0..<3 { p = dynamic + model.uncorePower + model.clockPower(at: f) + model.staticPower(temperature: ambient + p * resistance, clock: f) }
            return p
        }
        if let fixed = conditions.fixedClock { return (duration(fixed), fixed, power(fixed)) }
        if power(boost) <= limit { return (duration(boost), boost, power(boost)) }
        var low = spec.clocks.min, high = boost
        for _ in 0..<40 {
            let mid = (low + high) / 2
            if power(mid) <= limit { low = mid } else { high = mid }
        }
        return (duration(low), low, power(low))
    }

    /// A grouped GEMM is one launch whose tiles of all groups share the waves: costed as one GEMM
    /// over the stacked rows (each group padded to whole tiles), reading every group's weights.
    func groupedGemm(_ g: Op.GroupedGemm, _ kernel: Kernel) throws -> KernelCost {
        let active = g.mPerGroup.filter { $0 > 0 }
        let tileRows = max(machine.fragment.m, 64)
        let padded = active.reduce(0) { $0 + (($1 + tileRows - 1) / tileRows) * tileRows }
        let stacked = try GemmModel.cost(.init(m: padded, n: g.n, k: g.k, batch: 1), kernel.dtype, machine, kernel: kernel.id)
        // Each group has its own weight matrix: the stacked GEMM read one, the others add their reads.
        var cost = stacked
        let weight = Double(g.n) * Double(g.k) * kernel.dtype.bytes
        let extraWeights = Double(active.count - 1) * weight
        let extraTime = extraWeights / machine.streamBandwidth
        let computeTime = (cost.duration - machine.launchOverhead)
        if cost.bound == .memory || cost.bound == .latency {
            cost.duration += extraTime
        } else {
            cost.duration = machine.launchOverhead + max(computeTime, (cost.hbmBytes + extraWeights) / machine.streamBandwidth)
        }
        cost.hbmBytes += extraWeights
        cost.flops = 2 * Double(active.reduce(0, +)) * Double(g.n) * Double(g.k)
        cost.hbmBusy = cost.hbmBytes / machine.hbmBandwidth / cost.duration
        cost.decomposition = "\(active.count) groups stacked to \(padded) rows; " + stacked.decomposition
        return cost
    }

    public func run(_ trace: Trace, conditions: RunConditions = RunConditions()) throws -> RunResult {
        try conditions.validate(for: machine.spec)
        // Identical kernels (repeated layers, looped traces) cost the same: cost each once.
        struct Key: Hashable { var op: Op; var dtype: DataType; var warm: Bool }
        var cache: [Key: KernelCost] = [:]
        let costs = try trace.kernels.map { kernel -> KernelCost in
            let key = Key(op: kernel.op, dtype: kernel.dtype, warm: kernel.inputsInL2 ?? !kernel.deps.isEmpty)
            if let known = cache[key] { return known }
            let computed = try cost(of: kernel)
            cache[key] = computed
            return computed
        }
        let power = PowerModel(machine.spec)
        let energies = zip(trace.kernels, costs).map { power.dynamicEnergy($1, dtype: $0.dtype, activity: $0.activity) }
        var control = PowerControl(machine: machine, power: power, conditions: conditions)
        let (starts, ends, kernelEnergy, clockCycles) = schedule(trace, costs, energies, &control)
        var results: [KernelResult] = []
        results.reserveCapacity(trace.kernels.count)
        for (index, kernel) in trace.kernels.enumerated() {
            var result = KernelResult(id: kernel.id, op: kernel.op.name, dtype: kernel.dtype, stream: kernel.stream,
                                      start: starts[index], end: ends[index], cycles: clockCycles[index], cost: costs[index])
            result.energy = kernelEnergy[index]
            results.append(result)
        }
        var result = RunResult(chip: machine.spec.id, workload: trace.name, clock: machine.clock, kernels: results,
                               totalTime: ends.max() ?? 0, tokens: trace.tokens)
        result.power = control.summary
        result.samples = control.samples
        result.clock = control.summary.averageClock
        return result
    }

    /// Event-driven schedule with flow-level sharing and the power/thermal control loop; returns
    /// start and end times, energy and core cycles per kernel.
    func schedule(_ trace: Trace, _ costs: [KernelCost], _ energies: [Double], _ control: inout PowerControl)
        -> ([Double], [Double], [Double], [Double]) {
        let count = trace.kernels.count
        var starts = [Double](repeating: 0, count: count)
        var ends = [Double](repeating: 0, count: count)
        var kernelEnergy = [Double](repeating: 0, count: count)
        var cycles = [Double](repeating: 0, count: count)
        let boost = machine.clock
        // Streams are in-order queues: a kernel also waits for the previous kernel of its stream.
        var waitingOn = [Int](repeating: 0, count: count)
        var dependents = [[Int]](repeating: [], count: count)
        var lastOnStream: [Int: Int] = [:]
        for (index, kernel) in trace.kernels.enumerated() {
            var deps = kernel.deps
            if let previous = lastOnStream[kernel.stream], !deps.contains(previous) { deps.append(previous) }
            lastOnStream[kernel.stream] = index
            waitingOn[index] = deps.count
            for dep in deps { dependents[dep].append(index) }
        }
        let hbmCapacity = machine.streamBandwidth
        let units = Double(machine.units)
        // Per kernel: HBM demand while alone, and the share of its time spent on HBM.
        let demand = costs.map { $0.hbmBytes / max($0.duration, 1e-15) }
        let memoryShare = costs.map { min(1, $0.hbmBytes / hbmCapacity / max($0.duration, 1e-15)) }

        var ready = Heap<ReadyKernel>()
        for index in 0..<count where waitingOn[index] == 0 { ready.insert(ReadyKernel(time: 0, index: index)) }
        var running: [(index: Int, remaining: Double)] = []
        var now = 0.0
        var finished = 0
        while finished < count {
            // Start everything that is ready now.
            while let next = ready.min, next.time <= now + 1e-15 {
                _ = ready.removeMin()
                starts[next.index] = now
                running.append((next.index, 1))
            }
            if running.isEmpty {
                guard let next = ready.min else { break }
                now = next.time
                continue
            }
            // Current rates under sharing.
            var hbmLoad = 0.0, unitLoad = 0.0
            for item in running {
                hbmLoad += demand[item.index]
                unitLoad += Double(costs[item.index].unitsUsed) * costs[item.index].occupancy
            }
            let hbmOver = max(1, hbmLoad / hbmCapacity), unitOver = max(1, unitLoad / units)
            var soonest = Double.infinity
            var rates = [Double](repeating: 0, count: running.count)
            // The clock-bound share of a kernel's time stretches with boost / clock.
            let stretch = boost / control.clock
            for (slot, item) in running.enumerated() {
                let share = memoryShare[item.index]
                let occupancy = costs[item.index].occupancy
                let dilation = max(occupancy * unitOver + (1 - occupancy), share * hbmOver + (1 - share))
                let computeShare = costs[item.index].computeFraction
                let duration = max(costs[item.index].duration, 1e-15) * (computeShare * stretch + 1 - computeShare)
                let rate = 1 / (duration * dilation)
                rates[slot] = rate
                soonest = min(soonest, item.remaining / rate)
            }
            let nextReady = ready.min?.time ?? .infinity
            let step = min(soonest, nextReady - now, control.nextTick - now)
            // Power over this step: each kernel's dynamic energy spread over its progress, at the
            // clock's voltage; static and uncore power shared among the running kernels.
            let voltageScale = control.dynamicScale
            var dynamic = 0.0
            for (slot, item) in running.enumerated() { dynamic += energies[item.index] * rates[slot] * voltageScale }
            let background = control.backgroundPower
            for (slot, item) in running.enumerated() {
                kernelEnergy[item.index] += (energies[item.index] * rates[slot] * voltageScale + background / Double(running.count)) * step
                cycles[item.index] += control.clock * step
            }
            var hbmRate = 0.0
            for (slot, item) in running.enumerated() { hbmRate += costs[item.index].hbmBytes * rates[slot] }
            control.advance(by: step, dynamicPower: dynamic, hbmBandwidth: hbmRate)
            now += step
            if now >= control.nextTick - 1e-15 { control.tick(at: now) }
            var still: [(index: Int, remaining: Double)] = []
            for (slot, item) in running.enumerated() {
                let left = item.remaining - rates[slot] * step
                if left <= 1e-9 {
                    ends[item.index] = now
                    finished += 1
                    for dependent in dependents[item.index] {
                        waitingOn[dependent] -= 1
                        if waitingOn[dependent] == 0 { ready.insert(ReadyKernel(time: now, index: dependent)) }
                    }
                } else {
                    still.append((item.index, left))
                }
            }
            running = still
        }
        control.finish(at: now)
        return (starts, ends, kernelEnergy, cycles)
    }
}

/// A kernel whose dependencies are met, ordered by time then trace position (deterministic).
struct ReadyKernel: Comparable {
    var time: Double
    var index: Int
    static func < (a: ReadyKernel, b: ReadyKernel) -> Bool { a.time != b.time ? a.time < b.time : a.index < b.index }
}
