import Chips
import Foundation
import Simulator
import Systems

/// Error statistics of one group of rows: absolute relative errors.
public struct ErrorStats: Sendable, Equatable {
    public var count: Int
    public var mape: Double
    public var median: Double
    public var worst: Double

    public init?(_ errors: [Double]) {
        guard !errors.isEmpty else { return nil }
        let sorted = errors.map(abs).sorted()
        count = sorted.count
        mape = sorted.reduce(0, +) / Double(sorted.count)
        median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        worst = sorted.last!
    }
}

/// One line of the accuracy table: a data set's regime, with its calibration and check errors.
public struct AccuracyLine: Sendable, Equatable {
    public var set: String
    public var chip: String
    public var regime: String
    public var calibration: ErrorStats?
    public var check: ErrorStats?
    /// Check rows that are twins of calibration kernels and count as calibration.
    public var twins: Int
}

/// Every data set against the model, in one table: what `xpusim validate --all` prints and what
/// README.md and docs/validation.md show (scripts/update-accuracy.sh writes them; a test compares).
public enum AccuracyReport {
    /// Lines of a timing set: one per regime in order of first appearance, then "all" where there are several.
    public static func lines(_ set: ValidationSet, chip: String, _ predictions: [Validator.Prediction]) -> [AccuracyLine] {
        var regimes: [String] = []
        for p in predictions where !regimes.contains(p.row.regime) { regimes.append(p.row.regime) }
        if regimes.count > 1 { regimes.append("all") }
        return regimes.map { regime in
            let inRegime = predictions.filter { regime == "all" || $0.row.regime == regime }
            return AccuracyLine(
                set: set.id, chip: chip, regime: regime,
                calibration: ErrorStats(inRegime.filter { $0.row.split == .calibration }.map(\.error)),
                check: ErrorStats(inRegime.filter { $0.row.split == .check }.map(\.error)),
                twins: inRegime.filter(\.row.twin).count)
        }
    }

    /// Lines of a power set: one per metric.
    public static func lines(_ set: PowerValidationSet, chip: String, _ predictions: [PowerPrediction]) -> [AccuracyLine] {
        var metrics: [String] = []
        for p in predictions { for metric in p.measured.keys.sorted() where !metrics.contains(metric) { metrics.append(metric) } }
        return metrics.map { metric in
            func errors(_ split: Split) -> [Double] {
                predictions.filter { $0.split == split }.compactMap { p in
                    guard let m = p.measured[metric], let q = p.predicted[metric], m > 0 else { return nil }
                    return q / m - 1
                }
            }
            return AccuracyLine(
                set: set.id, chip: chip, regime: metric, calibration: ErrorStats(errors(.calibration)), check: ErrorStats(errors(.check)),
                twins: 0)
        }
    }

    /// Runs every data set on the chip (or system, at the node count of each row) it was measured on.
    public static func compute(
        directory: String, machine: (String) throws -> Machine, system: (String, Int) throws -> SystemSpec
    ) throws -> [AccuracyLine] {
        var result: [AccuracyLine] = []
        let collectiveRows = CollectiveValidator.separatingTwins(try CollectiveValidationSet.all.map { try $0.load(directory) })
        for (set, rows) in zip(CollectiveValidationSet.all, collectiveRows) {
            let predictions = try CollectiveValidator.predict(rows) { nodes in try system(set.system, nodes) }
            result += CollectiveValidator.lines(set, predictions)
        }
        for set in ValidationSet.all {
            let m = try machine(set.chip)
            result += lines(set, chip: m.spec.id, try Validator.predict(try set.load(directory), on: m, harness: set.harness))
        }
        for set in PowerValidationSet.all {
            let m = try machine(set.chip)
            result += lines(set, chip: m.spec.id, try set.evaluate(directory, m))
        }
        return result
    }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }

    /// The full table (docs/validation.md): both parts, MAPE, median and worst.
    public static func markdown(_ lines: [AccuracyLine]) -> String {
        var out = [
            "| data set | chip | regime | calibration rows | calibration MAPE | check rows | check MAPE | check median | check worst |",
            "|---|---|---|--:|--:|--:|--:|--:|--:|",
        ]
        for l in lines {
            out.append(
                "| \(l.set) | \(l.chip) | \(l.regime) | \(l.calibration.map { String($0.count) } ?? "0") | "
                    + "\(percent(l.calibration?.mape)) | "
                    + "\(l.check.map { String($0.count) } ?? "0") | \(percent(l.check?.mape)) | \(percent(l.check?.median)) | "
                    + "\(percent(l.check?.worst)) |"
            )
        }
        return out.joined(separator: "\n")
    }

    /// The short table (README.md): check MAPE per set and regime (no "all" lines), calibration MAPE beside it.
    public static func summary(_ lines: [AccuracyLine]) -> String {
        var out = ["| data set | regime | check MAPE (rows) | calibration MAPE (rows) |", "|---|---|--:|--:|"]
        for l in lines where l.regime != "all" {
            func cell(_ s: ErrorStats?) -> String { s.map { "\(percent($0.mape)) (\($0.count))" } ?? "—" }
            out.append("| \(l.set) | \(l.regime) | \(cell(l.check)) | \(cell(l.calibration)) |")
        }
        return out.joined(separator: "\n")
    }
}
