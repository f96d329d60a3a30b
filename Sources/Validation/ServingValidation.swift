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
            let table = try CSV.table(file)
            let cModel = try table.column("model")
            let cISL = try table.column("isl")
            let cOSL = try table.column("osl")
            let cGPU = try table.column("gpu")
            let cTP = try table.column("tp")
            let cPrecision = try table.column("precision")
            let cValue = try table.column("Total Output Throughput (tokens/sec)")
            var predictions: [PowerPrediction] = []
            var loaded: [String: ModelDescription] = [:]
            let dgx = try SystemCatalog.resolve(system, chips: ChipCatalog.defaultDirectory())
            for f in table.rows {
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

/// GPUStack's performance lab (gpustack/gpustack docs/performance-lab): `vllm bench serve` on
/// ShareGPT at a fixed --max-concurrency on one device, the server's output tokens per second,
/// against `xpusim serve` at that batch with the runs' mean prompt and output lengths.
enum GPUStackServingSet {
    static let provenance =
        "gpustack/gpustack @ 47277d7 docs/performance-lab/<model>/<gpu>.md (Apache-2.0): vllm bench serve, ShareGPT, "
        + "--max-concurrency as stated, output token throughput of the server"

    /// What a row's serving command runs: the model file, the tensor-parallel degree (`-tp`) and the engine.
    struct Served {
        var model: String
        var tp: Int
        var engine: String
    }

    static func served(_ command: String) -> Served? {
        let words = command.split(separator: " ").map(String.init)
        guard let engine = words.first, words.count >= 3 else { return nil }
        let tp = words.firstIndex(of: "-tp").flatMap { $0 + 1 < words.count ? Int(words[$0 + 1]) : nil } ?? 1
        switch words[2] {
        case "Qwen/Qwen3-8B" where engine == "vllm": return Served(model: "qwen3-8b", tp: tp, engine: engine)
        case "Qwen/Qwen3-30B-A3B" where engine == "vllm": return Served(model: "qwen3-30b-a3b", tp: tp, engine: engine)
        case "Qwen3-30B-A3B" where engine == "mindie": return Served(model: "qwen3-30b-a3b", tp: tp, engine: engine)
        default: return nil
        }
    }

    /// `engines`: per engine of the serving command (`vllm`, `mindie`), the chip library's serving engine whose time
    /// outside the kernels the row runs with (none: no figures are known for it). `calibration`: the rows a fit sees
    /// (model, engine), the others check. A row with `-tp 2` runs on `system`.
    static func evaluate(
        _ directory: String, hardware: String, machine: Machine, system: String, engines: [String: String],
        calibration: Set<String> = []
    ) throws -> [PowerPrediction] {
        let file = directory + "/gpustack_performance_lab/gpustack_perf_lab_serving_results.csv"
        let table = try CSV.table(file)
        let cHardware = try table.column("doc_hardware")
        let cCommand = try table.column("serving_command")
        let cConcurrency = try table.column("Maximum request concurrency")
        let cInput = try table.column("derived_avg_input_len")
        let cOutput = try table.column("derived_avg_output_len")
        let cValue = try table.column("Output token throughput (tok/s)")
        var predictions: [PowerPrediction] = []
        for f in table.rows where f[cHardware].contains(hardware) {
            guard let run = served(f[cCommand]), let batch = Double(f[cConcurrency]).map({ Int($0) }), let measured = Double(f[cValue]),
                let input = Double(f[cInput]), let output = Double(f[cOutput])
            else { continue }
            var request = ServingRequest(
                model: try ModelCatalog.resolve(run.model).model, input: Int(input.rounded()), output: Int(output.rounded()), batch: batch,
                parallelism: Parallelism(tp: run.tp))
            request.engine = engines[run.engine]
            let node = run.tp == 1 ? nil : try SystemCatalog.resolve(system, chips: ChipCatalog.defaultDirectory())
            let e = try ServingEstimator.estimate(request, device: machine.spec, system: node, machine: machine)
            let key = "\(run.model) \(run.engine)"
            predictions.append(
                PowerPrediction(
                    label: "\(key)\(run.tp > 1 ? " tp\(run.tp)" : "") concurrency \(batch)",
                    split: calibration.contains(key) ? .calibration : .check, measured: ["output_tokens_per_s": measured],
                    predicted: ["output_tokens_per_s": e.outputTokensPerSecond]))
        }
        return predictions
    }

    static let h100 = PowerValidationSet(
        id: "gpustack-h100-serving", title: "GPUStack: vLLM serving Qwen3-8B on one H100 at fixed concurrency, output tokens/s",
        chip: "h100-sxm", provenance: provenance, splitRule: "all rows check: nothing in the serving estimate is fitted",
        assumptions:
            "bf16 weights and KV cache; the batch is the run's --max-concurrency (1, 2, 4, 8), every sequence at the ShareGPT "
            + "run's mean lengths (233 in, 221 out); prefill interleaved with decode as a continuously batched server runs it; "
            + "vLLM 0.11's time per step outside the kernels as fitted on ML.ENERGY's calibration rows (the library's serving engine vllm; "
            + "GPUStack ran vLLM 0.11 too)",
        evaluate: { directory, machine in
            try evaluate(directory, hardware: "H100", machine: machine, system: "dgx-h100", engines: ["vllm": "vllm"])
        })

    static let ascend910B = PowerValidationSet(
        id: "gpustack-910b-serving", title: "GPUStack: vLLM-Ascend and MindIE serving on one 910B at concurrency 4, output tokens/s",
        chip: "ascend-910b2", provenance: provenance,
        splitRule:
            "vLLM-Ascend serving Qwen3-8B calibrates (its host time per kernel); vLLM-Ascend serving Qwen3-30B-A3B at tp 2 and "
            + "MindIE check",
        assumptions:
            "the doc's 910B taken as a 64 GB 910B2 (Qwen3-30B-A3B in bf16 needs 61 GB on one); bf16; concurrency 4 at the runs' mean "
            + "lengths; vLLM-Ascend 0.9.1 serving Qwen3-8B and Qwen3-30B-A3B (-tp 2, on two cards of an Atlas 800T A2) with the "
            + "library's engine vllm-ascend (eager torch_npu: host time per kernel), MindIE 2.1 serving Qwen3-30B-A3B with no "
            + "engine figures (its host overheads are not modelled; the qwen3-8b doc's MindIE rows repeat the 30B doc's and are "
            + "left out)",
        evaluate: { directory, machine in
            try evaluate(
                directory, hardware: "910B", machine: machine, system: "atlas-800t-a2", engines: ["vllm": "vllm-ascend"],
                calibration: ["qwen3-8b vllm"])
        })
}
