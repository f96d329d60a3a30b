import Chips
import Foundation
import SimCore
import Systems
import Workloads

/// What one collective costs on a system: the algorithm and protocol the library runs, its time,
/// and what it moved over which links.
public struct CollectiveResult: Sendable {
    public var kind: Op.CollectiveKind
    public var bytes: Int
    public var placement: Placement
    public var algorithm: CollectiveLibrary.Algorithm
    public var `protocol`: CollectiveLibrary.ProtocolKind
    /// Seconds from start to end.
    public var time: Double
    /// The latency part: fixed, base and per-step latencies.
    public var latency: Double
    /// Channels (compute units) it occupies on each rank.
    public var channels: Int
    /// Per link class of one rank: bytes sent, seconds busy, line rate (per direction).
    public var links: [LinkUse]
    /// Data bytes one rank sends over all its links (without the protocol's flag bytes).
    public var dataBytes: Double
    /// In-switch reduction's loops and the bytes of each (NVLS within a domain); 0 otherwise.
    public var loops = 0
    public var loopBytes = 0.0

    public struct LinkUse: Sendable {
        public var name: String
        public var bytes: Double
        public var busy: Double
        public var lineRate: Double
        /// The rate the library reaches on it (line rate times the efficiency that applies).
        public var capacity: Double
        /// Bytes counted against the link's capacity: more than `bytes` where the switch's
        /// reduction reaches less than a plain transfer (NVLS), so that concurrent collectives
        /// share the link as the model's own flows do.
        public var loadBytes: Double
    }

    /// Algorithm bandwidth (nccl-tests): bytes / time.
    public var algorithmBandwidth: Double { time > 0 ? Double(bytes) / time : 0 }
    /// Bus bandwidth (nccl-tests' factor per collective), comparable with link rates.
    public var busBandwidth: Double { algorithmBandwidth * CollectiveModel.busFactor(kind, ranks: placement.ranks) }
}

/// Collectives as the vendor libraries run them, over one representative rank's links.
///
/// For each algorithm the library offers that fits the system (NVLS needs switches that reduce,
/// trees span several domains; a message to one peer of a full mesh has one of the rank's links,
/// and in a ring or torus traffic to all peers crosses several), the model lays out what each
/// rank sends over which link class and how many sequential steps the algorithm takes; the steps
/// cost the library's own latency constants, the bytes move as flows over the rank's links at the
/// rates the library reaches on them (fitted efficiencies), and the protocol's payload fraction and
/// bandwidth cap apply. NCCL-family libraries take the least predicted time over (algorithm,
/// protocol), as NCCL's tuner does with its own model; HCCL follows its documented rule (mesh in
/// the server, ring across 2-3 servers, NHR from 4; its pipeline algorithm is not modelled).
public struct CollectiveModel: Sendable {
    public var system: SystemSpec
    public var library: CollectiveLibrary

    public init(system: SystemSpec, library: CollectiveLibrary) {
        self.system = system
        self.library = library
    }

    /// nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md).
    public static func busFactor(_ kind: Op.CollectiveKind, ranks n: Int) -> Double {
        let n = Double(n)
        switch kind {
        case .all_reduce: return 2 * (n - 1) / n
        case .all_gather, .reduce_scatter, .all_to_all: return (n - 1) / n
        case .broadcast, .send_recv: return 1
        }
    }

