import Config
import SimCore

/// A validated chip description in SI units: what the simulator builds its machine from.
///
/// Made only from a ``ChipDocument`` that passed ``ChipValidator``; the document stays attached so
/// every figure can still be traced to its source.
public struct ChipSpec: Sendable {
    public struct Clocks: Sendable {
        public var base: Hertz, boost: Hertz, min: Hertz
        public var memory: Hertz?
        /// (frequency in Hz, voltage in V), sorted by frequency.
        public var vfTable: [FigureValue.Point]

        /// Core voltage at `frequency`, interpolated linearly in the V-f table and clamped at its ends.
        public func voltage(at clock: Hertz) -> Double { voltage(at: clock.value) }

        /// The same, for a clock in Hz as the simulation's hot path carries it.
        public func voltage(at frequency: Double) -> Double {
            guard let first = vfTable.first, let last = vfTable.last else { return 1 }
            if frequency <= first.x { return first.y }
            if frequency >= last.x { return last.y }
            for (a, b) in zip(vfTable, vfTable.dropFirst()) where frequency <= b.x {
                return a.y + (b.y - a.y) * (frequency - a.x) / (b.x - a.x)
            }
            return last.y
        }
    }

    public struct Compute: Sendable {
        public var unitKind: String
        public var unitsPerDie: Int
        public var vectorUnitsPerUnit: Int
        /// Dense MACs per cycle per compute unit.
        public var macsPerCycle: [DataType: Double]
        public var fragment: (m: Int, n: Int, k: Int)
        public var multicastUnits: Int
        public var accumulatorTiles: Int
        public var vendorPeak: [DataType: Double]
        public var peakClock: Double?
        /// FLOPs per cycle per vector unit.
        public var vectorFlopsPerCycle: [DataType: Double]
        public var specialFunctionOpsPerCycle: Double
        public var maxResidentThreads: Int
        public var buffers: [String: Double]
        public var stagingBufferBytes: Double
        public var accumulatorBufferBytes: Double
    }

    public struct Memory: Sendable {
        public var l2Size: Bytes, l2Bandwidth: BytesPerSecond, l2Latency: Seconds
        public var l2Partitions: Int
        /// L2 bytes that data shared by all units can be reused from.
        public var l2SharedCapacity: Bytes { l2Size / Double(l2Partitions) }
        public var hbmGeneration: String
        public var hbmStacks: Int
        public var hbmCapacity: Bytes, hbmBandwidth: BytesPerSecond, hbmLatency: Seconds
    }

    public struct Interconnect: Sendable {
        public var scaleUpKind: String
        public var scaleUpLinks: Int
        public var bandwidthPerLink: BytesPerSecond
        public var linkLatency: Seconds
        public var dieToDieBandwidth: BytesPerSecond?
        public var dieToDieLatency: Seconds?
        public var pcieGeneration: Int, pcieLanes: Int
        public var scaleOutBandwidth: BytesPerSecond
        public var scaleUpBandwidth: BytesPerSecond { Double(scaleUpLinks) * bandwidthPerLink }
        /// Payload rate of the PCIe link per direction (B/s): lanes x transfer rate x encoding
        /// efficiency / 8, by generation as the PCI-SIG base specifications define them: 2.5 and
        /// 5 GT/s with 8b/10b (gen 1-2), 8, 16 and 32 GT/s with 128b/130b (gen 3-5), 64 and 128
        /// GT/s in 256-byte FLITs carrying 242 bytes of payload (gen 6-7).
        public var pcieBandwidth: BytesPerSecond {
            let table: [(rate: Double, efficiency: Double)] = [(2.5e9, 0.8), (5e9, 0.8), (8e9, 128.0 / 130), (16e9, 128.0 / 130),
                                                                (32e9, 128.0 / 130), (64e9, 242.0 / 256), (128e9, 242.0 / 256)]
            let entry = table[min(max(pcieGeneration, 1), table.count) - 1]
            return BytesPerSecond(Double(pcieLanes) * entry.rate * entry.efficiency / 8)
        }
    }

    public struct Power: Sendable {
        public var tdp: Watts, idle: Watts, limitMin: Watts, limitMax: Watts
        public var energyPerMAC: [DataType: Double]
        public var energyPerByte: [MemoryLevel: Double]
        public var staticPower: Watts, staticReferenceTemperature: Celsius, staticTemperatureCoefficient: Double
        public var macActivityFloor: Double
        public var controlInterval: Seconds
        public var clockPower: Watts
    }

