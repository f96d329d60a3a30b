import Chips
import Estimates
import Foundation
import Simulator
import Systems
import Workloads

/// TensorRT-LLM's published maximum throughput on H100 (perf-overview.md): output tokens per
/// second of a tensor-parallel group at fixed input and output lengths, against `xpusim serve`'s
/// estimate for the same model, split and lengths.
enum TensorRTLLMServingSet {
    /// The table's model names, and the model files under workloads/models/ with their shapes.
    static let models = [
        "Llama 3.1 8B": "llama-3.1-8b", "Llama 3.3 70B": "llama-3.3-70b", "Llama 3.1 405B": "llama-3.1-405b",
        "Qwen3-235B-A22B": "qwen3-235b-a22b",
    ]
    /// The system a tensor-parallel group of H100s runs on.
    static let system = "dgx-h100"

    static let h100 = PowerValidationSet(
        id: "trtllm-h100-serving", title: "TensorRT-LLM maximum throughput on H100 (FP8), output tokens/s", chip: "h100-sxm",
        provenance:
            "NVIDIA/TensorRT-LLM @ 00f3768 docs/source/performance/perf-overview.md (Apache-2.0); trtllm-bench throughput, "
            + "ModelOpt FP8 checkpoints, fixed ISL/OSL; the whole TP group's output tokens/s",
        splitRule: "all rows check: nothing in the serving estimate is fitted, on these rows or any other serving data",
        assumptions:
            "fp8 linear layers and fp8 KV cache (the ModelOpt checkpoints quantise both); batch = the largest whose KV cache fits in "
            + "90% of HBM beside the weights, at most 2048; prompts prefilled 8192 tokens at a time between decode steps; MoE "
            + "experts tensor-parallel (ep 1); groups of more than one GPU on \(system); Llama 4 rows skipped (no model file)",
        evaluate: { directory, machine in
            let file = directory + "/tensorrt_llm_perf_overview/trtllm_perf_overview_throughput.csv"
            let (header, data) = try CSV.read(file)
            func column(_ name: String) throws -> Int { try CSV.column(name, in: header, file: file) }
            let cModel = try column("model")
            let cISL = try column("isl")
            let cOSL = try column("osl")
            let cGPU = try column("gpu")
            let cTP = try column("tp")
            let cPrecision = try column("precision")
            let cValue = try column("Total Output Throughput (tokens/sec)")
            var predictions: [PowerPrediction] = []
            var loaded: [String: ModelDescription] = [:]
            let dgx = try SystemCatalog.resolve(system, chips: ChipCatalog.defaultDirectory())
            for f in data where f.count == header.count {
                guard f[cGPU] == "H100", f[cPrecision] == "FP8", let id = models[f[cModel]], let measured = Double(f[cValue]),
                    let isl = Int(f[cISL]), let osl = Int(f[cOSL]), let tp = Int(f[cTP])
                else { continue }
                if loaded[id] == nil { loaded[id] = try ModelCatalog.resolve(id).model }
                let request = ServingRequest(
                    model: loaded[id]!, input: isl, output: osl, parallelism: Parallelism(tp: tp), precision: .fp8, kvCache: .fp8)
                let estimate = try ServingEstimator.estimate(
                    request, device: tp == 1 ? machine.spec : dgx.chip.device, system: tp == 1 ? nil : dgx)
                predictions.append(
                    PowerPrediction(
                        label: "\(f[cModel]) TP\(tp) \(isl)/\(osl) batch \(estimate.batch)", split: .check,
                        measured: ["output_tokens_per_s": measured], predicted: ["output_tokens_per_s": estimate.outputTokensPerSecond]))
            }
            return predictions
        })
}
