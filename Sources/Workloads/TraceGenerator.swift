import Chips
import Foundation

/// How a model is split over ranks: tensor (tp), pipeline (pp), expert (ep), data (dp) and
/// context (cp) parallelism, Megatron's names. Ranks = tp x cp x pp x dp; the expert-parallel
/// group is carved out of the data- and tensor-parallel ranks (ep divides tp x dp).
public struct Parallelism: Sendable, Hashable, CustomStringConvertible {
    public var tp: Int, pp: Int, ep: Int, dp: Int, cp: Int
    public init(tp: Int = 1, pp: Int = 1, ep: Int = 1, dp: Int = 1, cp: Int = 1) {
        self.tp = tp
        self.pp = pp
        self.ep = ep
        self.dp = dp
        self.cp = cp
    }
    public var ranks: Int { tp * cp * pp * dp }
    public var description: String {
        [("tp", tp), ("pp", pp), ("ep", ep), ("dp", dp), ("cp", cp)].filter { $0.1 > 1 }.map { "\($0.0)\($0.1)" }.joined(separator: "-")
    }
}

/// The number format of the linear layers' GEMMs (weights and activations); attention, norms and
/// activations stay in bf16, as in vLLM, SGLang and TensorRT-LLM's fp8 and int8 (w8a8) recipes.
public enum Precision: String, Sendable, CaseIterable {
    case bf16, fp8, int8, w8a8

    public var gemmType: DataType {
        switch self {
        case .bf16: return .bf16
        case .fp8: return .fp8
        case .int8, .w8a8: return .int8
        }
    }
}

/// What to generate: one step of a phase, at a batch and sequence length, split as `parallelism` says.
public struct GenerationRequest: Sendable, Hashable {
    public enum Phase: String, Sendable, CaseIterable { case prefill, decode, train }

    public var phase: Phase
    /// Sequences per model replica (one data-parallel rank's share).
    public var batch: Int
    /// Prefill and train: new tokens per sequence. Decode: the KV-cache length, unless `kvLen` is given.
    public var seq: Int
    /// Prefill: tokens already cached before the new ones (a prefix or an earlier chunk; default 0).
    /// Decode: the KV-cache length each sequence attends to (default `seq`).
    public var kvLen: Int?
    public var parallelism: Parallelism
    public var precision: Precision
    /// The most loaded expert's tokens over the mean (1: balanced routing). The representative
    /// rank holds it, since the all-to-all makes every rank wait for the slowest.
    public var expertSkew: Double
    /// Train: recompute each layer's forward pass before its backward (full activation recomputation).
    public var recompute: Bool
    /// Train: micro-batches per step, each of batch / microbatches sequences.
    public var microbatches: Int
    /// The KV cache's number format (bf16, or fp8 as TensorRT-LLM's and vLLM's fp8 KV caches
    /// store it); attention reads it in this format.
    public var kvCache: DataType
    /// Devices per node of the system the ranks run on, to place the data- and pipeline-parallel
    /// groups (strided over nodes); nil: every group packed on as few nodes as it fills.
    public var devicesPerNode: Int?
    /// Train: end the step with the gradient reduction and the optimizer (false: the micro-batches'
    /// forward and backward passes alone, as between two optimizer steps).
    public var optimizerStep: Bool
    /// Train: the format gradients are accumulated and reduced in (fp32: Megatron-LM's main_grad
    /// buffers for bf16 models; bf16: DeepSpeed's grad_accum_dtype bf16).
    public var gradientType: DataType
    /// Train: reduce each layer's gradients while backward goes on (Megatron's
    /// --overlap-grad-reduce), or the whole buffer once backward is done.
    public var overlapGradientReduce: Bool
    /// Train: Megatron's sequence parallelism under tensor parallelism (--sequence-parallel): norms
    /// and residuals on each rank's 1/tp of the tokens, all-gathers before the column-parallel
    /// GEMMs and reduce-scatters after the row-parallel ones in place of the all-reduces.
    public var sequenceParallel: Bool

    public init(
        phase: Phase, batch: Int, seq: Int, kvLen: Int? = nil, parallelism: Parallelism = Parallelism(), precision: Precision = .bf16,
        expertSkew: Double = 1, recompute: Bool = false, microbatches: Int = 1, kvCache: DataType = .bf16, devicesPerNode: Int? = nil,
        optimizerStep: Bool = true, gradientType: DataType = .fp32, overlapGradientReduce: Bool = true, sequenceParallel: Bool = true
    ) {
        self.sequenceParallel = sequenceParallel
        self.overlapGradientReduce = overlapGradientReduce
        self.optimizerStep = optimizerStep
        self.gradientType = gradientType
        self.kvCache = kvCache
        self.phase = phase
        self.batch = batch
        self.seq = seq
        self.kvLen = kvLen
        self.parallelism = parallelism
        self.precision = precision
        self.expertSkew = expertSkew
        self.recompute = recompute
        self.microbatches = microbatches
        self.devicesPerNode = devicesPerNode
    }
}

