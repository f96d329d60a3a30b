import Config
import SimCore

/// A validated chip description in SI units: what the simulator builds its machine from.
///
/// Made only from a ``ChipDocument`` that passed ``ChipValidator``; the document stays attached so
/// every figure can still be traced to its source.
public struct ChipSpec: Sendable {
    public struct Clocks: Sendable {
        public var base = Hertz.zero, boost = Hertz.zero, min = Hertz.zero
        public var memory: Hertz?
        /// (frequency in Hz, voltage in V), sorted by frequency.
        public var vfTable: [FigureValue.Point] = []

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
        public var unitKind = ""
        public var unitsPerDie = 0
        public var vectorUnitsPerUnit = 0
        /// Dense MACs per cycle per compute unit.
        public var macsPerCycle: [DataType: Double] = [:]
        public var fragment: (m: Int, n: Int, k: Int) = (0, 0, 0)
        public var multicastUnits = 0
        public var accumulatorTiles = 0
        public var vendorPeak: [DataType: Double] = [:]
        public var peakClock: Double?
        /// FLOPs per cycle per vector unit.
        public var vectorFlopsPerCycle: [DataType: Double] = [:]
        public var specialFunctionOpsPerCycle = 0.0
        public var maxResidentThreads = 0
        public var buffers: [String: Double] = [:]
        /// The buffers that stage a GEMM's A and B tiles and hold its accumulators, by name.
        public var stagingBuffer = "", accumulatorBuffer = ""
        public var stagingBufferBytes: Double { buffers[stagingBuffer] ?? 0 }
        public var accumulatorBufferBytes: Double { buffers[accumulatorBuffer] ?? 0 }
    }

    public struct Memory: Sendable {
        public var l2Size = Bytes.zero, l2Bandwidth = BytesPerSecond.zero, l2Latency = Seconds.zero
        public var l2Partitions = 1
        /// L2 bytes that data shared by all units can be reused from.
        public var l2SharedCapacity: Bytes { l2Size / Double(l2Partitions) }
        public var hbmGeneration = ""
        public var hbmStacks = 0
        public var hbmCapacity = Bytes.zero, hbmBandwidth = BytesPerSecond.zero, hbmLatency = Seconds.zero
    }

    public struct Interconnect: Sendable {
        public var scaleUpKind = ""
        public var scaleUpLinks = 0
        public var bandwidthPerLink = BytesPerSecond.zero
        public var linkLatency = Seconds.zero
        public var dieToDieBandwidth: BytesPerSecond?
        public var dieToDieLatency: Seconds?
        public var pcieGeneration = 1, pcieLanes = 0
        public var scaleOutBandwidth = BytesPerSecond.zero
        public var scaleUpBandwidth: BytesPerSecond { Double(scaleUpLinks) * bandwidthPerLink }
        /// Payload rate of the PCIe link per direction (B/s): lanes x transfer rate x encoding
        /// efficiency / 8, by generation as the PCI-SIG base specifications define them: 2.5 and
        /// 5 GT/s with 8b/10b (gen 1-2), 8, 16 and 32 GT/s with 128b/130b (gen 3-5), 64 and 128
        /// GT/s in 256-byte FLITs carrying 242 bytes of payload (gen 6-7).
        public var pcieBandwidth: BytesPerSecond {
            let table: [(rate: Double, efficiency: Double)] = [
                (2.5e9, 0.8), (5e9, 0.8), (8e9, 128.0 / 130), (16e9, 128.0 / 130),
                (32e9, 128.0 / 130), (64e9, 242.0 / 256), (128e9, 242.0 / 256),
            ]
            let entry = table[min(max(pcieGeneration, 1), table.count) - 1]
            return BytesPerSecond(Double(pcieLanes) * entry.rate * entry.efficiency / 8)
        }
    }

    /// The package's price (USD): a list or street price, or an estimate the file says is one; nil
    /// where none is known (cost per token is then not reported).
    public var price: Double?

    public struct Power: Sendable {
        public var tdp = Watts.zero, idle = Watts.zero, limitMin = Watts.zero, limitMax = Watts.zero
        public var energyPerMAC: [DataType: Double] = [:]
        public var energyPerByte: [MemoryLevel: Double] = [:]
        public var staticPower = Watts.zero, staticReferenceTemperature = Celsius.zero, staticTemperatureCoefficient = 0.0
        public var macActivityFloor = 0.0
        public var controlInterval = Seconds.zero
        public var clockPower = Watts.zero
    }

    public struct Thermal: Sendable {
        public var maxOperating = Celsius.zero, slowdown = Celsius.zero, shutdown = Celsius.zero
        /// Share of the boost clock the hardware slowdown allows.
        public var slowdownClock = 0.0
        public var junctionResistance = KelvinPerWatt.zero, junctionCapacitance = JoulesPerKelvin.zero
        public var heatsinkResistanceAir = KelvinPerWatt.zero, heatsinkResistanceLiquid = KelvinPerWatt.zero,
            heatsinkCapacitance = JoulesPerKelvin.zero
        public var ambient = Celsius.zero
        public var cooling = Cooling.air
    }

    /// How often the package interrupts a job, by component class, at a reference junction
    /// temperature, and how the rates rise with temperature. Optional: a chip without them cannot
    /// give a long run's goodput.
    public struct Reliability: Sendable {
        /// Mean time between job-interrupting faults of the package's logic: cores, on-die SRAM,
        /// its system processor, link PHYs, silent data corruption, thermal interface (s).
        public var acceleratorMTBF: Double?
        /// Mean time between job-interrupting faults of its HBM stacks (s).
        public var hbmMTBF: Double?
        /// The junction temperature (°C) at which the two hold.
        public var referenceTemperature: Double?
        /// Arrhenius activation energy of the temperature dependence (eV).
        public var activationEnergy: Double?
    }

