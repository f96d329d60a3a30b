import Config
import TestSupport
import Workloads
import XCTest

/// The shipped model files, the config.json reader, and the traces the generator writes.
final class ModelTests: XCTestCase {
    let models = packageRoot + "/workloads/models"

    func model(_ id: String) throws -> ModelDescription { try ModelCatalog.resolve(id, directory: models).model }

    /// Every shipped model reads without a warning, and its size is the one its authors publish
    /// (model cards: 6.74 B, 13.02 B (the safetensors total, 13,015,864,320), 8.03 B, 70.6 B, 405.9 B (HF: 406 B), 72.7 B, 30.5 B of which 3.3 B active,
    /// 235 B of which 22 B active, 671 B of which 37 B active; TeleChat2's safetensors index: 113.28 B).
    func testShippedModelsHaveTheirPublishedSizes() throws {
        let files = try ModelCatalog.all(in: models)
        XCTAssertGreaterThanOrEqual(files.count, 12)
        for file in files { XCTAssertEqual(file.warnings, [], file.id) }
        let published: [(String, Double, Double?)] = [
            ("llama-2-7b", 6.74, nil), ("llama-2-13b", 13.02, nil), ("llama-3-8b", 8.03, nil), ("llama-3-70b", 70.6, nil),
            ("llama-3.1-405b", 405.9, nil),
            ("qwen2.5-72b", 72.7, nil), ("qwen3-30b-a3b", 30.5, 3.3), ("qwen3-235b-a22b", 235, 22), ("deepseek-v3", 671, 37),
            ("telechat2-115b", 113.28, nil),
        ]
        for (id, total, active) in published {
            let m = try model(id)
            XCTAssertEqual(Double(m.parameters) / 1e9, total, accuracy: total * 0.005, id)
            if let active { XCTAssertEqual(Double(m.activeParameters) / 1e9, active, accuracy: active * 0.03, id) }
        }
        let ds = try model("deepseek-v3")
        XCTAssertEqual(ds.moe?.denseLayers, 3)
        XCTAssertEqual(ds.mla?.kvLoraRank, 512)
        XCTAssertEqual(ds.kvElementsPerTokenPerLayer, 576)
        XCTAssertEqual(ds.mtpLayers, 1)
        XCTAssertEqual(ds.dtype, .fp8)
        XCTAssertTrue(try model("qwen3-8b").qkNorm)
        XCTAssertTrue(try model("qwen2.5-72b").qkvBias)
    }

    func testConfigJSONFieldsItDoesNotUseAreNamed() throws {
        let text = """
            {"_name_or_path": "org/My-Model", "model_type": "llama", "hidden_size": 1024, "intermediate_size": 4096,
             "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 1000, "rope_theta": 10000,
             "fancy_new_thing": 3}
            """
        let file = try ModelReader.read(try ConfigNode.parse(text: text, file: "config.json"))
        XCTAssertEqual(file.model.name, "My-Model")
        XCTAssertEqual(file.model.kvHeads, 8)
        XCTAssertEqual(file.model.headDim, 128)
        XCTAssertEqual(file.warnings.count, 1)
        XCTAssertTrue(file.warnings[0].contains("\"fancy_new_thing\""), file.warnings[0])
    }

