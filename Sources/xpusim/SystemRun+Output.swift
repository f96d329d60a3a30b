import Experiments
import Fabric
import Foundation
import SimCore

/// The system part of `run`'s table and JSON.
extension SystemRun {
    var rendered: String {
        var out = ""
        if !collectives.isEmpty {
            var table = TextTable(
                ["collective", "op", "ranks", "bytes", "algorithm", "protocol", "time", "algbw", "busbw"], numeric: [2, 3, 6, 7, 8])
            for c in collectives {
                let p = c.result.placement
                table.add([
                    c.id, c.result.kind.rawValue, p.domains > 1 ? "\(p.ranks) (\(p.domains) x \(p.perDomain))" : "\(p.ranks)",
                    Quantity.format(Double(c.result.bytes), .bytes), c.result.algorithm.rawValue, c.result.protocol.rawValue,
                    Quantity.format(c.result.time, .time), Quantity.format(c.result.algorithmBandwidth, .bandwidth),
                    Quantity.format(c.result.busBandwidth, .bandwidth),
                ])
            }
            out += "\ncollectives\n" + table.rendered + "\n"
            var linkTable = TextTable(["link (one rank, per direction)", "bytes", "busy", "achieved", "line rate"], numeric: [1, 2, 3, 4])
            for l in links {
                linkTable.add([
                    l.name, Quantity.format(l.bytes, .bytes), Quantity.format(l.busy, .time),
                    Quantity.format(l.busy > 0 ? l.bytes / l.busy : 0, .bandwidth), Quantity.format(l.lineRate, .bandwidth),
                ])
            }
            out += "\n" + linkTable.rendered + "\n"
        }
        out += """

            system          \(system.id): \(system.nodes) node\(system.nodes == 1 ? "" : "s"), \(system.totalChips) chips, \
            \(system.totalDevices) devices
            system power    \(formatNumber(averagePower)) W average (chips \(formatNumber(chipsPower)) W, hosts, NICs, switches \
            and fans \(formatNumber(extrasPower)) W)
            system energy   \(formatNumber(energy)) J
            """
        return out
    }

    func addJSON(to object: inout [String: Any]) {
        object["system"] = system.id
        object["nodes"] = system.nodes
        object["devices"] = system.totalDevices
        object["device_avg_power_w"] = result.power.averagePower
        object["avg_power_w"] = averagePower
        object["energy_j"] = energy
        object["power_parts_w"] = ["chips": chipsPower, "node_and_domain": extrasPower]
        var byID: [String: CollectiveResult] = [:]
        for c in collectives { byID[c.id] = c.result }
        if var kernels = object["kernels"] as? [[String: Any]] {
            for index in kernels.indices {
                guard let id = kernels[index]["id"] as? String, let c = byID[id] else { continue }
                kernels[index]["algorithm"] = c.algorithm.rawValue
                kernels[index]["protocol"] = c.protocol.rawValue
                kernels[index]["algbw_gbps"] = c.algorithmBandwidth / 1e9
                kernels[index]["busbw_gbps"] = c.busBandwidth / 1e9
                kernels[index]["ranks"] = c.placement.ranks
            }
            object["kernels"] = kernels
        }
        object["links"] = links.map {
            [
                "name": $0.name, "bytes": $0.bytes, "busy_s": $0.busy, "achieved_bytes_per_s": $0.busy > 0 ? $0.bytes / $0.busy : 0,
                "line_rate_bytes_per_s": $0.lineRate,
            ]
                as [String: Any]
        }
    }
}
