import Chips
import Foundation
import Workloads

/// Cost of kernels that stream through memory: element-wise, row-wise (norm, softmax,
/// reduction), embedding gathers and copies.
///
/// The work is cut into chunks handed to units; the kernel is bound by HBM bandwidth, by the
/// vector (and special-function) units, or, for small kernels, by how many units have work and
/// how many bytes each keeps in flight (Little's law: a unit with S bytes in flight against a
/// latency L moves at most S/L).
enum StreamingModel {

    struct Work {
        /// Activation reads (produced by an earlier kernel) and other reads (weights, tables).
        var readBytes: Double
        var writeBytes: Double
        var weightBytes: Double = 0
        var vectorFlops: Double
        var sfuOps: Double
        /// Independent pieces of work (rows, chunks) that units can take.
        var parallelism: Double
        /// Dependent memory round trips on the critical path: 1 for read-then-write; 2 when a
        /// reduction sits between reading and writing; one more for each extra pass over a row.
        var passes: Double = 1
        var pcie: Bool = false
        /// Fraction of peak HBM bandwidth this class of kernel sustains.
        var efficiency: KeyPath<ChipSpec.Efficiency, Double> = \.hbm
        /// Block structure when known: blocks, threads per block, and the dependent memory round
        /// trips one block waits for. Warps issue in order and a simple loop uses each load right
        /// away, so every iteration of the first pass waits one memory latency; later passes over a
        /// row the block has just read (after a block-wide reduction) wait on L2.
        var blocks: (count: Double, threads: Double, hbmTrips: Double, l2Trips: Double)?
        var description: String
    }

    static func cost(_ work: Work, _ dtype: DataType, _ machine: Machine, inputsInL2: Bool = false) -> KernelCost {
        let clock = machine.clock
        let units = Double(machine.units)
        let active = max(1, min(units, work.parallelism))
        let bytes = work.readBytes + work.writeBytes + work.weightBytes
        // Inputs the producer just wrote are still in L2 (when the trace says so, or the kernel
        // depends on another). Two views of the same residency:
        // - bytes: up to the shared L2 (size / partitions) of the inputs is served by L2 (what the producer left there that
        //   other live data has not displaced); outputs stay in L2 while that half has room left;
        // - dependent loads: a loop iteration waits for the slowest of its lines, so it sees L2
        //   latency only while nearly every line hits, which holds wholly while the footprint fits in
        //   the shared L2 (size / partitions), and for a falling share of iterations up to the whole L2.
        let activation = bytes - work.weightBytes
        let warm = inputsInL2 && !work.pcie
        let half = machine.l2SharedBytes
        let readHits = warm ? min(work.readBytes, half) : 0
        let writeHits = warm ? min(work.writeBytes, half - readHits) : 0
        let latencyHit = warm ? l2LatencyShare(footprint: activation, machine) : 0
        var cost = KernelCost()
        let fixed: Double
        let memory: Double
        let firstPassLatency = latencyHit * machine.l2Latency + (1 - latencyHit) * machine.hbmLatency
        if work.pcie {
            memory = bytes / (machine.pcieBandwidth * machine.efficiency.pcie)
            fixed = 2 * machine.hbmLatency
            cost.linkBytes = bytes
            cost.hbmBytes = bytes
        } else {
            let inFlightPerUnit = machine.stagingBytes / 2
            let unitRate = inFlightPerUnit / firstPassLatency
            let fromHBM = bytes - readHits - writeHits
            let l2Time = (readHits + writeHits) / machine.achievableL2Bandwidth
            let hbmTime = fromHBM / (machine.hbmBandwidth * machine.efficiency.hbm)
            // A kernel class that issues its loads less well than a flat vectorised kernel (per-row
            // blocks, scalar loads, gathers) moves at most its class's share of peak bandwidth,
            // wherever its bytes come from.
            let issueCap = work.efficiency == \.hbm ? 0 : bytes / (machine.hbmBandwidth * machine.efficiency[keyPath: work.efficiency])
            memory = max(l2Time + hbmTime, issueCap, bytes / (active * unitRate))
            fixed = firstPassLatency * work.passes
            cost.hbmBytes = fromHBM
            cost.l2Bytes = bytes
            cost.bufferBytes = bytes
        }
        let vectorRate = machine.vectorFlopsPerCycle(dtype) * machine.efficiency.vector * clock * active
        let sfuRate = machine.sfuOpsPerCycle * clock * active
        let compute = work.vectorFlops / vectorRate + work.sfuOps / sfuRate
        var latencyChain = 0.0
        if let blocks = work.blocks {
            // Blocks run in waves of (resident threads / threads per block) per unit; each block is a
            // chain of dependent round trips to memory.
            let resident = max(1, (Double(machine.maxResidentThreads) / blocks.threads).rounded(.down))
            let waves = (blocks.count / (units * resident)).rounded(.up)
            latencyChain = waves * (blocks.hbmTrips * firstPassLatency + blocks.l2Trips * machine.l2Latency)
        }
        cost.duration = max(memory + fixed, compute + fixed, latencyChain) + machine.launchOverhead
        cost.flops = work.vectorFlops + work.sfuOps
        cost.vectorFlops = work.vectorFlops + work.sfuOps
        cost.unitsUsed = Int(active)
        cost.vectorBusy = min(1, (work.vectorFlops / (vectorRate / machine.efficiency.vector / active * units)) / cost.duration)
        cost.hbmBusy = work.pcie ? 0 : min(1, bytes / machine.hbmBandwidth / cost.duration)
        cost.classify(compute: compute, memory: memory, fixed: max(fixed, latencyChain) + machine.launchOverhead)
        cost.occupancy = cost.computeFraction
        cost.decomposition = work.description
        return cost
    }