/// A request the generator cannot honour (a split that does not divide the model, a size out of range).
public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Writes one rank's kernel trace for a model step, kernel by kernel as the serving and training
/// frameworks launch them (vLLM and SGLang for inference, Megatron-LM for training):
///
/// - each layer: the fused residual RMSNorm, the QKV projection (MLA: the query and KV latents,
///   their norms and up-projections), rotary embedding, attention (FlashAttention prefill over the
///   new tokens and the cached prefix, decode over the KV cache; MLA decodes in the absorbed form,
///   one latent KV head of kv_lora_rank + rope dims), the output projection, the second norm, and
///   the MLP (gate/up, SiLU-and-multiply, down) or the MoE block (router, top-k, permutation,
///   grouped GEMMs over the rank's experts at the stated load, shared experts, un-permutation);
/// - the collectives the split needs: tensor-parallel all-reduces after the attention and MLP
///   (a reduce-scatter and an all-gather around the MoE block when it is expert-parallel),
///   the expert-parallel dispatch and combine all-to-alls, the context-parallel KV all-gather, the
///   pipeline's activation send/recv, and, for training, the data-parallel gradient
///   reduce-scatter (overlapped with backward on stream 1) and parameter all-gather around a
///   ZeRO-1 sharded Adam step;
/// - prefill computes logits for each sequence's last token only; training runs the backward
///   pass (data and weight gradients of every GEMM, FlashAttention's backward) per micro-batch.
///
/// The representative rank is the last pipeline stage (it holds the LM head) and, under expert
/// parallelism, the one holding the most loaded expert. The pipeline's bubbles are not in the
/// trace: they are idle time, which the training estimate adds from the schedule (1F1B).
public struct TraceGenerator: Sendable {
    public var model: ModelDescription
    public var request: GenerationRequest

    public init(model: ModelDescription, request: GenerationRequest) {
        self.model = model
        self.request = request
    }

    /// The layers on the representative (last) pipeline stage.
    public var stageLayers: Range<Int> {
        let perStage = (model.layers + request.parallelism.pp - 1) / request.parallelism.pp
        return max(0, model.layers - perStage)..<model.layers
    }

    /// Checks the split against the model's shapes; every message names the option to change.
    public func check() throws {
        let r = request
        let p = r.parallelism
        for (name, value) in [("--tp", p.tp), ("--pp", p.pp), ("--ep", p.ep), ("--dp", p.dp), ("--cp", p.cp)] where value < 1 {
            throw GenerationError("\(name) must be at least 1, found \(value)")
        }
        guard r.batch >= 1 else { throw GenerationError("--batch must be at least 1 sequence, found \(r.batch)") }
        guard r.seq >= 1 else { throw GenerationError("--seq must be at least 1 token, found \(r.seq)") }
        if let kv = r.kvLen, kv < (r.phase == .decode ? 1 : 0) {
            throw GenerationError("--kv-len must be \(r.phase == .decode ? "at least 1" : "non-negative"), found \(kv)")
        }
        let tokens = r.batch.multipliedReportingOverflow(by: r.phase == .decode ? 1 : r.seq)
        guard !tokens.overflow, tokens.partialValue <= 1 << 26 else {
            throw GenerationError("\(r.batch) sequences of \(r.seq) tokens is more than 2^26 tokens in one step; use fewer")
        }
        guard model.heads % p.tp == 0 else {
            throw GenerationError("--tp \(p.tp) does not divide \(model.name)'s \(model.heads) attention heads")
        }
        if model.mla == nil, model.kvHeads % p.tp != 0, p.tp % model.kvHeads != 0 {
            throw GenerationError("--tp \(p.tp) neither divides nor is a multiple of \(model.name)'s \(model.kvHeads) KV heads")
        }
        guard p.pp <= model.layers else { throw GenerationError("--pp \(p.pp) is more stages than \(model.name)'s \(model.layers) layers") }
        if p.cp > 1 {
            guard r.phase != .decode else {
                throw GenerationError("--cp splits a sequence's tokens: it applies to prefill and train, not decode")
            }
            guard r.seq % (2 * p.cp) == 0 else {
                throw GenerationError("--cp \(p.cp) needs --seq to be a multiple of \(2 * p.cp) (two chunks per rank, load-balanced)")
            }
        }
        if p.ep > 1 {
            guard let moe = model.moe else { throw GenerationError("--ep \(p.ep): \(model.name) has no experts to split") }
            guard moe.experts % p.ep == 0 else {
                throw GenerationError("--ep \(p.ep) does not divide \(model.name)'s \(moe.experts) experts")
            }
            guard (p.tp * p.dp) % p.ep == 0 else {
                throw GenerationError("--ep \(p.ep) must divide --tp x --dp (\(p.tp * p.dp)): the expert group is made of those ranks")
            }
        }
        if r.phase == .train {
            guard r.microbatches >= 1, r.batch % r.microbatches == 0 else {
                throw GenerationError("--microbatches \(r.microbatches) must divide the batch of \(r.batch) sequences")
            }
        }
        guard r.expertSkew >= 1 else { throw GenerationError("--expert-skew is the hottest expert's load over the mean: at least 1") }
    }

