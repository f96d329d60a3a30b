import Chips

/// A decoder-only transformer, dense or mixture-of-experts, with grouped-query or multi-head
/// latent attention: enough to generate its kernel traces and to size its weights and KV cache.
///
/// Read one from a model file under workloads/models/ or from a Hugging Face `config.json` with
/// ``ModelReader``; the published configurations below are the ones the validation sets use.
///
/// ```swift
/// let step = ModelDescription.llama31_8B.decodeStep(batch: 64, context: 1024)
/// ```
public struct ModelDescription: Sendable, Hashable {
    public var name: String
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// The dense MLP's intermediate size (the MLP of every layer of a dense model, and of the
    /// first dense layers of a mixture-of-experts model).
    public var ffn: Int
    public var vocab: Int
    /// RMSNorm over each query and key head before the rotary embedding (Qwen3's q_norm/k_norm).
    public var qkNorm: Bool
    /// Bias on the query, key and value projections (Qwen2, Qwen2.5).
    public var qkvBias: Bool
    /// The LM head shares the embedding's weights (counted once in memory).
    public var tieEmbeddings: Bool
    /// The model's own weight format, as published (bf16 for most; DeepSeek-V3 ships fp8 blocks).
    public var dtype: DataType
    public var moe: MoE?
    public var mla: MLA?
    /// Multi-token-prediction modules (DeepSeek-V3: one), each one more transformer layer; trained
    /// with the model, and used for speculative decoding only when asked.
    public var mtpLayers: Int

    /// Mixture of experts: which layers route, to how many experts, of what size.
    public struct MoE: Sendable, Hashable {
        public var experts: Int
        public var topK: Int
        public var expertFFN: Int
        public var sharedExperts: Int
        /// The shared experts' intermediate size, all of them together (DeepSeek: shared x expert_ffn).
        public var sharedFFN: Int
        /// The first layers that keep a dense MLP (DeepSeek-V3's first_k_dense_replace: 3).
        public var denseLayers: Int
        /// Every `step`-th layer (counted from 1) routes (Qwen's decoder_sparse_step; 1: all).
        public var step: Int
        public init(
            experts: Int, topK: Int, expertFFN: Int, sharedExperts: Int = 0, sharedFFN: Int = 0, denseLayers: Int = 0, step: Int = 1
        ) {
            self.experts = experts
            self.topK = topK
            self.expertFFN = expertFFN
            self.sharedExperts = sharedExperts
            self.sharedFFN = sharedFFN
            self.denseLayers = denseLayers
            self.step = step
        }
    }

    /// Multi-head latent attention (DeepSeek-V2/V3): queries and keys/values through low-rank
    /// latents; the KV cache holds the latent and the rotary key only.
    public struct MLA: Sendable, Hashable {
        /// 0: the query is projected directly (no query latent).
        public var qLoraRank: Int
        public var kvLoraRank: Int
        public var qkNopeHeadDim: Int
        public var qkRopeHeadDim: Int
        public var vHeadDim: Int
        public init(qLoraRank: Int, kvLoraRank: Int, qkNopeHeadDim: Int, qkRopeHeadDim: Int, vHeadDim: Int) {
            self.qLoraRank = qLoraRank
            self.kvLoraRank = kvLoraRank
            self.qkNopeHeadDim = qkNopeHeadDim
            self.qkRopeHeadDim = qkRopeHeadDim
            self.vHeadDim = vHeadDim
        }
        public var qkHeadDim: Int { qkNopeHeadDim + qkRopeHeadDim }
    }

    public init(
        name: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int, ffn: Int, vocab: Int,
        qkNorm: Bool = false, qkvBias: Bool = false, tieEmbeddings: Bool = false, dtype: DataType = .bf16, moe: MoE? = nil,
        mla: MLA? = nil, mtpLayers: Int = 0
    ) {
        self.name = name
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ffn = ffn
        self.vocab = vocab
        self.qkNorm = qkNorm
        self.qkvBias = qkvBias
        self.tieEmbeddings = tieEmbeddings
        self.dtype = dtype
        self.moe = moe
        self.mla = mla
        self.mtpLayers = mtpLayers
    }

    /// Published configurations (the models' config.json on their model cards), used by the
    /// ML.ENERGY validation set; the model files under workloads/models/ carry the same figures.
    public static let llama31_8B = ModelDescription(
        name: "Llama-3.1-8B", layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 14336, vocab: 128_256)
    public static let qwen3_8B = ModelDescription(
        name: "Qwen3-8B", layers: 36, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 12288, vocab: 151_936, qkNorm: true)
    public static let qwen3_14B = ModelDescription(
        name: "Qwen3-14B", layers: 40, hidden: 5120, heads: 40, kvHeads: 8, headDim: 128, ffn: 17408, vocab: 151_936, qkNorm: true)

