import Chips
import Fabric
import Foundation
import SimCore
import Systems
import Workloads

/// One measured collective: what ran, on which system, and how long it took.
public struct CollectiveRow: Sendable {
    public var label: String
    public var collective: Op.Collective
    /// Nodes of the system it ran on.
    public var nodes: Int
    public var measured: Double
    public var regime: String
    public var split: Split
    /// A check row that is the same collective as a calibration row (of any collective set) and counts as calibration.
    public var twin = false
    /// Where the source reports a bandwidth instead of a time (DeepEP's normal kernels): the
    /// bytes per second it measured on `link` ("scale-up" or "scale-out"), compared with the
    /// bytes the model moves on that link class over the collective's whole time. `measured` is
    /// then nil-equivalent (0) and unused.
    public var measuredBandwidth: Double?
    public var link: String?
}

/// A data set of measured collectives, run through the fabric model on the system it was measured on.
///
/// Split by source and by message size: a source (or a rank count of one source) is calibration or
/// check as a whole, so no collective of the same algorithm, rank count and size sits on both sides.
public struct CollectiveValidationSet: Sendable {
    public var id: String
    public var title: String
    /// The system file it was measured on.
    public var system: String
    public var provenance: String
    public var splitRule: String
    let read: @Sendable (String) throws -> [CollectiveRow]

    public func load(_ directory: String) throws -> [CollectiveRow] { try read(directory) }

    public static let all: [CollectiveValidationSet] = [vidurDGX, azureNVLS, a3MegaTwoNode, deepEPH800, deepEPAscend]
    public static func named(_ id: String) -> CollectiveValidationSet? { all.first { $0.id == id } }

    /// Message-size regimes: latency-bound, between, and the plateau (64 MiB and up) the issue's
    /// bus-bandwidth target is on.
    static func regime(_ bytes: Int) -> String {
        bytes < 1 << 20 ? "small (< 1 MiB)" : (bytes < 64 << 20 ? "medium (1-64 MiB)" : "plateau (>= 64 MiB)")
    }

    /// Vidur's DGX H100 profiles: all-reduce on 2, 4 and 8 GPUs of one node; send/recv within a node
    /// (devices_per_node 2) and across two nodes (devices_per_node 1).
    static let vidurDGX = CollectiveValidationSet(
        id: "vidur-dgx-h100-collectives", title: "Vidur DGX H100 all-reduce and send/recv (NCCL via PyTorch, Kineto kernel time)",
        system: "dgx-h100",
        provenance: "microsoft/vidur data/profiling/network/h100_dgx @ 7d475133 (MIT)",
        splitRule:
            "calibration: all-reduce on 2 and 4 GPUs, send/recv within a node and across nodes, and all-reduce on 8 GPUs from 1 "
            + "to 16 MiB (NVLS with 16 and 32 KiB chunks); check: all-reduce on 8 GPUs below 1 MiB and from 16 MiB (32 and 64 KiB "
            + "chunks)"
    ) { directory in
        var rows: [CollectiveRow] = []
        for (file, kind) in [
            ("network__h100_dgx__all_reduce.csv", Op.CollectiveKind.all_reduce), ("network__h100_dgx__send_recv.csv", .send_recv),
        ] {
            let path = directory + "/vidur/" + file
            let (header, lines) = try CSV.read(path)
            let workers = try CSV.column("num_workers", in: header, file: path)
            let perNode = try CSV.column("devices_per_node", in: header, file: path)
            let size = try CSV.column("size", in: header, file: path)
            let time = try CSV.column("time_stats.\(kind.rawValue).median", in: header, file: path)
            for line in lines {
                guard let n = Int(line[workers]), let p = Int(line[perNode]), let bytes = Int(line[size]), let ms = Double(line[time]),
                    n >= 2,
                    p >= 1, bytes > 0, ms > 0
                else {
                    throw ValidationDataError(file: path, message: "line \(line.line): expected ranks, devices per node, bytes and a time")
                }
                let nodes = (n + p - 1) / p
                let split: Split = kind == .all_reduce && n == 8 && !(nvlsCalibration ~= bytes) ? .check : .calibration
                rows.append(
                    CollectiveRow(
                        label:
                            "\(kind.rawValue) \(n) ranks\(nodes > 1 ? " over \(nodes) nodes" : "") "
                            + "\(Quantity.format(Double(bytes), .bytes))",
                        collective: .init(kind: kind, bytes: bytes, ranks: n, ranksPerNode: nodes > 1 ? p : nil), nodes: nodes,
                        measured: ms * 1e-3,
                        regime: regime(bytes), split: split))
            }
        }
        return rows
    }