    func testBadConfigsAreRefusedWithTheirPlace() throws {
        func message(_ text: String) -> String {
            do {
                _ = try ModelReader.read(try ConfigNode.parse(text: text, file: "m.yaml"))
                return "read"
            } catch { return "\(error)" }
        }
        let base = "schema: 1\nname: M\nsource: https://example.org/config.json\nconfig:\n  hidden_size: 1024\n  num_hidden_layers: 2\n"
        XCTAssertTrue(message(base + "  num_attention_heads: 8\n").contains("missing required field \"vocab_size\""))
        XCTAssertTrue(message(base + "  num_attention_heads: -8\n  vocab_size: 10\n  intermediate_size: 10\n").contains("m.yaml:7"))
        XCTAssertTrue(
            message(base + "  num_attention_heads: 8\n  num_key_value_heads: 3\n  vocab_size: 10\n  intermediate_size: 10\n").contains(
                "not a multiple"))
        XCTAssertTrue(message("schema: 1\nname: M\nsource: example.org\nconfig: {}\n").contains("https://"))
        XCTAssertTrue(message(base.replacingOccurrences(of: "name: M\n", with: "name: M\nnmae: x\n")).contains("unknown field \"nmae\""))
        let moe =
            base + "  num_attention_heads: 8\n  vocab_size: 10\n  num_experts: 4\n  num_experts_per_tok: 2\n  moe_intermediate_size: 64\n"
        XCTAssertEqual(message(moe), "read")
        XCTAssertTrue(message(moe + "  mlp_only_layers: [0]\n").contains("not supported"))
    }

    /// The single-chip decode step is the generator's, kernel for kernel, as the ML.ENERGY set uses it.
    func testDecodeStepShapes() throws {
        let m = ModelDescription.llama31_8B
        let trace = m.decodeStep(batch: 64, context: 1024)
        XCTAssertEqual(trace.tokens, 64)
        XCTAssertEqual(trace.kernels.count, 1 + 32 * 9 + 2)
        guard case .gemm(let qkv) = trace.kernels[2].op else { return XCTFail("\(trace.kernels[2].op)") }
        XCTAssertEqual([qkv.m, qkv.n, qkv.k], [64, (32 + 16) * 128, 4096])
        guard case .gemm(let head) = trace.kernels.last!.op else { return XCTFail() }
        XCTAssertEqual([head.m, head.n, head.k], [64, 128_256, 4096])
        for (i, k) in trace.kernels.enumerated() { XCTAssertEqual(k.deps, i == 0 ? [] : [i - 1]) }
    }

    func testTensorAndPipelineParallelShapes() throws {
        let m = try model("llama-3-70b")
        let request = GenerationRequest(phase: .prefill, batch: 2, seq: 1024, parallelism: Parallelism(tp: 4, pp: 2))
        let trace = try TraceGenerator(model: m, request: request).trace()
        XCTAssertEqual(trace.tokens, 2048)
        let ops = trace.kernels.map(\.op)
        let reduces = ops.compactMap { op -> Op.Collective? in
            if case .collective(let c) = op, c.kind == .all_reduce { return c } else { return nil }
        }
        XCTAssertEqual(reduces.count, 2 * 40)  // two per layer, 40 layers on the last stage
        XCTAssertEqual(reduces[0].bytes, 2048 * 8192 * 2)
        XCTAssertEqual(reduces[0].ranks, 4)
        guard case .collective(let recv) = ops[0] else { return XCTFail("\(ops[0])") }
        XCTAssertEqual(recv.kind, .send_recv)
        let qkv = trace.kernels.first { $0.id == "L40.qkv" }!
        guard case .gemm(let g) = qkv.op else { return XCTFail() }
        XCTAssertEqual(g.n, (16 + 2 * 2) * 128)
        guard case .attention(let a) = trace.kernels.first(where: { $0.id == "L40.attention" })!.op else { return XCTFail() }
        XCTAssertEqual([a.heads, a.kvHeads, a.qLen, a.kvLen], [16, 2, 1024, 1024])
        XCTAssertTrue(a.causal)
        guard case .gemm(let head) = trace.kernels.first(where: { $0.id == "lm_head" })!.op else { return XCTFail() }
        XCTAssertEqual(head.m, 2)  // the last token of each sequence
    }

