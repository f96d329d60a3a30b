import Foundation
import SimCore

/// What kind of value a chip parameter holds.
public enum ParameterType: Sendable, Equatable {
    /// A physical quantity with a unit, parsed from text such as "3.35 TB/s".
    case quantity(QuantityKind)
    /// A whole number (units, links, stacks).
    case integer
    /// Free text that still needs a source (process node, HBM generation).
    case text
    /// A plain label without a source (id, name, vendor).
    case label
    /// One of a fixed set of words, written plainly (unit kind, cooling kind, buffer names).
    case choice([String])
    /// A table of (x, y) points, e.g. the V-f curve: [[frequency, voltage], ...].
    case curve(QuantityKind, QuantityKind)

    var isQuantity: Bool {
        if case .quantity = self { return true }
        return false
    }

    var needsSource: Bool {
        switch self {
        case .label, .choice: return false
        default: return true
        }
    }

    public var expected: String {
        switch self {
        case .quantity(let kind): return kind.example
        case .integer: return "a positive integer"
        case .text, .label: return "a text"
        case .choice(let words): return "one of: \(words.joined(separator: ", "))"
        case .curve(let x, let y): return "a list of [\(x.example), \(y.example)] pairs"
        }
    }
}

/// The declaration of one chip parameter: its path, type, meaning and plausible range.
///
/// Declared once here; it drives reading, validation, `xpusim chips show` and the schema docs.
public struct ParameterDeclaration: Sendable {
    /// Dot-separated path; `<dtype>`, `<buffer>` and `<level>` stand for any key of that set.
    public var path: String { didSet { segments = path.split(separator: ".") } }
    public var type: ParameterType
    public var meaning: String
    public var required: Bool
    /// Plausible range in SI base units; outside it the file is rejected.
    public var plausible: ClosedRange<Double>?
    /// Where the figure lands in ``ChipSpec``, typed: the one place besides this declaration that
    /// knows the field, so the path is spelt once.
    let fill: ChipSpec.Fill

    init(
        _ path: String, _ type: ParameterType, _ meaning: String, required: Bool = true, plausible: ClosedRange<Double>? = nil,
        into fill: ChipSpec.Fill
    ) {
        self.path = path
        self.segments = path.split(separator: ".")
        self.type = type
        self.meaning = meaning
        self.required = required
        self.plausible = plausible
        self.fill = fill
    }

    /// The path's segments, split once: every lookup of a file's key walks all declarations.
    private(set) var segments: [Substring]
}

/// The key sets that `<placeholder>` segments stand for.
public enum ParameterKeys {
    public static let dtype = DataType.allCases.map(\.rawValue)
    public static let buffer = ["registers", "shared", "l1", "l0a", "l0b", "l0c", "ub", "nram", "sram", "lds"]
    public static let level = MemoryLevel.allCases.map(\.rawValue)
    public static let unitKinds = ["sm", "ai_core", "mlu_core", "cu"]
    public static let cooling = Cooling.allCases.map(\.rawValue)

    static func members(of placeholder: Substring) -> [String]? {
        switch placeholder {
        case "<dtype>": return dtype
        case "<buffer>": return buffer
        case "<level>": return level
        default: return nil
        }
    }
}

/// Every parameter a chip file may hold, in the order `chips show` prints them.
public enum ParameterCatalog {
    public static let schemaVersion = 1

