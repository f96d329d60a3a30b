import Chips
import Config
import Foundation
import Workloads

/// microsoft/vidur per-operator timings on H100 (fp16, GPU kernel times summed per op by Kineto, median of repeats).
///
/// Each row of `compute__h100__<model>__mlp.csv` is one layer shard at `num_tokens` tokens and
/// tensor-parallel degree TP; its GEMMs are rebuilt from the model shape, and its element-wise and
/// norm ops from the tensor sizes.
enum VidurSet {
    /// Held out by model family: the Llama family (Llama-2 7B and 70B, CodeLlama-34B, built on
    /// Llama 2) calibrates; InternLM, Qwen and Phi, other families, check.
    static let calibrationModels = ["meta-llama__Llama-2-7b-hf", "meta-llama__Llama-2-70b-hf", "codellama__CodeLlama-34b-Instruct-hf"]
    static let checkModels = ["internlm__internlm-20b", "Qwen__Qwen-72B", "microsoft__phi-2"]

    static let h100 = ValidationSet(
        id: "vidur-h100", title: "Vidur per-operator timings, H100 80GB, fp16", chip: "h100-sxm",
        provenance: "microsoft/vidur @ 7d47513 data/profiling/compute/h100/<model>/mlp.csv (MIT); times in ms (median)",
        splitRule:
            "by model family: calibration = \(calibrationModels.joined(separator: ", ")) (Llama); check = "
            + "\(checkModels.joined(separator: ", ")) (InternLM, Qwen, Phi)",
        read: { directory in
            var rows: [ValidationRow] = []
            for (models, split) in [(calibrationModels, Split.calibration), (checkModels, Split.check)] {
                for model in models {
                    rows += try load(directory + "/vidur/compute__h100__\(model)__mlp.csv", model: model, split: split)
                }
            }
            return rows
        })