    /// Vidur's 8-GPU all-reduces that calibrate in-switch reduction with Azure's plateau: NVLS's
    /// small chunks (16 and 32 KiB, loops of 2 and 4 MiB), where the loop latency shows. Vidur's
    /// larger messages (32 and 64 KiB chunks up to 64 MiB) and Azure's 64 KiB to 512 MiB check it.
    static let nvlsCalibration = (1 << 20)..<(16 << 20)

    /// Below this size a message's time is the call's latency floor (Azure's curve is flat to 32 KiB).
    static let floorSize = 64 << 10
    /// From this size Azure's all-reduces are NVLS's plateau: 128 KiB chunks, loops of 16 MiB.
    static let plateauSize = 1 << 30

    /// Azure's ND H100 v5 all-reduce curve (nccl-tests, 8 GPUs, NVLS, NCCL 2.18.5): busbw against size.
    static let azureNVLS = CollectiveValidationSet(
        id: "azure-h100-nccl", title: "Azure ND H100 v5 8-GPU all-reduce (nccl-tests busbw, NCCL 2.18.5)", system: "dgx-h100",
        provenance: "Azure/AI-benchmarking-guide Azure_Results/ND_H100_v5_results.md @ 8fd0c6e1 (MIT)",
        splitRule:
            "by message size: below 64 KiB (the latency floor of an NCCL call as nccl-tests times it) and from 1 GiB (NVLS's "
            + "plateau: 128 KiB chunks) calibration, 64 KiB to 512 MiB check (ND H100 v5 is an HGX H100 8-GPU board, as the DGX "
            + "H100 file describes)"
    ) { directory in
        let path = directory + "/azure_ai_benchmarking_guide/ND_H100_v5__NCCL_Bandwidth.csv"
        let (header, lines) = try CSV.read(path)
        let sizeColumn = try CSV.column("Message Size (Bytes)", in: header, file: path)
        let busColumn = try CSV.column("ND H100 V5 (GB/s)", in: header, file: path)
        return try lines.map { line in
            // nccl-tests' -f 2 sizes are powers of two; the table prints them as 1K, 65K, 132K, 1G.
            let text = line[sizeColumn]
            guard let unit = text.last, let scale = ["K": 1024.0, "M": 1024.0 * 1024, "G": 1024.0 * 1024 * 1024][String(unit)],
                let value = Double(text.dropLast()), let bus = Double(line[busColumn]), bus > 0
            else { throw ValidationDataError(file: path, message: "line \(line.line): expected a size such as 64K and a bus bandwidth") }
            let bytes = Int(pow(2, (log2(value * scale)).rounded()))
            let seconds = Double(bytes) * CollectiveModel.busFactor(.all_reduce, ranks: 8) / (bus * 1e9)
            return CollectiveRow(
                label: "all_reduce 8 ranks \(Quantity.format(Double(bytes), .bytes))",
                collective: .init(kind: .all_reduce, bytes: bytes, ranks: 8),
                nodes: 1, measured: seconds, regime: regime(bytes), split: bytes < floorSize || bytes >= plateauSize ? .calibration : .check
            )
        }
    }

