import Chips
import Estimates
import Foundation
import Simulator
import Systems
import Workloads

/// Published training throughput (FlagPerf, MindSpeed-LLM) against `xpusim train`'s estimate for
/// the same model, system, split, batch and framework settings. The measured figures come from the
/// digest; each run's configuration comes from the scripts the measurement ran, cited per case.
/// Nothing in the training estimate is fitted, so every row is a check row.
enum TrainingSets {
    /// How a published run was configured, where its table row does not say.
    struct Setup {
        var model: String
        var seq: Int
        var globalBatch: Int
        var microBatch = 1
        var gradient: DataType = .fp32
        var overlapGradientReduce = false
        var sequenceParallel = true
        var systemOverrides: [String] = []
    }

    /// "PP2DP4TP1", "TP8PP4DP1", "TP1PP2DP4": the split a FlagPerf table row states, in any order.
    static func parallelism(_ text: String) -> Parallelism? {
        var p = Parallelism()
        var seen = 0
        var rest = Substring(text.uppercased())
        while !rest.isEmpty {
            guard let key = ["TP", "PP", "DP", "EP"].first(where: { rest.hasPrefix($0) }) else { return nil }
            rest = rest.dropFirst(2)
            let digits = rest.prefix { $0.isNumber }
            guard let value = Int(digits), value >= 1 else { return nil }
            rest = rest.dropFirst(digits.count)
            switch key {
            case "TP": p.tp = value
            case "PP": p.pp = value
            case "DP": p.dp = value
            default: p.ep = value
            }
            seen += 1
        }
        return seen >= 3 ? p : nil
    }

    /// "H100二机16卡（2x8）", "4x8": the nodes of a cluster label.
    static func nodes(_ text: String) -> Int? {
        let pattern = /(\d+)x(\d+)/
        guard let match = text.firstMatch(of: pattern) else { return nil }
        return Int(match.1)
    }

    static func estimate(
        _ setup: Setup, system id: String, nodes: Int, parallelism: Parallelism, models: inout [String: ModelDescription]
    ) throws -> TrainingEstimate {
        if models[setup.model] == nil { models[setup.model] = try ModelCatalog.resolve(setup.model).model }
        let system = try SystemCatalog.resolve(id, overrides: setup.systemOverrides, nodes: nodes, chips: ChipCatalog.defaultDirectory())
        let request = TrainingRequest(
            model: models[setup.model]!, globalBatch: setup.globalBatch, seq: setup.seq, microBatch: setup.microBatch,
            parallelism: parallelism, gradientType: setup.gradient, overlapGradientReduce: setup.overlapGradientReduce,
            sequenceParallel: setup.sequenceParallel)
        return try TrainingEstimator.estimate(request, device: system.chip.device, system: system)
    }

    // MARK: FlagPerf

    static let flagperfFile = "/flagperf/flagperf_training_results.csv"
    static let flagperfProvenance =
        "FlagOpen/FlagPerf @ 1b5a030 training/<vendor>/<case>/README.md performance tables (Apache-2.0): token/p/s, "
        + "tokens per device per second over a step (run_pretraining.py: global batch x seq / step time / devices)"

