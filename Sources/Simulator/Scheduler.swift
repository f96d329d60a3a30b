import Chips
import SimCore
import Workloads

/// The shared resources of one chip on a flow network: per die, its compute units, its L2 and its
/// HBM, and the die-to-die link of a multi-die package.
///
/// A kernel of a package that software sees as one device spreads its tiles evenly over the dies,
/// so it holds each die's share of what it uses. Links of a system are more resources on the same
/// network.
public struct ChipResources: Sendable {
    public struct Die: Sendable {
        public var units: FlowNetwork.ResourceID
        public var l2: FlowNetwork.ResourceID
        public var hbm: FlowNetwork.ResourceID
    }
    public var dies: [Die]
    /// The die-to-die link (per direction), where the chip file gives one.
    public var dieToDie: FlowNetwork.ResourceID?

    /// Adds the chip's resources to `network`: compute units counted as units, L2 and HBM at the
    /// bandwidth kernels sustain on them, each split evenly over the package's dies.
    public init(_ machine: Machine, on network: inout FlowNetwork, prefix: String = "") {
        let count = max(1, machine.spec.dies)
        let share = 1 / Double(count)
        dies = (0..<count).map { die in
            let name = prefix + (count > 1 ? "die\(die)." : "")
            return Die(
                units: network.addResource(name + "units", capacity: Double(machine.units) * share),
                l2: network.addResource(name + "l2", capacity: machine.achievableL2Bandwidth * share),
                hbm: network.addResource(name + "hbm", capacity: machine.streamBandwidth * share))
        }
        let d2d = machine.spec.interconnect
        dieToDie =
            count > 1
            ? d2d.dieToDieBandwidth.map {
                network.addResource(prefix + "d2d", capacity: $0.value, latency: d2d.dieToDieLatency?.value ?? 0)
            } : nil
    }

    /// The hops of a kernel that holds `units` units and moves `l2` and `hbm` bytes per unit of its
    /// flow, spread evenly over the dies.
    func hops(units: Double, l2: Double, hbm: Double) -> [FlowNetwork.Hop] {
        let share = 1 / Double(dies.count)
        return dies.flatMap { die in
            [
                FlowNetwork.Hop(die.units, usage: units * share), FlowNetwork.Hop(die.l2, usage: l2 * share),
                FlowNetwork.Hop(die.hbm, usage: hbm * share),
            ]
        }
    }
}

/// Runs a trace's kernels over time: streams are in-order queues, dependencies gate starts, and
/// each running kernel is a flow over the chip's resources (and a collective's over the rank's
/// links, which collectives running at once share).
///
/// A kernel's flow carries the kernel's progress, from 0 to 1: its cap is 1 / its duration alone
/// (it cannot run faster than alone), its weight the same (so sharing slows kernels by equal
/// fractions of their own speed), and a whole kernel holds its units (units used x occupancy) for
/// its duration alone and moves its L2 and HBM bytes.
/// Max-min fair filling then slows every kernel sharing a full resource by the same fraction:
/// two memory-bound kernels on one HBM each get half of it, a GEMM beside an element-wise kernel
/// keeps the units the other does not hold. The clock-bound share of a kernel's time stretches
/// with boost / clock, so a clock change at a control tick reshapes the running flows. Energy is
/// charged per interval between events, from the flows' rates.
struct Scheduler {
    enum Event: Sendable {
        case ready(Int)
        case tick
    }

    let machine: Machine
    let trace: Trace
    let costs: [KernelCost]
    let energies: [DynamicEnergy]

    init(machine: Machine, trace: Trace, costs: [KernelCost], energies: [DynamicEnergy]) {
        self.machine = machine
        self.trace = trace
        self.costs = costs
        self.energies = energies
    }

