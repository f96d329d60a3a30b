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

    public init(chip: String, workload: String, clock: Double, kernels: [KernelResult], totalTime: Double, tokens: Int?) {
        self.chip = chip; self.workload = workload; self.clock = clock; self.kernels = kernels
        self.totalTime = totalTime; self.tokens = tokens
    }
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

    public func run(_ trace: Trace) throws -> RunResult {
        let costs = try trace.kernels.map { try cost(of: $0) }
        let (starts, ends) = schedule(trace, costs)
        var results: [KernelResult] = []
        results.reserveCapacity(trace.kernels.count)
        for (index, kernel) in trace.kernels.enumerated() {
            let duration = ends[index] - starts[index]
            results.append(KernelResult(id: kernel.id, op: kernel.op.name, dtype: kernel.dtype, stream: kernel.stream,
                                        start: starts[index], end: ends[index], cycles: duration * machine.clock, cost: costs[index]))
        }
        return RunResult(chip: machine.spec.id, workload: trace.name, clock: machine.clock, kernels: results,
                         totalTime: ends.max() ?? 0, tokens: trace.tokens)
    }

    /// Event-driven schedule with flow-level sharing; returns start and end times per kernel.
    func schedule(_ trace: Trace, _ costs: [KernelCost]) -> ([Double], [Double]) {
        let count = trace.kernels.count
        var starts = [Double](repeating: 0, count: count)
        var ends = [Double](repeating: 0, count: count)
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
            for (slot, item) in running.enumerated() {
                let share = memoryShare[item.index]
                let occupancy = costs[item.index].occupancy
                let dilation = max(occupancy * unitOver + (1 - occupancy), share * hbmOver + (1 - share))
                let rate = 1 / (max(costs[item.index].duration, 1e-15) * dilation)
                rates[slot] = rate
                soonest = min(soonest, item.remaining / rate)
            }
            let nextReady = ready.min?.time ?? .infinity
            let step = min(soonest, nextReady - now)
            now += step
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
        return (starts, ends)
    }
}

/// A kernel whose dependencies are met, ordered by time then trace position (deterministic).
struct ReadyKernel: Comparable {
    var time: Double
    var index: Int
    static func < (a: ReadyKernel, b: ReadyKernel) -> Bool { a.time != b.time ? a.time < b.time : a.index < b.index }
}