    static func load(_ path: String, model: String, split: Split) throws -> [ValidationRow] {
        let (header, data) = try CSV.read(path)
        func column(_ name: String) throws -> Int { try CSV.column(name, in: header, file: path) }
        let cHeads = try column("n_head")
        let cKV = try column("n_kv_head")
        let cEmbd = try column("n_embd")
        let cFFN = try column("n_expanded_embd")
        let cGated = try column("use_gated_mlp")
        let cTokens = try column("num_tokens")
        let cTP = try column("num_tensor_parallel_workers")
        let ops = [
            "attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj", "mlp_act", "add", "attn_rope",
            "input_layernorm", "post_attention_layernorm", "emb",
        ]
        // Models without an op (phi-2's parallel attention has no second norm) lack its column.
        var medians: [String: Int] = [:]
        for op in ops { medians[op] = header.firstIndex(of: "time_stats.\(op).median") }
        guard medians.values.count >= 6 else { throw ValidationDataError(file: path, message: "too few time_stats.<op>.median columns") }
        var rows: [ValidationRow] = []
        for (index, fields) in data.enumerated() {
            let line = fields.line
            func int(_ c: Int) throws -> Int { Int(try CSV.number(fields[c], file: path, row: line)) }
            let heads = try int(cHeads)
            let kvHeads = try int(cKV)
            let d = try int(cEmbd)
            let ffn = try int(cFFN)
            let gated = fields[cGated] == "True"
            let tokens = try int(cTokens)
            let tp = try int(cTP)
            let headDim = d / heads
            // Gated models (Llama-style) run vLLM's custom kernels; phi-2 runs PyTorch's native
            // LayerNorm and GELU, flat kernels whose launch grid is not one block per token.
            let vllm = gated
            let shapes: [(String, Op)] = [
                ("attn_pre_proj", .gemm(.init(m: tokens, n: (heads + 2 * kvHeads) * headDim / tp, k: d))),
                ("attn_post_proj", .gemm(.init(m: tokens, n: d, k: heads * headDim / tp))),
                ("mlp_up_proj", .gemm(.init(m: tokens, n: (gated ? 2 : 1) * ffn / tp, k: d))),
                ("mlp_down_proj", .gemm(.init(m: tokens, n: d, k: ffn / tp))),
                // vLLM's launch grids (csrc/activation_kernels.cu, pos_encoding_kernels.cu, layernorm_kernels.cu):
                // one block per token; min(d, 1024) threads for the activation and the norm,
                // min(heads x rot_dim / 2, 512) for the rotary embedding.
                (
                    "mlp_act",
                    .elementwise(
                        .init(
                            elements: tokens * ffn / tp, reads: gated ? 2 : 1, writes: 1, flopsPerElement: gated ? 5 : 8,
                            blocks: vllm ? tokens : nil, threads: vllm ? min(ffn / tp, 1024) : nil))
                ),
                // Llama-style blocks time `residual + hidden_states`; phi-2's parallel block times
                // `attn_outputs + feed_forward_hidden_states + residual`: two PyTorch adds.
                ("add", .elementwise(.init(elements: tokens * d, reads: 2, writes: 1, flopsPerElement: 1))),
                // Each rotary thread rotates a pair of elements per iteration: an iteration covers 2 x threads.
                (
                    "attn_rope",
                    .elementwise(
                        .init(
                            elements: tokens * (heads + kvHeads) * headDim / tp, reads: 1, writes: 1, flopsPerElement: 6,
                            blocks: tokens, threads: 2 * min((heads + kvHeads) / tp * headDim / 2, 512)))
                ),
                // Vidur's block calls RMSNorm(x) without a residual (vidur/profiling/mlp/mlp_impl.py), so
                // the timed kernel is vLLM's plain rms_norm, not fused_add_rms_norm; the residual add
                // is a separate PyTorch add.
                ("input_layernorm", .rowwise(.init(kind: .norm, rows: tokens, columns: d, threads: vllm ? min(d, 1024) : nil))),
                ("post_attention_layernorm", .rowwise(.init(kind: .norm, rows: tokens, columns: d, threads: vllm ? min(d, 1024) : nil))),
                ("emb", .embedding(.init(tokens: tokens, hidden: d))),
            ]
            for (op, shape) in shapes {
                guard let c = medians[op] else { continue }
                let measured = try CSV.number(fields[c], file: path, row: line) * 1e-3
                guard measured > 0 else { continue }
                let regime: String
                switch shape {
                case .gemm(let g): regime = gemmRegime(m: g.m, n: g.n)
                case .rowwise: regime = "norm"
                case .embedding: regime = "embedding"
                default: regime = "elementwise"
                }
                // Vidur times each op inside a run of the whole layer: its activation input was just
                // written by the op before it (the embedding's input is token ids from the host).
                let kernel = Kernel(id: op, op: shape, dtype: .fp16, inputsInL2: op != "emb")
                rows.append(
                    ValidationRow(
                        label: "\(model) \(op) tokens=\(tokens) tp=\(tp)", kernel: kernel,
                        followers: op == "add" && !gated ? [kernel] : [], measured: measured, regime: regime, split: split))
            }
        }
        return rows
    }
}