    /// One candidate's layout: bytes per rank over the scale-up and scale-out links, how hard each
    /// flow leans on its link (in-switch reduction), and sequential steps over each link class.
    struct Plan {
        var algorithm: CollectiveLibrary.Algorithm
        var upBytes = 0.0
        var netBytes = 0.0
        var upUsage = 1.0
        var upSteps = 0
        var netSteps = 0
        /// Phases that cannot overlap (HCCL's hierarchical all-reduce) run one after another.
        var sequential = false
        /// Store-and-forward stages every chunk passes in turn over each link class (a tree's chain
        /// within the domain, up and down, and its levels across domains): the pipeline fills
        /// through them before the links run at their rate. Zero for algorithms whose every step
        /// splits the data over all ranks (rings, meshes).
        var fillUp = 0
        var fillNet = 0
        /// In-switch reduction (NVLS) runs in loops of `loopBytes`, and a last partial loop takes
        /// as long as a whole one: its bytes go to the first channels, one block of a chunk per
        /// head each, while the rest idle. Each loop also adds the library's loop latency.
        var loops = 0
        var loopBytes = 0.0
    }

    public func cost(_ c: Op.Collective) throws -> CollectiveResult {
        guard c.bytes >= 0 else { throw FabricError("a collective moves a non-negative number of bytes, found \(c.bytes)") }
        let placement = try Placement(ranks: c.ranks, perNode: c.ranksPerNode, on: system)
        if placement.domains > 1, system.scaleOut == nil {
            throw FabricError("\(c.ranks) ranks span \(placement.domains) scale-up domains of \(system.id), which has no scale-out network")
        }
        var best: CollectiveResult?
        for (plan, figures, protocols) in try candidates(c, placement) {
            for (index, kind) in figures.protocols.enumerated() where protocols.contains(kind) {
                guard let proto = library.protocolFigures(kind) else { continue }
                let result = evaluate(c, placement, plan, figures, index, proto)
                if best == nil || result.time < best!.time { best = result }
            }
        }
        guard let best else {
            throw FabricError(
                "\(library.name) offers no algorithm for \(c.kind.rawValue) across \(c.ranks) ranks of \(system.id) (it has: "
                    + "\(library.algorithms.map(\.algorithm.rawValue).joined(separator: ", ")))"
            )
        }
        return best
    }

    /// The layouts this collective may run with and the protocols of each: what the topology
    /// allows, narrowed by the system's library configuration (`collectives.algorithms`,
    /// `collectives.protocols`) and by the kernel's own `algorithm:` and `protocol:`. Asking for
    /// what the topology or the configuration rules out is an error that says which.
    func candidates(_ c: Op.Collective, _ p: Placement) throws -> [(
        Plan, CollectiveLibrary.AlgorithmFigures, [CollectiveLibrary.ProtocolKind]
    )] {
        let what = "\(c.kind.rawValue) across \(c.ranks) ranks of \(system.id)"
        let configured = system.collectives
        func figure(_ path: String) -> String {
            let f = system.document.figures[path]
            return "\(path) in \(f?.file ?? system.id)\(f?.line.map { " line \($0)" } ?? "")"
        }
        var layouts = plans(c, p).filter { library.figures($0.algorithm) != nil }
        // The transport's own point-to-point (send/recv, all-to-all) is not one NCCL_ALGO chooses.
        if let allowed = configured.algorithms {
            if let wanted = c.algorithm, wanted != .direct, !allowed.contains(wanted) {
                throw FabricError(
                    "\(wanted.rawValue) is not configured on \(system.id): its library runs "
                        + "\(allowed.map(\.rawValue).joined(separator: ", ")) only (\(figure("collectives.algorithms")))")
            }
            layouts = layouts.filter { $0.algorithm == .direct || allowed.contains($0.algorithm) }
        }
        // The system's tuner decides where the kernel does not: its rule's algorithm where the
        // collective can run it here, else the library's own choice (as NCCL falls back).
        var requested = (algorithm: c.algorithm, protocol: c.protocol)
        if requested.algorithm == nil,
            let rule = configured.rule(c.kind, nodes: p.nodes, ranksPerNode: p.perNode, bytes: Double(c.bytes)),
            let plan = layouts.first(where: { $0.algorithm == rule.algorithm }),
            rule.protocol.map({ wanted in library.figures(plan.algorithm)?.protocols.contains(wanted) ?? false }) ?? true
        {
            requested = (rule.algorithm, requested.protocol ?? rule.protocol)
        }
        if let wanted = requested.algorithm {
            guard let plan = layouts.first(where: { $0.algorithm == wanted }) else {
                let runnable = layouts.map(\.algorithm.rawValue)
                throw FabricError(
                    "algorithm \(wanted.rawValue) cannot run \(what) with \(library.name)"
                        + (library.figures(wanted) == nil ? " (the library has no \(wanted.rawValue))" : "")
                        + "; \(runnable.isEmpty ? "nothing can" : "it can run: \(runnable.joined(separator: ", "))")")
            }
            layouts = [plan]
        }
        var result: [(Plan, CollectiveLibrary.AlgorithmFigures, [CollectiveLibrary.ProtocolKind])] = []
        for plan in layouts {
            guard let figures = library.figures(plan.algorithm) else { continue }
            var protocols = figures.protocols
            if let allowed = configured.protocols { protocols = protocols.filter(allowed.contains) }
            if let wanted = requested.protocol {
                if let allowed = configured.protocols, !allowed.contains(wanted) {
                    throw FabricError(
                        "protocol \(wanted.rawValue) is not configured on \(system.id): its library runs "
                            + "\(allowed.map(\.rawValue).joined(separator: ", ")) only (\(figure("collectives.protocols")))")
                }
                guard protocols.contains(wanted) else {
                    if requested.algorithm == nil { continue }
                    throw FabricError(
                        "\(plan.algorithm.rawValue) runs \(figures.protocols.map(\.rawValue).joined(separator: ", ")) in \(library.name), "
                            + "not \(wanted.rawValue)")
                }
                protocols = [wanted]
            }
            if !protocols.isEmpty { result.append((plan, figures, protocols)) }
        }
        if result.isEmpty, !layouts.isEmpty {
            throw FabricError(
                "no algorithm for \(what) runs "
                    + (requested.protocol.map { "protocol \($0.rawValue)" }
                        ?? "the configured protocols (\(figure("collectives.protocols")))"))
        }
        return result
    }