    /// The trace of one step on the representative rank.
    public func trace() throws -> Trace {
        try check()
        var b = Builder(model: model, request: request)
        switch request.phase {
        case .prefill, .decode: b.inference()
        case .train: b.train()
        }
        let r = request
        let split = r.parallelism.description
        let shape = r.phase == .decode ? "b\(r.batch)-ctx\(r.kvLen ?? r.seq)" : "b\(r.batch)-s\(r.seq)" + (r.kvLen.map { "-kv\($0)" } ?? "")
        let name = [model.name, r.phase.rawValue, shape, split.isEmpty ? nil : split, r.precision == .bf16 ? nil : r.precision.rawValue]
            .compactMap { $0 }.joined(separator: "-")
        // The stated tokens are one model replica's: its tensor, context and pipeline ranks.
        let replica = r.parallelism.tp * r.parallelism.cp * r.parallelism.pp
        return Trace(name: name, tokens: b.tokensStated, replicaRanks: replica, kernels: b.kernels)
    }
}

/// Builds the kernel list; `last` is the kernel the next one on stream 0 waits for.
private struct Builder {
    let model: ModelDescription
    let request: GenerationRequest
    var kernels: [Kernel] = []
    var last: Int?
    /// Forward ops of the layer being built, to mirror in the backward pass.
    var recorded: [(id: String, op: Op, dtype: DataType)] = []
    var recording = false

    init(model: ModelDescription, request: GenerationRequest) {
        self.model = model
        self.request = request
    }

    var p: Parallelism { request.parallelism }
    var act: DataType { model.dtype == .fp8 ? .bf16 : model.dtype }
    var gemmType: DataType { request.precision == .bf16 ? act : request.precision.gemmType }
    /// Attention runs in the KV cache's format (training keeps activations in bf16).
    var kvType: DataType { request.phase == .train || request.kvCache != .fp8 ? act : .fp8 }
    /// Sequences in one pass (a micro-batch when training).
    var sequences: Int { request.phase == .train ? request.batch / request.microbatches : request.batch }
    /// Tokens one pass processes on this rank (context parallelism splits each sequence).
    var tokens: Int { request.phase == .decode ? sequences : sequences * request.seq / p.cp }
    /// The tokens the trace states: every token of the step on this model replica.
    var tokensStated: Int { request.phase == .decode ? request.batch : request.batch * request.seq }
    /// Sequence parallelism: training under tensor parallelism, when the request keeps it on.
    var sequenceParallel: Bool { request.phase == .train && p.tp > 1 && request.sequenceParallel }
    /// Rows of the norms and residual adds: the rank's 1/tp of the tokens under sequence parallelism.
    var residualRows: Int { sequenceParallel ? max(1, tokens / p.tp) : tokens }
    var headsPerRank: Int { model.heads / p.tp }
    var kvHeadsPerRank: Int { max(1, model.kvHeads / p.tp) }
    /// Ranks of a data-parallel (or pipeline) group that share a node: groups stride over the
    /// tensor- and context-parallel ranks, which fill a node first.
    func perNode(stride: Int, ranks: Int) -> Int? {
        guard let devices = request.devicesPerNode else { return nil }
        return max(1, min(ranks, devices / stride))
    }

    mutating func add(_ id: String, _ op: Op, _ dtype: DataType? = nil, stream: Int = 0, deps: [Int]? = nil) {
        let type = dtype ?? act
        let waits = deps ?? (last.map { [$0] } ?? [])
        kernels.append(Kernel(id: id, op: op, dtype: type, stream: stream, deps: waits))
        if stream == 0 { last = kernels.count - 1 }
        if recording { recorded.append((id, op, type)) }
    }

    mutating func gemm(_ id: String, m: Int, n: Int, k: Int, batch: Int = 1, dtype: DataType? = nil) {
        castToFP8(id, rows: m * batch, columns: k, dtype ?? gemmType)
        add(id, .gemm(.init(m: m, n: n, k: k, batch: batch)), dtype ?? gemmType)
    }

    /// FP8 training quantises a GEMM's activation input first (DeepSeek-V3's recipe: per-token
    /// 1x128 scales, a kernel of its own that reads bf16 and writes fp8 and its scales). Its mirror
    /// in the backward pass is the output gradient's cast; ``backward(id:_:_:)`` adds the
    /// transposed casts the weight gradient needs.
    mutating func castToFP8(_ id: String, rows: Int, columns: Int, _ dtype: DataType) {
        guard request.phase == .train, dtype == .fp8 else { return }
        add("\(id).fp8_cast", .elementwise(.init(elements: rows * columns, reads: 2, writes: 1, flopsPerElement: 3)), .fp8)
    }

    mutating func norm(_ id: String, rows: Int, columns: Int, residual: Bool = false) {
        add(id, .rowwise(.init(kind: .norm, rows: rows, columns: columns, threads: min(columns, 1024), residual: residual)))
    }

    mutating func collective(_ id: String, _ kind: Op.CollectiveKind, bytes: Double, ranks: Int, perNode: Int? = nil) {
        guard ranks > 1 else { return }
        add(id, .collective(.init(kind: kind, bytes: Int(bytes.rounded()), ranks: ranks, ranksPerNode: perNode)))
    }

