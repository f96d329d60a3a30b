import Chips
import SimCore
import Systems

/// Where a collective's ranks sit: how many share one scale-up domain, and how many domains it spans.
///
/// Ranks are packed as launchers place them: consecutive devices, filling a scale-up domain before
/// the next (a DGX H100's 8 GPUs, an NVL72 rack's 72, a CloudMatrix 384's 768 dies).
public struct Placement: Sendable, Equatable {
    public var ranks: Int
    /// Ranks in each scale-up domain the collective touches.
    public var perDomain: Int
    /// Scale-up domains the collective spans (joined by the scale-out network).
    public var domains: Int
    /// Ranks in each node (they share the node's NICs).
    public var perNode: Int
    /// Nodes the collective spans.
    public var nodes: Int { (ranks + perNode - 1) / perNode }

    /// `perNode`: ranks per node when the job spreads them (one rank per node for a pipeline's
    /// send/recv across nodes); nil packs them.
    public init(ranks: Int, perNode: Int? = nil, on system: SystemSpec) throws {
        guard ranks >= 1 else { throw FabricError("a collective needs at least one rank, found \(ranks)") }
        let packed = min(ranks, system.devicesPerNode)
        let perNode = perNode ?? packed
        guard perNode >= 1, perNode <= packed else {
            throw FabricError(
                "ranks_per_node \(perNode): expected 1 to \(packed) (\(system.id) has \(system.devicesPerNode) devices per node)")
        }
        let nodes = (ranks + perNode - 1) / perNode
        guard nodes <= system.nodes else {
            throw FabricError(
                "a collective across \(ranks) ranks at \(perNode) per node needs \(nodes) nodes; \(system.id) has "
                    + "\(system.nodes) (of \(system.devicesPerNode) devices each)"
                    + (system.scaleOut == nil ? " and no scale-out network to add more" : "; give more nodes with --nodes"))
        }
        self.ranks = ranks
        self.perNode = perNode
        // A scale-up domain spanning several nodes holds their ranks together.
        let nodesPerDomain = min(system.scaleUp.domainNodes, nodes)
        perDomain = min(ranks, perNode * nodesPerDomain)
        domains = (ranks + perDomain - 1) / perDomain
        // Every rank is costed as the representative one: the domains must hold as many each.
        guard ranks % perDomain == 0 else {
            throw FabricError(
                "\(ranks) ranks do not fill whole scale-up domains of \(perDomain) (\(system.id)): the model costs every rank "
                    + "alike; give a multiple of \(perDomain)"
            )
        }
    }
}

extension SystemSpec {
    /// Fraction of the scale-out line rate a collective reaches: the system's transport figure
    /// where it has one, else the library's.
    public func scaleOutEfficiency(_ library: CollectiveLibrary) -> Double { scaleOut?.efficiency ?? library.scaleOutEfficiency }
}

public struct FabricError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The links one representative rank uses, on a flow network: its scale-up egress and ingress
/// (the sum of its links, into the switches or to its peers in a full mesh, which rings spread
/// over and meshes use at once) and its share of its node's NICs.
///
/// Collectives are symmetric: every rank of a ring, a mesh or an NVLS reduction moves the same
/// bytes over the same kind of link at the same time, so one rank's links, each at the capacity
/// that rank gets, give the collective's time. A resource shared by several ranks (a node's NICs)
/// enters at the share each rank gets of it.
struct RankLinks {
    var network = FlowNetwork()
    /// Scale-up out and in (per direction), at the line rate times the library's efficiency.
    let upOut: FlowNetwork.ResourceID
    let upIn: FlowNetwork.ResourceID
    /// Scale-out out and in: the rank's share of its node's NICs; nil without a scale-out network.
    let netOut: FlowNetwork.ResourceID?
    let netIn: FlowNetwork.ResourceID?
    let upLineRate: Double
    let netLineRate: Double

    init(_ system: SystemSpec, _ library: CollectiveLibrary, placement: Placement) {
        let perPackage = Double(system.scaleUp.linksPerChip) * system.scaleUp.bandwidthPerLink.value
        // The dies of a package that software sees as several devices share its links.
        upLineRate = perPackage / Double(system.devicesPerPackage)
        let up = max(upLineRate * library.scaleUpEfficiency, 1)
        upOut = network.addResource("scale-up out", capacity: up)
        upIn = network.addResource("scale-up in", capacity: up)
        if let out = system.scaleOut {
            netLineRate = Double(out.nicsPerNode) * out.bandwidthPerNIC.value / Double(system.devicesPerNode)
            let share = max(netLineRate * system.scaleOutEfficiency(library), 1)
            netOut = network.addResource("scale-out out", capacity: share)
            netIn = network.addResource("scale-out in", capacity: share)
        } else {
            netLineRate = 0
            netOut = nil
            netIn = nil
        }
    }
}