    /// Start and end times, energy and core cycles per kernel.
    mutating func run(_ control: inout PowerControl) -> ([Double], [Double], [Double], [Double]) {
        let count = trace.kernels.count
        var starts = [Double](repeating: 0, count: count)
        var ends = [Double](repeating: 0, count: count)
        var kernelEnergy = [Double](repeating: 0, count: count)
        var cycles = [Double](repeating: 0, count: count)
        // Streams are in-order queues: a kernel also waits for the previous kernel of its stream.
        var waitingOn = [Int](repeating: 0, count: count)
        var dependents = [[Int]](repeating: [], count: count)
        var lastOnStream: [Int: Int] = [:]
        for index in trace.kernels.indices {
            let stream = trace.kernels[index].stream
            var deps = trace.kernels[index].deps
            if let previous = lastOnStream[stream], !deps.contains(previous) { deps.append(previous) }
            lastOnStream[stream] = index
            waitingOn[index] = deps.count
            for dep in deps { dependents[dep].append(index) }
        }

        var network = FlowNetwork()
        let chip = ChipResources(machine, on: &network)
        var queue = EventQueue<Event>()
        for index in 0..<count where waitingOn[index] == 0 { queue.schedule(.ready(index), at: 0) }
        queue.schedule(.tick, at: control.nextTick)
        // The kernel each flow slot carries, and the running kernels with their flows, in start order.
        var kernelOfFlow: [Int] = []
        var running: [(kernel: Int, flow: FlowNetwork.FlowID)] = []
        var finishedFlows: [FlowNetwork.FlowID] = []
        var now = 0.0
        var finished = 0
        let boost = machine.clock
        var stretch = boost / control.clock

        let unitCapacity = Double(machine.units)
        let l2Capacity = machine.achievableL2Bandwidth
        let hbmCapacity = machine.streamBandwidth
        // The rank's links, where the trace has collectives: each link class at the rate the
        // collective library reaches on it, so collectives running at once share it.
        var links: [String: (id: FlowNetwork.ResourceID, capacity: Double)] = [:]
        if machine.library.collectives != nil {
            for cost in costs {
                for use in cost.collective?.links ?? [] where links[use.name] == nil && use.capacity > 0 {
                    links[use.name] = (network.addResource(use.name, capacity: use.capacity), use.capacity)
                }
            }
        }
        func shape(_ index: Int) -> (hops: [FlowNetwork.Hop], rate: Double) {
            let cost = costs[index]
            let alone = durationAlone(index, stretch)
            // Alone, a kernel's cost never asks more of a resource than it has; the clamps only
            // absorb rounding, so a kernel alone always runs at its own speed.
            var hops = chip.hops(
                units: min(Double(cost.unitsUsed) * cost.occupancy, unitCapacity) * alone,
                l2: min(cost.l2Bytes, l2Capacity * alone), hbm: min(cost.hbmBytes, hbmCapacity * alone))
            for use in cost.collective?.links ?? [] {
                guard let link = links[use.name] else { continue }
                hops.append(FlowNetwork.Hop(link.id, usage: min(use.loadBytes, link.capacity * alone)))
            }
            return (hops, 1 / alone)
        }

        while finished < count {
            let next = min(queue.nextTime ?? .infinity, network.nextEventTime ?? .infinity)
            guard next.isFinite else { break }
            let step = next - now
            if step > 0 && !running.isEmpty {
                // Power over this step: each kernel's dynamic energy spread over its progress, at the
                // clock's voltage; static and uncore power shared among the running kernels.
                let voltageScale = control.dynamicScale
                let background = control.backgroundPower / Double(running.count)
                var dynamic = DynamicEnergy()
                var scaling = DynamicEnergy()
                var hbmRate = 0.0
                for item in running {
                    let progress = network.rate(of: item.flow)
                    let power = energies[item.kernel] * progress
                    dynamic = dynamic + power
                    scaling = scaling + power * costs[item.kernel].computeFraction
                    hbmRate += costs[item.kernel].hbmBytes * progress
                    kernelEnergy[item.kernel] += (power.total(coreScale: voltageScale) + background) * step
                    cycles[item.kernel] += control.clock * step
                }
                control.advance(by: step, dynamicPower: dynamic, scalingPower: scaling, hbmBandwidth: hbmRate)
            }
            now = max(now, next)
            finishedFlows.removeAll(keepingCapacity: true)
            network.advance(to: now, finished: &finishedFlows)
            for flow in finishedFlows {
                let index = kernelOfFlow[flow.index]
                ends[index] = now
                finished += 1
                running.removeAll { $0.kernel == index }
                for dependent in dependents[index] {
                    waitingOn[dependent] -= 1
                    if waitingOn[dependent] == 0 { queue.schedule(.ready(dependent), at: now) }
                }
            }
            while let time = queue.nextTime, time <= now {
                guard let (_, event) = queue.next() else { break }
                switch event {
                case .ready(let index):
                    starts[index] = now
                    let (hops, rate) = shape(index)
                    let flow = network.startFlow(amount: 1, path: hops, cap: rate, weight: rate)
                    if kernelOfFlow.count <= flow.index {
                        kernelOfFlow.append(contentsOf: repeatElement(-1, count: flow.index + 1 - kernelOfFlow.count))
                    }
                    kernelOfFlow[flow.index] = index
                    running.append((index, flow))
                case .tick:
                    control.tick(at: now)
                    let newStretch = boost / control.clock
                    if newStretch != stretch {
                        // The clock changed: the clock-bound share of each running kernel speeds up or slows down.
                        stretch = newStretch
                        for item in running {
                            let (hops, rate) = shape(item.kernel)
                            network.reshape(item.flow, path: hops, cap: rate, weight: rate)
                        }
                    }
                    if finished < count { queue.schedule(.tick, at: control.nextTick) }
                }
            }
        }
        control.finish(at: now)
        return (starts, ends, kernelEnergy, cycles)
    }

    /// A kernel's duration alone at the clock that stretches its compute-bound share by `stretch`.
    func durationAlone(_ index: Int, _ stretch: Double) -> Double {
        let cost = costs[index]
        return max(cost.duration, 1e-15) * (cost.computeFraction * stretch + 1 - cost.computeFraction)
    }
}