    /// The layouts of the algorithms that fit this collective on this system, in the library's order of preference.
    func plans(_ c: Op.Collective, _ p: Placement) -> [Plan] {
        let n = Double(p.ranks)
        let s = Double(c.bytes)
        let inDomain = Double(p.perDomain)
        let domains = p.domains
        let offered = Set(library.algorithms.map(\.algorithm))
        var plans: [Plan] = []
        // How the domain's links carry traffic that is not to every peer at once: in a full mesh a
        // message to one peer has one link of the rank's (chips - 1); in a ring or torus a message
        // crosses about a quarter of the ring's ranks on average, loading the links it passes.
        let chips = Double(max(2, system.chipsPerNode))
        let onePeer: Double
        let spread: Double
        switch system.scaleUp.topology {
        case .switch:
            onePeer = 1
            spread = 1
        case .fullMesh:
            onePeer = chips - 1
            spread = 1
        case .ring, .torus:
            onePeer = 2
            spread = max(1, inDomain / 4)
        }
        switch c.kind {
        case .send_recv:
            // One message to one peer (a pipeline's neighbour): over the scale-up links when the
            // peer shares the domain.
            var plan = Plan(algorithm: .direct)
            if domains > 1 {
                plan.netBytes = s
                plan.netSteps = 1
            } else {
                plan.upBytes = s
                plan.upUsage = onePeer
                plan.upSteps = 1
            }
            return [plan]
        case .all_to_all:
            // Every rank sends 1/n of its buffer to each peer, all at once.
            var plan = Plan(algorithm: .direct)
            plan.upBytes = s * (inDomain - 1) / n
            plan.upUsage = spread
            plan.netBytes = s * (n - inDomain) / n
            plan.upSteps = inDomain > 1 ? 1 : 0
            plan.netSteps = domains > 1 ? 1 : 0
            return [plan]
        default: break
        }
        // Volume factor of a ring for this collective, and its steps.
        let ringFactor: Double
        let ringSteps: Int
        let interSteps: Int
        switch c.kind {
        case .all_reduce:
            ringFactor = 2 * (n - 1) / n
            ringSteps = 2 * (p.ranks - 1)
            interSteps = 2 * (domains - 1)
        case .broadcast:
            ringFactor = 1
            ringSteps = p.ranks
            interSteps = domains - 1
        default:
            ringFactor = (n - 1) / n
            ringSteps = p.ranks - 1
            interSteps = domains - 1
        }
        let log2Domains = Int((Double(domains)).log2Ceiling)

        switch library.family {
        case .nccl:
            if offered.contains(.ring) {
                var ring = Plan(algorithm: .ring)
                // Every chunk passes every rank; of a ring's n hops, one per domain crosses the
                // network, and the channels' rings spread those crossings over the NICs of all the
                // domain's ranks.
                ring.upBytes = s * ringFactor * (domains > 1 ? (n - Double(domains)) / n : 1)
                ring.netBytes = domains > 1 ? s * ringFactor / inDomain : 0
                ring.upSteps = ringSteps - interSteps
                ring.netSteps = interSteps
                plans.append(ring)
            }
            // A double binary tree across domains: each domain is interior in one tree and a leaf
            // in the other, so it sends and receives about 2S (NCCL converts a tree's bus bandwidth
            // to algorithm bandwidth with x0.5); with two domains each tree is one edge and S
            // crosses (NCCL doubles bwInter there). The domain's ranks share it over their NICs.
            let treeNetBytes = (domains == 2 ? 1 : 2) * s / inDomain
            if c.kind == .all_reduce, domains > 1, offered.contains(.tree) {
                // A chain within each domain (reduce up, broadcast down), the tree across.
                var tree = Plan(algorithm: .tree)
                tree.upBytes = 2 * s * (inDomain - 1) / inDomain
                tree.netBytes = treeNetBytes
                tree.upSteps = 2 * (p.perDomain - 1)
                tree.netSteps = 2 * log2Domains
                tree.fillUp = tree.upSteps
                tree.fillNet = tree.netSteps
                plans.append(tree)
            }
            if c.kind == .all_reduce, system.scaleUp.inSwitchReduction, p.perDomain > 1 {
                // The switch reduces and multicasts: each rank sends and receives its buffer once.
                if domains == 1, offered.contains(.nvls) {
                    var nvls = Plan(algorithm: .nvls)
                    nvls.upBytes = s
                    nvls.upUsage = 1 / library.inSwitchEfficiency
                    nvls.upSteps = 1
                    let (loops, loopBytes) = inSwitchLoops(bytes: c.bytes, heads: p.perDomain)
                    nvls.loops = loops
                    nvls.loopBytes = loopBytes
                    plans.append(nvls)
                } else if domains > 1, offered.contains(.nvlsTree) {
                    var nvlsTree = Plan(algorithm: .nvlsTree)
                    nvlsTree.upBytes = s
                    nvlsTree.upUsage = 1 / library.inSwitchEfficiency
                    nvlsTree.netBytes = treeNetBytes
                    nvlsTree.upSteps = 1
                    nvlsTree.netSteps = 2 * log2Domains
                    plans.append(nvlsTree)
                }
            }
        case .hccl:
            // Within a domain: mesh (every peer at once, one step per phase); across domains the
            // domain-level result is combined by ring (2-3 servers) or NHR (4 and more), each rank
            // its own 1/perDomain slice over its own NIC, between the intra-domain phases. HCCL's
            // pipeline algorithm, which overlaps the two, and the A3's double ring are not modelled.
            let phases = c.kind == .all_reduce ? 2 : 1
            var plan = Plan(algorithm: domains == 1 ? .mesh : (domains <= 3 ? .ring : .nhr))
            plan.upBytes = Double(phases) * s * (inDomain - 1) / inDomain
            plan.upUsage = spread
            plan.upSteps = inDomain > 1 ? phases : 0
            if domains > 1 {
                let d = Double(domains)
                let slice = s / inDomain
                let factor = c.kind == .all_reduce ? 2 * (d - 1) / d : (d - 1) / d
                plan.netBytes = slice * factor
                let steps = plan.algorithm == .nhr ? log2Domains : domains - 1
                plan.netSteps = c.kind == .all_reduce ? 2 * steps : steps
                plan.sequential = true
            }
            plans.append(plan)
        }
        return plans
    }