    // MARK: Inference

    mutating func inference() {
        let layers = TraceGenerator(model: model, request: request).stageLayers
        if layers.lowerBound == 0 {
            add("embedding", .embedding(.init(tokens: tokens, hidden: model.hidden)))
        } else {
            receiveFromPreviousStage("")
        }
        for l in layers { layer(l) }
        norm("final_norm", rows: tokens, columns: model.hidden, residual: true)
        // Logits for each sequence's next token only (the last of a prefill's), vocabulary-parallel.
        gemm("lm_head", m: sequences, n: (model.vocab + p.tp - 1) / p.tp, k: model.hidden, dtype: act)
        collective("logits_all_gather", .all_gather, bytes: Double(sequences * model.vocab) * 4, ranks: p.tp)
    }

    mutating func layer(_ l: Int) {
        let t = tokens
        // The residual add is fused into the norm from the second layer on (vLLM's fused_add_rms_norm).
        norm("L\(l).input_norm", rows: residualRows, columns: model.hidden, residual: l > 0)
        gatherSequence("L\(l).attn_all_gather")
        if let mla = model.mla { mlaAttention(l, mla) } else { gqaAttention(l) }
        gemmOutput(l)
        norm("L\(l).post_norm", rows: sequenceParallel ? residualRows : t, columns: model.hidden, residual: true)
        if model.isMoELayer(l), let moe = model.moe { moeBlock(l, moe) } else { denseMLP(l) }
    }

    mutating func gqaAttention(_ l: Int) {
        let t = tokens
        let h = headsPerRank
        let kv = kvHeadsPerRank
        let d = model.headDim
        gemm("L\(l).qkv", m: t, n: (h + 2 * kv) * d, k: model.hidden)
        if model.qkNorm {
            // vLLM runs its rms_norm kernel over the heads as rows: one block of head_dim threads each.
            add("L\(l).q_norm", .rowwise(.init(kind: .norm, rows: t * h, columns: d, threads: d)))
            add("L\(l).k_norm", .rowwise(.init(kind: .norm, rows: t * kv, columns: d, threads: d)))
        }
        add(
            "L\(l).rope",
            .elementwise(
                .init(
                    elements: t * (h + kv) * d, reads: 1, writes: 1, flopsPerElement: 6, blocks: t, threads: 2 * min((h + kv) * d / 2, 512))
            ))
        attention(l, heads: h, kvHeads: kv, headDim: d, kvBytesPerToken: Double(2 * kv * d) * kvType.bytes)
    }

    mutating func mlaAttention(_ l: Int, _ mla: ModelDescription.MLA) {
        let t = tokens
        let h = headsPerRank
        if mla.qLoraRank > 0 {
            gemm("L\(l).q_a_proj", m: t, n: mla.qLoraRank, k: model.hidden)
            norm("L\(l).q_a_norm", rows: t, columns: mla.qLoraRank)
            gemm("L\(l).q_b_proj", m: t, n: h * mla.qkHeadDim, k: mla.qLoraRank)
        } else {
            gemm("L\(l).q_proj", m: t, n: h * mla.qkHeadDim, k: model.hidden)
        }
        gemm("L\(l).kv_a_proj", m: t, n: mla.kvLoraRank + mla.qkRopeHeadDim, k: model.hidden)
        norm("L\(l).kv_a_norm", rows: t, columns: mla.kvLoraRank)
        add(
            "L\(l).rope",
            .elementwise(
                .init(
                    elements: t * (h + 1) * mla.qkRopeHeadDim, reads: 1, writes: 1, flopsPerElement: 6, blocks: t,
                    threads: min((h + 1) * mla.qkRopeHeadDim, 1024))))
        if request.phase == .decode {
            // Absorbed form (FlashMLA): queries into the latent space, attention over one latent
            // KV head of kv_lora_rank + rope dims, values out of it per head.
            gemm("L\(l).q_absorb", m: t, n: mla.kvLoraRank, k: mla.qkNopeHeadDim, batch: h, dtype: act)
            attention(
                l, heads: h, kvHeads: 1, headDim: mla.kvLoraRank + mla.qkRopeHeadDim,
                kvBytesPerToken: Double(mla.kvLoraRank + mla.qkRopeHeadDim) * kvType.bytes, sharedKV: true)
            gemm("L\(l).v_absorb", m: t, n: mla.vHeadDim, k: mla.kvLoraRank, batch: h, dtype: act)
        } else {
            // Prefill expands the latents of every token attended to into per-head keys and values.
            let attended = tokens + (request.kvLen ?? 0) * sequences
            gemm("L\(l).kv_b_proj", m: attended, n: h * (mla.qkNopeHeadDim + mla.vHeadDim), k: mla.kvLoraRank)
            attention(
                l, heads: h, kvHeads: h, headDim: mla.qkHeadDim, kvBytesPerToken: Double(mla.kvLoraRank + mla.qkRopeHeadDim) * kvType.bytes)
        }
    }