    public var id = ""
    public var name = ""
    public var vendor = ""
    public var process = ""
    public var dies = 1
    /// Devices software sees in the package (CUDA/ACL device ids): each a share of the package's units, memory and links.
    public var devicesPerPackage = 1
    public var clocks = Clocks()
    public var compute = Compute()
    public var memory = Memory()
    public var interconnect = Interconnect()
    public var power = Power()
    public var thermal = Thermal()
    public var reliability = Reliability()
    public var launchOverhead = Seconds.zero
    /// The id of the kernel library the chip's users get by default, and the library itself.
    public var libraryID = ""
    public var library: KernelLibrary
    public var efficiency = Efficiency()
    public var document: ChipDocument

    /// Fitted efficiency parameters (see `xpusim calibrate`).
    public struct Efficiency: Sendable {
        public var matrix = 0.0
        public var matrixByType: [DataType: Double] = [:]
        public var vector = 0.0, hbm = 0.0, rowwise = 0.0, blockwise = 0.0, gather = 0.0, l2 = 0.0, pcie = 0.0
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
    ///
    /// Each figure lands in its field through its declaration in ``ParameterCatalog`` (its `into:`),
    /// so a parameter's path is spelt once.
    public init(_ document: ChipDocument, libraries: String = KernelLibraries.defaultDirectory()) throws {
        let errors = ChipValidator.validate(document)
        if !errors.isEmpty { throw ConfigErrors(errors) }
        guard let libraryID = document.figures["runtime.library"]?.value.text else {
            throw ConfigError(file: document.file, path: "runtime.library", message: "missing the kernel library the chip's users get")
        }
        self.document = document
        library = try KernelLibraries.named(libraryID, for: document.file, directory: libraries)
        for declaration in ParameterCatalog.declarations { declaration.fill.apply(&self, document, declaration.path) }
        clocks.vfTable.sort { $0.x < $1.x }
    }

    /// How one declared figure is written into the spec: a typed key path and how to read the value.
    public struct Fill: Sendable {
        let apply: @Sendable (inout ChipSpec, ChipDocument, String) -> Void

        static func measure<U: PhysicalUnit>(_ field: WritableKeyPath<ChipSpec, Measure<U>> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Measure(v) } }
        }
        static func optionalMeasure<U: PhysicalUnit>(_ field: WritableKeyPath<ChipSpec, Measure<U>?> & Sendable) -> Fill {
            Fill { spec, document, path in spec[keyPath: field] = document.number(path).map { Measure($0) } }
        }
        static func number(_ field: WritableKeyPath<ChipSpec, Double> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = v } }
        }
        static func optionalNumber(_ field: WritableKeyPath<ChipSpec, Double?> & Sendable) -> Fill {
            Fill { spec, document, path in spec[keyPath: field] = document.number(path) }
        }
        static func integer(_ field: WritableKeyPath<ChipSpec, Int> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Int(v) } }
        }
        static func text(_ field: WritableKeyPath<ChipSpec, String> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.figures[path]?.value.text { spec[keyPath: field] = v } }
        }
        static func cooling(_ field: WritableKeyPath<ChipSpec, Cooling> & Sendable) -> Fill {
            Fill { spec, document, path in
                if let v = document.figures[path]?.value.text.flatMap(Cooling.init(rawValue:)) { spec[keyPath: field] = v }
            }
        }
        static func curve(_ field: WritableKeyPath<ChipSpec, [FigureValue.Point]> & Sendable) -> Fill {
            Fill { spec, document, path in if case .curve(let points) = document.figures[path]?.value { spec[keyPath: field] = points } }
        }
        /// `pattern` split around its `token` (`compute.macs_per_cycle.` and `` around `<dtype>`),
        /// found byte by byte: the generic `replacing` showed up in every chip file's load.
        static func around(_ pattern: String, _ token: String) -> (String, String) {
            let p = Array(pattern.utf8)
            let t = Array(token.utf8)
            guard p.count >= t.count else { return (pattern, "") }
            for i in 0...(p.count - t.count) where p[i..<(i + t.count)].elementsEqual(t) {
                return (String(decoding: p[..<i], as: UTF8.self), String(decoding: p[(i + t.count)...], as: UTF8.self))
            }
            return (pattern, "")
        }
        /// A `<dtype>` declaration: one entry per data type the file lists.
        static func byType(_ field: WritableKeyPath<ChipSpec, [DataType: Double]> & Sendable) -> Fill {
            Fill { spec, document, pattern in
                let (head, tail) = around(pattern, "<dtype>")
                for dtype in DataType.allCases {
                    if let v = document.number(head + dtype.rawValue + tail) {
                        spec[keyPath: field][dtype] = v
                    }
                }
            }
        }
        /// A `<buffer>` declaration: one entry per buffer the file lists.
        static func byKey(_ field: WritableKeyPath<ChipSpec, [String: Double]> & Sendable) -> Fill {
            Fill { spec, document, pattern in
                let (head, tail) = around(pattern, "<buffer>")
                for key in ParameterKeys.buffer {
                    if let v = document.number(head + key + tail) { spec[keyPath: field][key] = v }
                }
            }
        }
        /// A `<level>` declaration: one entry per memory level the file lists.
        static func byLevel(_ field: WritableKeyPath<ChipSpec, [MemoryLevel: Double]> & Sendable) -> Fill {
            Fill { spec, document, pattern in
                let (head, tail) = around(pattern, "<level>")
                for level in MemoryLevel.allCases {
                    if let v = document.number(head + level.rawValue + tail) {
                        spec[keyPath: field][level] = v
                    }
                }
            }
        }
    }
}