    /// FlagPerf rows of one case and hardware, each with its split from the row and its batch from
    /// the case's scripts; `setup` gets the row's fix_hp column (GAS and gbs overrides).
    static func flagperf(
        directory: String, case name: String, vendor: String = "nvidia", hardware: String, precision: Set<String> = ["bf16", "amp", ""],
        system: String, setup: (String) -> Setup?, metric: String = "tokens_per_s_per_chip",
        measure: (TrainingEstimate) -> Double = { $0.tokensPerSecondPerChip }
    ) throws -> [PowerPrediction] {
        let file = directory + flagperfFile
        let table = try CSV.table(file)
        let cVendor = try table.column("vendor")
        let cCase = try table.column("case")
        let cConfig = try table.column("col.配置")
        let cPrecision = try table.column("col.precision")
        let cFix = try table.column("col.fix_hp")
        let cParallel = try table.column("col.parallel")
        let cTokens = try table.column("col.token/p/s")
        let cMFU = try table.column("col.MFU")
        var models: [String: ModelDescription] = [:]
        var predictions: [PowerPrediction] = []
        for f in table.rows {
            guard f[cVendor] == vendor, f[cCase] == name, f[cConfig].hasPrefix(hardware), precision.contains(f[cPrecision]),
                let split = parallelism(f[cParallel]), let nodes = nodes(f[cConfig]), let setup = setup(f[cFix])
            else { continue }
            let measured: Double?
            if metric == "mfu" {
                measured = Double(f[cMFU].replacingOccurrences(of: "%", with: "")).map { $0 / 100 }
            } else {
                measured = Double(f[cTokens])
            }
            guard let measured else { continue }
            let e = try estimate(setup, system: system, nodes: nodes, parallelism: split, models: &models)
            let fix = f[cFix] == "/" || f[cFix].isEmpty ? "" : " \(f[cFix])"
            predictions.append(
                PowerPrediction(
                    label: "\(setup.model) \(nodes)x\(split.ranks / nodes) \(f[cParallel]) gbs \(setup.globalBatch)\(fix)", split: .check,
                    measured: [metric: measured], predicted: [metric: measure(e)]))
        }
        return predictions
    }

    /// FlagPerf's Megatron Llama-3 benchmark (training/benchmarks/llama3_8B/megatron/pretrain_llama3.sh and its 70B
    /// twin): seq 8192, global batch 512 (4M tokens), --sequence-parallel, --use-distributed-optimizer, no
    /// --overlap-grad-reduce (Megatron's default: off), bf16 with fp32 gradient accumulation; micro-batch 1
    /// (config/config_*.py localbs). "gbs=1760" rows override the batch.
    static func llama3(_ model: String) -> (String) -> Setup? {
        { fix in
            if fix.hasPrefix("gbs="), let gbs = Int(fix.dropFirst(4).prefix { $0.isNumber }) {
                return Setup(model: model, seq: 8192, globalBatch: gbs)
            }
            return fix == "/" || fix.isEmpty ? Setup(model: model, seq: 8192, globalBatch: 512) : nil
        }
    }

    static let a800 = PowerValidationSet(
        id: "flagperf-a800-training", title: "FlagPerf Megatron-LM Llama-3-8B training on a DGX A800, tokens/s per GPU",
        chip: "a800-sxm", provenance: flagperfProvenance + "; the rows labelled A100 ran on an NVIDIA DGX A800 (the case's README)",
        splitRule: "all rows check: nothing in the training estimate is fitted, on these rows or any other training data",
        assumptions:
            "the FlagPerf Llama-3 scripts' settings (seq 8192, global batch 512, micro-batch 1, sequence parallel, distributed "
            + "optimizer, gradients reduced after backward in fp32); TransformerEngine and FlashAttention kernels as the library "
            + "files model them; Megatron's default dropout (0.1) is not modelled; 1F1B pipeline",
        evaluate: { directory, _ in
            try flagperf(
                directory: directory, case: "llama3_8B-megatron", hardware: "A100单机8卡", system: "dgx-a800",
                setup: llama3("llama-3-8b"))
        })

    static let h100 = PowerValidationSet(
        id: "flagperf-h100-training", title: "FlagPerf Megatron-LM Llama-3 training on DGX H100 nodes, tokens/s per GPU",
        chip: "h100-sxm", provenance: flagperfProvenance,
        splitRule: "all rows check: nothing in the training estimate is fitted",
        assumptions:
            "as flagperf-a800-training (the same scripts); 8B on 1, 2 and 55 nodes, 70B on 8; bf16 rows only (the bf16+fp8 rows "
            + "mix formats per layer as TransformerEngine chooses)",
        evaluate: { directory, _ in
            try flagperf(
                directory: directory, case: "llama3_8B-megatron", hardware: "H100", system: "dgx-h100", setup: llama3("llama-3-8b"))
                + flagperf(
                    directory: directory, case: "llama3_70B-megatron", hardware: "H100", system: "dgx-h100", setup: llama3("llama-3-70b"))
        })

