import Chips
import Estimates
import Foundation
import Simulator
import Workloads

/// A measured power/energy point against its prediction.
public struct PowerPrediction: Sendable {
    public var label: String
    public var split: Split
    /// Measured and predicted values by metric ("power_w", "itl_s", "energy_per_token_j").
    public var measured: [String: Double]
    public var predicted: [String: Double]
}

/// Data sets that check power and energy: whole workloads run under the power model.
public struct PowerValidationSet: Sendable {
    public var id: String
    public var title: String
    public var chip: String
    public var provenance: String
    public var splitRule: String
    public var assumptions: String
    public var evaluate: @Sendable (_ directory: String, _ machine: Machine) throws -> [PowerPrediction]

    public static let all: [PowerValidationSet] = [
        MLEnergySet.h100, FlagPerfPowerSet.ascend910b, TensorRTLLMServingSet.h100, TrainingSets.a800, TrainingSets.h100, TrainingSets.h800,
        TrainingSets.c500, TrainingSets.mindspeed910B, DeepSeekProfileSet.h800, GPUStackServingSet.h100, GPUStackServingSet.ascend910B,
    ]

    /// The objective the power fit minimises: MAPE of average power on the calibration rows.
    public static func powerObjective(_ predictions: [PowerPrediction]) -> Double { objective(predictions, metric: "power_w") }

    /// MAPE of `metric` on the calibration rows (a serving engine's time outside the kernels is fitted on "itl_s").
    public static func objective(_ predictions: [PowerPrediction], metric: String) -> Double {
        let errors = predictions.filter { $0.split == .calibration }.compactMap { p -> Double? in
            guard let m = p.measured[metric], let q = p.predicted[metric], m > 0 else { return nil }
            return abs(q / m - 1)
        }
        return errors.isEmpty ? 0 : errors.reduce(0, +) / Double(errors.count)
    }
    public static func named(_ id: String) -> PowerValidationSet? { all.first { $0.id == id } }

    /// Per metric: (split, metric) -> MAPE, count.
    public static func summarise(_ predictions: [PowerPrediction]) -> [(group: String, count: Int, mape: Double, worst: Double)] {
        var order: [String] = []
        var errors: [String: [Double]] = [:]
        for p in predictions {
            for (metric, measured) in p.measured.sorted(by: { $0.key < $1.key }) {
                guard let predicted = p.predicted[metric], measured > 0 else { continue }
                let key = "\(p.split.rawValue) \(metric)"
                if errors[key] == nil { order.append(key) }
                errors[key, default: []].append(abs(predicted / measured - 1))
            }
        }
        return order.sorted().map { key in
            let e = errors[key]!
            return (key, e.count, e.reduce(0, +) / Double(e.count), e.max() ?? 0)
        }
    }
}

/// ML.ENERGY benchmark v3: LLM serving on one H100 (vLLM, bf16), measured GPU power and throughput.
enum MLEnergySet {
    /// LMArena prompts' input length is not in the data; 512 tokens is assumed.
    static let promptTokens = 512
    static let models: [String: ModelDescription] = [
        "meta-llama/Llama-3.1-8B-Instruct": .llama31_8B, "Qwen/Qwen3-8B": .qwen3_8B, "Qwen/Qwen3-14B": .qwen3_14B,
    ]