    /// nccl-tests all_reduce_perf on two A3 Mega VMs (16 H100), out-of-place times.
    static let a3MegaTwoNode = CollectiveValidationSet(
        id: "nccl-tests-a3mega", title: "nccl-tests all-reduce on 2 x 8 H100 (GCP A3 Mega, GPUDirect-TCPXO)", system: "gcp-a3-mega",
        provenance: "lessizzmore/create-a3mega-ztan-fork ztan-NCCL-test-result.markdown @ 346b825a (no licence: figures only)",
        splitRule:
            "by message size: up to 64 B (the floor: GPUDirect-TCPXO's step latency) and from 2 GiB (the plateau: its share of "
            + "line rate) calibration, fitting the system's scale_out.step_latency and scale_out.efficiency; 128 B to 1 GiB check"
    ) { directory in
        let path = directory + "/nccl_tests_h100/gcp_a3mega_2node_16xH100_all_reduce_perf.csv"
        let (header, lines) = try CSV.read(path)
        let sizeColumn = try CSV.column("size_B", in: header, file: path)
        let timeColumn = try CSV.column("oop_time_us", in: header, file: path)
        return try lines.map { line in
            guard let bytes = Int(line[sizeColumn]), bytes > 0, let us = Double(line[timeColumn]), us > 0 else {
                throw ValidationDataError(file: path, message: "line \(line.line): expected a size in bytes and a time in us")
            }
            return CollectiveRow(
                label: "all_reduce 16 ranks over 2 nodes \(Quantity.format(Double(bytes), .bytes))",
                collective: .init(kind: .all_reduce, bytes: bytes, ranks: 16), nodes: 2, measured: us * 1e-6, regime: regime(bytes),
                split: bytes <= 64 || bytes >= 1 << 31 ? .calibration : .check)
        }
    }
}

extension CollectiveValidationSet {
    /// DeepEP's dispatch and combine: each of `tokens` tokens goes to 8 experts on other ranks
    /// (an all-to-all whose per-rank buffer is tokens x 8 x hidden x element bytes; FP8 and INT8
    /// dispatch carry a 4-byte scale per 128 values, BF16 combine 2 bytes a value). DeepEP is not
    /// NCCL: these rows check the transport the model gives an all-to-all, never fit it. Normal
    /// kernels report the bandwidth of their bottleneck link, low-latency kernels a time.
    static func deepEP(
        id: String, title: String, system: String, provenance: String, path: String, dispatchBytes: Double,
        placement: @escaping @Sendable (_ lowLatency: Bool, _ ranks: Int, _ readmeDate: String) -> (nodes: Int, perNode: Int?, link: String)
    ) -> CollectiveValidationSet {
        CollectiveValidationSet(
            id: id, title: title, system: system, provenance: provenance,
            splitRule: "check only: DeepEP's own kernels, not the collective library the figures were fitted on"
        ) { directory in
            let file = directory + "/" + path
            let (header, lines) = try CSV.read(file)
            let type = try CSV.column("Type", in: header, file: file)
            // DeepEP's README changed its kernels between versions: the regimes keep them apart.
            let version = header.firstIndex(of: "readme_version")
            var rows: [CollectiveRow] = []
            for line in lines {
                let lowLatency = line[type] == "low-latency"
                let release = version.map { " (README \(line[$0].prefix(7)))" } ?? ""
                let tokens = lowLatency ? 128 : 4096
                for (phase, elementBytes) in [("Dispatch", dispatchBytes), ("Combine", 2.0)] {
                    let epColumn = try CSV.column("\(phase) #EP", in: header, file: file)
                    let latencyColumn = try CSV.column("\(phase) Latency", in: header, file: file)
                    let bandwidthColumn = try CSV.column("\(phase) bandwidth", in: header, file: file)
                    guard let ranks = Int(line[epColumn]), ranks >= 2 else {
                        throw ValidationDataError(file: file, message: "line \(line.line): expected the EP size in \(phase) #EP")
                    }
                    func number(_ text: String) -> Double? { Double(text.split(separator: " ").first.map(String.init) ?? "") }
                    let bytes = Int(Double(tokens * 8 * 7168) * elementBytes)
                    let where_ = placement(lowLatency, ranks, version.map { String(line[$0].prefix(10)) } ?? "")
                    var row = CollectiveRow(
                        label: "\(phase.lowercased()) EP\(ranks) \(lowLatency ? "low-latency" : "normal")\(release)",
                        collective: .init(kind: .all_to_all, bytes: bytes, ranks: ranks, ranksPerNode: where_.perNode), nodes: where_.nodes,
                        measured: 0, regime: (lowLatency ? "low-latency time" : "normal bandwidth") + release, split: .check)
                    if lowLatency, let us = number(line[latencyColumn]) {
                        row.measured = us * 1e-6
                    } else if let gbps = number(line[bandwidthColumn]) {
                        row.measuredBandwidth = gbps * 1e9
                        row.link = where_.link
                        row.measured = Double(bytes) / row.measuredBandwidth!
                    } else {
                        throw ValidationDataError(file: file, message: "line \(line.line): expected a latency or a bandwidth for \(phase)")
                    }
                    rows.append(row)
                }
            }
            return rows
        }
    }