    /// The attention kernel; under context parallelism, preceded by the all-gather of the other
    /// ranks' keys and values (Megatron's all-gather context parallelism).
    mutating func attention(_ l: Int, heads: Int, kvHeads: Int, headDim: Int, kvBytesPerToken: Double, sharedKV: Bool = false) {
        let r = request
        if r.phase == .decode {
            add(
                "L\(l).attention",
                .attention(
                    .init(
                        phase: .decode, batch: sequences, heads: heads, kvHeads: kvHeads, qLen: 1, kvLen: r.kvLen ?? r.seq,
                        headDim: headDim,
                        causal: false, sharedKV: sharedKV)), kvType)
            return
        }
        let prefix = r.kvLen ?? 0
        if p.cp > 1 {
            collective("L\(l).cp_kv_all_gather", .all_gather, bytes: Double(sequences * r.seq) * kvBytesPerToken, ranks: p.cp)
            // Each rank holds two chunks (the load-balanced split): its causal work is that of
            // seq/cp queries over half the sequence.
            add(
                "L\(l).attention",
                .attention(
                    .init(
                        phase: .prefill, batch: sequences, heads: heads, kvHeads: kvHeads, qLen: r.seq / p.cp, kvLen: prefix + r.seq / 2,
                        headDim: headDim, causal: false)), kvType)
            return
        }
        add(
            "L\(l).attention",
            .attention(
                .init(
                    phase: .prefill, batch: sequences, heads: heads, kvHeads: kvHeads, qLen: r.seq, kvLen: prefix + r.seq, headDim: headDim,
                    causal: true)),
            kvType)
    }

    /// Under sequence parallelism, the all-gather of the tokens before a column-parallel GEMM.
    mutating func gatherSequence(_ id: String) {
        guard sequenceParallel else { return }
        collective(id, .all_gather, bytes: Double(tokens * model.hidden) * act.bytes, ranks: p.tp)
    }

    mutating func gemmOutput(_ l: Int) {
        let width = model.mla.map { headsPerRank * $0.vHeadDim } ?? headsPerRank * model.headDim
        gemm("L\(l).o_proj", m: tokens, n: model.hidden, k: width)
        if sequenceParallel || (model.isMoELayer(l) && p.ep > 1 && p.tp > 1) {
            // Sequence parallel (training), or around an expert-parallel block: each TP rank keeps a slice.
            collective("L\(l).attn_reduce_scatter", .reduce_scatter, bytes: Double(tokens * model.hidden) * act.bytes, ranks: p.tp)
        } else {
            collective("L\(l).attn_all_reduce", .all_reduce, bytes: Double(tokens * model.hidden) * act.bytes, ranks: p.tp)
        }
    }

    mutating func denseMLP(_ l: Int) {
        let t = tokens
        let f = (model.ffn + p.tp - 1) / p.tp
        gatherSequence("L\(l).mlp_all_gather")
        gemm("L\(l).gate_up", m: t, n: 2 * f, k: model.hidden)
        add(
            "L\(l).silu_mul",
            .elementwise(.init(elements: t * f, reads: 2, writes: 1, flopsPerElement: 5, blocks: t, threads: min(f, 1024))))
        gemm("L\(l).down", m: t, n: model.hidden, k: f)
        collective(
            sequenceParallel ? "L\(l).mlp_reduce_scatter" : "L\(l).mlp_all_reduce", sequenceParallel ? .reduce_scatter : .all_reduce,
            bytes: Double(t * model.hidden) * act.bytes, ranks: p.tp)
    }

    /// Tokens per local expert that receives any: the rank's routed tokens spread over the experts
    /// they hit, the hottest at `expertSkew` times the mean (the others share the rest).
    func expertLoads(routingTokens: Int, _ moe: ModelDescription.MoE, localExperts: Int, senders: Int) -> [Int] {
        let routed = Double(routingTokens * senders * moe.topK)
        let experts = Double(moe.experts)
        // With few routed copies (a small decode batch) only some experts receive any: under uniform
        // routing the expected share of experts hit is 1 - (1 - 1/E)^copies, and only those run.
        let hitShare = max(1 / experts, 1 - pow(1 - 1 / experts, routed))
        let active = max(1, min(localExperts, Int((Double(localExperts) * hitShare).rounded())))
        let mean = routed / experts * Double(localExperts) / Double(active)
        guard active > 1 else { return [max(1, Int((mean * request.expertSkew).rounded()))] }
        let hot = max(1, Int((mean * min(request.expertSkew, experts / Double(moe.topK))).rounded()))
        // The others share the rest in whole tokens, at least one each (the total kept).
        let rest = max(active - 1, Int((mean * Double(active)).rounded()) - hot)
        let base = rest / (active - 1)
        let extra = rest % (active - 1)
        return [hot] + (0..<(active - 1)).map { base + ($0 < extra ? 1 : 0) }
    }

