import Chips
import SimCore

/// What kind of value a system parameter holds.
public enum SystemParameterType: Sendable, Equatable {
    /// A physical quantity with a unit, parsed from text such as "400 Gb/s".
    case quantity(QuantityKind)
    /// A whole number that needs a source (chips per node, links, switches).
    case integer
    /// A whole number the file chooses, written plainly (the default node count).
    case count
    /// Free text that needs a source (link technology).
    case text
    /// A plain label without a source (id, name, vendor, the chip's id).
    case label
    /// One of a fixed set of words, written plainly (topology).
    case choice([String])
    /// Yes or no, with a source (in-switch reduction, rail-optimised).
    case flag
    /// A list of distinct words from a fixed set, with a source (the collective algorithms a
    /// system's library is configured to run); held as the words joined by ", ".
    case words([String])
    /// A collective tuner's rules (``TunerRule``), with a source.
    case rules

    var needsSource: Bool {
        switch self {
        case .label, .choice, .count: return false
        default: return true
        }
    }

    var isNumber: Bool {
        switch self {
        case .quantity, .integer, .count: return true
        default: return false
        }
    }

    var expected: String {
        switch self {
        case .quantity(let kind): return kind.example
        case .integer, .count: return "a positive integer"
        case .text, .label: return "a text"
        case .choice(let words): return "one of: \(words.joined(separator: ", "))"
        case .flag: return "yes or no"
        case .words(let words): return "a list of one or more of: \(words.joined(separator: ", "))"
        case .rules: return "a list of rules {collective, nodes, ranks_per_node, from, below, algorithm, protocol}"
        }
    }

    /// The value as `systems show` prints it, in its display unit.
    public func text(_ value: SystemValue) -> String {
        switch (value, self) {
        // Rack- and domain-level power reads better in kW (chip-level figures stay in W, as chips show prints them).
        case (.number(let n), .quantity(.power)) where n >= 1e4: return "\(formatNumber(n / 1e3)) kW"
        case (.number(let n), .quantity(let kind)): return Quantity.format(n, kind)
        case (.number(let n), _): return formatNumber(n)
        case (.text(let t), _): return t
        case (.rules(let rules), _): return rules.map(\.text).joined(separator: "; ")
        }
    }
}

/// When a parameter must be present.
public enum Requirement: Sendable, Equatable {
    case always
    case optional
    /// Required once any figure under the section (`scale_out`, `scale_up.switches`) is given:
    /// the section itself is optional.
    case withSection(String)
}

/// The declaration of one system parameter: its path, type, meaning and plausible range.
///
/// Declared once here, as ``Chips/ParameterCatalog`` declares chip parameters: it drives reading,
/// validation, the typed ``SystemSpec`` (through `into:`) and `xpusim systems show`.
public struct SystemParameterDeclaration: Sendable {
    public var path: String
    public var type: SystemParameterType
    public var meaning: String
    public var requirement: Requirement
    /// Plausible range in SI base units; outside it the file is rejected.
    public var plausible: ClosedRange<Double>?
    let fill: SystemSpec.Fill

    init(
        _ path: String, _ type: SystemParameterType, _ meaning: String, _ requirement: Requirement = .always,
        plausible: ClosedRange<Double>? = nil, into fill: SystemSpec.Fill
    ) {
        self.path = path
        self.type = type
        self.meaning = meaning
        self.requirement = requirement
        self.plausible = plausible
        self.fill = fill
    }

    var segments: [Substring] { path.split(separator: ".") }
}

/// Every parameter a system file (`chips/systems/*.yaml`) may hold, in the order `systems show` prints them.
public enum SystemParameterCatalog {
    public static let schemaVersion = 1
    public static let topologies = ["switch", "full_mesh", "ring", "torus"]