    /// DeepEP on H800 (NVLink within 8 GPUs, one 400 Gb/s CX7 per GPU): normal kernels forward
    /// through NVLink and RDMA. The first release's low-latency kernels send every token over RDMA,
    /// also to peers in the node (modelled as one rank per node, so every peer is over the network);
    /// from 2025-06-05 they "leverage NVLink as much as possible" (the README's news line, PR #173),
    /// so the README of 2026-02-03 measured peers in the node over NVLink and the rest over RDMA.
    static let deepEPH800 = deepEP(
        id: "deepep-h800", title: "DeepEP dispatch and combine on H800 (README tables)", system: "hgx-h800",
        provenance: "deepseek-ai/DeepEP README @ ebfe47e4 and 567632dd (MIT)",
        path: "deepseek_deepep/deepep_h800_readme_tables.csv", dispatchBytes: 1 + 4.0 / 128
    ) { lowLatency, ranks, readmeDate in
        let nodes = max(1, ranks / 8)
        let link = ranks > 8 ? "scale-out" : "scale-up"
        if lowLatency && readmeDate < deepEPLowLatencyNVLink { return (ranks, 1, "scale-out") }
        return (nodes, nil, link)
    }

    /// The day DeepEP's low-latency kernels began to reach peers in the node over NVLink (README news, PR #173).
    static let deepEPLowLatencyNVLink = "2025-06-05"

    /// DeepEP-Ascend on the A3 SuperPoD (CloudMatrix 384): pure HCCS / UB, every rank a 910C die.
    static let deepEPAscend = deepEP(
        id: "deepep-ascend-a3", title: "DeepEP-Ascend dispatch and combine on an A3 SuperPoD (910C, HCCS)", system: "cloudmatrix-384",
        provenance: "sgl-project/sgl-kernel-npu README @ f425bdf1 (MIT)",
        path: "sgl_kernel_npu_deepep_ascend/deepep_ascend_a3_readme_tables.csv", dispatchBytes: 1 + 4.0 / 128
    ) { _, _, _ in (48, nil, "scale-up") }
}

/// A collective row against the model.
public struct CollectivePrediction: Sendable {
    public var row: CollectiveRow
    public var result: CollectiveResult
    public var predicted: Double { result.time }
    /// The bandwidth the model gives on the row's link class: its bytes there over the whole time.
    public var predictedBandwidth: Double? {
        guard let link = row.link else { return nil }
        let bytes = result.links.filter { $0.name == link }.reduce(0) { $0 + $1.bytes }
        return result.time > 0 ? bytes / result.time : 0
    }
    public var error: Double {
        if let measured = row.measuredBandwidth, let predicted = predictedBandwidth { return predicted / measured - 1 }
        return predicted / row.measured - 1
    }
}

public enum CollectiveValidator {
    /// The system a set was measured on, at each node count its rows use.
    public static func predict(
        _ rows: [CollectiveRow], system: (Int) throws -> SystemSpec, library: CollectiveLibrary? = nil
    ) throws -> [CollectivePrediction] {
        var systems: [Int: CollectiveModel] = [:]
        return try rows.map { row in
            if systems[row.nodes] == nil {
                let spec = try system(row.nodes)
                guard let collectives = library ?? spec.chip.library.collectives else {
                    throw FabricError("\(spec.chip.library.id) has no collectives section")
                }
                systems[row.nodes] = CollectiveModel(system: spec, library: collectives)
            }
            return CollectivePrediction(row: row, result: try systems[row.nodes]!.cost(row.collective))
        }
    }

