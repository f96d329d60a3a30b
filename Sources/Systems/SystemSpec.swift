import Chips
import Config
import SimCore

/// How the chips of a scale-up domain are joined.
public enum Topology: String, Sendable, CaseIterable {
    /// Every chip's links go to switches (NVSwitch, UB switches): any pair is one switch level apart per tier.
    case `switch`
    /// Every chip has a direct link to every other chip of the node (HCCS on Atlas 800T A2).
    case fullMesh = "full_mesh"
    case ring, torus
}

/// A validated system in SI units: its chip, how many, how they are joined and what the nodes draw.
///
/// Made from a ``SystemDocument`` that passed ``SystemValidator``, with the chip resolved from the
/// chip catalogue; the document stays attached so every figure can be traced to its source. The
/// derived figures (totals, peaks, aggregate bandwidths, power) are in `SystemSpec+Derived.swift`.
public struct SystemSpec: Sendable {
    public struct ScaleUp: Sendable {
        public var kind = ""
        public var topology = Topology.switch
        public var domainNodes = 1
        public var linksPerChip = 0
        public var bandwidthPerLink = BytesPerSecond.zero
        public var latency = Seconds.zero
        public var inSwitchReduction = false
        /// The switch chips of a domain; nil for a topology without switches (a full mesh).
        public var switches: Switches? { hasSwitches ? switchFigures : nil }
        // What the file's scale_up.switches section holds, where it has one (filled through the catalogue's key paths).
        var switchFigures = Switches()
        var hasSwitches = false
    }

    public struct Switches: Sendable {
        public var count = 0
        public var ports: Int?
        public var bandwidthPerPort = BytesPerSecond.zero
        public var tiers = 1
    }

    public struct ScaleOut: Sendable {
        public var kind = ""
        public var nicsPerNode = 0
        public var bandwidthPerNIC = BytesPerSecond.zero
        public var railOptimized = false
        public var switchLatency = Seconds.zero
        /// Fraction of the NICs' line rate a collective's data reaches over this network's
        /// transport, where it is not the library's (fitted on RDMA); nil: the library's.
        public var efficiency: Double?
        /// Latency each sequential network step of a collective adds beyond the library's
        /// per-hop constant (a transport slower to turn a step around than RDMA); 0 where not given.
        public var stepLatency = 0.0
    }

    /// Sets the scale-out transport's figures (a calibration's trial values).
    public mutating func setScaleOutTransport(efficiency: Double?, stepLatency: Double) {
        scaleOutFigures.efficiency = efficiency
        scaleOutFigures.stepLatency = stepLatency
    }

    /// What a node draws besides its chips (each at its TDP), and what a domain shares.
    public struct Power: Sendable {
        public var cpus = Watts.zero, nics = Watts.zero, switches = Watts.zero, fans = Watts.zero, other = Watts.zero
        public var domain = Watts.zero
        public var ratedMax: Watts?
        /// A node's power besides its chips.
        public var nodeExtras: Watts { cpus + nics + switches + fans + other }
    }

    public var id = ""
    public var name = ""
    public var vendor = ""
    public var chipID = ""
    public var chip: ChipSpec
    public var chipsPerNode = 0
    public var nodes = 1
    public var scaleUp = ScaleUp()
    /// The network between scale-up domains; nil for a system described as one domain only.
    public var scaleOut: ScaleOut? { hasScaleOut ? scaleOutFigures : nil }
    // What the file's scale_out section holds, where it has one.
    var scaleOutFigures = ScaleOut()
    var hasScaleOut = false
    public var power = Power()
    /// Price of one node (USD: list, dealer or estimated), and of what each scale-up domain shares
    /// (switch racks, optics); nil where the file gives none.
    public var nodePrice: Double?
    public var domainPrice: Double?
    public var reliability = Reliability()
    public var storage = Storage()
    public var collectives = Collectives()
    public var document: SystemDocument

    /// How the system's collective library is configured (the environment its vendor ships, such
    /// as NCCL_ALGO, NCCL_PROTO and NCCL_BUFFSIZE); every field nil where the library runs as it
    /// ships.
    public struct Collectives: Sendable {
        /// The algorithms and protocols the library may choose from; nil: all it offers.
        public var algorithms: [CollectiveLibrary.Algorithm]?
        public var protocols: [CollectiveLibrary.ProtocolKind]?
        /// The Simple protocol's buffer per connection (bytes); nil: the library's.
        public var bufferSize: Double?
        /// The tuner's rules, first match first; empty: the library's own choice.
        public var tuner: [TunerRule] = []

        /// The rule that decides a collective, if one matches.
        public func rule(
            _ kind: CollectiveLibrary.CollectiveKind, nodes: Int, ranksPerNode: Int, bytes: Double
        ) -> TunerRule? {
            tuner.first { $0.matches(kind, nodes: nodes, ranksPerNode: ranksPerNode, bytes: bytes) }
        }
    }

    /// How often the rest of a node interrupts a job, and how long a restart takes. Optional: a
    /// system without them cannot give a long run's goodput.
    public struct Reliability: Sendable {
        /// Mean time between job-interrupting faults per node (s): its share of the network's
        /// switches and cables, its NICs, and its host (CPUs, memory, drives, power, chassis).
        public var networkMTBF: Double?
        public var nicMTBF: Double?
        public var hostMTBF: Double?
        /// Mean time between software faults per rank (s): framework and collective-library bugs,
        /// hangs caught by watchdogs.
        public var softwareMTBF: Double?
        /// From the fault to the job's stop, to the replacement node, and from reloaded state to
        /// the first step (s); the reload itself is the checkpoint's size over the storage.
        public var detection: Double?
        public var reschedule: Double?
        public var warmup: Double?
    }