    func evaluate(
        _ c: Op.Collective, _ placement: Placement, _ plan: Plan, _ figures: CollectiveLibrary.AlgorithmFigures, _ index: Int,
        _ proto: CollectiveLibrary.ProtocolFigures
    ) -> CollectiveResult {
        let latency =
            library.fixedLatency + figures.baseLatency[index] + Double(plan.upSteps) * figures.hopLatencyScaleUp[index]
            + Double(plan.netSteps) * (figures.hopLatencyScaleOut[index] + (system.scaleOut?.stepLatency ?? 0))
            + Double(plan.loops) * library.inSwitchLoopLatency
        var links = RankLinks(system, library, placement: placement)
        // The protocol's bus-bandwidth cap as a cap on each flow: at the cap, the flow's bytes take
        // the time the cap gives the whole collective.
        let factor = Self.busFactor(c.kind, ranks: placement.ranks)
        func cap(_ bytes: Double) -> Double? {
            guard let limit = placement.domains > 1 ? (proto.bandwidthCapMultiNode ?? proto.bandwidthCap) : proto.bandwidthCap,
                c.bytes > 0
            else { return nil }
            return limit * bytes / (Double(c.bytes) * factor)
        }
        let wire = 1 / proto.payload
        var upFlow: FlowNetwork.FlowID?
        var netFlow: FlowNetwork.FlowID?
        var upTime = 0.0
        var netTime = 0.0
        if plan.upBytes > 0 {
            upFlow = links.network.startFlow(
                amount: max(plan.upBytes, Double(plan.loops) * plan.loopBytes),
                path: [FlowNetwork.Hop(links.upOut, usage: wire * plan.upUsage), FlowNetwork.Hop(links.upIn, usage: wire * plan.upUsage)],
                cap: cap(plan.upBytes))
        }
        var upDone = false
        var netStarted = false
        func runNet() {
            guard !netStarted, plan.netBytes > 0, let out = links.netOut, let inbound = links.netIn else { return }
            netStarted = true
            netFlow = links.network.startFlow(
                amount: plan.netBytes, path: [FlowNetwork.Hop(out, usage: wire), FlowNetwork.Hop(inbound, usage: wire)],
                cap: cap(plan.netBytes))
        }
        // Phases in sequence start the network phase when the domain phase is done (at once when
        // there is none).
        if !plan.sequential || upFlow == nil { runNet() }
        var transfer0 = 0.0
        var started = links.network.now
        while let next = links.network.nextEventTime {
            let done = links.network.advance(to: next)
            for flow in done {
                // A finished flow's slot is reused by the next one started: forget it once done.
                if flow == upFlow {
                    upTime = links.network.now - started
                    upFlow = nil
                    upDone = true
                } else if flow == netFlow {
                    netTime = links.network.now - (plan.sequential ? started : 0)
                    netFlow = nil
                }
            }
            if plan.sequential, upDone, !netStarted, plan.netBytes > 0 {
                started = links.network.now
                runNet()
            }
        }
        transfer0 = links.network.now
        let transfer = transfer0 + fill(c, placement, plan, proto, links)
        var uses: [CollectiveResult.LinkUse] = []
        if plan.upBytes > 0 {
            uses.append(
                .init(
                    name: "scale-up", bytes: plan.upBytes * wire, busy: upTime, lineRate: links.upLineRate,
                    capacity: links.network.resource(links.upOut).capacity,
                    loadBytes: plan.upBytes * wire * plan.upUsage))
        }
        if plan.netBytes > 0 {
            uses.append(
                .init(
                    name: "scale-out", bytes: plan.netBytes * wire, busy: netTime, lineRate: links.netLineRate,
                    capacity: links.netOut.map { links.network.resource($0).capacity } ?? 0,
                    loadBytes: plan.netBytes * wire))
        }
        return CollectiveResult(
            kind: c.kind, bytes: c.bytes, placement: placement, algorithm: plan.algorithm, protocol: proto.kind,
            time: latency + transfer, latency: latency, channels: library.channels, links: uses, dataBytes: plan.upBytes + plan.netBytes,
            loops: plan.loops, loopBytes: plan.loopBytes)
    }
}

