import Chips
import Simulator
import Workloads

/// Runs a model over a data set's rows and summarises the error.
public enum Validator {
    public struct Prediction: Sendable {
        public var row: ValidationRow
        public var predicted: Double
        /// Signed relative error, (predicted - measured) / measured.
        public var error: Double { (predicted - row.measured) / row.measured }
    }

    public struct Summary: Sendable {
        public var group: String
        public var count: Int
        public var mape: Double
        public var median: Double
        public var worst: Double
        public var worstLabel: String
    }

    /// Predicts every row; `harness` is the data set's measurement overhead added to each.
    public static func predict(_ rows: [ValidationRow], on machine: Machine, harness: Harness = Harness()) throws -> [Prediction] {
        // Benchmarks loop a kernel: it runs at the clock it sustains under the power limit.
        // Rows of equal signature are the same kernel to the model: simulate each once.
        let engine = Engine(machine: machine)
        var bySignature: [ValidationRow.Signature: Double] = [:]
        return try rows.map { row in
            let signature = row.signature
            if let known = bySignature[signature] { return Prediction(row: row, predicted: known) }
            var predicted = try engine.sustained(row.kernel).duration + harness.overhead(row)
            for kernel in row.followers { predicted += try engine.sustained(kernel).duration }
            bySignature[signature] = predicted
            return Prediction(row: row, predicted: predicted)
        }
    }

    /// Summaries per (split, regime), then per split over all regimes.
    public static func summarise(_ predictions: [Prediction]) -> [Summary] {
        var groups: [String: [Prediction]] = [:]
        var order: [String] = []
        func add(_ key: String, _ p: Prediction) {
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(p)
        }
        for split in Split.allCases {
            let inSplit = predictions.filter { $0.row.split == split }
            let regimes = inSplit.map(\.row.regime).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            for regime in regimes { for p in inSplit where p.row.regime == regime { add("\(split.rawValue) \(regime)", p) } }
            for p in inSplit { add("\(split.rawValue) all", p) }
        }
        return order.map { key in
            let items = groups[key]!
            let errors = items.map { abs($0.error) }.sorted()
            let worst = items.max { abs($0.error) < abs($1.error) }!
            let median = errors.count % 2 == 1 ? errors[errors.count / 2] : (errors[errors.count / 2 - 1] + errors[errors.count / 2]) / 2
            return Summary(
                group: key, count: items.count, mape: errors.reduce(0, +) / Double(errors.count), median: median,
                worst: abs(worst.error), worstLabel: worst.row.label)
        }
    }

    /// The mean over regimes of each regime's MAPE.
    public static func balancedMAPE(_ predictions: [Prediction]) -> Double {
        var sums: [String: (Double, Int)] = [:]
        for p in predictions {
            let (sum, count) = sums[p.row.regime, default: (0, 0)]
            sums[p.row.regime] = (sum + abs(p.error), count + 1)
        }
        guard !sums.isEmpty else { return 0 }
        return sums.values.reduce(0) { $0 + $1.0 / Double($1.1) } / Double(sums.count)
    }

    /// Mean absolute percentage error of a list of predictions.
    public static func mape(_ predictions: [Prediction]) -> Double {
        predictions.isEmpty ? 0 : predictions.reduce(0) { $0 + abs($1.error) } / Double(predictions.count)
    }
}