    public struct Thermal: Sendable {
        public var maxOperating: Celsius, slowdown: Celsius, shutdown: Celsius
        /// Share of the boost clock the hardware slowdown allows.
        public var slowdownClock: Double
        public var junctionResistance: KelvinPerWatt, junctionCapacitance: JoulesPerKelvin
        public var heatsinkResistanceAir: KelvinPerWatt, heatsinkResistanceLiquid: KelvinPerWatt, heatsinkCapacitance: JoulesPerKelvin
        public var ambient: Celsius
        public var cooling: Cooling
    }

    public var id: String
    public var name: String
    public var vendor: String
    public var process: String
    public var dies: Int
    public var clocks: Clocks
    public var compute: Compute
    public var memory: Memory
    public var interconnect: Interconnect
    public var power: Power
    public var thermal: Thermal
    public var launchOverhead: Seconds
    /// The kernel library the chip's users get by default.
    public var library: KernelLibrary
    public var efficiency: Efficiency
    public var document: ChipDocument

    /// Fitted efficiency parameters (see `xpusim calibrate`).
    public struct Efficiency: Sendable {
        public var matrix: Double
        public var matrixByType: [DataType: Double]
        public var vector: Double, hbm: Double, rowwise: Double, blockwise: Double, gather: Double, l2: Double, pcie: Double
        public func matrix(_ dtype: DataType) -> Double { matrixByType[dtype] ?? matrix }
    }

    /// Compute units in the whole package.
    public var totalUnits: Int { dies * compute.unitsPerDie }

    /// Dense matrix FLOP/s of the package at `clock` (default: the vendor's peak clock, else boost).
    public func peakMatrixFLOPS(_ dtype: DataType, clock: Double? = nil) -> Double? {
        guard let macs = compute.macsPerCycle[dtype] else { return nil }
        let at: Double = clock ?? compute.peakClock ?? clocks.boost.value
        return Double(totalUnits) * macs * 2 * at
    }

    /// Vector FLOP/s of the package at `clock` (default boost).
    public func peakVectorFLOPS(_ dtype: DataType, clock: Double? = nil) -> Double? {
        guard let flops = compute.vectorFlopsPerCycle[dtype] else { return nil }
        return Double(totalUnits * compute.vectorUnitsPerUnit) * flops * (clock ?? clocks.boost.value)
    }
}