    static let h100 = PowerValidationSet(
        id: "mlenergy-h100", title: "ML.ENERGY v3: LLM serving power and energy on one H100", chip: "h100-sxm",
        provenance: "ml-energy/leaderboard @ 0cd52da public/data/models/*.json (Apache-2.0 dataset card); GPU power via Zeus/NVML",
        splitRule: "per model, rows sorted by max_num_seqs: even positions calibrate, odd positions check",
        assumptions:
            "xpusim serve at batch = avg_batch_size (the measured batch is not re-checked against the KV budget), output = "
            + "avg_output_len, \(promptTokens) prompt tokens (LMArena's lengths are not in the data); every finished request is "
            + "replaced and its prompt prefilled between decode steps; the median ITL is the step that carries the median number of "
            + "new prompts (Poisson, mean batch / output); vLLM 0.11's time per step outside the kernels (the library's serving "
            + "engine vllm, fitted on this set's calibration rows) added to each step",
        evaluate: { directory, machine in
            let file = directory + "/mlenergy_leaderboard/mlenergy_v3_configurations.csv"
            let (header, data) = try CSV.read(file)
            func column(_ name: String) throws -> Int { try CSV.column(name, in: header, file: file) }
            let cModel = try column("model_id")
            let cTask = try column("task")
            let cGPU = try column("gpu_model")
            let cGPUs = try column("num_gpus")
            let cBatch = try column("avg_batch_size")
            let cOut = try column("avg_output_len")
            let cPower = try column("avg_power_watts")
            let cITL = try column("median_itl_ms")
            let cJ = try column("energy_per_token_joules")
            let cSeqs = try column("max_num_seqs")
            var selected: [(String, Int, CSVRow)] = []
            for (i, f) in data.enumerated() where f.count == header.count {
                guard f[cGPU].contains("H100"), f[cGPUs] == "1", f[cTask] == "lm-arena-chat", models[f[cModel]] != nil,
                    Double(f[cPower]) != nil, Double(f[cBatch]) != nil
                else { continue }
                selected.append((f[cModel], Int(f[cSeqs]) ?? i, f))
            }
            selected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
            var position: [String: Int] = [:]
            var predictions: [PowerPrediction] = []
            for (model, seqs, f) in selected {
                let description = models[model]!
                let batch = max(1, Int((Double(f[cBatch]) ?? 1).rounded()))
                let output = max(1, Int((Double(f[cOut]) ?? 1).rounded()))
                var request = ServingRequest(model: description, input: promptTokens, output: output, batch: batch)
                request.checksMemory = false
                request.engine = "vllm"
                let e = try ServingEstimator.estimate(request, device: machine.spec, system: nil, machine: machine)
                let p = position[model, default: 0]
                position[model] = p + 1
                predictions.append(
                    PowerPrediction(
                        label: "\(description.name) max_num_seqs=\(seqs) batch=\(batch)", split: parity(p),
                        measured: [
                            "power_w": Double(f[cPower])!, "itl_s": (Double(f[cITL]) ?? 0) * 1e-3, "energy_per_token_j": Double(f[cJ]) ?? 0,
                        ],
                        predicted: ["power_w": e.averagePower, "itl_s": e.medianInterTokenLatency, "energy_per_token_j": e.joulesPerToken]))
            }
            return predictions
        })
}

/// FlagPerf: average card power of an Atlas 800T A2 (910B) running its GEMM benchmarks.
enum FlagPerfPowerSet {
    static let ascend910b = PowerValidationSet(
        id: "flagperf-910b-power", title: "FlagPerf card power under GEMM, Atlas 800T A2 (Ascend 910B)", chip: "ascend-910b2",
        provenance: "FlagOpen/FlagPerf @ 1b5a030 base/benchmarks/computation-*/ascend/README.md; 8-card average power per card",
        splitRule: "all rows calibrate: the four benchmarks all average 364.3-364.7 W, a power cap, from which the 910B's limit is taken",
        assumptions: "GEMM shape not stated: \(FlagPerfSet.size)^3 back to back; random operands",
        evaluate: { directory, machine in
            try FlagPerfSet.gemmRows(directory).compactMap { row in
                guard let measured = row.power else { return nil }
                let trace = Trace(name: row.benchmark, kernels: [row.kernel])
                let power = try Engine(machine: machine).sustained(trace, duration: 0.5).power
                return PowerPrediction(
                    label: row.benchmark, split: .calibration, measured: ["power_w": measured], predicted: ["power_w": power])
            }
        })
}