/// LLMCompass real-hardware points on A100 80GB (fp16, PyTorch 2.0).
enum LLMCompassSet {
    static let harness = Harness(eager: 10.42e-6, compiled: 44.58e-6, library: 15e-6)
    static let a100 = ValidationSet(
        id: "llmcompass-a100", title: "LLMCompass A100 matmul, softmax, layernorm, gelu", chip: "a100-sxm",
        provenance:
            "PrincetonUniversity/LLMCompass @ 2e015fd ae/figure5/*/real_hardware/*_A100.csv (BSD-3); matmul latency in ms, the "
            + "others in G elements/s",
        splitRule: "within each file, even rows (0, 2, ...) calibrate and odd rows check",
        // Fitted by `xpusim calibrate --chip a100-sxm --data llmcompass-a100 --fit harness,harness.compiled,harness.library,...`
        // on the calibration rows: LLMCompass times each call with time.time() around the op and a
        // synchronise, so host time is measured too; it is larger through torch.compile (guards and the
        // generated wrapper), as the 13 us (softmax) and ~50 us (layernorm, gelu) floors of tiny inputs show,
        // and larger for torch.matmul, whose call into cuBLAS costs host time of its own (the 30 us floor of
        // the 8192 x 64 x 64 product, whose kernel takes a few us).
        harness: LLMCompassSet.harness,
        read: { directory in
            let base = directory + "/llmcompass/"
            var rows: [ValidationRow] = []
            let matmul = try CSV.read(base + "matmul_A100.csv")
            for (i, f) in matmul.rows.enumerated() {
                let m = Int(try CSV.number(f[0], file: base + "matmul_A100.csv", row: f.line))
                let n = Int(try CSV.number(f[1], file: base + "matmul_A100.csv", row: f.line))
                let k = Int(try CSV.number(f[2], file: base + "matmul_A100.csv", row: f.line))
                let ms = try CSV.number(f[3], file: base + "matmul_A100.csv", row: f.line)
                rows.append(
                    ValidationRow(
                        label: "matmul \(m)x\(n)x\(k)", kernel: Kernel(id: "matmul", op: .gemm(.init(m: m, n: n, k: k)), dtype: .fp16),
                        measured: ms * 1e-3, regime: "matmul", split: parity(i)))
            }
            for (file, kind) in [("softmax_A100.csv", Op.RowwiseKind.softmax), ("layernorm_A100.csv", .norm)] {
                let data = try CSV.read(base + file)
                for (i, f) in data.rows.enumerated() {
                    let m = Int(try CSV.number(f[0], file: base + file, row: f.line))
                    let n = Int(try CSV.number(f[1], file: base + file, row: f.line))
                    let rate = try CSV.number(f[2], file: base + file, row: f.line) * 1e9
                    // LLMCompass calls torch.softmax eagerly and its layernorm through @torch.compile
                    // (software_model/softmax.py, layernorm.py), timing each call with time.time().
                    rows.append(
                        ValidationRow(
                            label: "\(kind.rawValue) \(m)x\(n)",
                            kernel: Kernel(id: kind.rawValue, op: .rowwise(.init(kind: kind, rows: m, columns: n)), dtype: .fp16),
                            compiledCall: kind == .norm, measured: Double(m * n) / rate, regime: kind.rawValue, split: parity(i)))
                }
            }
            let gelu = try CSV.read(base + "gelu_A100.csv")
            for (i, f) in gelu.rows.enumerated() {
                let n = Int(try CSV.number(f[0], file: base + "gelu_A100.csv", row: f.line))
                let rate = try CSV.number(f[1], file: base + "gelu_A100.csv", row: f.line) * 1e9
                // gelu_gpu is @torch.compile'd (software_model/gelu.py).
                rows.append(
                    ValidationRow(
                        label: "gelu \(n)",
                        kernel: Kernel(
                            id: "gelu", op: .elementwise(.init(elements: n, reads: 1, writes: 1, flopsPerElement: 8)), dtype: .fp16),
                        compiledCall: true, measured: Double(n) / rate, regime: "gelu", split: parity(i)))
            }
            return rows
        })
}