    mutating func moeBlock(_ l: Int, _ moe: ModelDescription.MoE) {
        let expertParallel = p.ep > 1
        // Under expert parallelism each TP rank routes its slice of the tokens (sequence parallel);
        // without it, sequence parallelism gathers the tokens first.
        if !expertParallel { gatherSequence("L\(l).moe_all_gather_in") }
        let t = expertParallel ? max(1, tokens / p.tp) : tokens
        let h = model.hidden
        gemm("L\(l).router", m: t, n: moe.experts, k: h, dtype: act)
        add("L\(l).topk_softmax", .rowwise(.init(kind: .softmax, rows: t, columns: moe.experts, threads: min(moe.experts, 1024))))
        add("L\(l).permute", .elementwise(.init(elements: t * moe.topK * h, reads: 1, writes: 1, flopsPerElement: 0)))
        let localExperts = expertParallel ? moe.experts / p.ep : moe.experts
        let f = expertParallel ? moe.expertFFN : (moe.expertFFN + p.tp - 1) / p.tp
        let loads: [Int]
        if expertParallel {
            // DeepEP-style dispatch: each routed copy of a token goes to its expert's rank.
            collective("L\(l).dispatch", .all_to_all, bytes: Double(t * moe.topK * h) * gemmType.bytes, ranks: p.ep)
            loads = expertLoads(routingTokens: t, moe, localExperts: localExperts, senders: p.ep)
        } else {
            loads = expertLoads(routingTokens: t, moe, localExperts: localExperts, senders: 1)
        }
        castToFP8("L\(l).experts_gate_up", rows: loads.reduce(0, +), columns: h, gemmType)
        add("L\(l).experts_gate_up", .groupedGemm(.init(mPerGroup: loads, n: 2 * f, k: h)), gemmType)
        let routed = loads.reduce(0, +)
        add("L\(l).experts_silu_mul", .elementwise(.init(elements: routed * f, reads: 2, writes: 1, flopsPerElement: 5)))
        castToFP8("L\(l).experts_down", rows: loads.reduce(0, +), columns: f, gemmType)
        add("L\(l).experts_down", .groupedGemm(.init(mPerGroup: loads, n: h, k: f)), gemmType)
        if expertParallel {
            collective("L\(l).combine", .all_to_all, bytes: Double(t * moe.topK * h) * act.bytes, ranks: p.ep)
        }
        if moe.sharedFFN > 0 {
            let sf = expertParallel ? moe.sharedFFN : (moe.sharedFFN + p.tp - 1) / p.tp
            gemm("L\(l).shared_gate_up", m: t, n: 2 * sf, k: h)
            add("L\(l).shared_silu_mul", .elementwise(.init(elements: t * sf, reads: 2, writes: 1, flopsPerElement: 5)))
            gemm("L\(l).shared_down", m: t, n: h, k: sf)
        }
        add("L\(l).unpermute", .elementwise(.init(elements: t * h, reads: moe.topK + 1, writes: 1, flopsPerElement: Double(2 * moe.topK))))
        if sequenceParallel {
            // The block's output stays in the sequence-parallel layout.
            if !expertParallel { collective("L\(l).moe_reduce_scatter", .reduce_scatter, bytes: Double(t * h) * act.bytes, ranks: p.tp) }
        } else if expertParallel {
            collective("L\(l).moe_all_gather", .all_gather, bytes: Double(tokens * h) * act.bytes, ranks: p.tp)
        } else {
            collective("L\(l).moe_all_reduce", .all_reduce, bytes: Double(t * h) * act.bytes, ranks: p.tp)
        }
    }

    // MARK: Training

    /// Weights on this rank, by layer, for the gradient reduction and the optimizer.
    func rankParameters(layer l: Int) -> Double { model.rankParameters(layer: l, p) }

    /// The previous pipeline stage's activations, received at the start of a pass.
    mutating func receiveFromPreviousStage(_ tag: String) {
        // Under sequence parallelism each rank sends and receives its 1/tp of the tokens.
        collective(
            "\(tag)pp_recv", .send_recv, bytes: Double(residualRows * model.hidden) * act.bytes, ranks: 2,
            perNode: perNode(stride: p.tp * p.cp, ranks: 2))
    }