    /// Accuracy lines per regime, and the plateau's bus-bandwidth error (predicted over measured bus
    /// bandwidth, minus one) as its own line.
    public static func lines(_ set: CollectiveValidationSet, _ predictions: [CollectivePrediction]) -> [AccuracyLine] {
        var regimes: [String] = []
        for p in predictions where !regimes.contains(p.row.regime) { regimes.append(p.row.regime) }
        regimes.append("all sizes")
        var lines = regimes.map { regime in
            let inRegime = predictions.filter { regime == "all sizes" || $0.row.regime == regime }
            return AccuracyLine(
                set: set.id, chip: set.system, regime: regime,
                calibration: ErrorStats(inRegime.filter { $0.row.split == .calibration }.map(\.error)),
                check: ErrorStats(inRegime.filter { $0.row.split == .check }.map(\.error)), twins: 0)
        }
        let plateau = predictions.filter { $0.row.collective.bytes >= 64 << 20 && $0.row.measuredBandwidth == nil }
        func busErrors(_ split: Split) -> [Double] { plateau.filter { $0.row.split == split }.map { $0.row.measured / $0.predicted - 1 } }
        if !plateau.isEmpty {
            lines.append(
                AccuracyLine(
                    set: set.id, chip: set.system, regime: "plateau bus bandwidth", calibration: ErrorStats(busErrors(.calibration)),
                    check: ErrorStats(busErrors(.check)), twins: 0))
        }
        let twins = predictions.filter(\.row.twin).count
        for index in lines.indices where lines[index].regime == "all sizes" { lines[index].twins = twins }
        return lines
    }

    /// Rows of several sets with the twin rule applied across them: a check row whose collective
    /// (op, bytes, ranks, placement, nodes) is a calibration row's in any of the sets counts as
    /// calibration, so no collective sits on both sides.
    public static func separatingTwins(_ sets: [[CollectiveRow]]) -> [[CollectiveRow]] {
        struct Key: Hashable {
            var collective: Op.Collective
            var nodes: Int
        }
        let fitted = Set(sets.joined().filter { $0.split == .calibration }.map { Key(collective: $0.collective, nodes: $0.nodes) })
        return sets.map { rows in
            rows.map { row in
                var row = row
                if row.split == .check, fitted.contains(Key(collective: row.collective, nodes: row.nodes)) {
                    row.split = .calibration
                    row.twin = true
                }
                return row
            }
        }
    }

    /// The hash of the rows a fit used: their collectives, node counts and measured times.
    public static func dataHash(_ rows: [CollectiveRow]) -> String {
        let text = rows.map { "\($0.collective.kind.rawValue),\($0.collective.bytes),\($0.collective.ranks),\($0.nodes),\($0.measured)" }
        return "sha256:" + ContentHash.sha256(text.joined(separator: "\n")).prefix(16)
    }
}

/// Fits a collective library's efficiencies and latencies on calibration rows: MAPE of the time,
/// minimised one figure at a time by golden-section search over its range, in rounds until
/// nothing moves, then by a simplex search over all of them together (five figures: the scale-up
/// plateau of rings, that of in-switch reduction and its cost per loop, the scale-out plateau,
/// the small-message floor). A system's own
/// scale-out transport figures (`scale_out.efficiency`, `scale_out.step_latency`) are fitted the
/// same way where its network is not the RDMA the library's figures were fitted on.
public enum CollectiveCalibrator {
    /// What a fit moves: the library's figures, and the scale-out transport figures of the
    /// system every source ran on.
    public struct State: Sendable {
        public var library: CollectiveLibrary
        public var scaleOutEfficiency: Double?
        public var stepLatency: Double
        public init(library: CollectiveLibrary, system: SystemSpec? = nil) {
            self.library = library
            scaleOutEfficiency = system?.scaleOut?.efficiency
            stepLatency = system?.scaleOut?.stepLatency ?? 0
        }
        public func applied(to system: SystemSpec) -> SystemSpec {
            var copy = system
            copy.setScaleOutTransport(efficiency: scaleOutEfficiency ?? system.scaleOut?.efficiency, stepLatency: stepLatency)
            return copy
        }
    }

