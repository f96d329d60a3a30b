import Chips
import Config
import Foundation
import SimCore
import Systems
import Workloads

/// A design-space sweep (workloads/sweeps/*.yaml): a base chip, a workload trace, the chip figures
/// to vary and how, and the objectives to compare the points on.
///
/// ```yaml
/// schema: 1
/// name: 910b-decode-memory
/// chip: ascend-910b2
/// baseline: h20                       # optional: a chip the points are compared against
/// workload: workloads/llama-3.1-8b-decode-b64-ctx2048.yaml   # a trace, or a generator call:
/// # workload: {model: llama-3.1-8b, phase: decode, batch: 64, seq: 2048, precision: bf16}
/// parameters:
///   - {path: memory.hbm.bandwidth, values: [1.6 TB/s, 2.4 TB/s, 3.2 TB/s]}
///   - {path: memory.l2.size, range: {from: 96 MiB, to: 288 MiB, steps: 3}}
/// sampling: grid                      # or {random: 50, seed: 1} or {latin_hypercube: 50, seed: 1}
/// constraints:                        # optional: points that break one are left out
///   - memory.hbm.bandwidth / memory.hbm.stacks <= 1.2 TB/s
/// objectives: [time, energy, perf_per_watt, peak_temperature]
/// ```
public struct SweepSpec: Sendable {
    public enum Domain: Sendable, Equatable {
        /// The figure's values as the file writes them.
        case values([String])
        /// From `from` to `to` (SI units), `steps` evenly spaced values for a grid; sampled within it otherwise.
        case range(from: Double, to: Double, steps: Int)
    }
    public struct Parameter: Sendable {
        public var path: String
        public var type: ParameterType
        public var domain: Domain
    }
    public enum Sampling: Sendable, Equatable {
        case grid
        case random(count: Int, seed: UInt64)
        case latinHypercube(count: Int, seed: UInt64)
    }

    public var file: String
    public var name: String
    public var chip: String
    public var baseline: String?
    /// The trace file, or (a generator call) a description of it: `llama-3.1-8b decode batch 64 seq 2048`.
    public var workload: String
    /// A generator call in place of a trace file: the model and what to generate (one chip, no split).
    public var generator: Generator?

    public struct Generator: Sendable {
        public var model: String
        public var request: GenerationRequest
    }
    public var parameters: [Parameter]
    public var sampling: Sampling
    public var objectives: [Objective]
    public var constraints: [SweepConstraint] = []
    /// The base is a system (`system:` in the spec; `chip` then holds its id): points vary system
    /// figures and run one representative rank of it, objectives are the whole system's.
    public var isSystem = false
    /// Nodes of the base system (and of the baseline, if it is a system).
    public var nodes: Int?

    /// A figure of the base by its path: a chip's, or a system's.
    static func declaredType(_ path: String, system: Bool) -> ParameterType? {
        guard system else { return ParameterCatalog.declaration(for: path)?.type }
        switch SystemParameterCatalog.declaration(for: path)?.type {
        case .quantity(let kind): return .quantity(kind)
        case .integer, .count: return .integer
        case .text, .label, .words, .rules: return .text
        case .choice(let words): return .choice(words)
        case .flag: return .choice(["yes", "no"])
        case nil: return nil
        }
    }

    /// The most points one plan may hold.
    public static let maxPoints = 1_000_000

