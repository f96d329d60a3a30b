import Chips

/// A dense decoder-only transformer, enough to generate its kernel traces.
///
/// ```swift
/// let step = ModelDescription.llama31_8B.decodeStep(batch: 64, context: 1024)
/// ```
public struct ModelDescription: Sendable {
    public var name: String
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffn: Int
    public var vocab: Int
    /// RMSNorm over each query and key head before the rotary embedding (Qwen3's q_norm/k_norm).
    public var qkNorm: Bool
    public var dtype: DataType

    public init(
        name: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int, ffn: Int, vocab: Int,
        qkNorm: Bool = false, dtype: DataType = .bf16
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
        self.dtype = dtype
    }

    /// Published configurations (the models' config.json on their model cards).
    public static let llama31_8B = ModelDescription(
        name: "Llama-3.1-8B", layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 14336, vocab: 128_256)
    public static let qwen3_8B = ModelDescription(
        name: "Qwen3-8B", layers: 36, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 12288, vocab: 151_936, qkNorm: true)
    public static let qwen3_14B = ModelDescription(
        name: "Qwen3-14B", layers: 40, hidden: 5120, heads: 40, kvHeads: 8, headDim: 128, ffn: 17408, vocab: 151_936, qkNorm: true)

    /// One decode step of `batch` sequences with `context` tokens of KV cache each: every layer's
    /// fused residual norm, QKV projection, (Qwen3: per-head query and key norms,) rotary embedding, decode attention, output projection,
    /// second norm, gate/up projection, SiLU-and-multiply and down projection, then the final
    /// norm and the LM head, in order on one stream, as vLLM runs them.
    public func decodeStep(batch: Int, context: Int) -> Trace {
        var kernels: [Kernel] = []
        func add(_ id: String, _ op: Op) {
            kernels.append(Kernel(id: id, op: op, dtype: dtype, deps: kernels.isEmpty ? [] : [kernels.count - 1]))
        }
        let qkv = (heads + 2 * kvHeads) * headDim
        for l in 0..<layers {
            add("L\(l).input_norm", .rowwise(.init(kind: .norm, rows: batch, columns: hidden, threads: min(hidden, 1024), residual: l > 0)))
            add("L\(l).qkv", .gemm(.init(m: batch, n: qkv, k: hidden)))
            if qkNorm {
                // vLLM runs its rms_norm kernel over the heads as rows: one block of head_dim threads each.
                add("L\(l).q_norm", .rowwise(.init(kind: .norm, rows: batch * heads, columns: headDim, threads: headDim)))
                add("L\(l).k_norm", .rowwise(.init(kind: .norm, rows: batch * kvHeads, columns: headDim, threads: headDim)))
            }
            add(
                "L\(l).rope",
                .elementwise(
                    .init(
                        elements: batch * (heads + kvHeads) * headDim, reads: 1, writes: 1, flopsPerElement: 6,
                        blocks: batch, threads: 2 * min((heads + kvHeads) * headDim / 2, 512))))
            add(
                "L\(l).attention",
                .attention(
                    .init(
                        phase: .decode, batch: batch, heads: heads, kvHeads: kvHeads, qLen: 1, kvLen: context,
                        headDim: headDim, causal: false)))
            add("L\(l).o_proj", .gemm(.init(m: batch, n: hidden, k: heads * headDim)))
            add("L\(l).post_norm", .rowwise(.init(kind: .norm, rows: batch, columns: hidden, threads: min(hidden, 1024), residual: true)))
            add("L\(l).gate_up", .gemm(.init(m: batch, n: 2 * ffn, k: hidden)))
            add(
                "L\(l).silu_mul",
                .elementwise(.init(elements: batch * ffn, reads: 2, writes: 1, flopsPerElement: 5, blocks: batch, threads: min(ffn, 1024))))
            add("L\(l).down", .gemm(.init(m: batch, n: hidden, k: ffn)))
        }
        add("final_norm", .rowwise(.init(kind: .norm, rows: batch, columns: hidden, threads: min(hidden, 1024), residual: true)))
        add("lm_head", .gemm(.init(m: batch, n: vocab, k: hidden)))
        return Trace(name: "\(name)-decode-b\(batch)-ctx\(context)", tokens: batch, kernels: kernels)
    }
}
