import Chips
import Fabric
import SimCore
import Systems
import Workloads

/// A collective as a kernel of its rank: its time from the fabric model, plus what it holds of the
/// chip while it runs, so it slows the compute it overlaps (NCCL's channels run one thread block
/// per SM; HCCL's SDMA engines or AI vector cores read and write HBM).
enum CollectiveCosting {
    static func cost(_ c: Op.Collective, kernel: String, machine: Machine, system: SystemSpec) throws -> KernelCost {
        guard let library = machine.library.collectives else {
            throw SimulationError(
                kernel: kernel,
                message:
                    "the kernel library \(machine.library.id) (\(machine.library.file)) has no collectives section to run "
                    + "\(c.kind.rawValue) with"
            )
        }
        let result: CollectiveResult
        do {
            result = try CollectiveModel(system: system, library: library).cost(c)
        } catch let error as FabricError {
            throw SimulationError(kernel: kernel, message: error.description)
        }
        var cost = KernelCost()
        // The library's fitted fixed latency already holds the kernel's start (it was fitted on
        // measured collective kernels), so no launch overhead is added.
        cost.duration = result.time
        cost.collective = result
        cost.linkBytes = result.links.reduce(0) { $0 + $1.bytes }
        // Each data byte sent is read from HBM, each byte received written, and a reduction also
        // reads what is there.
        let reduces = c.kind == .all_reduce || c.kind == .reduce_scatter
        cost.hbmBytes = result.dataBytes * (reduces ? 3 : 2)
        cost.unitsUsed = min(result.channels, machine.units)
        cost.occupancy = 1
        cost.hbmBusy = cost.duration > 0 ? min(1, cost.hbmBytes / (machine.streamBandwidth * cost.duration)) : 0
        cost.bound = result.latency >= result.time - result.latency ? .latency : .link
        cost.computeFraction = 0
        cost.decomposition =
            "\(result.algorithm.rawValue)/\(result.protocol.rawValue), \(result.placement.ranks) ranks"
            + (result.placement.domains > 1 ? " (\(result.placement.domains) x \(result.placement.perDomain))" : "")
            + (result.loops > 0
                ? ", \(result.loops) loop\(result.loops == 1 ? "" : "s") of \(Quantity.format(result.loopBytes, .bytes))" : "")
        return cost
    }
}
