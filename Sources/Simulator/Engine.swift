import Chips
import SimCore
import Systems
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
    /// The system the trace's rank runs on, for its collectives; nil for a single chip.
    public var system: SystemSpec?

    public init(machine: Machine, system: SystemSpec? = nil) {
        self.machine = machine
        self.system = system
    }

    public func cost(of kernel: Kernel) throws -> KernelCost {
        var m = machine
        if let limit = kernel.units {
            guard limit <= machine.units else {
                throw SimulationError(
                    kernel: kernel.id, message: "units: \(limit) compute units asked for; \(machine.spec.id) has \(machine.units)")
            }
            m.units = limit
        }
        let warm = kernel.inputsInL2 ?? !kernel.deps.isEmpty
        switch kernel.op {
        case .gemm(let g):
            return try GemmModel.cost(
                .init(m: g.m, n: g.n, k: g.k, batch: g.batch, impl: g.impl, accumulate: g.accumulate), kernel.dtype, m, kernel: kernel.id,
                inputsInL2: warm)
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
            guard let system else {
                throw SimulationError(
                    kernel: kernel.id,
                    message:
                        "\(c.kind.rawValue) across \(c.ranks) ranks needs a system of several chips (run --system ID); a single-chip run "
                        + "cannot simulate collectives")
            }
            return try CollectiveCosting.cost(c, kernel: kernel.id, machine: m, system: system)
        case .measured(let measured):
            // Its time as measured, which already holds whatever the kernels beside it cost it: it
            // takes no units from them (a profile's streams overlap as recorded). Nothing is known of
            // what it did, so no dynamic energy is charged (the chip's static and clock power are).
            var cost = KernelCost()
            cost.duration = measured.seconds
            cost.unitsUsed = 1
            cost.occupancy = 0
            cost.decomposition = "measured " + Quantity.format(measured.seconds, .time) + " on the profiled device"
            return cost
        }
    }

    public func run(_ trace: Trace, conditions: RunConditions = RunConditions()) throws -> RunResult {
        try conditions.validate(for: machine.spec)
        // Traces read from files are checked by their reader; a trace built in code is checked here.
        // (By index throughout: a kernel copied whole costs retains of its strings and lists.)
        let kernels = trace.kernels
        for index in kernels.indices {
            for dep in kernels[index].deps where dep < 0 || dep >= index {
                throw SimulationError(
                    kernel: kernels[index].id,
                    message:
                        "depends on kernel \(dep), which is not an earlier kernel of the trace (kernels may depend only on earlier ones)")
            }
        }
        // Identical kernels (repeated layers, looped traces) cost the same: cost each once.
        struct Key: Hashable {
            var op: Op
            var dtype: DataType
            var warm: Bool
            var units: Int?
        }
        var cache: [Key: KernelCost] = [:]
        var costs: [KernelCost] = []
        costs.reserveCapacity(kernels.count)
        for index in kernels.indices {
            let key = Key(
                op: kernels[index].op, dtype: kernels[index].dtype, warm: kernels[index].inputsInL2 ?? !kernels[index].deps.isEmpty,
                units: kernels[index].units)
            if let known = cache[key] {
                costs.append(known)
                continue
            }
            let computed = try cost(of: kernels[index])
            cache[key] = computed
            costs.append(computed)
        }
        let power = PowerModel(machine.spec)
        let energies = kernels.indices.map {
            power.dynamicEnergy(costs[$0], dtype: kernels[$0].dtype, activity: kernels[$0].activity)
        }
        var control = PowerControl(machine: machine, power: power, conditions: conditions)
        var scheduler = Scheduler(machine: machine, trace: trace, costs: costs, energies: energies)
        let (starts, ends, kernelEnergy, clockCycles) = scheduler.run(&control)
        var results: [KernelResult] = []
        results.reserveCapacity(kernels.count)
        for index in kernels.indices {
            var result = KernelResult(
                id: kernels[index].id, op: kernels[index].op.name, dtype: kernels[index].dtype, stream: kernels[index].stream,
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
