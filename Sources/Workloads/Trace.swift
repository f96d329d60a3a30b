import Chips
import Config
import Foundation

/// A kernel trace: kernels on streams with dependencies. The file format is a public contract.
///
/// ```yaml
/// schema: 1
/// name: example
/// kernels:
///   - {id: qkv, op: gemm, m: 4096, n: 12288, k: 4096, dtype: bf16}
///   - {id: attn, op: attention, phase: prefill, batch: 1, heads: 32, kv_heads: 8, q_len: 4096,
///      kv_len: 4096, head_dim: 128, causal: true, dtype: bf16, deps: [qkv]}
/// ```
public struct Trace: Sendable {
    public static let schemaVersion = 1

    public var name: String
    public var file: String
    /// Tokens the trace processes, for tokens/s and tokens/J (optional).
    public var tokens: Int?
    /// Devices that together produce `tokens`: one model replica (tensor x context x pipeline
    /// parallel ranks). On a system of D devices, D / replicaRanks replicas run side by side and the
    /// system's output is that many times `tokens`; nil: the tokens are the whole system's.
    public var replicaRanks: Int?

    /// The longest a measured kernel may take (s): a trace's `duration`, and what an import keeps.
    public static let longestKernel = 3600.0
    public var kernels: [Kernel]

    public init(name: String, file: String = "<memory>", tokens: Int? = nil, replicaRanks: Int? = nil, kernels: [Kernel]) {
        self.name = name
        self.file = file
        self.tokens = tokens
        self.replicaRanks = replicaRanks
        self.kernels = kernels
    }

    /// The tokens a system of `devices` devices produces in one pass: every replica's, or the
    /// trace's own where it does not say how many devices a replica spans.
    public func systemTokens(devices: Int) throws -> Int? {
        guard let tokens, let replicaRanks else { return tokens }
        guard replicaRanks <= devices else {
            throw ConfigError(
                file: file, path: "replica_ranks",
                message: "one replica of the trace spans \(replicaRanks) devices, more than the system's \(devices)")
        }
        let (total, overflow) = tokens.multipliedReportingOverflow(by: devices / replicaRanks)
        return overflow ? nil : total
    }

    /// The trace run `count` times back to back: kernel ids get "#i", dependencies stay within a
    /// repetition, each stream runs its repetitions in order, and the tokens are counted `count` times.
    public func repeated(_ count: Int) -> Trace {
        var kernels: [Kernel] = []
        kernels.reserveCapacity(self.kernels.count * count)
        for r in 0..<count {
            let offset = r * self.kernels.count
            for kernel in self.kernels {
                var copy = kernel
                copy.id = "\(kernel.id)#\(r)"
                copy.deps = kernel.deps.map { $0 + offset }
                kernels.append(copy)
            }
        }
        // The repeated trace processes its tokens `count` times; nil where that overflows.
        let total = tokens.flatMap { t -> Int? in
            let (product, overflow) = t.multipliedReportingOverflow(by: count)
            return overflow ? nil : product
        }
        return Trace(name: name, file: file, tokens: total, replicaRanks: replicaRanks, kernels: kernels)
    }

    public static func load(file: String) throws -> Trace {
        try TraceReader.read(try ConfigNode.load(file: file))
    }

    public static func parse(text: String, file: String = "<text>") throws -> Trace {
        try TraceReader.read(try ConfigNode.parse(text: text, file: file))
    }

    /// Reads a trace from a document already parsed (the fuzzer feeds it parsed mutations).
    public static func read(_ root: ConfigNode) throws -> Trace {
        try TraceReader.read(root)
    }
}
