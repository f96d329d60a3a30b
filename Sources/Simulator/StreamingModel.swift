import Chips
import Workloads

/// Cost of kernels that stream through memory: element-wise, row-wise (norm, softmax,
/// reduction), embedding gathers and copies.
///
/// The work is cut into chunks handed to units; the kernel is bound by HBM bandwidth, by the
/// vector (and special-function) units, or, for small kernels, by how many units have work and
/// how many bytes each keeps in flight (Little's law: a unit with S bytes in flight against a
/// latency L moves at most S/L).
enum StreamingModel {
    /// Elements one unit takes per chunk (a thread block of 1024 threads x 8 elements).
    static let chunkElements = 8192.0

    struct Work {
        var readBytes: Double
        var writeBytes: Double
        var vectorFlops: Double
        var sfuOps: Double
        /// Independent pieces of work (rows, chunks) that units can take.
        var parallelism: Double
        /// Passes over the data that pay the memory latency again (a row too long for the buffer).
        var passes: Double = 1
        var pcie: Bool = false
        var description: String
    }

    static func cost(_ work: Work, _ dtype: DataType, _ machine: Machine) -> KernelCost {
        let clock = machine.clock
        let units = Double(machine.units)
        let active = max(1, min(units, work.parallelism))
        let bytes = work.readBytes + work.writeBytes
        var cost = KernelCost()
        let fixed: Double
        let memory: Double
        if work.pcie {
            memory = bytes / (machine.pcieBandwidth * machine.efficiency.pcie)
            fixed = 2 * machine.hbmLatency
            cost.linkBytes = bytes
            cost.hbmBytes = bytes
        } else {
            let inFlightPerUnit = machine.stagingBytes / 2
            let unitRate = inFlightPerUnit / machine.hbmLatency
            memory = bytes / min(machine.streamBandwidth, active * unitRate)
            fixed = machine.hbmLatency * work.passes
            cost.hbmBytes = bytes
            cost.l2Bytes = bytes
            cost.bufferBytes = bytes
        }
        let vectorRate = machine.vectorFlopsPerCycle(dtype) * machine.efficiency.vector * clock * active
        let sfuRate = machine.sfuOpsPerCycle * clock * active
        let compute = work.vectorFlops / vectorRate + work.sfuOps / sfuRate
        cost.duration = max(memory, compute) + fixed + machine.launchOverhead
        cost.flops = work.vectorFlops + work.sfuOps
        cost.unitsUsed = Int(active)
        cost.vectorBusy = min(1, (work.vectorFlops / (vectorRate / machine.efficiency.vector / active * units)) / cost.duration)
        cost.hbmBusy = work.pcie ? 0 : min(1, bytes / machine.hbmBandwidth / cost.duration)
        cost.classify(compute: compute, memory: memory, fixed: fixed + machine.launchOverhead)
        cost.decomposition = work.description
        return cost
    }

    static func elementwise(_ e: Op.Elementwise, _ dtype: DataType, _ machine: Machine) -> KernelCost {
        let n = Double(e.elements)
        let work = Work(readBytes: n * Double(e.reads) * dtype.bytes, writeBytes: n * Double(e.writes) * dtype.bytes,
                        vectorFlops: n * e.flopsPerElement, sfuOps: 0, parallelism: (n / chunkElements).rounded(.up),
                        description: "\(Int((n / chunkElements).rounded(.up))) chunks of \(Int(chunkElements)) elements")
        return cost(work, dtype, machine)
    }

    static func rowwise(_ r: Op.Rowwise, _ dtype: DataType, _ machine: Machine) -> KernelCost {
        let rows = Double(r.rows), columns = Double(r.columns)
        let n = rows * columns
        let b = dtype.bytes
        // A row longer than half the unit's buffer cannot stay on chip between its two passes
        // (statistics, then normalise): it is read twice.
        let rowFits = columns * b * 2 <= machine.stagingBytes / 2
        let passes = rowFits ? 1.0 : 2.0
        var work: Work
        switch r.kind {
        case .norm:
            work = Work(readBytes: n * b * passes + columns * b, writeBytes: n * b, vectorFlops: n * 5, sfuOps: rows,
                        parallelism: rows, passes: passes, description: "\(r.rows) rows of \(r.columns)")
        case .softmax:
            work = Work(readBytes: n * b * passes, writeBytes: n * b, vectorFlops: n * 4, sfuOps: n,
                        parallelism: rows, passes: passes, description: "\(r.rows) rows of \(r.columns)")
        case .reduction:
            work = Work(readBytes: n * b, writeBytes: rows * b, vectorFlops: n, sfuOps: 0,
                        parallelism: rows, description: "\(r.rows) rows of \(r.columns)")
        }
        // Short rows are packed several to a unit; long rows are split across units.
        work.parallelism = max(rows * columns / max(columns, chunkElements), min(rows, n / chunkElements))
        return cost(work, dtype, machine)
    }

    static func embedding(_ e: Op.Embedding, _ dtype: DataType, _ machine: Machine) -> KernelCost {
        let n = Double(e.tokens) * Double(e.hidden)
        let work = Work(readBytes: n * dtype.bytes + Double(e.tokens) * 8, writeBytes: n * dtype.bytes, vectorFlops: 0, sfuOps: 0,
                        parallelism: max(Double(e.tokens), n / chunkElements), description: "gather of \(e.tokens) rows of \(e.hidden)")
        return cost(work, dtype, machine)
    }

    static func memcpy(_ c: Op.Memcpy, _ machine: Machine) -> KernelCost {
        let bytes = Double(c.bytes)
        switch c.kind {
        case .d2d:
            return cost(Work(readBytes: bytes, writeBytes: bytes, vectorFlops: 0, sfuOps: 0, parallelism: bytes / (chunkElements * 4),
                             description: "device copy"), .fp32, machine)
        case .h2d, .d2h:
            return cost(Work(readBytes: bytes, writeBytes: 0, vectorFlops: 0, sfuOps: 0, parallelism: 1, pcie: true,
                             description: "PCIe gen\(machine.spec.interconnect.pcieGeneration) x\(machine.spec.interconnect.pcieLanes) copy"), .fp32, machine)
        }
    }
}
