import Chips
import SimCore

/// The levels a derived figure is given at.
public enum SystemScope: String, Sendable, CaseIterable {
    /// What software sees as one device: a 910C die, a whole B200.
    case device
    /// One chip package.
    case package
    case node
    /// All nodes of the system.
    case system
}

extension SystemSpec {
    /// Devices software sees in one package (910C: 2, one per die; B200: 1 for both dies).
    public var devicesPerPackage: Int { max(1, chip.devicesPerPackage) }
    public var devicesPerNode: Int { chipsPerNode * devicesPerPackage }
    public var totalChips: Int { nodes * chipsPerNode }
    public var totalDevices: Int { totalChips * devicesPerPackage }

    /// Nodes in each scale-up domain of this system: the file's domain, or all nodes when there are fewer.
    public var nodesPerDomain: Int { min(nodes, scaleUp.domainNodes) }
    public var domains: Int { (nodes + nodesPerDomain - 1) / nodesPerDomain }
    public var chipsPerDomain: Int { nodesPerDomain * chipsPerNode }
    /// Scale-up domains the system's nodes make, a fraction where they are fewer than one domain
    /// holds (2 nodes of CloudMatrix 384's 48 are 1/24 of it): what the system bears of what each
    /// domain shares (its switches and optics, `power.domain`; `cost.domain_price`).
    public var domainShare: Double { Double(nodes) / Double(scaleUp.domainNodes) }

    /// How many of `scope` one package is (a device is a fraction of one).
    func packages(in scope: SystemScope) -> Double {
        switch scope {
        case .device: return 1 / Double(devicesPerPackage)
        case .package: return 1
        case .node: return Double(chipsPerNode)
        case .system: return Double(totalChips)
        }
    }

    /// Dense matrix peak (FLOP/s) at the chip's peak clock, of one device, package, node or the system.
    public func peakFLOPS(_ dtype: DataType, _ scope: SystemScope) -> Double? {
        chip.peakMatrixFLOPS(dtype).map { $0 * packages(in: scope) }
    }

    public func hbmCapacity(_ scope: SystemScope) -> Bytes { chip.memory.hbmCapacity * packages(in: scope) }
    public func hbmBandwidth(_ scope: SystemScope) -> BytesPerSecond { chip.memory.hbmBandwidth * packages(in: scope) }

    /// Scale-up bandwidth per direction: links wired x bandwidth per link, per package, summed over the scope.
    public func scaleUpBandwidth(_ scope: SystemScope) -> BytesPerSecond {
        Double(scaleUp.linksPerChip) * scaleUp.bandwidthPerLink * packages(in: scope)
    }

    /// Scale-out bandwidth per direction: NICs x bandwidth per NIC, shared by the node's packages; nil without a scale-out network.
    public func scaleOutBandwidth(_ scope: SystemScope) -> BytesPerSecond? {
        guard let scaleOut else { return nil }
        let node = Double(scaleOut.nicsPerNode) * scaleOut.bandwidthPerNIC
        return node * (packages(in: scope) / Double(chipsPerNode))
    }

    /// A node's power with every chip at its TDP: chips + CPUs, NICs, switches, fans and the rest.
    public var nodePower: Watts { Double(chipsPerNode) * chip.power.tdp + power.nodeExtras }

    /// The system's power with every chip at its TDP: its nodes, plus their share of what each
    /// scale-up domain shares.
    public var systemPower: Watts { Double(nodes) * nodePower + domainShare * power.domain }

    /// Power at TDP of one device, package, node or the system. A package's and a device's share
    /// are the chip's own TDP (and its half, for a two-device package), without the node's extras.
    public func powerAtTDP(_ scope: SystemScope) -> Watts {
        switch scope {
        case .device, .package: return chip.power.tdp * packages(in: scope)
        case .node: return nodePower
        case .system: return systemPower
        }
    }
}
