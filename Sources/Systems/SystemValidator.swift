import Chips
import Config
import SimCore

/// Checks that a system document's figures make sense together and with its chip.
///
/// Shape errors (unknown keys, units, types, missing sources) are found while reading; these are
/// the rules between fields: the chip exists, a chip cannot wire more scale-up links than it has
/// nor run them faster, a switch topology has switches, a full mesh reaches every peer, in-network
/// reduction needs switches, the default node count is whole domains with a scale-out network
/// beyond one, and the node's power at TDP stays within the vendor's rated maximum.
public enum SystemValidator {
    /// How far the node power at TDP may exceed `power.rated_max` (estimates of the extras are rough).
    public static let ratedTolerance = 0.05

    public static func validate(_ document: SystemDocument, chip: ChipSpec) -> [ConfigError] {
        var errors: [ConfigError] = []
        func fail(_ path: String, _ message: String) {
            errors.append(ConfigError(file: document.file, line: document.figures[path]?.line, path: path, message: message))
        }
        func n(_ path: String) -> Double? { document.number(path) }
        let chipLinks = Double(chip.interconnect.scaleUpLinks)
        if let links = n("scale_up.links_per_chip"), links > chipLinks {
            fail(
                "scale_up.links_per_chip",
                "\(formatNumber(links)) links, but \(chip.id) has \(formatNumber(chipLinks)) (interconnect.scale_up.links)")
        }
        if let rate = n("scale_up.bandwidth_per_link"), rate > chip.interconnect.bandwidthPerLink.value * 1.0001 {
            fail(
                "scale_up.bandwidth_per_link",
                "\(Quantity.format(rate, .bandwidth)) per link is faster than \(chip.id)'s links (\(chip.interconnect.bandwidthPerLink))")
        }
        let topology = document.figures["scale_up.topology"]?.value.text
        let hasSwitches = document.has(section: "scale_up.switches")
        if topology == Topology.switch.rawValue, !hasSwitches {
            fail("scale_up.topology", "a switch topology needs its switches (scale_up.switches.count, bandwidth_per_port, tiers)")
        }
        if topology == Topology.fullMesh.rawValue, let chips = n("node.chips"), let links = n("scale_up.links_per_chip"), links < chips - 1
        {
            fail(
                "scale_up.links_per_chip",
                "a full mesh of \(formatNumber(chips)) chips needs at least \(formatNumber(chips - 1)) links per chip, found "
                    + "\(formatNumber(links))"
            )
        }
        if topology == Topology.fullMesh.rawValue, let domain = n("scale_up.domain_nodes"), domain > 1 {
            fail(
                "scale_up.domain_nodes", "a full mesh joins the chips of one node; a domain of \(formatNumber(domain)) nodes needs switches"
            )
        }
        // Every chip's links land on switch ports: the domain's switches need at least as many. A
        // design explored with --set or a sweep may change one of them alone (a sweep's constraint
        // then keeps the points that fit), so the rule holds the file's own figures.
        let portFigures = ["scale_up.switches.count", "scale_up.switches.ports", "scale_up.links_per_chip", "node.chips"]
        if !portFigures.contains(where: { document.figures[$0]?.kind == .override }),
            let count = n("scale_up.switches.count"), let ports = n("scale_up.switches.ports"), let links = n("scale_up.links_per_chip"),
            let chips = n("node.chips")
        {
            let domainChips = chips * (n("scale_up.domain_nodes") ?? 1)
            if count * ports < domainChips * links {
                fail(
                    "scale_up.switches.ports",
                    "\(formatNumber(count)) switches of \(formatNumber(ports)) ports cannot take the \(formatNumber(domainChips)) chips' "
                        + "\(formatNumber(links)) links each (\(formatNumber(domainChips * links)) ports needed)")
            }
        }
        if document.figures["scale_up.in_switch_reduction"]?.value.text == "yes", !hasSwitches {
            fail("scale_up.in_switch_reduction", "in-network reduction needs switches (scale_up.switches)")
        }
        if let nodes = n("nodes"), let domain = n("scale_up.domain_nodes"), nodes > domain {
            if !document.has(section: "scale_out") {
                fail(
                    "nodes",
                    "\(formatNumber(nodes)) nodes are more than one scale-up domain (\(formatNumber(domain))): describe the "
                        + "scale_out network"
                )
            } else if nodes.truncatingRemainder(dividingBy: domain) != 0 {
                fail("nodes", "\(formatNumber(nodes)) nodes is not a whole number of scale-up domains of \(formatNumber(domain)) nodes")
            }
        }
        if errors.isEmpty, let rated = n("power.rated_max") {
            let spec = SystemSpec(document, chip: chip)
            if spec.nodePower.value > rated * (1 + ratedTolerance) {
                fail(
                    "power.rated_max",
                    "the node draws \(spec.nodePower) at TDP (\(spec.chipsPerNode) x \(chip.power.tdp) + \(spec.power.nodeExtras)), "
                        + "more than its rated \(Quantity.format(rated, .power))"
                )
            }
        }
        return errors
    }
}