    /// Share of a kernel's dependent loads that see L2 latency when its producer has just written the
    /// inputs: 1 while the footprint fits in the L2 that data shared chip-wide lives in (size /
    /// partitions), falling linearly to 0 at the whole L2.
    static func l2LatencyShare(footprint: Double, _ machine: Machine) -> Double {
        let shared = machine.l2SharedBytes
        guard machine.l2Bytes > shared else { return footprint <= shared ? 1 : 0 }
        return min(1, max(0, (machine.l2Bytes - footprint) / (machine.l2Bytes - shared)))
    }

    static func elementwise(_ e: Op.Elementwise, _ dtype: DataType, _ machine: Machine, inputsInL2: Bool) -> KernelCost {
        let chunkElements = machine.library.chunkElements
        let n = Double(e.elements)
        var work = Work(
            readBytes: n * Double(e.reads) * dtype.bytes, writeBytes: n * Double(e.writes) * dtype.bytes,
            vectorFlops: n * e.flopsPerElement, sfuOps: 0, parallelism: (n / chunkElements).rounded(.up),
            description: "\(Int((n / chunkElements).rounded(.up))) chunks of \(Int(chunkElements)) elements")
        if let blocks = e.blocks {
            // One block per row: the block loops over its row, as row-wise kernels do.
            work.parallelism = Double(blocks)
            work.efficiency = \.blockwise
            work.description = "\(blocks) blocks of \(formatCount(n / Double(blocks))) elements"
            if let threads = e.threads {
                let iterations = (n / Double(blocks) / Double(threads)).rounded(.up)
                work.blocks = (Double(blocks), Double(threads), iterations, 0)
                work.description += ", \(formatCount(iterations)) iterations of \(threads) threads"
            }
        }
        return cost(work, dtype, machine, inputsInL2: inputsInL2)
    }

    static func rowwise(_ r: Op.Rowwise, _ dtype: DataType, _ machine: Machine, inputsInL2: Bool) -> KernelCost {
        let chunkElements = machine.library.chunkElements
        let rows = Double(r.rows)
        let columns = Double(r.columns)
        let n = rows * columns
        let b = dtype.bytes
        // A row longer than half the unit's buffer cannot stay on chip between its two passes
        // (statistics, then normalise): it is read twice.
        let rowFits = columns * b * 2 <= machine.stagingBytes / 2
        // Read, reduce across the block, then write: two dependent round trips, three if the row is re-read.
        let passes = rowFits ? 2.0 : 3.0
        let reads = rowFits ? 1.0 : 2.0
        var work: Work
        switch r.kind {
        case .norm:
            // A fused residual add reads the residual too and writes it back updated.
            let tensors = r.residual ? 2.0 : 1.0
            work = Work(
                readBytes: n * b * (reads + tensors - 1), writeBytes: n * b * tensors, weightBytes: columns * b,
                vectorFlops: n * (r.residual ? 6 : 5), sfuOps: rows,
                parallelism: rows, passes: passes, description: "\(r.rows) rows of \(r.columns)\(r.residual ? ", fused residual add" : "")")
        case .softmax:
            work = Work(
                readBytes: n * b * reads, writeBytes: n * b, vectorFlops: n * 4, sfuOps: n,
                parallelism: rows, passes: passes, description: "\(r.rows) rows of \(r.columns)")
        case .reduction:
            work = Work(
                readBytes: n * b, writeBytes: rows * b, vectorFlops: n, sfuOps: 0,
                parallelism: rows, passes: 2, description: "\(r.rows) rows of \(r.columns)")
        }
        work.efficiency = \.rowwise
        if let threads = r.threads {
            // Pass 1 reads the row from HBM; after the reduction the normalising pass re-reads it from L2.
            let iterations = (columns / Double(threads)).rounded(.up)
            work.blocks = (rows, Double(threads), iterations, r.kind == .reduction ? 0 : iterations * reads)
        }
        // Short rows are packed several to a unit; long rows are split across units.
        work.parallelism = max(rows * columns / max(columns, chunkElements), min(rows, n / chunkElements))
        return cost(work, dtype, machine, inputsInL2: inputsInL2)
    }

    static func embedding(_ e: Op.Embedding, _ dtype: DataType, _ machine: Machine) -> KernelCost {
        let chunkElements = machine.library.chunkElements
        let n = Double(e.tokens) * Double(e.hidden)
        let work = Work(
            readBytes: Double(e.tokens) * 8, writeBytes: n * dtype.bytes, weightBytes: n * dtype.bytes, vectorFlops: 0, sfuOps: 0,
            parallelism: max(Double(e.tokens), n / chunkElements), efficiency: \.gather,
            description: "gather of \(e.tokens) rows of \(e.hidden)")
        return cost(work, dtype, machine)
    }

    static func memcpy(_ c: Op.Memcpy, _ machine: Machine) -> KernelCost {
        let chunkElements = machine.library.chunkElements
        let bytes = Double(c.bytes)
        switch c.kind {
        case .d2d:
            return cost(
                Work(
                    readBytes: bytes, writeBytes: bytes, vectorFlops: 0, sfuOps: 0, parallelism: bytes / (chunkElements * 4),
                    description: "device copy"), .fp32, machine)
        case .h2d, .d2h:
            return cost(
                Work(
                    readBytes: bytes, writeBytes: 0, vectorFlops: 0, sfuOps: 0, parallelism: 1, pcie: true,
                    description: "PCIe gen\(machine.spec.interconnect.pcieGeneration) x\(machine.spec.interconnect.pcieLanes) copy"), .fp32,
                machine)
        }
    }
}

func formatCount(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value) }