/// DeepGEMM FP8 GEMM tables on H800 (README, two versions).
enum DeepGEMMSet {
    static let h800 = ValidationSet(
        id: "deepgemm-h800", title: "DeepGEMM FP8 GEMMs (dense and grouped), H800", chip: "h800-sxm",
        provenance: "deepseek-ai/DeepGEMM README tables @ a6d97a1 (2025-02-25) and 327ec92 (2025-04-09) (MIT); TFLOPS = 2MNK / t",
        splitRule: "within each table and README version, even rows calibrate and odd rows check",
        read: { directory in
            let file = directory + "/deepseek_deepgemm/deepgemm_h800_fp8_gemm_readme_tables.csv"
            let (header, data) = try CSV.read(file)
            guard let cTable = header.firstIndex(of: "table"), let cGroups = header.firstIndex(of: "#Groups"),
                let cMPer = header.firstIndex(of: "M per group"), let cM = header.firstIndex(of: "M"), let cN = header.firstIndex(of: "N"),
                let cK = header.firstIndex(of: "K"), let cTF = header.firstIndex(of: "Computation"),
                let cVersion = header.firstIndex(of: "readme_version")
            else { throw ValidationDataError(file: file, message: "unexpected columns") }
            var rows: [ValidationRow] = []
            var counters: [String: Int] = [:]
            for (i, f) in data.enumerated() {
                let line = f.line
                let n = Int(try CSV.number(f[cN], file: file, row: line))
                let k = Int(try CSV.number(f[cK], file: file, row: line))
                let tflops = try CSV.number(f[cTF], file: file, row: line) * 1e12
                let key = f[cTable] + f[cVersion]
                let position = counters[key, default: 0]
                counters[key] = position + 1
                let version = f[cVersion].hasPrefix("2025-02") ? "v1" : "v2"
                let op: Op
                let m: Int
                let label: String
                if f[cGroups].isEmpty {
                    m = Int(try CSV.number(f[cM], file: file, row: line))
                    op = .gemm(.init(m: m, n: n, k: k, impl: "deepgemm"))
                    label = "dense \(m)x\(n)x\(k) \(version)"
                } else {
                    let groups = Int(try CSV.number(f[cGroups], file: file, row: line))
                    let perGroup = Int(try CSV.number(f[cMPer], file: file, row: line))
                    m = groups * perGroup
                    op = .groupedGemm(.init(mPerGroup: Array(repeating: perGroup, count: groups), n: n, k: k, impl: "deepgemm"))
                    label = "\(f[cTable].contains("masked") ? "masked" : "contiguous") \(groups)x\(perGroup)x\(n)x\(k) \(version)"
                }
                let flops = 2 * Double(m) * Double(n) * Double(k)
                rows.append(
                    ValidationRow(
                        label: label, kernel: Kernel(id: "fp8_gemm", op: op, dtype: .fp8), measured: flops / tflops,
                        regime: gemmRegime(m: f[cGroups].isEmpty ? m : Int(try CSV.number(f[cMPer], file: file, row: line)), n: n),
                        split: parity(position)))
            }
            return rows
        })
}

/// Azure AI benchmarking guide, ND H100 v5: cuBLASLt FP8 GEMMs and STREAM-like HBM bandwidth.
enum AzureSet {
    /// STREAM arrays are large so caches do not matter; 2^28 fp32 elements (1 GiB) per array is assumed.
    static let streamElements = 1 << 28

    static let h100 = ValidationSet(
        id: "azure-h100", title: "Azure ND H100 v5: cuBLASLt FP8 GEMM and HBM bandwidth", chip: "h100-sxm",
        provenance: "Azure/AI-benchmarking-guide @ 8fd0c6e Azure_Results/ND_H100_v5_results.md (MIT); GEMM TFLOPS, bandwidth TB/s",
        splitRule:
            "GEMM rows: even rows calibrate, odd rows check; bandwidth: Copy and Add calibrate (Mul and Triad are the same kernels "
            + "to the model, so they count as calibration), Dot checks",
        read: { directory in
            let base = directory + "/azure_ai_benchmarking_guide/"
            var rows: [ValidationRow] = []
            let gemm = try CSV.read(base + "ND_H100_v5__GEMM_CuBLASLt.csv")
            for (i, f) in gemm.rows.enumerated() {
                let m = Int(try CSV.number(f[0], file: base + "ND_H100_v5__GEMM_CuBLASLt.csv", row: f.line))
                let n = Int(try CSV.number(f[1], file: base + "ND_H100_v5__GEMM_CuBLASLt.csv", row: f.line))
                let k = Int(try CSV.number(f[2], file: base + "ND_H100_v5__GEMM_CuBLASLt.csv", row: f.line))
                let tflops = try CSV.number(f[3], file: base + "ND_H100_v5__GEMM_CuBLASLt.csv", row: f.line) * 1e12
                rows.append(
                    ValidationRow(
                        label: "cublaslt fp8 \(m)x\(n)x\(k)", kernel: Kernel(id: "gemm", op: .gemm(.init(m: m, n: n, k: k)), dtype: .fp8),
                        measured: 2 * Double(m) * Double(n) * Double(k) / tflops, regime: gemmRegime(m: m, n: n), split: parity(i)))
            }
            let stream = try CSV.read(base + "ND_H100_v5__HBM_Bandwidth.csv")
            let shapes: [String: (reads: Int, writes: Int)] = [
                "Copy": (1, 1), "Mul": (1, 1), "Add": (2, 1), "Triad": (2, 1), "Dot": (2, 0),
            ]
            for (i, f) in stream.rows.enumerated() {
                guard let shape = shapes[f[0]] else {
                    throw ValidationDataError(file: base + "ND_H100_v5__HBM_Bandwidth.csv", row: f.line, message: "unknown kernel \(f[0])")
                }
                let rate = try CSV.number(f[1], file: base + "ND_H100_v5__HBM_Bandwidth.csv", row: f.line) * 1e12
                let bytes = Double(streamElements * (shape.reads + shape.writes) * 4)
                rows.append(
                    ValidationRow(
                        label: "stream \(f[0])",
                        kernel: Kernel(
                            id: f[0],
                            op: .elementwise(.init(elements: streamElements, reads: shape.reads, writes: shape.writes, flopsPerElement: 2)),
                            dtype: .fp32),
                        measured: bytes / rate, regime: "hbm bandwidth", split: f[0] == "Dot" ? .check : .calibration))
            }
            return rows
        })
}