    static let h800 = PowerValidationSet(
        id: "flagperf-h800-training", title: "FlagPerf FlagScale Llama-2-70B training on 4 HGX H800 nodes, tokens/s per GPU",
        chip: "h800-sxm", provenance: flagperfProvenance,
        splitRule: "all rows check: nothing in the training estimate is fitted",
        assumptions:
            "training/nvidia/llama2_70B-megatron/config/config_H800x4x8.py: seq 4096, micro-batch 1, 44 accumulation steps (global "
            + "batch 44 at dp 1), flash attention, no recomputation; GAS=1024 rows: global batch 1024; the README's 200 Gb/s "
            + "InfiniBand per NIC set on hgx-h800 (scale_out.bandwidth_per_nic); amp rows only",
        evaluate: { directory, _ in
            try flagperf(
                directory: directory, case: "llama2_70B-megatron", hardware: "H800", precision: ["amp"], system: "hgx-h800",
                setup: { fix in
                    let gbs = fix.hasPrefix("GAS=1024") ? 1024 : (fix == "/" ? 44 : nil)
                    return gbs.map {
                        Setup(model: "llama-2-70b", seq: 4096, globalBatch: $0, systemOverrides: ["scale_out.bandwidth_per_nic=200Gb/s"])
                    }
                })
        })

    /// MetaX publishes MFU only (token/p/s redacted). FlagPerf's MFU for this case is
    /// token/p/s x 6 x 7e9 / theoryflops (training/benchmarks/llama2_7b/megatron-deepspeed/run_pretraining.py), and
    /// MetaX's theoryflops is not published (config_C500x1x8.py: -1).
    static let c500 = PowerValidationSet(
        id: "flagperf-c500-training", title: "FlagPerf Megatron-DeepSpeed Llama-2-7B training on a MetaX C500 server, MFU",
        chip: "metax-c500", provenance: flagperfProvenance + "; MFU column (MetaX redacts token/p/s)",
        splitRule: "all rows check: nothing in the training estimate is fitted",
        assumptions:
            "FlagPerf's MFU formula, token/p/s x 6 x 7e9 / peak, with the chip file's bf16 peak (240 TFLOPS, an estimate: MetaX's "
            + "own figure is unpublished, so this comparison carries that uncertainty); ds_config.json: ZeRO-1, bf16 gradient "
            + "accumulation, no overlap, micro-batch 1, no sequence parallelism (megatron-deepspeed_main.sh), 32 accumulation "
            + "steps (global batch 256) or GAS=128 (1024); seq 4096",
        evaluate: { directory, _ in
            try flagperf(
                directory: directory, case: "llama2_7b-megatron-deepspeed", vendor: "metax", hardware: "C500", system: "metax-c500-8card",
                setup: { fix in
                    let gbs = fix.hasPrefix("GAS=128") ? 1024 : (fix == "/" ? 256 : nil)
                    return gbs.map { Setup(model: "llama-2-7b", seq: 4096, globalBatch: $0, gradient: .bf16, sequenceParallel: false) }
                }, metric: "mfu", measure: { $0.tokensPerSecondPerChip * 6 * 7e9 / $0.peakFLOPS })
        })

    // MARK: MindSpeed-LLM

    /// MindSpeed-LLM's README rows (model, size, sequence, implementation) and the example script
    /// each ran (Ascend/MindSpeed-LLM @ 0a7cbd3), with the split and batch the script sets.
    static let mindspeedCases: [(row: [String], script: String, model: String, p: Parallelism, setup: Setup)] = [
        (
            ["LLaMA2", "7B", "4K", "Mcore"], "examples/mcore/llama2/pretrain_llama2_7b_ptd.sh", "llama-2-7b", Parallelism(pp: 2, dp: 4),
            Setup(model: "llama-2-7b", seq: 4096, globalBatch: 256, overlapGradientReduce: true)
        ),
        (
            ["LLaMA2", "13B", "4K", "Mcore"], "examples/mcore/llama2/pretrain_llama2_13b_ptd.sh", "llama-2-13b", Parallelism(tp: 8),
            Setup(model: "llama-2-13b", seq: 4096, globalBatch: 512, microBatch: 4)
        ),
        (
            ["LLaMA2", "70B", "4K", "Legacy"], "examples/llama2/pretrain_llama2_70b_ptd.sh", "llama-2-70b", Parallelism(tp: 8, pp: 4),
            Setup(model: "llama-2-70b", seq: 4096, globalBatch: 1024)
        ),
        (
            ["LLaMA3", "8B", "8K", "Legacy"], "examples/llama3/pretrain_llama3_8b_ptd.sh", "llama-3-8b", Parallelism(tp: 8),
            Setup(model: "llama-3-8b", seq: 8192, globalBatch: 64, microBatch: 2)
        ),
        (
            ["LLaMA3", "70B", "8K", "Legacy"], "examples/llama3/pretrain_llama3_70b_ptd.sh", "llama-3-70b", Parallelism(tp: 8, pp: 8),
            Setup(model: "llama-3-70b", seq: 8192, globalBatch: 512)
        ),
    ]