extension CollectiveModel {
    /// The time a pipelined algorithm takes to fill beyond its bulk transfer: every chunk passes the
    /// plan's stages one after another, so the first reaches the last rank after the sum of the
    /// stage times, and the slowest stage paces the rest (NCCL's tree forwards chunks of one buffer
    /// slot: buffer / NCCL_STEPS, src/enqueue.cc; smaller messages are one chunk per channel).
    /// Each channel has its share of a rank's scale-up links, and of the NICs its domain's ranks
    /// share (one tree per channel crosses through one of them).
    func fill(
        _ c: Op.Collective, _ p: Placement, _ plan: Plan, _ proto: CollectiveLibrary.ProtocolFigures, _ links: RankLinks
    ) -> Double {
        guard plan.fillUp + plan.fillNet > 0, c.bytes > 0,
            let step = proto.stepData(steps: library.steps, buffer: proto.kind == .simple ? system.collectives.bufferSize : nil)
        else { return 0 }
        let channels = Double(library.channels)
        let wire = min(step, Double(c.bytes) / channels) / proto.payload
        let upRate = links.network.resource(links.upOut).capacity / channels
        var stages: [(count: Int, time: Double)] = [(plan.fillUp, wire / upRate)]
        if let out = links.netOut {
            stages.append((plan.fillNet, wire / (links.network.resource(out).capacity * Double(p.perDomain) / channels)))
        }
        let used = stages.filter { $0.count > 0 }
        return used.reduce(0) { $0 + Double($1.count) * $1.time } - (used.map(\.time).max() ?? 0)
    }
}