    /// Whether layer `layer` (from 0) routes its tokens to experts.
    public func isMoELayer(_ layer: Int) -> Bool {
        guard let moe else { return false }
        return layer >= moe.denseLayers && (layer + 1) % moe.step == 0
    }

    // MARK: Sizes

    /// Weights of one layer's attention block (projections and norms).
    public var attentionParameters: Int {
        if let mla {
            let q = mla.qLoraRank > 0 ? hidden * mla.qLoraRank + mla.qLoraRank * heads * mla.qkHeadDim : hidden * heads * mla.qkHeadDim
            let kv = hidden * (mla.kvLoraRank + mla.qkRopeHeadDim) + mla.kvLoraRank * heads * (mla.qkNopeHeadDim + mla.vHeadDim)
            return q + kv + heads * mla.vHeadDim * hidden + mla.qLoraRank + mla.kvLoraRank + hidden
        }
        let qkv = hidden * (heads + 2 * kvHeads) * headDim + (qkvBias ? (heads + 2 * kvHeads) * headDim : 0)
        return qkv + heads * headDim * hidden + hidden + (qkNorm ? 2 * headDim : 0)
    }

    /// Weights of one layer's MLP: dense, or every expert and the router.
    public func mlpParameters(layer: Int) -> Int {
        guard let moe, isMoELayer(layer) else { return 3 * hidden * ffn + hidden }
        return moe.experts * 3 * hidden * moe.expertFFN + 3 * hidden * moe.sharedFFN + hidden * moe.experts + hidden
    }

    /// Weights a token reads in one layer's MLP (its top-k experts and the shared ones).
    public func activeMLPParameters(layer: Int) -> Int {
        guard let moe, isMoELayer(layer) else { return 3 * hidden * ffn }
        return (moe.topK * moe.expertFFN + moe.sharedFFN) * 3 * hidden + hidden * moe.experts
    }

    /// Weights of layer `l` on one rank of `split`: attention and dense MLPs over tensor parallelism;
    /// experts over expert parallelism (whole experts) or, without it, tensor parallelism; shared
    /// experts kept whole under expert parallelism; the router on every rank.
    public func rankParameters(layer l: Int, _ split: Parallelism) -> Double {
        let attention = Double(attentionParameters) / Double(split.tp)
        guard isMoELayer(l), let moe else { return attention + Double(mlpParameters(layer: l)) / Double(split.tp) }
        let experts = Double(moe.experts * 3 * hidden * moe.expertFFN) / Double(split.ep > 1 ? split.ep : split.tp)
        let shared = Double(3 * hidden * moe.sharedFFN) / Double(split.ep > 1 ? 1 : split.tp)
        return attention + experts + shared + Double(hidden * moe.experts)
    }

    /// The routed experts' share of `rankParameters(layer:_:)` under expert parallelism (0 without
    /// it): these weights are replicated over the expert-data-parallel group (tp x dp / ep ranks)
    /// only, so their gradients and optimizer state are reduced and sharded over that group.
    public func rankExpertParameters(layer l: Int, _ split: Parallelism) -> Double {
        guard split.ep > 1, isMoELayer(l), let moe else { return 0 }
        return Double(moe.experts * 3 * hidden * moe.expertFFN) / Double(split.ep)
    }

    public var embeddingParameters: Int { vocab * hidden * (tieEmbeddings ? 1 : 2) }

    /// All weights of the main model (multi-token-prediction modules not counted).
    public var parameters: Int {
        (0..<layers).reduce(embeddingParameters + hidden) { $0 + attentionParameters + mlpParameters(layer: $1) }
    }

    /// Weights a token's forward pass reads (MoE: its routed and shared experts only).
    public var activeParameters: Int {
        (0..<layers).reduce(embeddingParameters + hidden) { $0 + attentionParameters + activeMLPParameters(layer: $1) }
    }

    /// KV-cache elements one token keeps per layer: keys and values of every KV head, or (MLA)
    /// the latent and the rotary key, which every tensor-parallel rank keeps whole.
    public var kvElementsPerTokenPerLayer: Int {
        if let mla { return mla.kvLoraRank + mla.qkRopeHeadDim }
        return 2 * kvHeads * headDim
    }

    /// Matrix FLOPs of one token's forward pass through the weights (2 per multiply-add), without attention.
    public var forwardFLOPsPerToken: Double { 2 * Double(activeParameters - embeddingParameters + vocab * hidden) }

    /// One decode step of `batch` sequences with `context` tokens of KV cache each, on one chip, as
    /// vLLM runs it (see ``TraceGenerator``).
    public func decodeStep(batch: Int, context: Int) -> Trace {
        // A single-chip bf16 decode step always generates (nothing to refuse).
        try! TraceGenerator(model: self, request: .init(phase: .decode, batch: batch, seq: context)).trace()
    }
}
