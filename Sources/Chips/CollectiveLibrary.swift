import Config

/// A vendor's collective library (NCCL, HCCL, ...) as the simulator needs it: the algorithms it
/// offers, their protocols, the latencies its own tuning model charges, and how much of a link's
/// bandwidth its kernels reach.
///
/// It is the `collectives:` section of a kernel library file (chips/libraries/), so a chip's users
/// get the collective library of their software stack. The latency constants are the library's own
/// (NCCL's `baseLat` and `hwLat` tables of src/graph/tuning.cc, HCCL's alpha); the efficiencies are
/// fitted on measured collectives (`xpusim calibrate --data vidur-dgx-h100-collectives`).
///
/// ```yaml
/// collectives:
///   name: NCCL (tuning-model constants of NCCL 2.30)
///   family: nccl
///   channels: {value: 16, source: nccl}
///   protocols:
///     ll: {payload: {value: 0.5, source: nccl}, bandwidth_cap: {value: 141 GB/s, source: nccl}}
///     simple: {payload: {value: 1, source: nccl}}
///   algorithms:
///     ring:
///       protocols: [ll, simple]
///       base_latency: {value: [6.6 us, 8.4 us], source: nccl}
///       hop_latency_scale_up: {value: [0.6 us, 3.4 us], source: nccl}
///       hop_latency_scale_out: {value: [2.7 us, 14 us], source: nccl}
///   scale_up_efficiency: {value: 0.8, kind: fitted, fit: "...", data: "sha256:..."}
///   ...
/// ```
public struct CollectiveLibrary: Sendable {
    /// How the library chooses and runs its algorithms.
    public enum Family: String, Sendable, CaseIterable {
        /// NCCL and its derivatives: channels of rings and trees, in-switch reduction (NVLS) where
        /// the switches offer it, LL / LL128 / Simple protocols; the least predicted time wins.
        case nccl
        /// Huawei HCCL: mesh within a full-mesh server, ring or NHR across servers, hierarchical.
        case hccl
    }

    public enum Algorithm: String, Sendable, CaseIterable {
        /// Ranks in a ring: reduce-scatter then all-gather, each chunk passing every rank.
        case ring
        /// NCCL's double binary tree across nodes, a chain within each.
        case tree
        /// NVLink SHARP: the switch reduces (multimem.ld_reduce) and multicasts; one node.
        case nvls
        /// NVLS within each node and a tree across nodes.
        case nvlsTree = "nvls_tree"
        /// Every rank sends to every peer at once over its direct links (HCCL's mesh, level 0).
        case mesh
        /// HCCL's hierarchical ring across servers (NHR): log2(servers) steps.
        case nhr
        /// Point-to-point to every peer at once (all-to-all, send/recv): the transport itself.
        case direct
    }

    public enum ProtocolKind: String, Sendable, CaseIterable {
        case ll, ll128, simple
    }

    /// The collectives a library runs (trace ops of the same names).
    public enum CollectiveKind: String, Sendable, CaseIterable {
        case all_reduce, all_gather, reduce_scatter, all_to_all, send_recv, broadcast
    }

    public struct ProtocolFigures: Sendable {
        public var kind: ProtocolKind
        /// Data bytes per byte on the wire (LL: 4 of 8, LL128: 120 of 128, Simple: 1).
        public var payload: Double
        /// Bus bandwidth the protocol cannot exceed (NCCL's llMaxBw), when the library has one.
        public var bandwidthCap: Double?
        /// The same across nodes (NCCL's multi-node llMaxBw, by host CPU); nil: `bandwidthCap`.
        public var bandwidthCapMultiNode: Double?
        /// Bytes of the buffer each connection of a channel has for this protocol (NCCL's buffSizes:
        /// flags included), split into the library's `steps` slots; nil where the library gives none.
        public var bufferSize: Double?

        /// Data bytes of one pipeline step: the buffer's share of one slot, without the flags.
        public func stepData(steps: Int, buffer: Double? = nil) -> Double? {
            guard let size = buffer ?? bufferSize, steps > 0 else { return nil }
            return size / Double(steps) * payload
        }
    }