    public struct Figure: Sendable {
        public var path: String
        public var range: ClosedRange<Double>
        /// Whether it is a system file's figure (else the library's).
        public var system = false
        let set: @Sendable (inout State, Double) -> Void
        let get: @Sendable (State) -> Double
    }

    /// The library's figures, fitted by default.
    public static let figures: [Figure] = [
        Figure(
            path: "collectives.scale_up_efficiency", range: 0.3...1, set: { $0.library.scaleUpEfficiency = $1 },
            get: { $0.library.scaleUpEfficiency }),
        Figure(
            path: "collectives.scale_out_efficiency", range: 0.3...1, set: { $0.library.scaleOutEfficiency = $1 },
            get: { $0.library.scaleOutEfficiency }),
        Figure(
            path: "collectives.in_switch_efficiency", range: 0.3...1, set: { $0.library.inSwitchEfficiency = $1 },
            get: { $0.library.inSwitchEfficiency }),
        Figure(
            path: "collectives.in_switch_loop_latency", range: 0...20e-6, set: { $0.library.inSwitchLoopLatency = $1 },
            get: { $0.library.inSwitchLoopLatency }),
        Figure(
            path: "collectives.fixed_latency", range: 0...100e-6, set: { $0.library.fixedLatency = $1 }, get: { $0.library.fixedLatency }),
    ]

    public static var allFigures: [Figure] { figures + systemFigures }

    /// The system's scale-out transport figures, fitted when `--fit` names them.
    public static let systemFigures: [Figure] = [
        Figure(
            path: "scale_out.efficiency", range: 0.3...1, system: true, set: { $0.scaleOutEfficiency = $1 },
            get: { $0.scaleOutEfficiency ?? $0.library.scaleOutEfficiency }),
        Figure(path: "scale_out.step_latency", range: 0...100e-6, system: true, set: { $0.stepLatency = $1 }, get: { $0.stepLatency }),
    ]

    public struct Fit: Sendable {
        public var state: State
        public var library: CollectiveLibrary { state.library }
        public var values: [(path: String, value: Double, atBound: Bool)]
        public var before: Double
        public var after: Double
    }

    /// One source's rows and the system they ran on (by node count).
    public struct Source {
        public var rows: [CollectiveRow]
        public var system: (Int) throws -> SystemSpec
        public init(rows: [CollectiveRow], system: @escaping (Int) throws -> SystemSpec) {
            self.rows = rows
            self.system = system
        }
    }