    public static func load(file: String) throws -> SweepSpec {
        let root = try ConfigNode.load(file: file)
        var top = try MappingReader(root)
        let schemaNode = try top.required("schema")
        guard try schemaNode.int() == 1 else { throw schemaNode.error("schema \(try schemaNode.int()) is not one this xpusim reads (1)") }
        let nameNode = try top.required("name")
        let name = try nameNode.string()
        // The name goes into job names, comments of scripts and file contents: one printable line.
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw nameNode.error("expected a name of 1 to 200 characters on one line, without control characters")
        }
        let chipNode = top.optional("chip")
        let systemNode = top.optional("system")
        guard (chipNode == nil) != (systemNode == nil) else {
            throw root.error("expected chip: (a chip id or file) or system: (a system id or file), not both or neither")
        }
        let isSystem = systemNode != nil
        let chip = try (chipNode ?? systemNode)!.string()
        let nodesNode = top.optional("nodes")
        let nodes = try nodesNode?.int()
        if let nodes, nodes < 1 || nodes > 1_000_000 { throw nodesNode!.error("expected 1 to 1000000 nodes") }
        if nodes != nil && !isSystem { throw nodesNode!.error("nodes: goes with system:") }
        let baseline = try top.optional("baseline")?.string()
        let workloadNode = try top.required("workload")
        var generator: Generator?
        var workload: String
        if case .mapping = workloadNode.content {
            var g = try MappingReader(workloadNode)
            let model = try g.required("model").string()
            let phaseNode = try g.required("phase")
            guard let phase = GenerationRequest.Phase(rawValue: try phaseNode.string()), phase != .train else {
                throw phaseNode.error("expected prefill or decode")
            }
            let batchNode = try g.required("batch")
            let seqNode = try g.required("seq")
            let batch = try batchNode.int()
            let seq = try seqNode.int()
            guard batch >= 1 && batch <= 1_000_000 else { throw batchNode.error("expected 1 to 1000000 sequences") }
            guard seq >= 1 && seq <= 10_000_000 else { throw seqNode.error("expected 1 to 10000000 tokens") }
            let kvLen = try g.optional("kv_len")?.int()
            let tpNode = g.optional("tp")
            let tp = try tpNode?.int() ?? 1
            guard tp >= 1 && tp <= 1024 else { throw tpNode!.error("expected 1 to 1024 tensor-parallel ranks") }
            if tp > 1 && !isSystem { throw tpNode!.error("tp: needs a system (the collectives run over its links)") }
            var precision = Precision.bf16
            if let node = g.optional("precision") { precision = try node.word(Precision.self, "precision") }
            try g.finish()
            generator = Generator(
                model: model,
                request: GenerationRequest(
                    phase: phase, batch: batch, seq: seq, kvLen: kvLen, parallelism: Parallelism(tp: tp), precision: precision))
            workload =
                "\(model) \(phase.rawValue) batch \(batch) seq \(seq)" + (kvLen.map { " kv \($0)" } ?? "") + (tp > 1 ? " tp \(tp)" : "")
                + (precision == .bf16 ? "" : " \(precision.rawValue)")
        } else {
            workload = try workloadNode.string()
        }
        if generator == nil && !workload.hasPrefix("/") && !FileManager.default.fileExists(atPath: workload) {
            // Relative to the spec's folder, or (the shipped specs) to the package root.
            let beside = (file as NSString).deletingLastPathComponent + "/" + workload
            if FileManager.default.fileExists(atPath: beside) { workload = beside }
        }
        var parameters: [Parameter] = []
        let parametersNode = try top.required("parameters")
        for item in try parametersNode.sequence() {
            var p = try MappingReader(item)
            let pathNode = try p.required("path")
            let path = try pathNode.string()
            if parameters.contains(where: { $0.path == path }) {
                throw pathNode.error("\(path) is swept twice; give all its values in one parameter")
            }
            guard let type = declaredType(path, system: isSystem) else {
                throw pathNode.error(
                    isSystem
                        ? "no system figure \"\(path)\" (xpusim systems show SYSTEM lists them)"
                        : "no chip figure \"\(path)\" (xpusim chips show CHIP lists them)")
            }
            let domain: Domain
            if let values = p.optional("values") {
                let items = try values.sequence().map { try $0.scalar() }
                guard !items.isEmpty else { throw values.error("expected at least one value") }
                domain = .values(items)
            } else if let range = p.optional("range") {
                var r = try MappingReader(range)
                func number(_ key: String) throws -> Double {
                    let node = try r.required(key)
                    switch type {
                    case .quantity(let kind): return try node.quantity(kind).value
                    case .integer: return Double(try node.int())
                    default: throw node.error("\(path) is not a number: give its values instead of a range")
                    }
                }
                let from = try number("from")
                let to = try number("to")
                let stepsNode = r.optional("steps")
                let steps = try stepsNode?.int() ?? 2
                guard steps >= 2 && steps <= 10_000 else { throw (stepsNode ?? range).error("expected 2 to 10000 steps") }
                guard to > from else { throw range.error("expected from below to, found \(from) to \(to)") }
                try r.finish()
                domain = .range(from: from, to: to, steps: steps)
            } else {
                throw item.error("a parameter needs values: [...] or range: {from:, to:, steps:}")
            }
            try p.finish()
            parameters.append(Parameter(path: path, type: type, domain: domain))
        }
        guard !parameters.isEmpty else { throw parametersNode.error("expected at least one parameter") }
        var sampling = Sampling.grid
        if let node = top.optional("sampling") {
            if let word = try? node.string(), word == "grid" {
                sampling = .grid
            } else {
                var s = try MappingReader(node)
                let seedNode = s.optional("seed")
                let seedValue = try seedNode?.int() ?? 1
                guard seedValue >= 0 else { throw seedNode!.error("expected a seed of 0 or more") }
                let seed = UInt64(seedValue)
                if let n = s.optional("random") {
                    sampling = .random(count: try n.int(), seed: seed)
                } else if let n = s.optional("latin_hypercube") {
                    sampling = .latinHypercube(count: try n.int(), seed: seed)
                } else {
                    throw node.error("expected grid, {random: N, seed: S} or {latin_hypercube: N, seed: S}")
                }
                try s.finish()
                if case .random(let n, _) = sampling, n < 1 || n > maxPoints { throw node.error("expected 1 to \(maxPoints) points") }
                if case .latinHypercube(let n, _) = sampling, n < 1 || n > maxPoints {
                    throw node.error("expected 1 to \(maxPoints) points")
                }
            }
        }
        var objectives: [Objective] = []
        let objectivesNode = try top.required("objectives")
        for item in try objectivesNode.sequence() { objectives.append(try item.word(Objective.self, "objective")) }
        guard objectives.count >= 1 else { throw objectivesNode.error("expected at least one objective") }
        var constraints: [SweepConstraint] = []
        if let node = top.optional("constraints") {
            for item in try node.sequence() {
                do {
                    constraints.append(try SweepConstraint(try item.string()) { declaredType($0, system: isSystem) != nil })
                } catch let error as SweepError {
                    throw item.error(error.description)
                }
            }
        }
        try top.finish()
        return SweepSpec(
            file: file, name: name, chip: chip, baseline: baseline, workload: workload, generator: generator, parameters: parameters,
            sampling: sampling, objectives: objectives, constraints: constraints, isSystem: isSystem, nodes: nodes)
    }
}

/// What a sweep compares its points on, and which way is better.
public enum Objective: String, CaseIterable, Sendable {
    case time, energy, power, throughput, perf_per_watt, peak_temperature
    /// USD per million tokens: the chip's price over 4 years plus its energy at 0.08 USD/kWh and
    /// PUE 1.56 (``CostAssumptions``' defaults); needs a chip price and a trace that states its tokens.
    case cost_per_million_tokens

    public var maximise: Bool { self == .throughput || self == .perf_per_watt }
    public var unit: String {
        switch self {
        case .time: return "s"
        case .energy: return "J"
        case .power: return "W"
        case .throughput: return "tokens/s"
        case .perf_per_watt: return "tokens/J"
        case .peak_temperature: return "C"
        case .cost_per_million_tokens: return "USD"
        }
    }
}