    public struct AlgorithmFigures: Sendable {
        public var algorithm: Algorithm
        /// Protocols the algorithm runs, in the order the latency lists follow.
        public var protocols: [ProtocolKind]
        /// Fixed latency per call, per protocol (s).
        public var baseLatency: [Double]
        /// Latency per sequential step over a scale-up link, per protocol (s).
        public var hopLatencyScaleUp: [Double]
        /// Latency per sequential step over the scale-out network, per protocol (s).
        public var hopLatencyScaleOut: [Double]
    }

    public var name: String
    public var family: Family
    /// Channels (one thread block, hence one compute unit, each) a collective runs on at most.
    public var channels: Int
    /// Slots each connection's buffer is split into (NCCL_STEPS): a tree forwards one slot's data
    /// (a chunk) per step, so a chunk is the unit its pipeline fills with; 0 where not given.
    public var steps: Int
    public var protocols: [ProtocolFigures]
    public var algorithms: [AlgorithmFigures]
    /// Fraction of a scale-up link's line rate a collective's data reaches (packet headers, flow
    /// control, the protocol's flag and synchronisation traffic).
    public var scaleUpEfficiency: Double
    /// The same for the scale-out network (NIC, RDMA transport, switches).
    public var scaleOutEfficiency: Double
    /// Fraction of the link rate in-switch reduction reaches beside the plain transfers (NCCL's
    /// nvlsEfficiency), where the library has it.
    public var inSwitchEfficiency: Double
    /// In-switch reduction's largest chunk per head and channel (NCCL_NVLS_CHUNKSIZE): a loop of
    /// the NVLS kernel hands every channel one chunk per head. 0 where not given (no loops modelled).
    public var inSwitchChunk: Double = 0
    /// The time each NVLS loop adds beyond its bytes: every channel's scatter, multimem reduction
    /// and gather synchronise with the peers once per loop. 0 where not given.
    public var inSwitchLoopLatency: Double = 0
    /// Time every collective kernel spends beyond its algorithm's latency and transfers: the
    /// kernel's start, its proxy and peers' first handshake.
    public var fixedLatency: Double
    /// Where the section is, for messages.
    public var path: String

    public func figures(_ algorithm: Algorithm) -> AlgorithmFigures? { algorithms.first { $0.algorithm == algorithm } }
    public func protocolFigures(_ kind: ProtocolKind) -> ProtocolFigures? { protocols.first { $0.kind == kind } }
}