    /// The objective is the mean over sources of each source's calibration MAPE: every source
    /// counts once, however many rows it has (Vidur's thousands of sizes would otherwise drown the
    /// few rows that show nccl-tests' latency floor).
    public static func fit(_ sources: [Source], start: State, figures: [Figure] = figures) throws -> Fit {
        var parts: [(rows: [CollectiveRow], systems: [Int: SystemSpec])] = []
        for source in sources {
            let calibration = source.rows.filter { $0.split == .calibration }
            guard !calibration.isEmpty else { continue }
            var systems: [Int: SystemSpec] = [:]
            for row in calibration where systems[row.nodes] == nil { systems[row.nodes] = try source.system(row.nodes) }
            parts.append((calibration, systems))
        }
        guard !parts.isEmpty else { throw FabricError("no calibration rows to fit on") }
        func objective(_ state: State) -> Double {
            var sum = 0.0
            for part in parts {
                var total = 0.0
                for row in part.rows {
                    let model = CollectiveModel(system: state.applied(to: part.systems[row.nodes]!), library: state.library)
                    guard let t = try? model.cost(row.collective).time else { return .infinity }
                    total += abs(t / row.measured - 1)
                }
                sum += total / Double(part.rows.count)
            }
            return sum / Double(parts.count)
        }
        var state = start
        let before = objective(state)
        var current = before
        for _ in 0..<4 {
            let previous = current
            for figure in figures {
                var lo = figure.range.lowerBound
                var hi = figure.range.upperBound
                let ratio = (sqrt(5) - 1) / 2
                func at(_ x: Double) -> Double {
                    var trial = state
                    figure.set(&trial, x)
                    return objective(trial)
                }
                var a = hi - ratio * (hi - lo)
                var b = lo + ratio * (hi - lo)
                var fa = at(a)
                var fb = at(b)
                for _ in 0..<30 {
                    if fa <= fb {
                        hi = b
                        b = a
                        fb = fa
                        a = hi - ratio * (hi - lo)
                        fa = at(a)
                    } else {
                        lo = a
                        a = b
                        fa = fb
                        b = lo + ratio * (hi - lo)
                        fb = at(b)
                    }
                }
                let x = (lo + hi) / 2
                let fx = at(x)
                if fx < current {
                    figure.set(&state, x)
                    current = fx
                }
            }
            if previous - current < 1e-5 { break }
        }
        // Figures that trade against each other (a bulk rate against a per-loop latency) leave a
        // diagonal valley that one-figure-at-a-time search stops in: a simplex search over all of
        // them together (Nelder-Mead, each figure scaled to its range) then follows it.
        if figures.count > 1 {
            let base = state
            func placed(_ point: [Double]) -> State {
                var s = base
                for (f, x) in zip(figures, point) {
                    f.set(&s, f.range.lowerBound + min(1, max(0, x)) * (f.range.upperBound - f.range.lowerBound))
                }
                return s
            }
            let start = figures.map { ($0.get(state) - $0.range.lowerBound) / ($0.range.upperBound - $0.range.lowerBound) }
            let (best, value) = NelderMead.minimise(start: start, step: 0.05) { objective(placed($0)) }
            if value < current {
                state = placed(best)
                current = value
            }
        }
        let values = figures.map { f -> (path: String, value: Double, atBound: Bool) in
            let v = f.get(state)
            let span = f.range.upperBound - f.range.lowerBound
            return (f.path, v, v - f.range.lowerBound < 0.01 * span || f.range.upperBound - v < 0.01 * span)
        }
        return Fit(state: state, values: values, before: before, after: current)
    }
}

/// Nelder-Mead simplex minimisation (reflection 1, expansion 2, contraction 1/2, shrink 1/2) from
/// a start point and an initial step along each axis, until the simplex's values agree to 1e-6 or
/// after 400 evaluations.
enum NelderMead {
    static func minimise(start: [Double], step: Double, _ f: ([Double]) -> Double) -> ([Double], Double) {
        let n = start.count
        var simplex: [([Double], Double)] = [(start, f(start))]
        for i in 0..<n {
            var p = start
            p[i] += p[i] + step <= 1 ? step : -step
            simplex.append((p, f(p)))
        }
        var evaluations = n + 1
        func towards(_ a: [Double], _ b: [Double], _ t: Double) -> [Double] { zip(a, b).map { $0 + t * ($1 - $0) } }
        while evaluations < 400 {
            simplex.sort { $0.1 < $1.1 }
            if simplex[n].1 - simplex[0].1 < 1e-6 { break }
            let centroid = (0..<n).map { i in simplex[0..<n].reduce(0) { $0 + $1.0[i] } / Double(n) }
            let worst = simplex[n]
            let reflected = towards(centroid, worst.0, -1)
            let fr = f(reflected)
            evaluations += 1
            if fr < simplex[0].1 {
                let expanded = towards(centroid, worst.0, -2)
                let fe = f(expanded)
                evaluations += 1
                simplex[n] = fe < fr ? (expanded, fe) : (reflected, fr)
            } else if fr < simplex[n - 1].1 {
                simplex[n] = (reflected, fr)
            } else {
                let contracted = towards(centroid, worst.0, 0.5)
                let fc = f(contracted)
                evaluations += 1
                if fc < worst.1 {
                    simplex[n] = (contracted, fc)
                } else {
                    for i in 1...n {
                        let p = towards(simplex[0].0, simplex[i].0, 0.5)
                        simplex[i] = (p, f(p))
                    }
                    evaluations += n
                }
            }
        }
        simplex.sort { $0.1 < $1.1 }
        return simplex[0]
    }
}