extension CollectiveModel {
    /// The loops an in-switch all-reduce within one domain runs (NCCL's NVLS kernel, all_reduce.h):
    /// a loop gives each of the channels one chunk per head (every rank of the domain is a head),
    /// and the chunk shrinks for smaller messages as NCCL's enqueue.cc sets it (the largest
    /// chunk, NCCL_NVLS_CHUNKSIZE, from 64 loops of it; 64 KiB from 8 loops; 32 KiB from 2; else
    /// 16 KiB). Returns the loops (a last partial one counts) and the bytes of one.
    public func inSwitchLoops(bytes: Int, heads: Int) -> (loops: Int, bytes: Double) {
        guard library.inSwitchChunk > 0, bytes > 0 else { return (0, 0) }
        let concurrent = Double(library.channels * max(1, heads))
        let s = Double(bytes)
        var chunk = library.inSwitchChunk
        if s < 64 * concurrent * chunk, chunk > 65536 { chunk = 65536 }
        if s < 8 * concurrent * chunk, chunk > 32768 { chunk = 32768 }
        if s < 2 * concurrent * chunk, chunk > 16384 { chunk = 16384 }
        return (Int((s / (concurrent * chunk)).rounded(.up)), concurrent * chunk)
    }
}

extension Double {
    /// log2, rounded up, of a count of at least 1.
    var log2Ceiling: Double { self <= 1 ? 0 : log2(self).rounded(.up) }
}