/// FlagPerf computation benchmarks: ascend-dmi GEMM on Atlas 800T A2 (Ascend 910B), and torch.mm (8 cards) and
/// cuBLAS (one card) on a DGX A100 / A800.
enum FlagPerfSet {
    /// The 910B's rows do not state the GEMM shape; a large square GEMM is assumed (peak-throughput tests use them).
    /// The NVIDIA rows state it: M = N = K = 8192 in base/benchmarks/computation-*/nvidia/A100/case_config.yaml and
    /// base/toolkits/computation-*/nvidia/A100/gemm.cu.
    static let size = 8192

    /// One GEMM benchmark row: its suite and name, the kernel it ran, measured TFLOPS and card power.
    struct GEMMRow {
        var suite: String
        var benchmark: String
        var kernel: Kernel
        var tflops: Double
        var power: Double?
    }

    /// One vendor's computation rows of FlagPerf's micro-benchmark table; the timing and the power
    /// sets read them. "/" marks a value the vendor did not disclose; such rows are skipped.
    /// Operand data: the benchmarks suite fills its matrices with `torch.randn` (random bits, activity 1);
    /// the NVIDIA toolkit's gemm.cu allocates them with `cudaMallocManaged` and never writes them, so
    /// cuBLAS multiplies the zero-filled pages the driver hands out (activity 0).
    static func gemmRows(_ directory: String, vendor: String = "ascend") throws -> [GEMMRow] {
        let file = directory + "/flagperf/flagperf_base_microbenchmarks.csv"
        let (header, data) = try CSV.read(file)
        guard let cBench = header.firstIndex(of: "benchmark"), let cVendor = header.firstIndex(of: "vendor"),
            let cValue = header.firstIndex(of: "core.0.value"), let cSuite = header.firstIndex(of: "suite")
        else { throw ValidationDataError(file: file, message: "unexpected columns") }
        let cPower = header.firstIndex(of: "power.单卡平均功耗(8卡平均)")
        let types: [String: DataType] = [
            "computation-FP16": .fp16, "computation-BF16": .bf16, "computation-FP32": .fp32, "computation-INT8": .int8,
            "computation-TF32": .tf32,
        ]
        var rows: [GEMMRow] = []
        for f in data where f[cVendor] == vendor {
            guard let dtype = types[f[cBench]], f.count > cValue, f[cValue].first?.isNumber == true else { continue }
            var power: Double?
            if let cPower, f.count > cPower, f[cPower].first?.isNumber == true {
                power = try CSV.number(f[cPower], file: file, row: f.line)
            }
            let zeroData = vendor == "nvidia" && f[cSuite] == "toolkits"
            rows.append(
                GEMMRow(
                    suite: f[cSuite], benchmark: f[cBench],
                    kernel: Kernel(
                        id: "gemm", op: .gemm(.init(m: size, n: size, k: size)), dtype: dtype, activity: zeroData ? 0 : 1),
                    tflops: try CSV.number(f[cValue], file: file, row: f.line) * 1e12, power: power))
        }
        return rows
    }