    static let mindspeed910B = PowerValidationSet(
        id: "mindspeed-910b-training", title: "MindSpeed-LLM pretraining on Atlas 900 A2 PoDc (910B), tokens/s per NPU",
        chip: "ascend-910b2",
        provenance:
            "Ascend/MindSpeed-LLM @ 0a7cbd3 README 现版本实测性能 (BSD-3-style): measured tokens/s/p on Atlas 900 A2 PODc, mc2 on; "
            + "each row's split, batch and sequence from the example script it names",
        splitRule: "all rows check: nothing in the training estimate is fitted",
        assumptions:
            "Atlas 900 A2 PoDc nodes as atlas-800t-a2 (8 x 910B2, HCCS mesh, 8 x 200 Gb/s RoCE); the scripts' splits with "
            + "sequence parallelism, fused RMSNorm, SwiGLU and rotary kernels, FlashAttention; gradients in fp32, reduced after "
            + "backward unless the script sets --overlap-grad-reduce (Llama-2-7B); mc2's overlap of tensor-parallel "
            + "communication with the GEMMs is not modelled (the all-reduces run after them); only rows with a model file",
        evaluate: { directory, _ in
            let file = directory + "/mindspeed_llm_910b/mindspeed_llm_readme_pretrain_perf_atlas900a2.csv"
            let table = try CSV.table(file)
            let keys = try ["模型", "参数", "序列", "实现"].map { try table.column($0) }
            let cCluster = try table.column("集群")
            let cValue = try table.column("性能")
            let system = "atlas-800t-a2"
            let perNode = try SystemCatalog.resolve(system, chips: ChipCatalog.defaultDirectory()).devicesPerNode
            var models: [String: ModelDescription] = [:]
            var predictions: [PowerPrediction] = []
            for f in table.rows {
                guard let c = mindspeedCases.first(where: { $0.row == keys.map { f[$0] } }), let measured = Double(f[cValue]),
                    let nodes = nodes(f[cCluster])
                else { continue }
                var p = c.p
                p.dp = max(1, nodes * perNode / (p.tp * p.pp))
                let e = try estimate(c.setup, system: system, nodes: nodes, parallelism: p, models: &models)
                predictions.append(
                    PowerPrediction(
                        label: "\(c.model) \(f[cCluster]) \(p) gbs \(c.setup.globalBatch) mbs \(c.setup.microBatch)", split: .check,
                        measured: ["tokens_per_s_per_chip": measured], predicted: ["tokens_per_s_per_chip": e.tokensPerSecondPerChip]))
            }
            return predictions
        })
}

/// DeepSeek's published H800 training profile (deepseek-ai/profile-data train.json): one DualPipe
/// forward-and-backward chunk pair of 4 MoE layers of DeepSeek-V3 at EP64, 4096 tokens per rank.
/// The extract has no shapes, so the chunk is rebuilt from the model's config: the generator's
/// training trace of 4 MoE layers (no embedding, no LM head), fp8 GEMMs, ep64 over 8 HGX H800
/// nodes, run on the engine, and its kernel time summed per class against the profile's.
enum DeepSeekProfileSet {
    static let classes = ["grouped_gemm", "attention", "ep_communication", "gemm", "other"]

