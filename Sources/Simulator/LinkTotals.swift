import Fabric

/// What one rank's collectives moved over each class of link in a run.
public struct LinkTotal: Sendable, Equatable {
    public var name: String
    /// Data bytes one rank sent over the class, per direction.
    public var bytes: Double
    /// Seconds the class was busy carrying them.
    public var busy: Double
    public var lineRate: Double
    public init(name: String, bytes: Double, busy: Double, lineRate: Double) {
        self.name = name
        self.bytes = bytes
        self.busy = busy
        self.lineRate = lineRate
    }
    /// Bandwidth while busy.
    public var achieved: Double { busy > 0 ? bytes / busy : 0 }
}

extension RunResult {
    /// Per link class, in the order the run first used them: bytes, busy time and line rate.
    public var linkTotals: [LinkTotal] {
        var order: [String] = []
        var totals: [String: LinkTotal] = [:]
        for k in kernels {
            guard let c = k.cost.collective else { continue }
            for use in c.links {
                if totals[use.name] == nil {
                    order.append(use.name)
                    totals[use.name] = LinkTotal(name: use.name, bytes: 0, busy: 0, lineRate: use.lineRate)
                }
                totals[use.name]!.bytes += use.bytes
                totals[use.name]!.busy += use.busy
                totals[use.name]!.lineRate = use.lineRate
            }
        }
        return order.map { totals[$0]! }
    }
}