    mutating func train() {
        let layers = TraceGenerator(model: model, request: request).stageLayers
        let microbatches = request.microbatches
        // The stage's embedding table (first stage) and LM head (last); both when pp = 1 and untied.
        let tables = (layers.lowerBound == 0 && !model.tieEmbeddings && p.pp == 1) ? 2.0 : 1.0
        let tableParams = tables * Double(model.vocab * model.hidden) / Double(p.tp)
        // Routed experts' weights are replicated over the expert-data-parallel group only.
        let expertGroup = p.ep > 1 ? max(1, p.tp * p.dp / p.ep) : p.dp
        func expertParams(_ l: Int) -> Double { model.rankExpertParameters(layer: l, p) }
        func denseParams(_ l: Int) -> Double { rankParameters(layer: l) - expertParams(l) }
        let stageDense = layers.reduce(tableParams) { $0 + denseParams($1) }
        let stageExperts = layers.reduce(0.0) { $0 + expertParams($1) }
        let syncGradients = request.optimizerStep
        var gradientSyncs: [Int] = []
        // Gradients are reduced in the format they accumulate in (Megatron sets
        // accumulate_allreduce_grads_in_fp32 for --bf16), over the ranks that hold the weights.
        func reduceScatter(_ params: Double, ranks: Int) -> Op {
            .collective(
                .init(
                    kind: .reduce_scatter, bytes: Int(params * request.gradientType.bytes), ranks: ranks,
                    ranksPerNode: perNode(stride: p.tp * p.cp * p.pp, ranks: ranks)))
        }
        func sync(_ id: String, dense: Double, experts: Double, overlapped: Bool) {
            for (name, params, ranks) in [
                (id, dense, p.dp), (id.replacingOccurrences(of: "grad", with: "expert_grad"), experts, expertGroup),
            ]
            where ranks > 1 && params > 0 {
                if overlapped {
                    add(
                        name, reduceScatter(params, ranks: ranks), request.gradientType, stream: 1,
                        deps: [last!] + (gradientSyncs.last.map { [$0] } ?? []))
                    gradientSyncs.append(kernels.count - 1)
                } else {
                    add(name, reduceScatter(params, ranks: ranks), request.gradientType)
                }
            }
        }
        for mb in 0..<microbatches {
            let tag = microbatches > 1 ? "mb\(mb)." : ""
            let final = mb == microbatches - 1
            // Forward, layer by layer, keeping each layer's ops for its backward.
            var perLayer: [[(id: String, op: Op, dtype: DataType)]] = []
            if layers.lowerBound == 0 {
                add("\(tag)embedding", .embedding(.init(tokens: tokens, hidden: model.hidden)))
            } else {
                receiveFromPreviousStage(tag)
            }
            for l in layers {
                recording = true
                recorded = []
                let start = kernels.count
                layer(l)
                recording = false
                for i in start..<kernels.count { kernels[i].id = tag + kernels[i].id }
                perLayer.append(recorded)
            }
            norm("\(tag)final_norm", rows: residualRows, columns: model.hidden, residual: true)
            gatherSequence("\(tag)lm_head_all_gather")
            gemm("\(tag)lm_head", m: tokens, n: (model.vocab + p.tp - 1) / p.tp, k: model.hidden, dtype: gemmType)
            crossEntropy("\(tag)cross_entropy", rows: tokens, columns: (model.vocab + p.tp - 1) / p.tp)
            backward(id: "\(tag)lm_head", .gemm(.init(m: tokens, n: (model.vocab + p.tp - 1) / p.tp, k: model.hidden)), gemmType)
            if sequenceParallel {
                collective("\(tag)lm_head_all_gather.regather", .all_gather, bytes: Double(tokens * model.hidden) * act.bytes, ranks: p.tp)
                collective(
                    "\(tag)lm_head_all_gather.backward", .reduce_scatter, bytes: Double(tokens * model.hidden) * act.bytes, ranks: p.tp)
            }
            for (index, l) in layers.enumerated().reversed() {
                if request.recompute {
                    for op in perLayer[index] { add("\(tag)\(op.id).recompute", op.op, op.dtype) }
                }
                for op in perLayer[index].reversed() { backward(id: tag + op.id, op.op, op.dtype) }
                // The last micro-batch's gradients of this layer are final: reduce them while
                // backward goes on (Megatron's --overlap-grad-reduce, bucketed per layer here).
                if final && syncGradients && request.overlapGradientReduce {
                    sync("L\(l).grad_reduce_scatter", dense: denseParams(l), experts: expertParams(l), overlapped: true)
                }
            }
            if layers.lowerBound > 0 {
                collective(
                    "\(tag)pp_send_grad", .send_recv, bytes: Double(residualRows * model.hidden) * act.bytes, ranks: 2,
                    perNode: perNode(stride: p.tp * p.cp, ranks: 2))
            }
            if final && syncGradients && request.overlapGradientReduce {
                sync("tables.grad_reduce_scatter", dense: tableParams, experts: 0, overlapped: true)
            }
        }
        guard request.optimizerStep else { return }
        if syncGradients && !request.overlapGradientReduce {
            // Without overlap, Megatron reduces the whole gradient buffer once backward is done.
            sync("grad_reduce_scatter", dense: stageDense, experts: stageExperts, overlapped: false)
        }
        // ZeRO-1: Adam on this rank's shard of the fp32 master weights and moments (1/dp of the
        // dense weights, 1/(expert-data-parallel group) of the experts'), then the updated bf16
        // weights gathered back.
        let shard = Int((stageDense / Double(p.dp) + stageExperts / Double(expertGroup)).rounded(.up))
        add(
            "optimizer_adam", .elementwise(.init(elements: max(1, shard), reads: 4, writes: 3, flopsPerElement: 12)), .fp32,
            deps: [last!] + gradientSyncs)
        for (id, params, ranks) in [("param_all_gather", stageDense, p.dp), ("expert_param_all_gather", stageExperts, expertGroup)]
        where ranks > 1 && params > 0 {
            collective(id, .all_gather, bytes: params * act.bytes, ranks: ranks, perNode: perNode(stride: p.tp * p.cp * p.pp, ranks: ranks))
        }
    }