    public static let declarations: [SystemParameterDeclaration] = [
        .init("identity.id", .label, "short identifier used on the command line", into: .text(\.id)),
        .init("identity.name", .label, "full product name", into: .text(\.name)),
        .init("identity.vendor", .label, "vendor", into: .text(\.vendor)),

        .init("node.chip", .label, "id of the chip (chips/*.yaml, variants included) every package of the node is", into: .text(\.chipID)),
        .init("node.chips", .integer, "chip packages per node", plausible: 1...1024, into: .integer(\.chipsPerNode)),
        .init("nodes", .count, "nodes the system has by default (--nodes changes it)", plausible: 1...1_000_000, into: .integer(\.nodes)),

        .init("scale_up.kind", .text, "scale-up link technology", into: .text(\.scaleUp.kind)),
        .init(
            "scale_up.topology", .choice(topologies), "how the chips of a scale-up domain are joined",
            into: .topology(\.scaleUp.topology)),
        .init(
            "scale_up.domain_nodes", .integer,
            "nodes that share one scale-up domain (1: the domain is the node; a supernode joins many)", plausible: 1...4096,
            into: .integer(\.scaleUp.domainNodes)),
        .init(
            "scale_up.links_per_chip", .integer, "scale-up links each chip package has wired", plausible: 1...128,
            into: .integer(\.scaleUp.linksPerChip)),
        .init(
            "scale_up.bandwidth_per_link", .quantity(.bandwidth), "bandwidth per scale-up link per direction", plausible: 1e8...1e12,
            into: .measure(\.scaleUp.bandwidthPerLink)),
        .init(
            "scale_up.latency", .quantity(.time), "latency of one hop, chip to chip (through one switch where there is one)",
            plausible: 1e-8...1e-4, into: .measure(\.scaleUp.latency)),
        .init(
            "scale_up.in_switch_reduction", .flag, "whether the switches reduce in the network (NVLink SHARP / NVLS)",
            into: .flag(\.scaleUp.inSwitchReduction)),

        .init(
            "scale_up.switches.count", .integer, "switch chips per scale-up domain", .withSection("scale_up.switches"),
            plausible: 1...100_000, into: .integer(\.scaleUp.switchFigures.count)),
        .init(
            "scale_up.switches.ports", .integer, "ports per switch chip", .optional, plausible: 1...4096,
            into: .optionalInteger(\.scaleUp.switchFigures.ports)),
        .init(
            "scale_up.switches.bandwidth_per_port", .quantity(.bandwidth), "bandwidth per switch port per direction",
            .withSection("scale_up.switches"), plausible: 1e8...1e12, into: .measure(\.scaleUp.switchFigures.bandwidthPerPort)),
        .init(
            "scale_up.switches.tiers", .integer, "switch levels between the farthest two chips of a domain",
            .withSection("scale_up.switches"), plausible: 1...4, into: .integer(\.scaleUp.switchFigures.tiers)),

        .init("scale_out.kind", .text, "scale-out network technology", .withSection("scale_out"), into: .text(\.scaleOutFigures.kind)),
        .init(
            "scale_out.nics_per_node", .integer, "scale-out NICs per node", .withSection("scale_out"), plausible: 1...64,
            into: .integer(\.scaleOutFigures.nicsPerNode)),
        .init(
            "scale_out.bandwidth_per_nic", .quantity(.bandwidth), "bandwidth per NIC per direction", .withSection("scale_out"),
            plausible: 1e8...1e12, into: .measure(\.scaleOutFigures.bandwidthPerNIC)),
        .init(
            "scale_out.rail_optimized", .flag,
            "whether NIC i of every node meets the same leaf switch (rail-optimised), so same-rank traffic takes one switch hop",
            .withSection("scale_out"), into: .flag(\.scaleOutFigures.railOptimized)),
        .init(
            "scale_out.switch_latency", .quantity(.time), "latency through one scale-out switch", .withSection("scale_out"),
            plausible: 1e-8...1e-3, into: .measure(\.scaleOutFigures.switchLatency)),
        .init(
            "scale_out.efficiency", .quantity(.ratio),
            "fraction of the NICs' line rate a collective's data reaches over this network's transport, where it differs from the "
                + "library's (which is fitted on RDMA)", .optional, plausible: 0.05...1, into: .optionalNumber(\.scaleOutFigures.efficiency)
        ),
        .init(
            "scale_out.step_latency", .quantity(.time),
            "latency each sequential network step of a collective adds beyond the library's per-hop constant (the transport's own)",
            .optional, plausible: 0...1e-3, into: .number(\.scaleOutFigures.stepLatency)),

        .init("power.cpus", .quantity(.power), "host CPUs of one node at their TDP", plausible: 0...100_000, into: .measure(\.power.cpus)),
        .init("power.nics", .quantity(.power), "NICs and DPUs of one node", plausible: 0...100_000, into: .measure(\.power.nics)),
        .init(
            "power.switches", .quantity(.power), "scale-up switch chips inside one node", plausible: 0...100_000,
            into: .measure(\.power.switches)),
        .init("power.fans", .quantity(.power), "fans (or pumps) of one node", plausible: 0...100_000, into: .measure(\.power.fans)),
        .init(
            "power.other", .quantity(.power), "the rest of one node: memory, storage, retimers, conversion losses",
            plausible: 0...100_000, into: .measure(\.power.other)),
        .init(
            "power.domain", .quantity(.power),
            "power shared by the nodes of one scale-up domain (switch trays, switch racks, optics), once per domain", .optional,
            plausible: 0...5_000_000, into: .measure(\.power.domain)),
        .init(
            "power.rated_max", .quantity(.power), "vendor's rated maximum power of one node, checked against the node power at TDP",
            .optional, plausible: 10...1_000_000, into: .optionalMeasure(\.power.ratedMax)),
        .init(
            "cost.node_price", .quantity(.money), "price of one node with its chips, host and in-node network (list, dealer or estimated)",
            .optional, plausible: 1_000...100_000_000, into: .optionalNumber(\.nodePrice)),
        .init(
            "cost.domain_price", .quantity(.money), "price of what one scale-up domain shares (switch racks, optics), once per domain",
            .optional, plausible: 0...1_000_000_000, into: .optionalNumber(\.domainPrice)),

        .init(
            "collectives.algorithms", .words(CollectiveLibrary.Algorithm.allCases.map(\.rawValue)),
            "the collective algorithms the system's library is configured to choose from (NCCL_ALGO), where it is restricted",
            .optional, into: .words(\.collectives.algorithms)),
        .init(
            "collectives.protocols", .words(CollectiveLibrary.ProtocolKind.allCases.map(\.rawValue)),
            "the protocols it is configured to choose from (NCCL_PROTO), where they are restricted", .optional,
            into: .words(\.collectives.protocols)),
        .init(
            "collectives.buffer_size", .quantity(.bytes),
            "the Simple protocol's buffer per channel connection (NCCL_BUFFSIZE), where the system sets it", .optional,
            plausible: 4096...1_073_741_824, into: .optionalNumber(\.collectives.bufferSize)),
        .init(
            "collectives.tuner", .rules,
            "the tuner's rules (a tuner plugin's configuration): per collective, node count, ranks per node and size, its algorithm",
            .optional, into: .rules(\.collectives.tuner)),

        .init(
            "reliability.mtbf.network", .quantity(.lifetime),
            "mean time between job-interrupting faults of the network (switches, cables, optics), per node", .withSection("reliability"),
            plausible: 360...3.6e13, into: .optionalNumber(\.reliability.networkMTBF)),
        .init(
            "reliability.mtbf.nic", .quantity(.lifetime), "mean time between job-interrupting NIC faults, per node",
            .withSection("reliability"), plausible: 360...3.6e13, into: .optionalNumber(\.reliability.nicMTBF)),
        .init(
            "reliability.mtbf.host", .quantity(.lifetime),
            "mean time between job-interrupting host faults (CPU, memory, drives, power supplies, chassis, maintenance), per node",
            .withSection("reliability"), plausible: 360...3.6e13, into: .optionalNumber(\.reliability.hostMTBF)),
        .init(
            "reliability.mtbf.software", .quantity(.lifetime),
            "mean time between software faults (framework, collective library, watchdog hangs), per rank", .withSection("reliability"),
            plausible: 360...3.6e13, into: .optionalNumber(\.reliability.softwareMTBF)),
        .init(
            "reliability.detection", .quantity(.time), "from a fault to the job's stop (heartbeat or watchdog timeout)",
            .withSection("reliability"), plausible: 0...86_400, into: .optionalNumber(\.reliability.detection)),
        .init(
            "reliability.reschedule", .quantity(.time), "from the stop to a replacement node and the job relaunched",
            .withSection("reliability"), plausible: 0...86_400, into: .optionalNumber(\.reliability.reschedule)),
        .init(
            "reliability.warmup", .quantity(.time),
            "from the reloaded state to the first full-speed step (process start, collective set-up, compilation)",
            .withSection("reliability"), plausible: 0...86_400, into: .optionalNumber(\.reliability.warmup)),
        .init(
            "storage.write_bandwidth", .quantity(.bandwidth), "one node's write bandwidth to the checkpoint store",
            .withSection("storage"), plausible: 1e6...1e13, into: .optionalNumber(\.storage.writeBandwidth)),
        .init(
            "storage.read_bandwidth", .quantity(.bandwidth), "one node's read bandwidth from the checkpoint store",
            .withSection("storage"), plausible: 1e6...1e13, into: .optionalNumber(\.storage.readBandwidth)),
    ]

    /// The declaration of a concrete path such as `scale_out.nics_per_node`.
    public static func declaration(for path: String) -> SystemParameterDeclaration? {
        declarations.first { $0.path == path }
    }

    /// The keys allowed under a prefix, for walking a file and suggesting near misses.
    static func childKeys(of prefix: [Substring]) -> [String] {
        var keys: [String] = []
        for declaration in declarations {
            let segments = declaration.segments
            guard segments.count > prefix.count, Array(segments.prefix(prefix.count)) == prefix else { continue }
            let next = String(segments[prefix.count])
            if !keys.contains(next) { keys.append(next) }
        }
        return keys
    }

    public static var orderedPaths: [String] { declarations.map(\.path) }
}
