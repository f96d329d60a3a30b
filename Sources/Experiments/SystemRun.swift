import Fabric
import Foundation
import SimCore
import Simulator
import Systems

/// What a run on a system adds to a chip run: its collectives, its links' use, and the whole
/// system's power (every device runs the representative rank's trace; nodes add their hosts, NICs,
/// switches and fans, and each scale-up domain what it shares).
public struct SystemRun: Sendable {
    public let result: RunResult
    public let system: SystemSpec
    public let collectives: [(id: String, result: CollectiveResult, duration: Double)]

    public init(_ result: RunResult, system: SystemSpec) {
        self.result = result
        self.system = system
        collectives = result.kernels.compactMap { k in k.cost.collective.map { (k.id, $0, k.duration) } }
    }

    /// Each device runs a rank (the simulated machine is one device: a whole package, or one die
    /// of a package that software sees as several).
    public var chipsPower: Double { result.power.averagePower * Double(system.totalDevices) }
    public var extrasPower: Double {
        Double(system.nodes) * system.power.nodeExtras.value + system.domainShare * system.power.domain.value
    }
    public var averagePower: Double { chipsPower + extrasPower }
    public var energy: Double { averagePower * result.totalTime }

    /// Per link class: bytes one rank sent, seconds busy, and the bandwidth achieved while busy.
    public var links: [(name: String, bytes: Double, busy: Double, lineRate: Double)] {
        result.linkTotals.map { (name: $0.name, bytes: $0.bytes, busy: $0.busy, lineRate: $0.lineRate) }
    }
}