    public static let declarations: [ParameterDeclaration] = [
        .init("identity.id", .label, "short identifier used on the command line", into: .text(\.id)),
        .init("identity.name", .label, "full product name", into: .text(\.name)),
        .init("identity.vendor", .label, "vendor", into: .text(\.vendor)),
        .init("identity.process", .text, "manufacturing process", into: .text(\.process)),
        .init("identity.dies_per_package", .integer, "compute dies in one package", plausible: 1...16, into: .integer(\.dies)),
        .init(
            "identity.devices_per_package", .integer,
            "devices software sees in one package (910C: one per die; B200: one for both dies); default 1", required: false,
            plausible: 1...16, into: .integer(\.devicesPerPackage)),

        .init("clocks.base", .quantity(.frequency), "base core clock", plausible: 1e8...5e9, into: .measure(\.clocks.base)),
        .init("clocks.boost", .quantity(.frequency), "maximum core clock", plausible: 1e8...5e9, into: .measure(\.clocks.boost)),
        .init("clocks.min", .quantity(.frequency), "lowest core clock DVFS may set", plausible: 1e7...5e9, into: .measure(\.clocks.min)),
        .init(
            "clocks.memory", .quantity(.frequency), "memory clock (fixed under DVFS)", required: false, plausible: 1e8...1e10,
            into: .optionalMeasure(\.clocks.memory)),
        .init("clocks.vf_table", .curve(.frequency, .voltage), "core voltage at each clock (DVFS curve)", into: .curve(\.clocks.vfTable)),

        .init(
            "compute.unit_kind", .choice(ParameterKeys.unitKinds), "kind of compute unit (SM, AI Core, MLU core, CU)",
            into: .text(\.compute.unitKind)),
        .init(
            "compute.units_per_die", .integer, "compute units (SMs, AI Cores, ...) per die", plausible: 1...1024,
            into: .integer(\.compute.unitsPerDie)),
        .init(
            "compute.vector_units_per_unit", .integer, "vector units per compute unit (Ascend: AIV per AIC)", plausible: 1...8,
            into: .integer(\.compute.vectorUnitsPerUnit)),
        .init(
            "compute.matrix.macs_per_cycle.<dtype>", .integer, "dense matrix-unit MACs per cycle per compute unit",
            plausible: 1...1_048_576, into: .byType(\.compute.macsPerCycle)),
        .init(
            "compute.matrix.fragment_m", .integer, "matrix instruction M extent (rows per issue)", plausible: 1...256,
            into: .integer(\.compute.fragment.m)),
        .init(
            "compute.matrix.fragment_n", .integer, "matrix instruction N extent", plausible: 1...256, into: .integer(\.compute.fragment.n)),
        .init(
            "compute.matrix.fragment_k", .integer, "matrix instruction K extent (16-bit elements)", plausible: 1...256,
            into: .integer(\.compute.fragment.k)),
        .init(
            "compute.matrix.vendor_peak.<dtype>", .quantity(.flopRate), "vendor's dense peak for the whole package", required: false,
            plausible: 1e11...1e17, into: .byType(\.compute.vendorPeak)),
        .init(
            "compute.matrix.peak_clock", .quantity(.frequency), "clock at which the vendor quotes its peak (default: boost)",
            required: false, plausible: 1e8...5e9, into: .optionalNumber(\.compute.peakClock)),
        .init(
            "compute.matrix.multicast_units", .integer,
            "units that share one L2 read of an operand slice (thread-block cluster multicast; 1 if none)", plausible: 1...16,
            into: .integer(\.compute.multicastUnits)),
        .init(
            "compute.matrix.accumulator_tiles", .integer,
            "output tiles the accumulator buffer holds at once (2: ping-pong, the epilogue overlaps the next tile)", plausible: 1...4,
            into: .integer(\.compute.accumulatorTiles)),
        .init(
            "compute.matrix.staging_buffer", .choice(ParameterKeys.buffer), "buffer that stages the A and B tiles of a GEMM",
            into: .text(\.compute.stagingBuffer)),
        .init(
            "compute.matrix.accumulator_buffer", .choice(ParameterKeys.buffer), "buffer that holds the output tile's accumulators",
            into: .text(\.compute.accumulatorBuffer)),
        .init(
            "compute.max_resident_threads", .integer,
            "threads (GPU) or vector lanes x tasks (NPU) a unit keeps resident; bounds how many thread blocks run at once per unit",
            plausible: 32...65_536, into: .integer(\.compute.maxResidentThreads)),
        .init(
            "compute.vector.flops_per_cycle.<dtype>", .integer, "vector FLOPs per cycle per vector unit", plausible: 1...1_048_576,
            into: .byType(\.compute.vectorFlopsPerCycle)),
        .init(
            "compute.special_function.ops_per_cycle", .integer, "transcendental (exp, rsqrt) results per cycle per compute unit",
            plausible: 1...65_536, into: .number(\.compute.specialFunctionOpsPerCycle)),
        .init(
            "compute.buffers.<buffer>", .quantity(.bytes), "per-unit on-chip buffer size", required: false, plausible: 256...67_108_864,
            into: .byKey(\.compute.buffers)),

        .init("memory.l2.size", .quantity(.bytes), "last-level cache per package", plausible: 1e6...2e9, into: .measure(\.memory.l2Size)),
        .init(
            "memory.l2.bandwidth", .quantity(.bandwidth), "last-level cache bandwidth per package", plausible: 1e11...1e14,
            into: .measure(\.memory.l2Bandwidth)),
        .init(
            "memory.l2.partitions", .integer,
            "L2 partitions that each keep their own copy of data all units share; data shared chip-wide is reused from size / partitions",
            plausible: 1...8, into: .integer(\.memory.l2Partitions)),
        .init(
            "memory.l2.latency", .quantity(.time), "last-level cache hit latency", plausible: 1e-9...1e-5,
            into: .measure(\.memory.l2Latency)),
        .init("memory.hbm.generation", .text, "HBM generation", into: .text(\.memory.hbmGeneration)),
        .init("memory.hbm.stacks", .integer, "HBM stacks per package", plausible: 1...16, into: .integer(\.memory.hbmStacks)),
        .init(
            "memory.hbm.capacity", .quantity(.bytes), "HBM capacity per package", plausible: 1e9...1e12,
            into: .measure(\.memory.hbmCapacity)),
        .init(
            "memory.hbm.bandwidth", .quantity(.bandwidth), "peak HBM bandwidth per package", plausible: 1e10...5e13,
            into: .measure(\.memory.hbmBandwidth)),
        .init("memory.hbm.latency", .quantity(.time), "HBM access latency", plausible: 1e-8...1e-5, into: .measure(\.memory.hbmLatency)),

        .init("interconnect.scale_up.kind", .text, "chip-to-chip link technology", into: .text(\.interconnect.scaleUpKind)),
        .init(
            "interconnect.scale_up.links", .integer, "chip-to-chip links per package", plausible: 1...128,
            into: .integer(\.interconnect.scaleUpLinks)),
        .init(
            "interconnect.scale_up.bandwidth_per_link", .quantity(.bandwidth), "bandwidth per link per direction", plausible: 1e8...1e12,
            into: .measure(\.interconnect.bandwidthPerLink)),
        .init(
            "interconnect.scale_up.latency", .quantity(.time), "one-hop link latency", plausible: 1e-8...1e-4,
            into: .measure(\.interconnect.linkLatency)),
        .init(
            "interconnect.die_to_die.bandwidth", .quantity(.bandwidth), "die-to-die bandwidth per direction (multi-die packages)",
            required: false, plausible: 1e9...1e13, into: .optionalMeasure(\.interconnect.dieToDieBandwidth)),
        .init(
            "interconnect.die_to_die.latency", .quantity(.time), "die-to-die latency", required: false, plausible: 1e-9...1e-4,
            into: .optionalMeasure(\.interconnect.dieToDieLatency)),
        .init("interconnect.pcie.generation", .integer, "PCIe generation", plausible: 1...7, into: .integer(\.interconnect.pcieGeneration)),
        .init("interconnect.pcie.lanes", .integer, "PCIe lanes", plausible: 1...32, into: .integer(\.interconnect.pcieLanes)),
        .init(
            "interconnect.scale_out.bandwidth", .quantity(.bandwidth), "scale-out NIC bandwidth per package per direction",
            plausible: 1e8...1e12, into: .measure(\.interconnect.scaleOutBandwidth)),

        .init(
            "cost.price", .quantity(.money), "price of one package (list, street or estimated), for cost per token", required: false,
            plausible: 100...10_000_000, into: .optionalNumber(\.price)),
        .init(
            "reliability.mtbf.accelerator", .quantity(.lifetime),
            "mean time between job-interrupting faults of the package's logic (cores, SRAM, system processor, links, SDC)",
            required: false, plausible: 360...3.6e13, into: .optionalNumber(\.reliability.acceleratorMTBF)),
        .init(
            "reliability.mtbf.hbm", .quantity(.lifetime), "mean time between job-interrupting faults of the package's HBM",
            required: false, plausible: 360...3.6e13, into: .optionalNumber(\.reliability.hbmMTBF)),
        .init(
            "reliability.reference_temperature", .quantity(.temperature), "junction temperature at which the MTBFs hold",
            required: false, plausible: 0...150, into: .optionalNumber(\.reliability.referenceTemperature)),
        .init(
            "reliability.activation_energy", .quantity(.activationEnergy),
            "Arrhenius activation energy: how fast the failure rates rise with junction temperature", required: false,
            plausible: 0.05...2, into: .optionalNumber(\.reliability.activationEnergy)),
        .init("power.tdp", .quantity(.power), "thermal design / board power", plausible: 10...5000, into: .measure(\.power.tdp)),
        .init("power.idle", .quantity(.power), "power when idle", plausible: 1...2000, into: .measure(\.power.idle)),
        .init("power.limit_min", .quantity(.power), "lowest settable power limit", plausible: 10...5000, into: .measure(\.power.limitMin)),
        .init("power.limit_max", .quantity(.power), "highest settable power limit", plausible: 10...5000, into: .measure(\.power.limitMax)),
        .init(
            "power.energy_per_mac.<dtype>", .quantity(.energy), "energy per dense MAC at the boost-clock voltage", plausible: 1e-16...1e-10,
            into: .byType(\.power.energyPerMAC)),
        .init(
            "power.energy_per_byte.<level>", .quantity(.energyPerByte), "energy per byte moved at this level", plausible: 1e-15...1e-9,
            into: .byLevel(\.power.energyPerByte)),
        .init(
            "power.static", .quantity(.power), "static (leakage) power at the reference temperature", plausible: 1...2000,
            into: .measure(\.power.staticPower)),
        .init(
            "power.static_reference_temperature", .quantity(.temperature), "temperature at which power.static holds", plausible: 0...150,
            into: .measure(\.power.staticReferenceTemperature)),
        .init(
            "power.static_temperature_coefficient", .quantity(.temperatureCoefficient), "relative rise of static power per kelvin",
            plausible: 0...0.1, into: .number(\.power.staticTemperatureCoefficient)),
        .init(
            "power.clock_power", .quantity(.power),
            "power of the clock tree and always-active logic while kernels run, at the boost clock and voltage (scales with V^2 f)",
            plausible: 0...3000, into: .measure(\.power.clockPower)),
        .init(
            "power.mac_activity_floor", .quantity(.ratio),
            "share of MAC energy spent whatever the operands (clocking, control); the rest scales with operand activity",
            plausible: 0.01...1, into: .number(\.power.macActivityFloor)),
        .init(
            "power.control_interval", .quantity(.time), "how often the power/thermal controller sets the clock", plausible: 1e-5...1,
            into: .measure(\.power.controlInterval)),

        .init(
            "thermal.max_operating", .quantity(.temperature), "maximum operating junction temperature", plausible: 40...150,
            into: .measure(\.thermal.maxOperating)),
        .init(
            "thermal.slowdown", .quantity(.temperature), "temperature at which hardware slowdown starts", plausible: 40...150,
            into: .measure(\.thermal.slowdown)),
        .init(
            "thermal.slowdown_clock", .quantity(.ratio),
            "share of the boost clock the hardware slowdown holds the clock at (or below) while the junction is past thermal.slowdown",
            plausible: 0.05...1, into: .number(\.thermal.slowdownClock)),
        .init(
            "thermal.shutdown", .quantity(.temperature), "temperature at which the chip shuts down", plausible: 40...160,
            into: .measure(\.thermal.shutdown)),
        .init(
            "thermal.junction_resistance", .quantity(.thermalResistance), "junction-to-heatsink thermal resistance", plausible: 1e-4...5,
            into: .measure(\.thermal.junctionResistance)),
        .init(
            "thermal.junction_capacitance", .quantity(.heatCapacity), "junction/package heat capacity", plausible: 1e-2...1e4,
            into: .measure(\.thermal.junctionCapacitance)),
        .init(
            "thermal.heatsink_resistance_air", .quantity(.thermalResistance), "heatsink-to-air thermal resistance with air cooling",
            plausible: 1e-4...5, into: .measure(\.thermal.heatsinkResistanceAir)),
        .init(
            "thermal.heatsink_resistance_liquid", .quantity(.thermalResistance),
            "cold-plate-to-coolant thermal resistance with liquid cooling", plausible: 1e-4...5,
            into: .measure(\.thermal.heatsinkResistanceLiquid)),
        .init(
            "thermal.heatsink_capacitance", .quantity(.heatCapacity), "heatsink/cold-plate heat capacity", plausible: 1...1e6,
            into: .measure(\.thermal.heatsinkCapacitance)),
        .init(
            "thermal.ambient", .quantity(.temperature), "default coolant/ambient temperature", plausible: -20...80,
            into: .measure(\.thermal.ambient)),
        .init("thermal.cooling", .choice(ParameterKeys.cooling), "default cooling kind", into: .cooling(\.thermal.cooling)),

        .init(
            "runtime.library", .label,
            "kernel library its users get by default (a file under chips/libraries/): GEMM tiles and schedulers, attention kernels",
            into: .text(\.libraryID)),
        .init(
            "runtime.launch_overhead", .quantity(.time), "fixed cost of one kernel: launch, ramp-up and teardown", plausible: 1e-7...1e-3,
            into: .measure(\.launchOverhead)),

        .init(
            "efficiency.matrix", .quantity(.ratio), "fraction of the matrix-unit issue rate a tile's main loop sustains",
            plausible: 0.05...1, into: .number(\.efficiency.matrix)),
        .init(
            "efficiency.matrix_dtype.<dtype>", .quantity(.ratio), "matrix-unit efficiency for one data type, where it differs",
            required: false, plausible: 0.05...1, into: .byType(\.efficiency.matrixByType)),
        .init(
            "efficiency.vector", .quantity(.ratio), "fraction of the vector-unit rate element-wise code sustains", plausible: 0.05...1,
            into: .number(\.efficiency.vector)),
        .init(
            "efficiency.hbm", .quantity(.ratio),
            "fraction of peak HBM bandwidth streaming kernels (element-wise, copies, GEMM operand loads) sustain", plausible: 0.05...1,
            into: .number(\.efficiency.hbm)),
        .init(
            "efficiency.rowwise", .quantity(.ratio),
            "fraction of peak HBM bandwidth row-wise kernels (norm, softmax, reduction: a reduction per row between passes) sustain",
            plausible: 0.05...1, into: .number(\.efficiency.rowwise)),
        .init(
            "efficiency.blockwise", .quantity(.ratio),
            "fraction of peak HBM bandwidth element-wise kernels launched one block per row (vLLM's activation and rotary kernels) sustain",
            plausible: 0.05...1, into: .number(\.efficiency.blockwise)),
        .init(
            "efficiency.gather", .quantity(.ratio), "fraction of peak HBM bandwidth embedding gathers sustain", plausible: 0.05...1,
            into: .number(\.efficiency.gather)),
        .init(
            "efficiency.l2", .quantity(.ratio), "fraction of peak L2 bandwidth tiles sustain", plausible: 0.05...1,
            into: .number(\.efficiency.l2)),
        .init(
            "efficiency.pcie", .quantity(.ratio), "fraction of the PCIe link rate a host copy sustains", plausible: 0.05...1,
            into: .number(\.efficiency.pcie)),
    ]