    func testExpertParallelAndLatentAttention() throws {
        let m = try model("deepseek-v3")
        let request = GenerationRequest(
            phase: .decode, batch: 16, seq: 2048, parallelism: Parallelism(ep: 8, dp: 8), precision: .fp8, expertSkew: 2)
        let trace = try TraceGenerator(model: m, request: request).trace()
        let dispatches = trace.kernels.filter { $0.id.hasSuffix(".dispatch") }
        XCTAssertEqual(dispatches.count, 58)
        guard case .collective(let d) = dispatches[0].op else { return XCTFail() }
        XCTAssertEqual(d.bytes, 16 * 8 * 7168)  // fp8 dispatch of every routed copy
        guard case .groupedGemm(let g) = trace.kernels.first(where: { $0.id == "L3.experts_gate_up" })!.op else { return XCTFail() }
        // 16 tokens x 8 ranks x top-8 = 1024 copies over 256 experts: 1 - (1 - 1/256)^1024 = 98% of the
        // rank's 32 experts get any (31), about 4 tokens each; the hottest at twice the mean.
        XCTAssertEqual(g.groups, 31)
        XCTAssertEqual(g.mPerGroup[0], 8)
        XCTAssertEqual(g.mPerGroup.reduce(0, +), 4 * 32, accuracy: 2)
        guard case .attention(let a) = trace.kernels.first(where: { $0.id == "L3.attention" })!.op else { return XCTFail() }
        XCTAssertEqual([a.heads, a.kvHeads, a.headDim, a.kvLen], [128, 1, 576, 2048])
        XCTAssertTrue(a.sharedKV)
        XCTAssertEqual(trace.kernels.first { $0.id == "L3.experts_down" }?.dtype, .fp8)
    }

    func testTrainingStepHasBackwardAndOverlappedGradientReduction() throws {
        let m = try model("llama-2-7b")
        let request = GenerationRequest(phase: .train, batch: 4, seq: 2048, parallelism: Parallelism(tp: 2, dp: 4), microbatches: 2)
        let trace = try TraceGenerator(model: m, request: request).trace()
        XCTAssertEqual(trace.tokens, 8192)
        let ids = Set(trace.kernels.map(\.id))
        XCTAssertTrue(ids.contains("mb1.L0.qkv.dgrad") && ids.contains("mb1.L0.qkv.wgrad") && ids.contains("mb0.L31.attention.backward"))
        // Weight gradients add into the fp32 main_grad (gradient-accumulation fusion); data gradients write theirs.
        guard case .gemm(let wgrad) = trace.kernels.first(where: { $0.id == "mb1.L0.qkv.wgrad" })!.op,
            case .gemm(let dgrad) = trace.kernels.first(where: { $0.id == "mb1.L0.qkv.dgrad" })!.op
        else { return XCTFail("wrong ops") }
        XCTAssertEqual(wgrad.accumulate, .fp32)
        XCTAssertNil(dgrad.accumulate)
        var bf16Request = request
        bf16Request.gradientType = .bf16
        let bf16Trace = try TraceGenerator(model: m, request: bf16Request).trace()
        guard case .gemm(let bf16Wgrad) = bf16Trace.kernels.first(where: { $0.id == "mb1.L0.qkv.wgrad" })!.op else { return XCTFail() }
        XCTAssertEqual(bf16Wgrad.accumulate, .bf16)
        // One per layer and one for the embedding and LM head tables, in fp32 (Megatron's main_grad).
        let reductions = trace.kernels.filter { $0.id.hasSuffix("grad_reduce_scatter") }
        XCTAssertEqual(reductions.count, 33)
        XCTAssertTrue(reductions.allSatisfy { $0.stream == 1 && $0.dtype == .fp32 })
        guard case .collective(let table) = reductions.last!.op else { return XCTFail() }
        XCTAssertEqual(table.bytes, 2 * 32000 * 4096 / 2 * 4)
        let optimizer = trace.kernels.firstIndex { $0.id == "optimizer_adam" }!
        XCTAssertTrue(
            Set(trace.kernels[optimizer].deps).isSuperset(of: reductions.map { r in trace.kernels.firstIndex { $0.id == r.id }! }))
        XCTAssertEqual(trace.kernels[optimizer].dtype, .fp32)
        // Sequence parallelism: norms over 1/tp of the tokens, all-gathers and reduce-scatters
        // (an all-gather's gradient is a reduce-scatter), no all-reduce.
        guard case .rowwise(let norm) = trace.kernels.first(where: { $0.id == "mb0.L0.input_norm" })!.op else { return XCTFail() }
        XCTAssertEqual(norm.rows, 2 * 2048 / 2)
        func count(_ kind: Op.CollectiveKind) -> Int {
            trace.kernels.filter { if case .collective(let c) = $0.op { return c.kind == kind && $0.stream == 0 } else { return false } }
                .count
        }
        XCTAssertEqual(count(.all_reduce), 0)
        // Every reduce-scatter's all-gather, the re-gathers of the attention's, MLP's and LM head's
        // inputs for their weight gradients (per micro-batch), and the parameter all-gather after Adam.
        XCTAssertEqual(count(.all_gather), count(.reduce_scatter) + 2 * (32 * 2 + 1) + 1)
        XCTAssertEqual(count(.reduce_scatter), 2 * (32 * 4 + 1))
        // Without overlap: one reduce-scatter of the whole stage after backward, on the compute stream.
        var serial = request
        serial.overlapGradientReduce = false
        serial.sequenceParallel = false
        let late = try TraceGenerator(model: m, request: serial).trace()
        let sync = late.kernels.filter { $0.id.hasSuffix("grad_reduce_scatter") }
        XCTAssertEqual(sync.map(\.id), ["grad_reduce_scatter"])
        XCTAssertEqual(sync[0].stream, 0)
        XCTAssertTrue(late.kernels.contains { $0.id == "mb0.L0.attn_all_reduce" })
    }

