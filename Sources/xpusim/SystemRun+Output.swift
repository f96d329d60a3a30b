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
        if let tokens = result.tokens {
            // The trace's tokens are every replica's (Experiment.run), so they are over the whole system's energy.
            out +=
                "\ntokens          \(tokens), \(formatNumber(Double(tokens) / result.totalTime)) tokens/s, "
                + "\(formatNumber(Double(tokens) / energy)) tokens/J (every replica's tokens, the whole system's energy)"
        }
        return out
    }
}