    /// The declaration that a concrete path such as `compute.matrix.macs_per_cycle.bf16` falls under.
    public static func declaration(for path: String) -> ParameterDeclaration? {
        // A stray dot (".a", "a.", "a..b") is dropped; checked byte by byte (Foundation's
        // `contains` on every key of every chip file showed up in `chips list`).
        var stray = path.utf8.first == UInt8(ascii: ".") || path.utf8.last == UInt8(ascii: ".")
        var previous: UInt8 = 0
        for byte in path.utf8 where !stray {
            stray = byte == UInt8(ascii: ".") && previous == byte
            previous = byte
        }
        let normalized = stray ? path.split(separator: ".").joined(separator: ".") : path
        return declarationIndex[normalized].map { declarations[$0] }
    }

    /// The first declaration of every concrete path (placeholders expanded), by path: a chip file's
    /// every key is looked up, so the lookup must not walk the catalogue.
    static let declarationIndex: [String: Int] = {
        var index: [String: Int] = [:]
        for (position, declaration) in declarations.enumerated() {
            for path in expand(declaration) where index[path] == nil { index[path] = position }
        }
        return index
    }()

    final class ChildKeyCache: @unchecked Sendable {
        let lock = NSLock()
        var keys: [String: [String]] = [:]
    }
    static let childKeyCache = ChildKeyCache()