    /// FP8 training quantises every FP8 GEMM's input (forward), its output gradient (the cast's
    /// mirror) and, for the weight gradient, both operands transposed; bf16 training casts nothing.
    func testFP8TrainingCastsBeforeItsGEMMs() throws {
        let m = try model("llama-2-7b")
        let fp8 = try TraceGenerator(model: m, request: .init(phase: .train, batch: 1, seq: 1024, precision: .fp8)).trace()
        let ids = fp8.kernels.map(\.id)
        // The layers' forward GEMMs.
        let gemms = fp8.kernels.filter {
            guard case .gemm = $0.op else { return false }
            return $0.id.hasPrefix("L") && $0.dtype == .fp8 && !$0.id.hasSuffix("grad")
        }
        XCTAssertFalse(gemms.isEmpty)
        for g in gemms {
            let index = ids.firstIndex(of: g.id)!
            XCTAssertEqual(ids[index - 1], g.id + ".fp8_cast", g.id)
            for suffix in [".fp8_cast.backward", ".input_fp8_transpose", ".grad_fp8_transpose"] {
                XCTAssertTrue(ids.contains(g.id + suffix), g.id + suffix)
            }
        }
        let bf16 = try TraceGenerator(model: m, request: .init(phase: .train, batch: 1, seq: 1024)).trace()
        XCTAssertFalse(bf16.kernels.contains { $0.id.contains("fp8") })
        let decode = try TraceGenerator(model: m, request: .init(phase: .decode, batch: 8, seq: 1024, precision: .fp8)).trace()
        XCTAssertFalse(decode.kernels.contains { $0.id.contains("fp8_cast") })
    }

    /// Under expert parallelism the routed experts' gradients reduce over the expert-data-parallel
    /// group (tp x dp / ep ranks: none at ep = dp) and their optimizer shard is theirs alone.
    func testExpertGradientsReduceOverTheirOwnGroup() throws {
        let m = try model("qwen3-30b-a3b")
        let request = GenerationRequest(phase: .train, batch: 1, seq: 1024, parallelism: Parallelism(ep: 8, dp: 8))
        let trace = try TraceGenerator(model: m, request: request).trace()
        XCTAssertFalse(trace.kernels.contains { $0.id.contains("expert_grad") })
        let dense = trace.kernels.filter { $0.id == "L0.grad_reduce_scatter" }
        XCTAssertEqual(dense.count, 1)
        guard case .collective(let c) = dense[0].op else { return XCTFail() }
        XCTAssertEqual(
            Double(c.bytes), (m.rankParameters(layer: 0, request.parallelism) - m.rankExpertParameters(layer: 0, request.parallelism)) * 4,
            accuracy: 4)
        var wider = request
        wider.parallelism = Parallelism(ep: 4, dp: 8)
        let grouped = try TraceGenerator(model: m, request: wider).trace()
        guard case .collective(let e) = grouped.kernels.first(where: { $0.id == "L0.expert_grad_reduce_scatter" })!.op else {
            return XCTFail()
        }
        XCTAssertEqual(e.ranks, 2)
    }