    /// The A100 / A800 tensor-core rows: 8192^3 GEMMs looped 50,000 times (about 200 s), so each runs at the
    /// clock it sustains. The toolkit's zero operands stay far below the 400 W cap (FlagPerf: 280 W at most), so
    /// they run at the boost clock and measure the matrix efficiency alone; the benchmark's random operands on all
    /// eight cards of the DGX meet the cap, and their clock measures the MAC energy.
    static let a100 = ValidationSet(
        id: "flagperf-a100", title: "FlagPerf GEMM throughput, DGX A100 / A800: torch.mm on 8 cards, cuBLAS on one",
        chip: "a100-sxm",
        provenance:
            "FlagOpen/FlagPerf @ 1b5a030 base/benchmarks/computation-{BF16,FP16,TF32}/nvidia/A100/README.md (8-card average) "
            + "and base/toolkits/computation-*/nvidia/A100/README.md (one card) (Apache-2.0); A100-40GiB SXM for BF16 and FP16, "
            + "A800-80GiB SXM for TF32 (the same GPU and 400 W limit; memory does not bound an 8192^3 GEMM); "
            + "torch.randn operands in the benchmarks, never-written cudaMallocManaged operands (zero pages) in the toolkits",
        splitRule: "by precision: BF16 and FP16 calibrate (efficiency.matrix and the MAC energies' common scale), TF32 checks",
        read: { directory in
            try gemmRows(directory, vendor: "nvidia").map { row in
                let eight = row.suite == "benchmarks"
                return ValidationRow(
                    label: "\(row.benchmark) \(size)^3 \(eight ? "8 cards, random data" : "1 card, zero data")",
                    kernel: row.kernel, measured: 2 * pow(Double(size), 3) / row.tflops,
                    regime: eight ? "gemm random data" : "gemm zero data", split: row.kernel.dtype == .tf32 ? .check : .calibration)
            }
        })

    static let ascend910b = ValidationSet(
        id: "flagperf-910b", title: "FlagPerf GEMM peaks, Atlas 800T A2 (Ascend 910B)", chip: "ascend-910b2",
        provenance:
            "FlagOpen/FlagPerf @ 1b5a030 base/benchmarks/computation-*/ascend/README.md (Apache-2.0); 8-card average TFLOPS; shape "
            + "not stated, \(size)^3 assumed",
        splitRule: "every row calibrates: each set a figure of the 910B file",
        noCheck:
            "every row set a figure: the four rows fit efficiency.matrix and the MAC energies, the FP32 row chose the fp32 MAC rate, "
            + "and the four rows' average power (364.3-364.7 W) gave the power cap that sets the sustained clock of all of them",
        singleRowFigures:
            "huawei-ascend-910b.yaml: efficiency.matrix and the MAC energies' common scale rest on these four rows of one "
            + "benchmark (one GEMM shape, and that shape assumed); compute.matrix.macs_per_cycle.fp32 on the FP32 row "
            + "alone; power.limit_max on the four rows' average power",
        read: { directory in
            try gemmRows(directory).map { row in
                ValidationRow(
                    label: "\(row.benchmark) \(size)^3", kernel: row.kernel, measured: 2 * pow(Double(size), 3) / row.tflops,
                    regime: "gemm compute-bound", split: .calibration)
            }
        })
}

/// FlashAttention-2 and -3 kernels as their authors and Azure published them: forward alone, and
/// forward plus backward (one row: the forward kernel followed by the backward kernel). The digests
/// ship with the repository under `chips/measured/`; their headers give provenance.
enum FlashAttentionSet {
    static let h100 = make(
        id: "flashattention-h100", chip: "h100-sxm", file: "flashattention-h100.csv",
        title: "FlashAttention-2 and -3, H100 SXM5 (forward; FA2 forward + backward)",
        provenance:
            "Dao-AILab/flash-attention README figures flash3_fp16_fwd.png @ 7ef24848 and flash2_h100_fwd_bwd_benchmark.png @ "
            + "4f285b35 (bar labels, BSD-3), pytorch/benchmark @ ff65cb67 (PR #2391 test plan), Azure/AI-benchmarking-guide "
            + "@ 8fd0c6e (MIT)",
        fitted: true)
    static let a100 = make(
        id: "flashattention-a100", chip: "a100-sxm", file: "flashattention-a100.csv",
        title: "FlashAttention-2 forward + backward, A100 SXM4",
        provenance:
            "Dao-AILab/flash-attention README figure flash2_a100_fwd_bwd_benchmark.png @ 4f285b35 (bar labels, BSD-3), "
            + "Azure/AI-benchmarking-guide @ 8fd0c6e (MIT)",
        fitted: true)
    static let h200 = make(
        id: "flashattention-h200", chip: "h200-sxm", file: "flashattention-h200.csv",
        title: "FlashAttention-2 forward + backward, H200 SXM (Azure ND H200 v5)",
        provenance: "Azure/AI-benchmarking-guide @ 8fd0c6e Azure_Results ND_H200_v5 (MIT)",
        fitted: false)