    static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        guard pattern.count == segments.count else { return false }
        for (p, s) in zip(pattern, segments) where p != s {
            guard let members = ParameterKeys.members(of: p), members.contains(String(s)) else { return false }
        }
        return true
    }

    /// The keys allowed under a concrete prefix, for walking a file and suggesting near misses.
    static func childKeys(of prefix: [Substring]) -> [String] {
        let name = prefix.joined(separator: ".")
        childKeyCache.lock.lock()
        defer { childKeyCache.lock.unlock() }
        if let known = childKeyCache.keys[name] { return known }
        let keys = computeChildKeys(of: prefix)
        childKeyCache.keys[name] = keys
        return keys
    }

    static func computeChildKeys(of prefix: [Substring]) -> [String] {
        var keys: [String] = []
        for declaration in declarations {
            let pattern = declaration.segments
            guard pattern.count > prefix.count, matches(Array(pattern.prefix(prefix.count)), prefix) else { continue }
            let next = pattern[prefix.count]
            for key in ParameterKeys.members(of: next) ?? [String(next)] where !keys.contains(key) {
                keys.append(key)
            }
        }
        return keys
    }

    /// Every concrete path of a declaration, for ordered output.
    static func expand(_ declaration: ParameterDeclaration) -> [String] {
        var paths = [""]
        for segment in declaration.segments {
            let options = ParameterKeys.members(of: segment) ?? [String(segment)]
            paths = paths.flatMap { base in options.map { base.isEmpty ? $0 : "\(base).\($0)" } }
        }
        return paths
    }

    public static var orderedPaths: [String] { declarations.flatMap(expand) }
}