    /// A node's path to the checkpoint store (bytes/s per direction); nil where the file gives none.
    public struct Storage: Sendable {
        public var writeBandwidth: Double?
        public var readBandwidth: Double?
    }

    /// Builds the typed description; `chip` is the spec of the chip the document names.
    /// Run ``SystemValidator/validate(_:chip:)`` first (``SystemCatalog`` does both).
    init(_ document: SystemDocument, chip: ChipSpec) {
        self.document = document
        self.chip = chip
        scaleUp.hasSwitches = document.has(section: "scale_up.switches")
        hasScaleOut = document.has(section: "scale_out")
        for declaration in SystemParameterCatalog.declarations { declaration.fill.apply(&self, document, declaration.path) }
    }

    /// The same system with `nodes` nodes, as `--nodes N` asks: nodes beyond one scale-up domain
    /// are joined over the scale-out network, so the count must be whole domains and the system
    /// must have a scale-out network.
    ///
    /// ```
    /// $ xpusim systems show gb200-nvl72 --nodes 36
    /// The most nodes a system may have (as a system file's `nodes`).
    public static let maxNodes = 1_000_000

    /// ```
    public func with(nodes count: Int) throws -> SystemSpec {
        guard (1...SystemSpec.maxNodes).contains(count) else {
            throw ConfigError(file: "--nodes", message: "expected 1 to \(SystemSpec.maxNodes) nodes, found \(count)")
        }
        if count > scaleUp.domainNodes {
            guard scaleOut != nil else {
                throw ConfigError(
                    file: "--nodes",
                    message:
                        "\(id) has no scale_out section: it cannot grow beyond one scale-up domain of \(scaleUp.domainNodes) "
                        + "node\(scaleUp.domainNodes == 1 ? "" : "s"); describe its scale-out network "
                        + "(scale_out.nics_per_node, ...) to use \(count)"
                )
            }
            guard count % scaleUp.domainNodes == 0 else {
                throw ConfigError(
                    file: "--nodes",
                    message:
                        "\(count) nodes is not a whole number of \(id)'s scale-up domains of \(scaleUp.domainNodes) nodes (try "
                        + "\(count / scaleUp.domainNodes * scaleUp.domainNodes) or "
                        + "\((count / scaleUp.domainNodes + 1) * scaleUp.domainNodes))"
                )
            }
        }
        var copy = self
        copy.nodes = count
        let line = document.figures["nodes"]?.line
        copy.document.figures["nodes"] = SystemFigure(
            value: .number(Double(count)), kind: .override, how: "set on the command line (--nodes)", file: "--nodes", line: line)
        return copy
    }

    /// How one declared figure is written into the spec: a typed key path and how to read the value.
    public struct Fill: Sendable {
        let apply: @Sendable (inout SystemSpec, SystemDocument, String) -> Void

        static func measure<U: PhysicalUnit>(_ field: WritableKeyPath<SystemSpec, Measure<U>> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Measure(v) } }
        }
        /// A field inside an optional section (or an optional figure): written only where both exist.
        static func optionalMeasure<U: PhysicalUnit>(_ field: WritableKeyPath<SystemSpec, Measure<U>?> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Measure(v) } }
        }
        static func number(_ field: WritableKeyPath<SystemSpec, Double> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = v } }
        }
        static func optionalNumber(_ field: WritableKeyPath<SystemSpec, Double?> & Sendable) -> Fill {
            Fill { spec, document, path in spec[keyPath: field] = document.number(path) }
        }
        static func integer(_ field: WritableKeyPath<SystemSpec, Int> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Int(v) } }
        }
        static func optionalInteger(_ field: WritableKeyPath<SystemSpec, Int?> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.number(path) { spec[keyPath: field] = Int(v) } }
        }
        static func text(_ field: WritableKeyPath<SystemSpec, String> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.figures[path]?.value.text { spec[keyPath: field] = v } }
        }
        static func flag(_ field: WritableKeyPath<SystemSpec, Bool> & Sendable) -> Fill {
            Fill { spec, document, path in if let v = document.figures[path]?.value.text { spec[keyPath: field] = v == "yes" } }
        }
        /// A list of words (`a, b`) as the raw values of `T`.
        static func words<T: RawRepresentable & Sendable>(_ field: WritableKeyPath<SystemSpec, [T]?> & Sendable) -> Fill
        where T.RawValue == String {
            Fill { spec, document, path in
                if let v = document.figures[path]?.value.text {
                    spec[keyPath: field] = v.split(separator: ",").compactMap { T(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
                }
            }
        }
        static func rules(_ field: WritableKeyPath<SystemSpec, [TunerRule]> & Sendable) -> Fill {
            Fill { spec, document, path in
                if case .rules(let rules)? = document.figures[path]?.value { spec[keyPath: field] = rules }
            }
        }
        static func topology(_ field: WritableKeyPath<SystemSpec, Topology> & Sendable) -> Fill {
            Fill { spec, document, path in
                if let v = document.figures[path]?.value.text.flatMap(Topology.init(rawValue:)) { spec[keyPath: field] = v }
            }
        }
    }
}