    static func make(id: String, chip: String, file name: String, title: String, provenance: String, fitted: Bool) -> ValidationSet {
        var set = ValidationSet(
            id: id, title: title, chip: chip,
            provenance: provenance + "; TFLOPS = 4 b s^2 h d / t (x 3.5 / (t_fwd + t_bwd) for forward + backward), halved when causal",
            splitRule: fitted
                ? "by head dimension: 64 and 256 calibrate, 128 checks (every source, both kernels, both passes, causal and not)"
                : "every row checks: nothing is fitted on this set (the H200 runs the H100's fitted library)",
            read: { directory in try load(directory + "/" + name, fitted: fitted) })
        set.fitted = fitted
        return set
    }

    static func load(_ file: String, fitted: Bool) throws -> [ValidationRow] {
        let (header, data) = try CSV.read(file)
        func column(_ name: String) throws -> Int { try CSV.column(name, in: header, file: file) }
        let cSource = try column("source")
        let cImpl = try column("impl")
        let cType = try column("dtype")
        let cDim = try column("head_dim")
        let cCausal = try column("causal")
        let cBatch = try column("batch")
        let cHeads = try column("heads")
        let cSeq = try column("seqlen")
        let cTF = try column("tflops")
        let cPass = try column("pass")
        return try data.enumerated().map { index, f in
            let line = f.line
            guard f.count == header.count else {
                throw ValidationDataError(file: file, row: line, message: "expected \(header.count) fields, found \(f.count)")
            }
            func int(_ c: Int) throws -> Int { Int(try CSV.number(f[c], file: file, row: line)) }
            guard let dtype = DataType(rawValue: f[cType]) else {
                throw ValidationDataError(file: file, row: line, message: "unknown dtype \(f[cType])")
            }
            guard f[cPass] == "fwd" || f[cPass] == "fwd+bwd" else {
                throw ValidationDataError(file: file, row: line, message: "pass must be fwd or fwd+bwd, found \(f[cPass])")
            }
            let d = try int(cDim)
            let batch = try int(cBatch)
            let heads = try int(cHeads)
            let seq = try int(cSeq)
            let causal = f[cCausal] == "true"
            let both = f[cPass] == "fwd+bwd"
            let flops = 4 * Double(batch) * Double(seq) * Double(seq) * Double(heads) * Double(d) / (causal ? 2 : 1) * (both ? 3.5 : 1)
            let tflops = try CSV.number(f[cTF], file: file, row: line) * 1e12
            let forward = Op.Attention(
                phase: .prefill, batch: batch, heads: heads, kvHeads: heads, qLen: seq, kvLen: seq, headDim: d,
                causal: causal, impl: f[cImpl])
            var backward = forward
            backward.backward = true
            return ValidationRow(
                label: "\(f[cSource]) \(f[cImpl]) \(f[cPass]) d=\(d)\(causal ? " causal" : "") b=\(batch) s=\(seq)",
                kernel: Kernel(id: "attention", op: .attention(forward), dtype: dtype),
                followers: both ? [Kernel(id: "attention_backward", op: .attention(backward), dtype: dtype)] : [],
                measured: flops / tflops, regime: "attention \(f[cImpl])\(both ? " fwd+bwd" : "")",
                split: fitted && d != 128 ? .calibration : .check)
        }
    }
}