    /// The class of a generated kernel, as the digest classes the profile's by name.
    static func kernelClass(_ k: Kernel) -> String {
        // DeepGEMM's grouped kernels run the experts' forward and data gradients (16 in the profile:
        // 2 per layer each way); their weight gradients ran as dense GEMMs.
        if k.id.contains("experts_"), !k.id.hasSuffix(".wgrad"), case .groupedGemm = k.op { return "grouped_gemm" }
        switch k.op {
        case .attention: return "attention"
        case .collective(let c) where c.kind == .all_to_all: return "ep_communication"
        case .gemm, .groupedGemm: return "gemm"
        default: return "other"
        }
    }

    /// The CTAs of every DeepGEMM kernel in DeepSeek's H800 training profile (grids 112x1x1,
    /// 2x56x1 and 1x112x1 in train_h800_ep64_kernels.csv).
    static let deepGEMMUnits = 112

    static let h800 = PowerValidationSet(
        id: "deepseek-h800-training", title: "DeepSeek-V3 training on H800 (EP64): kernel time per class of one 4-layer chunk",
        chip: "h800-sxm",
        provenance:
            "deepseek-ai/profile-data @ 4496024 train.json (no licence: per-class totals only, classified by kernel name in "
            + "scripts/make-digest.py); PyTorch profiler on H800, EP64 TP1, 4096 tokens per rank, balanced routing",
        splitRule: "all rows check: nothing is fitted on this profile",
        assumptions:
            "DeepSeek-V3's config with 4 MoE layers (no embedding, LM head or MTP), one micro-batch of 4096 tokens forward and "
            + "backward, fp8 GEMMs (DeepGEMM, on 112 of the 132 SMs as the profile's grids show), FlashAttention-3 (the "
            + "profile's kernels), balanced routing, ep64-dp64 over 8 hgx-h800 nodes; summed kernel durations per "
            + "class; the profile's DeepEP times include spin-waits for peers and DualPipe's overlap, which the sum of "
            + "simulated collective times does not",
        evaluate: { directory, _ in
            let file = directory + "/deepseek_profile_data/train_h800_ep64_kernel_classes.csv"
            let table = try CSV.table(file)
            let cClass = try table.column("class")
            let cTotal = try table.column("total_us")
            var measured: [String: Double] = [:]
            for f in table.rows { measured[f[cClass]] = Double(f[cTotal]).map { $0 * 1e-6 } }
            var model = try ModelCatalog.resolve("deepseek-v3").model
            model.layers = 4
            model.moe?.denseLayers = 0
            model.mtpLayers = 0
            let system = try SystemCatalog.resolve("hgx-h800", nodes: 8, chips: ChipCatalog.defaultDirectory())
            let request = GenerationRequest(
                phase: .train, batch: 1, seq: 4096, parallelism: Parallelism(ep: 64, dp: 64), precision: .fp8,
                devicesPerNode: system.devicesPerNode, optimizerStep: false)
            var trace = try TraceGenerator(model: model, request: request).trace()
            // The profile's attention kernels are FlashAttention-3's (flash::compute_attn_ws and
            // flash::FlashAttnBwd of hopper/), not the library's default; its DeepGEMM kernels are
            // persistent grids of 112 CTAs on the H800's 132 SMs (DeepGEMM's num_sms, the SMs
            // DeepEP's 20 communication SMs leave; the profile's grid column, "varsm" in its name).
            for index in trace.kernels.indices {
                switch trace.kernels[index].op {
                case .attention(var a):
                    a.impl = "fa3"
                    trace.kernels[index].op = .attention(a)
                case .gemm, .groupedGemm:
                    trace.kernels[index].units = deepGEMMUnits
                default: break
                }
            }
            let run = try Engine(machine: Machine(system.chip.device), system: system).run(trace)
            var simulated: [String: Double] = [:]
            for (kernel, result) in zip(trace.kernels, run.kernels) where kernel.id.hasPrefix("L") {
                simulated[kernelClass(kernel), default: 0] += result.duration
            }
            return classes.compactMap { c in
                guard let m = measured[c], let s = simulated[c] else { return nil }
                return PowerPrediction(label: c, split: .check, measured: ["time_s": m], predicted: ["time_s": s])
            }
        })
}