extension ChipSpec {
    /// Builds the typed description from a document; run ``ChipValidator/validate(_:)`` first.
    public init(_ document: ChipDocument, libraries: String = KernelLibraries.defaultDirectory()) throws {
        let errors = ChipValidator.validate(document)
        if !errors.isEmpty { throw ConfigErrors(errors) }
        func n(_ path: String) -> Double { document.number(path)! }
        func q<U: PhysicalUnit>(_ path: String) -> Measure<U> { Measure(document.number(path)!) }
        func optionalQ<U: PhysicalUnit>(_ path: String) -> Measure<U>? { document.number(path).map { Measure($0) } }
        func t(_ path: String) -> String { document.figures[path]!.value.text! }
        func byType(_ prefix: String) -> [DataType: Double] {
            var map: [DataType: Double] = [:]
            for dtype in DataType.allCases { if let v = document.number("\(prefix).\(dtype.rawValue)") { map[dtype] = v } }
            return map
        }
        func byKey(_ prefix: String, _ keys: [String]) -> [String: Double] {
            var map: [String: Double] = [:]
            for key in keys { if let v = document.number("\(prefix).\(key)") { map[key] = v } }
            return map
        }
        func byLevel() -> [MemoryLevel: Double] {
            var map: [MemoryLevel: Double] = [:]
            for level in MemoryLevel.allCases { if let v = document.number("power.energy_per_byte.\(level.rawValue)") { map[level] = v } }
            return map
        }
        guard case .curve(let vf) = document.figures["clocks.vf_table"]?.value else {
            throw ConfigError(file: document.file, path: "clocks.vf_table", message: "expected a list of [frequency, voltage] pairs")
        }
        id = t("identity.id"); name = t("identity.name"); vendor = t("identity.vendor"); process = t("identity.process")
        dies = Int(n("identity.dies_per_package"))
        clocks = Clocks(base: q("clocks.base"), boost: q("clocks.boost"), min: q("clocks.min"), memory: optionalQ("clocks.memory"),
                        vfTable: vf.sorted { $0.x < $1.x })
        let buffers = byKey("compute.buffers", ParameterKeys.buffer)
        compute = Compute(
            unitKind: t("compute.unit_kind"), unitsPerDie: Int(n("compute.units_per_die")),
            vectorUnitsPerUnit: Int(n("compute.vector_units_per_unit")),
            macsPerCycle: byType("compute.matrix.macs_per_cycle"),
            fragment: (Int(n("compute.matrix.fragment_m")), Int(n("compute.matrix.fragment_n")), Int(n("compute.matrix.fragment_k"))),
            multicastUnits: Int(n("compute.matrix.multicast_units")),
            accumulatorTiles: Int(n("compute.matrix.accumulator_tiles")),
            vendorPeak: byType("compute.matrix.vendor_peak"), peakClock: document.number("compute.matrix.peak_clock"),
            vectorFlopsPerCycle: byType("compute.vector.flops_per_cycle"),
            specialFunctionOpsPerCycle: n("compute.special_function.ops_per_cycle"),
            maxResidentThreads: Int(n("compute.max_resident_threads")),
            buffers: buffers,
            stagingBufferBytes: buffers[t("compute.matrix.staging_buffer")]!,
            accumulatorBufferBytes: buffers[t("compute.matrix.accumulator_buffer")]!)
        memory = Memory(l2Size: q("memory.l2.size"), l2Bandwidth: q("memory.l2.bandwidth"), l2Latency: q("memory.l2.latency"),
                        l2Partitions: Int(n("memory.l2.partitions")),
                        hbmGeneration: t("memory.hbm.generation"), hbmStacks: Int(n("memory.hbm.stacks")),
                        hbmCapacity: q("memory.hbm.capacity"), hbmBandwidth: q("memory.hbm.bandwidth"), hbmLatency: q("memory.hbm.latency"))
        interconnect = Interconnect(
            scaleUpKind: t("interconnect.scale_up.kind"), scaleUpLinks: Int(n("interconnect.scale_up.links")),
            bandwidthPerLink: q("interconnect.scale_up.bandwidth_per_link"), linkLatency: q("interconnect.scale_up.latency"),
            dieToDieBandwidth: optionalQ("interconnect.die_to_die.bandwidth"),
            dieToDieLatency: optionalQ("interconnect.die_to_die.latency"),
            pcieGeneration: Int(n("interconnect.pcie.generation")), pcieLanes: Int(n("interconnect.pcie.lanes")),
            scaleOutBandwidth: q("interconnect.scale_out.bandwidth"))
        power = Power(tdp: q("power.tdp"), idle: q("power.idle"), limitMin: q("power.limit_min"), limitMax: q("power.limit_max"),
                      energyPerMAC: byType("power.energy_per_mac"), energyPerByte: byLevel(),
                      staticPower: q("power.static"), staticReferenceTemperature: q("power.static_reference_temperature"),
                      staticTemperatureCoefficient: n("power.static_temperature_coefficient"),
                      macActivityFloor: n("power.mac_activity_floor"), controlInterval: q("power.control_interval"),
                      clockPower: q("power.clock_power"))
        thermal = Thermal(maxOperating: q("thermal.max_operating"), slowdown: q("thermal.slowdown"), shutdown: q("thermal.shutdown"),
                          slowdownClock: n("thermal.slowdown_clock"),
                          junctionResistance: q("thermal.junction_resistance"), junctionCapacitance: q("thermal.junction_capacitance"),
                          heatsinkResistanceAir: q("thermal.heatsink_resistance_air"),
                          heatsinkResistanceLiquid: q("thermal.heatsink_resistance_liquid"),
                          heatsinkCapacitance: q("thermal.heatsink_capacitance"),
                          ambient: q("thermal.ambient"), cooling: Cooling(rawValue: t("thermal.cooling"))!)
        launchOverhead = q("runtime.launch_overhead")
        library = try KernelLibraries.named(t("runtime.library"), for: document.file, directory: libraries)
        efficiency = Efficiency(matrix: n("efficiency.matrix"), matrixByType: byType("efficiency.matrix_dtype"),
                                vector: n("efficiency.vector"), hbm: n("efficiency.hbm"),
                                rowwise: n("efficiency.rowwise"), blockwise: n("efficiency.blockwise"), gather: n("efficiency.gather"), l2: n("efficiency.l2"), pcie: n("efficiency.pcie"))
        self.document = document
    }
}
