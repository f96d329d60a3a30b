import Chips
import Fabric
import Workloads

/// A chip's simulation resources, derived once from its ``ChipSpec``.
///
/// Everything the cost models need is precomputed here in SI units so the hot path does no
/// lookups by name and no allocation.
public struct Machine: Sendable {
    /// The chip description; calibration adjusts fitted figures in place.
    public var spec: ChipSpec
    /// Core clock the kernels run at (Hz).
    public var clock: Double
    /// Compute units a kernel may use: the chip's, or fewer for a kernel launched on fewer (`Kernel.units`).
    public var units: Int
    public let vectorUnitsPerUnit: Int
    public let fragment: (m: Int, n: Int, k: Int)
    public let multicastUnits: Int
    public let accumulatorTiles: Int
    public let stagingBytes: Double
    public let accumulatorBytes: Double
    public let sfuOpsPerCycle: Double
    public let maxResidentThreads: Int
    public let l2Bytes: Double
    public let l2Bandwidth: Double
    public var l2Latency: Double
    public let hbmBandwidth: Double
    public var hbmLatency: Double
    public let pcieBandwidth: Double
    public var launchOverhead: Double
    public var efficiency: ChipSpec.Efficiency
    /// The kernel library the chip's users get (calibration adjusts its fitted figures in place).
    public var library: KernelLibrary
    /// L2 bytes from which data shared by all units is reused.
    public let l2SharedBytes: Double
    /// Factor applied to the chip file's MAC energies during a calibration (1 otherwise).
    public var macEnergyScale = 1.0

    public init(_ spec: ChipSpec, clock: Double? = nil) {
        self.spec = spec
        self.clock = clock ?? spec.clocks.boost.value
        units = spec.totalUnits
        vectorUnitsPerUnit = spec.compute.vectorUnitsPerUnit
        fragment = spec.compute.fragment
        multicastUnits = spec.compute.multicastUnits
        accumulatorTiles = spec.compute.accumulatorTiles
        stagingBytes = spec.compute.stagingBufferBytes
        accumulatorBytes = spec.compute.accumulatorBufferBytes
        sfuOpsPerCycle = spec.compute.specialFunctionOpsPerCycle
        maxResidentThreads = spec.compute.maxResidentThreads
        l2Bytes = spec.memory.l2Size.value
        l2Bandwidth = spec.memory.l2Bandwidth.value
        l2Latency = spec.memory.l2Latency.value
        hbmBandwidth = spec.memory.hbmBandwidth.value
        hbmLatency = spec.memory.hbmLatency.value
        pcieBandwidth = spec.interconnect.pcieBandwidth.value
        launchOverhead = spec.launchOverhead.value
        efficiency = spec.efficiency
        library = spec.library
        l2SharedBytes = spec.memory.l2SharedCapacity.value
    }

    /// Dense MACs per cycle per unit for `dtype`: the matrix unit's, or the vector unit's FMA rate
    /// when the matrix unit does not take that type (fp32 GEMM on an H100 runs on CUDA cores).
    public func macsPerCycle(_ dtype: DataType) -> (macs: Double, onMatrixUnit: Bool)? {
        if let macs = spec.compute.macsPerCycle[dtype] { return (macs, true) }
        if let flops = spec.compute.vectorFlopsPerCycle[dtype] { return (flops / 2 * Double(vectorUnitsPerUnit), false) }
        return nil
    }

    /// Vector FLOPs per cycle per compute unit (all its vector units) for `dtype`, falling back to fp32.
    public func vectorFlopsPerCycle(_ dtype: DataType) -> Double {
        let table = spec.compute.vectorFlopsPerCycle
        let perVectorUnit = table[dtype] ?? table[.fp32] ?? table.values.max() ?? 1
        return perVectorUnit * Double(vectorUnitsPerUnit)
    }

    /// Achievable HBM bandwidth for streaming (B/s).
    public var streamBandwidth: Double { hbmBandwidth * efficiency.hbm }
    public var achievableL2Bandwidth: Double { l2Bandwidth * efficiency.l2 }
}

/// Why a kernel takes the time it takes.
public enum Bound: String, Sendable {
    case compute, memory, latency
    /// Bound by the links between chips (a collective's transfers).
    case link
}

/// The cost of one kernel running alone on the machine.
public struct KernelCost: Sendable {
    /// Seconds from start to end when alone, launch overhead included.
    public var duration: Double = 0
    public var flops: Double = 0
    public var hbmBytes: Double = 0
    public var l2Bytes: Double = 0
    /// Bytes moved through the per-unit buffers (tile staging).
    public var bufferBytes: Double = 0
    public var linkBytes: Double = 0
    /// Compute units the kernel occupies.
    public var unitsUsed: Int = 1
    /// Busy fractions over the kernel's duration, whole chip: matrix units, vector units, HBM.
    public var matrixBusy: Double = 0
    public var vectorBusy: Double = 0
    public var hbmBusy: Double = 0
    public var bound: Bound = .latency
    /// How the kernel was decomposed, for reports ("128x256x64 tiles, 2 waves").
    public var decomposition: String = ""
    /// Matrix MACs issued, including padding, for the power model.
    public var macs: Double = 0
    /// Vector and special-function operations, for the power model.
    public var vectorFlops: Double = 0
    /// Fraction of the duration the occupied units spend computing (not waiting on memory).
    public var computeFraction: Double = 0
    /// How much of its units the kernel holds while it runs, which is what a concurrent kernel
    /// competes for: 1 for tiled kernels (a tile fills the unit's staging buffer for its whole life),
    /// the compute fraction for streaming kernels (their small blocks leave room beside them).
    public var occupancy: Double = 1
    /// For a collective: the algorithm and protocol its library ran, its bandwidths and link use.
    /// Held by reference: every kernel result carries a cost, and a million-kernel run should not
    /// carry a collective's worth of bytes for each of them.
    public var collective: CollectiveResult? {
        get { collectiveBox?.value }
        set { collectiveBox = newValue.map(CollectiveBox.init) }
    }
    var collectiveBox: CollectiveBox?

    public init() {}

    /// Classifies the bound from the parts of the time.
    mutating func classify(compute: Double, memory: Double, fixed: Double) {
        if fixed >= max(compute, memory) { bound = .latency } else { bound = compute >= memory ? .compute : .memory }
        computeFraction = duration > 0 ? min(1, max(0, compute / duration)) : 0
    }
}

/// An error that makes a trace impossible on a chip (an unsupported data type, a collective on one chip).
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public var kernel: String
    public var message: String
    public var description: String { "kernel \"\(kernel)\": \(message)" }
}

/// A collective's result behind one reference (see ``KernelCost/collective``).
final class CollectiveBox: Sendable {
    let value: CollectiveResult
    init(_ value: CollectiveResult) { self.value = value }
}
