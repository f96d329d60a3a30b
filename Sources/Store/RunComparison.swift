/// Several stored runs side by side: totals, then per-kernel time deltas matched by kernel id.
public struct RunComparison: Sendable {
    public var runs: [StoredRun]
    public var kernels: [KernelDelta]

    /// One kernel id across the runs; durations are nil where a run has no kernel of that id.
    public struct KernelDelta: Sendable {
        public var kernelID: String
        public var op: String
        public var durations: [Double?]
        /// Largest relative change against the first run (the baseline).
        public var change: Double
    }
}

extension RunStore {
    /// Compares runs against the first: totals, then kernels that moved most first.
    public func compare(_ ids: [Int64]) throws -> RunComparison {
        var runs: [StoredRun] = []
        var kernelSets: [[StoredKernel]] = []
        for id in ids {
            guard let run = try run(id) else { throw StoreError(path: path, message: "no run with id \(id)") }
            runs.append(run)
            kernelSets.append(try kernels(id))
        }
        // Kernel ids in first-seen order (baseline first), so output is stable.
        var order: [String] = []
        var ops: [String: String] = [:]
        var byID: [[String: Double]] = []
        for set in kernelSets {
            var map: [String: Double] = [:]
            for k in set {
                map[k.kernelID, default: 0] += k.duration
                if ops[k.kernelID] == nil {
                    order.append(k.kernelID)
                    ops[k.kernelID] = k.op
                }
            }
            byID.append(map)
        }
        var deltas: [RunComparison.KernelDelta] = order.map { id in
            let durations = byID.map { $0[id] }
            var change = 0.0
            if let base = durations[0], base > 0 {
                for d in durations.dropFirst() {
                    if let d { change = max(change, abs(d / base - 1)) } else { change = .infinity }
                }
            } else {
                change = .infinity
            }
            return .init(kernelID: id, op: ops[id] ?? "", durations: durations, change: change)
        }
        deltas.sort { $0.change != $1.change ? $0.change > $1.change : $0.kernelID < $1.kernelID }
        return RunComparison(runs: runs, kernels: deltas)
    }
}