extension CollectiveLibrary {
    static func read(_ node: ConfigNode, figures: inout FigureReader) throws -> CollectiveLibrary {
        var c = try MappingReader(node)
        let name = try c.required("name").string()
        let family = try c.required("family", "nccl or hccl").word(Family.self, "family")
        let channels = try figures.integer(try c.required("channels"), plausible: 1...256)
        let steps = try c.optional("steps").map { try figures.integer($0, plausible: 1...64) } ?? 0
        var protocols: [ProtocolFigures] = []
        for (key, value) in try c.required("protocols").mapping() {
            guard let kind = ProtocolKind(rawValue: key) else {
                throw value.error("unknown protocol \"\(key)\"; known: \(ProtocolKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var p = try MappingReader(value)
            let payload = try figures.ratio(try p.required("payload"))
            func bandwidth(_ field: String) throws -> Double? {
                let cap = try p.optional(field).map { try figures.value($0).quantity(.bandwidth).value }
                if let cap, !(cap > 0 && cap < 1e14) { throw value.error("\(field): expected a positive bandwidth, found \(cap) B/s") }
                return cap
            }
            let cap = try bandwidth("bandwidth_cap")
            let multiNode = try bandwidth("bandwidth_cap_multi_node")
            let buffer = try p.optional("buffer_size").map { node -> Double in
                let size = try figures.value(node).quantity(.bytes).value
                guard (4096.0...1_073_741_824).contains(size) else {
                    throw node.error("buffer_size: expected 4 KiB to 1 GiB per connection, found \(size) bytes")
                }
                return size
            }
            try p.finish()
            protocols.append(
                ProtocolFigures(kind: kind, payload: payload, bandwidthCap: cap, bandwidthCapMultiNode: multiNode, bufferSize: buffer))
        }
        guard !protocols.isEmpty else { throw node.error("protocols: expected at least one protocol") }
        var algorithms: [AlgorithmFigures] = []
        for (key, value) in try c.required("algorithms").mapping() {
            guard let algorithm = Algorithm(rawValue: key) else {
                throw value.error("unknown algorithm \"\(key)\"; known: \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var a = try MappingReader(value)
            let kinds = try a.required("protocols").sequence().map { item -> ProtocolKind in
                let word = try item.string()
                guard let kind = ProtocolKind(rawValue: word), protocols.contains(where: { $0.kind == kind }) else {
                    throw item.error(
                        "protocol \"\(word)\" is not among the section's protocols: "
                            + "\(protocols.map(\.kind.rawValue).joined(separator: ", "))"
                    )
                }
                return kind
            }
            guard !kinds.isEmpty else { throw value.error("protocols: expected at least one") }
            func latencies(_ field: String) throws -> [Double] {
                let list = try a.required(field, "one latency per protocol")
                let items = try figures.value(list).sequence()
                guard items.count == kinds.count else {
                    throw list.error(
                        "expected \(kinds.count) latencies (one per protocol: "
                            + "\(kinds.map(\.rawValue).joined(separator: ", "))), found \(items.count)"
                    )
                }
                return try items.map { item in
                    let t = try item.quantity(.time).value
                    guard (0...1e-3).contains(t) else { throw item.error("expected a latency from 0 to 1 ms, found \(t) s") }
                    return t
                }
            }
            let base = try latencies("base_latency")
            let up = try latencies("hop_latency_scale_up")
            let out = try latencies("hop_latency_scale_out")
            try a.finish()
            algorithms.append(
                AlgorithmFigures(algorithm: algorithm, protocols: kinds, baseLatency: base, hopLatencyScaleUp: up, hopLatencyScaleOut: out))
        }
        guard !algorithms.isEmpty else { throw node.error("algorithms: expected at least one algorithm") }
        let up = try figures.ratio(try c.required("scale_up_efficiency"))
        let out = try figures.ratio(try c.required("scale_out_efficiency"))
        let inSwitch = try c.optional("in_switch_efficiency").map { try figures.ratio($0) } ?? 1
        let chunk = try c.optional("in_switch_chunk").map { node -> Double in
            let size = try figures.value(node).quantity(.bytes).value
            guard (1024.0...16_777_216).contains(size) else {
                throw node.error("in_switch_chunk: expected 1 KiB to 16 MiB, found \(size) bytes")
            }
            return size
        }
        let loopNode = try c.optional("in_switch_loop_latency")
        let loop = try loopNode.map { try figures.value($0).quantity(.time).value } ?? 0
        if let loopNode, !(0...1e-4).contains(loop) {
            throw loopNode.error("in_switch_loop_latency: expected 0 to 100 us, found \(loop) s")
        }
        if loopNode != nil, chunk == nil { throw node.error("in_switch_loop_latency needs in_switch_chunk (the loop's chunk per head)") }
        let fixedNode = try c.required("fixed_latency")
        let fixed = try figures.value(fixedNode).quantity(.time).value
        guard (0...1e-3).contains(fixed) else { throw fixedNode.error("fixed_latency: expected 0 to 1 ms, found \(fixed) s") }
        try c.finish()
        return CollectiveLibrary(
            name: name, family: family, channels: channels, steps: steps, protocols: protocols, algorithms: algorithms,
            scaleUpEfficiency: up,
            scaleOutEfficiency: out, inSwitchEfficiency: inSwitch, inSwitchChunk: chunk ?? 0, inSwitchLoopLatency: loop,
            fixedLatency: fixed,
            path: node.path)
    }
}