    /// Megatron's vocabulary-parallel cross entropy over the logits, forward and backward, as
    /// PyTorch runs it (Megatron-LM core_v0.6.0: language_module.py passes `logits.float()`;
    /// tensor_parallel/cross_entropy.py): the cast to fp32, the row max, the subtraction, exp in
    /// place, the row sum and the division in place; backward the in-place multiply by the
    /// loss's gradient and the cast back to the logits' format. The target gathers and scatters,
    /// one element per row, are left out.
    mutating func crossEntropy(_ id: String, rows: Int, columns: Int) {
        let elements = rows * columns
        func pass(_ name: String, reads: Int, writes: Int, flops: Double, _ dtype: DataType) {
            add("\(id).\(name)", .elementwise(.init(elements: elements, reads: reads, writes: writes, flopsPerElement: flops)), dtype)
        }
        // bf16 units: 2 bytes read, 4 written.
        pass("float", reads: 1, writes: 2, flops: 0, act)
        add("\(id).max", .rowwise(.init(kind: .reduction, rows: rows, columns: columns)), .fp32)
        pass("subtract", reads: 1, writes: 1, flops: 1, .fp32)
        pass("exp", reads: 1, writes: 1, flops: 1, .fp32)
        add("\(id).sum", .rowwise(.init(kind: .reduction, rows: rows, columns: columns)), .fp32)
        pass("divide", reads: 1, writes: 1, flops: 1, .fp32)
        pass("backward", reads: 1, writes: 1, flops: 1, .fp32)
        // 4 bytes read, 2 written.
        pass("float.backward", reads: 2, writes: 1, flops: 0, act)
    }

    /// FP8 training's weight gradient multiplies the transposed input and output gradient, each
    /// cast to fp8 along the other axis: two cast-and-transpose kernels before it.
    mutating func transposedCasts(_ id: String, rows: Int, input: Int, output: Int, _ dtype: DataType) {
        guard dtype == .fp8 else { return }
        add("\(id).input_fp8_transpose", .elementwise(.init(elements: rows * input, reads: 2, writes: 1, flopsPerElement: 3)), .fp8)
        add("\(id).grad_fp8_transpose", .elementwise(.init(elements: rows * output, reads: 2, writes: 1, flopsPerElement: 3)), .fp8)
    }

    /// The backward kernels of one forward op: a GEMM's data and weight gradients, attention's
    /// backward kernel, a norm's or element-wise op's gradient pass, a collective's mirror.
    mutating func backward(id: String, _ op: Op, _ dtype: DataType) {
        switch op {
        case .gemm(let g):
            add("\(id).dgrad", .gemm(.init(m: g.m, n: g.k, k: g.n, batch: g.batch)), dtype)
            transposedCasts(id, rows: g.m * g.batch, input: g.k, output: g.n, dtype)
            // The weight gradient adds into the accumulated gradient (Megatron's fp32 main_grad, with
            // its gradient-accumulation fusion on by default): the epilogue reads and writes it.
            add("\(id).wgrad", .gemm(.init(m: g.k, n: g.n, k: g.m, batch: g.batch, accumulate: request.gradientType)), dtype)
        case .groupedGemm(let g):
            add("\(id).dgrad", .groupedGemm(.init(mPerGroup: g.mPerGroup, n: g.k, k: g.n)), dtype)
            transposedCasts(id, rows: g.mPerGroup.reduce(0, +), input: g.k, output: g.n, dtype)
            // Each expert's weight gradient: k x n over its own tokens (the mean load, batched).
            let mean = max(1, g.mPerGroup.reduce(0, +) / max(1, g.groups))
            add("\(id).wgrad", .gemm(.init(m: g.k, n: g.n, k: mean, batch: g.groups, accumulate: request.gradientType)), dtype)
        case .attention(var a):
            a.backward = true
            add("\(id).backward", .attention(a), dtype)
        case .rowwise(var r):
            // A norm's gradient also carries the residual branch's; a softmax's is one pass.
            r.residual = r.kind == .norm
            add("\(id).backward", .rowwise(r), dtype)
        case .elementwise(var e):
            e.reads += 1
            e.writes = max(1, e.reads - 1)
            add("\(id).backward", .elementwise(e), dtype)
        case .embedding(let e):
            add("\(id).backward", .elementwise(.init(elements: e.tokens * e.hidden, reads: 1, writes: 1, flopsPerElement: 1)), dtype)
        case .collective(var c):
            // An all-gather's gradient is a reduce-scatter, and the other way round. Under sequence
            // parallelism the gathered input was kept sharded, so its GEMMs' weight gradients
            // gather it again first (Korthikanti et al. 2022, 4.2.2).
            if c.kind == .all_gather && sequenceParallel && id.hasSuffix("all_gather") {
                add("\(id).regather", .collective(c), dtype)
            }
            if c.kind == .all_gather { c.kind = .reduce_scatter } else if c.kind == .reduce_scatter { c.kind = .all_gather }
            add("\(id).backward", .collective(c), dtype)
        case .memcpy, .measured:
            break
        }
    }
}
