import Chips
import Workloads

/// Runs a trace on a machine: kernels on streams with dependencies, overlapping where the trace
/// allows and sharing the chip's resources while they overlap.
///
/// Each kernel's cost alone comes from its cost model (per-op dispatch here); ``Scheduler`` then
/// runs the kernels as flows over the machine's resources (compute units, L2, HBM) on SimCore's
/// flow network, with the power and thermal control loop setting the clock; identical tiles are
/// never simulated one by one (the cost models cost a full wave once).
public struct Engine: Sendable {
    public var machine: Machine

    public init(machine: Machine) { self.machine = machine }

    public func cost(of kernel: Kernel) throws -> KernelCost {
        let m = machine
        let warm = kernel.inputsInL2 ?? !kernel.deps.isEmpty
        switch kernel.op {
        case .gemm(let g):
            return try GemmModel.cost(
                .init(m: g.m, n: g.n, k: g.k, batch: g.batch, impl: g.impl), kernel.dtype, m, kernel: kernel.id, inputsInL2: warm)
        case .groupedGemm(let g):
            return try GemmModel.groupedCost(g, kernel.dtype, m, kernel: kernel.id)
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
            throw SimulationError(
                kernel: kernel.id,
                message:
                    "\(c.kind.rawValue) across \(c.ranks) ranks needs a system of several chips; a single-chip run cannot simulate collectives"
            )
        }
    }

    public func run(_ trace: Trace, conditions: RunConditions = RunConditions()) throws -> RunResult {
        try conditions.validate(for: machine.spec)
        // Traces read from files are checked by their reader; a trace built in code is checked here.
        for (index, kernel) in trace.kernels.enumerated() {
            for dep in kernel.deps where dep < 0 || dep >= index {
                throw SimulationError(
                    kernel: kernel.id,
                    message:
                        "depends on kernel \(dep), which is not an earlier kernel of the trace (kernels may depend only on earlier ones)")
            }
        }
        // Identical kernels (repeated layers, looped traces) cost the same: cost each once.
        struct Key: Hashable {
            var op: Op
            var dtype: DataType
            var warm: Bool
        }
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
        var scheduler = Scheduler(machine: machine, trace: trace, costs: costs, energies: energies)
        let (starts, ends, kernelEnergy, clockCycles) = scheduler.run(&control)
        var results: [KernelResult] = []
        results.reserveCapacity(trace.kernels.count)
        for (index, kernel) in trace.kernels.enumerated() {
            var result = KernelResult(
                id: kernel.id, op: kernel.op.name, dtype: kernel.dtype, stream: kernel.stream,
                start: starts[index], end: ends[index], cycles: clockCycles[index], cost: costs[index])
            result.energy = kernelEnergy[index]
            results.append(result)
        }
        var result = RunResult(
            chip: machine.spec.id, workload: trace.name, clock: machine.clock, kernels: results,
            totalTime: ends.max() ?? 0, tokens: trace.tokens)
        result.power = control.summary
        result.samples = control.samples
        result.clock = control.summary.averageClock
        return result
    }
}
