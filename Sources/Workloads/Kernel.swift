import Chips

/// One kernel of a trace: what it computes, in which data type, on which stream, after what.
public struct Kernel: Sendable {
    public var id: String
    public var op: Op
    public var dtype: DataType
    public var stream: Int
    /// Indices (into the trace's kernels) of the kernels this one waits for.
    public var deps: [Int]
    /// Operand switching activity, 0 (all-zero data) to 1 (random data), for the power model.
    public var activity: Double
    /// Whether the kernel's activation inputs (not its weights) are already in L2 when it starts,
    /// because the kernel that produced them has just run. Nil: decided by the engine (yes when the
    /// kernel depends on another); a trace may force it either way with `inputs_in_l2`.
    public var inputsInL2: Bool?
    /// The compute units (SMs, AI cores) the kernel is launched on, where fewer than the chip has:
    /// a persistent kernel sized to leave units to a kernel beside it (DeepGEMM's num_sms, which
    /// DeepSeek sets to the SMs DeepEP's communication kernels do not take). Nil: all of them.
    public var units: Int?

    public init(
        id: String, op: Op, dtype: DataType, stream: Int = 0, deps: [Int] = [], activity: Double = 1, inputsInL2: Bool? = nil,
        units: Int? = nil
    ) {
        self.id = id
        self.op = op
        self.dtype = dtype
        self.stream = stream
        self.deps = deps
        self.activity = activity
        self.inputsInL2 = inputsInL2
        self.units = units
    }
}

/// The operations a trace can hold.
public enum Op: Sendable, Hashable {
    /// C[batch, m, n] = A[batch, m, k] x B[batch, k, n].
    case gemm(Gemm)
    /// Mixture-of-experts GEMM: `groups` independent GEMMs of `m_per_group` rows sharing n and k.
    case groupedGemm(GroupedGemm)
    /// Scaled dot-product attention (FlashAttention-style).
    case attention(Attention)
    /// `elements` outputs, each reading `reads` and writing `writes` tensors of that size.
    case elementwise(Elementwise)
    /// Row-wise ops over a rows x columns matrix.
    case rowwise(Rowwise)
    /// Gathers `tokens` rows of `hidden` elements from an embedding table.
    case embedding(Embedding)
    /// A copy of `bytes` bytes.
    case memcpy(Memcpy)
    /// A collective across `ranks` chips; needs a system, not one chip.
    case collective(Collective)
    /// A kernel known only by its measured time (an imported profile's kernel the importer could
    /// not map to an op): it runs as long as it was measured, whatever the chip.
    case measured(Measured)

    public struct Gemm: Sendable, Hashable {
        public var m: Int, n: Int, k: Int, batch: Int
        public var transA: Bool, transB: Bool
        /// The library's tile scheduler to use (`data_parallel`, `stream_k`); nil: the fastest the library offers.
        public var impl: String?
        /// C += A x B into a C of this format, read and written by the epilogue (a weight gradient
        /// accumulated into Megatron's fp32 main_grad: its gradient-accumulation fusion); nil: C = A x B.
        public var accumulate: DataType?
        public init(
            m: Int, n: Int, k: Int, batch: Int = 1, transA: Bool = false, transB: Bool = false, impl: String? = nil,
            accumulate: DataType? = nil
        ) {
            self.m = m
            self.n = n
            self.k = k
            self.batch = batch
            self.transA = transA
            self.transB = transB
            self.impl = impl
            self.accumulate = accumulate
        }
    }

    public struct GroupedGemm: Sendable, Hashable {
        public var mPerGroup: [Int], n: Int, k: Int
        /// The library's tile scheduler to use, as for ``Gemm/impl``.
        public var impl: String?
        public init(mPerGroup: [Int], n: Int, k: Int, impl: String? = nil) {
            self.mPerGroup = mPerGroup
            self.n = n
            self.k = k
            self.impl = impl
        }
        public var groups: Int { mPerGroup.count }
    }

    public enum Phase: String, Sendable { case prefill, decode }

    public struct Attention: Sendable, Hashable {
        public var phase: Phase
        public var batch: Int, heads: Int, kvHeads: Int, qLen: Int, kvLen: Int, headDim: Int
        public var causal: Bool
        /// The library kernel to run (`fa2`, `fa3`, ...); nil: the chip library's default.
        public var impl: String?
        /// The backward pass (training): dQ, dK, dV from Q, K, V, O, dO and the softmax statistics.
        public var backward: Bool
        /// Values are a slice of the keys (absorbed multi-head latent attention: one latent of
        /// kv_lora_rank + rope dims serves as both), so one tensor is read and buffered, not two.
        public var sharedKV: Bool
        public init(
            phase: Phase, batch: Int, heads: Int, kvHeads: Int, qLen: Int, kvLen: Int, headDim: Int, causal: Bool,
            impl: String? = nil, backward: Bool = false, sharedKV: Bool = false
        ) {
            self.phase = phase
            self.batch = batch
            self.heads = heads
            self.kvHeads = kvHeads
            self.qLen = qLen
            self.kvLen = kvLen
            self.headDim = headDim
            self.causal = causal
            self.impl = impl
            self.backward = backward
            self.sharedKV = sharedKV
        }
    }