    /// A small decode batch's routed copies hit few experts (4 x top-8 of 128: 128 (1 - (1 - 1/128)^32),
    /// about 28), and only those run; a large batch reaches every expert.
    func testSmallBatchesRunOnlyTheExpertsTheyHit() throws {
        let m = try model("qwen3-30b-a3b")
        func groups(_ batch: Int) throws -> (Int, Int) {
            let trace = try TraceGenerator(model: m, request: .init(phase: .decode, batch: batch, seq: 256)).trace()
            guard case .groupedGemm(let g) = trace.kernels.first(where: { $0.id == "L0.experts_gate_up" })!.op else { return (0, 0) }
            return (g.groups, g.mPerGroup.reduce(0, +))
        }
        let (few, rows) = try groups(4)
        XCTAssertEqual(few, 28)
        XCTAssertEqual(rows, 32, accuracy: 2)
        XCTAssertEqual(try groups(256).0, 128)
    }

    func testRequestsThatDoNotDivideAreRefused() throws {
        let m = try model("llama-3-8b")
        func message(_ r: GenerationRequest, _ model: ModelDescription? = nil) -> String {
            do {
                _ = try TraceGenerator(model: model ?? m, request: r).trace()
                return "generated"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message(.init(phase: .decode, batch: 1, seq: 64, parallelism: Parallelism(tp: 3))).contains("--tp 3"))
        XCTAssertTrue(message(.init(phase: .decode, batch: 1, seq: 64, parallelism: Parallelism(ep: 2))).contains("no experts"))
        XCTAssertTrue(message(.init(phase: .decode, batch: 1, seq: 64, parallelism: Parallelism(cp: 2))).contains("not decode"))
        XCTAssertTrue(message(.init(phase: .prefill, batch: 0, seq: 64)).contains("--batch"))
        XCTAssertTrue(message(.init(phase: .train, batch: 3, seq: 64, microbatches: 2)).contains("--microbatches"))
        XCTAssertTrue(message(.init(phase: .prefill, batch: 1 << 20, seq: 1 << 20)).contains("2^26"))
    }

    /// What the writer writes reads back as the same trace, in YAML and in JSON.
    func testWrittenTracesReadBack() throws {
        let m = try model("qwen3-30b-a3b")
        let request = GenerationRequest(
            phase: .train, batch: 2, seq: 256, parallelism: Parallelism(tp: 2, ep: 2, dp: 2, cp: 2), expertSkew: 1.5, recompute: true)
        let trace = try TraceGenerator(model: m, request: request).trace()
        for format in [TraceWriter.Format.yaml, .json] {
            let text = TraceWriter.text(trace, format: format, header: ["a comment"])
            let back = try Trace.parse(text: text, file: format == .yaml ? "t.yaml" : "t.json")
            XCTAssertEqual(back.name, trace.name)
            XCTAssertEqual(back.tokens, trace.tokens)
            XCTAssertEqual(back.kernels.map(\.id), trace.kernels.map(\.id))
            XCTAssertEqual(back.kernels.map(\.op), trace.kernels.map(\.op))
            XCTAssertEqual(back.kernels.map(\.deps), trace.kernels.map(\.deps))
            XCTAssertEqual(back.kernels.map(\.stream), trace.kernels.map(\.stream))
            XCTAssertEqual(back.kernels.map(\.dtype.rawValue), trace.kernels.map(\.dtype.rawValue))
        }
    }
}