    public struct Elementwise: Sendable, Hashable {
        public var elements: Int, reads: Int, writes: Int, flopsPerElement: Double
        /// Thread blocks (work items) the kernel is launched with, when known (a profiler's grid size).
        /// A kernel launched with one block per row (vLLM's rotary and activation kernels) loops over
        /// its row like a row-wise kernel and streams like one; without it the kernel is a flat,
        /// vectorised element-wise kernel.
        public var blocks: Int?
        /// Elements a block covers per loop iteration, when known: its threads (a profiler's block
        /// size) times the elements each thread handles per iteration (2 for a rotary kernel's
        /// pairs). Each iteration is one dependent memory round trip.
        public var threads: Int?
        public init(elements: Int, reads: Int, writes: Int, flopsPerElement: Double, blocks: Int? = nil, threads: Int? = nil) {
            self.elements = elements
            self.reads = reads
            self.writes = writes
            self.flopsPerElement = flopsPerElement
            self.blocks = blocks
            self.threads = threads
        }
    }

    public enum RowwiseKind: String, Sendable, CaseIterable { case norm, softmax, reduction }

    public struct Rowwise: Sendable, Hashable {
        public var kind: RowwiseKind
        public var rows: Int, columns: Int
        /// Threads per block (one block per row), when known; see ``Elementwise/threads``.
        public var threads: Int?
        /// A norm fused with the residual add before it: reads the input and the residual, writes both.
        public var residual: Bool
        public init(kind: RowwiseKind, rows: Int, columns: Int, threads: Int? = nil, residual: Bool = false) {
            self.kind = kind
            self.rows = rows
            self.columns = columns
            self.threads = threads
            self.residual = residual
        }
    }

    public struct Embedding: Sendable, Hashable {
        public var tokens: Int, hidden: Int
        public init(tokens: Int, hidden: Int) {
            self.tokens = tokens
            self.hidden = hidden
        }
    }

    public enum CopyKind: String, Sendable, CaseIterable { case d2d, h2d, d2h }

    public struct Memcpy: Sendable, Hashable {
        public var bytes: Int, kind: CopyKind
        public init(bytes: Int, kind: CopyKind) {
            self.bytes = bytes
            self.kind = kind
        }
    }

    public struct Measured: Sendable, Hashable {
        /// Seconds on the device the profile was recorded on.
        public var seconds: Double
        /// The kernel's name in the profile (may be empty).
        public var kernel: String
        public init(seconds: Double, kernel: String = "") {
            self.seconds = seconds
            self.kernel = kernel
        }
    }

    public typealias CollectiveKind = CollectiveLibrary.CollectiveKind

    public struct Collective: Sendable, Hashable {
        public var kind: CollectiveKind, bytes: Int, ranks: Int
        /// Ranks per node when the job spreads them (a pipeline stage per node); nil: packed, filling each node first.
        public var ranksPerNode: Int?
        /// The algorithm and protocol the kernel asks for (NCCL_ALGO, NCCL_PROTO for this call);
        /// nil: the library chooses, as its tuner would.
        public var algorithm: CollectiveLibrary.Algorithm?
        public var `protocol`: CollectiveLibrary.ProtocolKind?
        public init(
            kind: CollectiveKind, bytes: Int, ranks: Int, ranksPerNode: Int? = nil, algorithm: CollectiveLibrary.Algorithm? = nil,
            protocol: CollectiveLibrary.ProtocolKind? = nil
        ) {
            self.kind = kind
            self.bytes = bytes
            self.ranks = ranks
            self.ranksPerNode = ranksPerNode
            self.algorithm = algorithm
            self.protocol = `protocol`
        }
    }

    /// The name used in trace files.
    public var name: String {
        switch self {
        case .gemm: return "gemm"
        case .groupedGemm: return "grouped_gemm"
        case .attention: return "attention"
        case .elementwise: return "elementwise"
        case .rowwise(let r): return r.kind.rawValue
        case .embedding: return "embedding"
        case .memcpy: return "memcpy"
        case .collective(let c): return c.kind.rawValue
        case .measured: return "measured"
        }
    }
}
