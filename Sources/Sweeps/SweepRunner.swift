import Chips
import Estimates
import Experiments
import Foundation
import SimCore
import Simulator
import Store
import Workloads

/// Runs a plan's points on all cores and stores each as a run; points already stored for the
/// same plan are skipped, so an interrupted sweep resumes where it stopped.
public enum SweepRunner {
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var skipped: Int
        public var elapsed: Double
    }

    /// The point ids of `plan` already in `store`.
    public static func finished(_ plan: SweepPlan, in store: RunStore) throws -> Set<String> {
        Set(try SweepRuns.load(store, sweep: plan.id).map(\.point))
    }

    /// Runs the plan's tasks (`tasks`, default all: its points, then the baseline) that `store`
    /// does not hold yet; returns how many ran and how many were already stored.
    public static func run(
        _ plan: SweepPlan, chips: String, store: RunStore, toolVersion: String, tasks: Range<Int>? = nil,
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, progress: (Progress) -> Void = { _ in }
    ) throws -> (ran: Int, skipped: Int) {
        let trace = try SweepPlan.trace(plan.spec)
        let done = try finished(plan, in: store)
        let selected = tasks ?? 0..<plan.taskCount
        // The baseline first: a sweep's points are compared against it as they land.
        let order = selected.filter { $0 >= plan.points.count } + selected.filter { $0 < plan.points.count }
        let pending: [(SweepPoint, String, Bool)] = order.map(plan.task).filter { !done.contains($0.id) }.map {
            $0.index < 0 ? ($0, plan.spec.baseline!, true) : ($0, plan.spec.chip, false)
        }
        let skipped = selected.count - pending.count
        let total = pending.count
        let start = DispatchTime.now().uptimeNanoseconds
        var ran = 0
        let batch = max(1, jobs * 4)
        for first in stride(from: 0, to: pending.count, by: batch) {
            let slice = Array(pending[first..<min(pending.count, first + batch)])
            let results = Parallel.map(slice) { point, chip, _ -> Result<RunOutcome, Error> in
                let target =
                    plan.spec.isSystem
                    ? RunTarget(system: chip, nodes: plan.spec.nodes, overrides: point.assignments, chips: chips)
                    : RunTarget(chip: chip, overrides: point.assignments, chips: chips)
                return Result { try Experiment.run(target, trace: trace) }
            }
            // One writer: the database stores the batch's runs in order.
            for (i, result) in results.enumerated() {
                let (point, chip, isBaseline) = slice[i]
                let outcome: RunOutcome
                do { outcome = try result.get() } catch {
                    throw SweepError("point \(point.index) (\(point.assignments.joined(separator: ", "))): \(error)")
                }
                let (run, spec) = (outcome.result, outcome.spec)
                var options = [
                    "sweep": plan.id, "sweep_name": plan.spec.name, "point": point.id, "index": "\(point.index)", "chip": chip,
                    "workload": plan.spec.workload,
                ]
                if !point.assignments.isEmpty { options["set"] = point.assignments.joined(separator: "; ") }
                if let system = outcome.system {
                    options["system"] = chip
                    options["nodes"] = "\(system.nodes)"
                }
                if isBaseline { options["baseline"] = "yes" }
                // On a system: the whole system's power and price, and every replica's tokens
                // (Experiment.run: devices / replica_ranks replicas, one where the trace does not say).
                let devices = outcome.system?.totalDevices ?? 1
                let power = outcome.systemRun?.averagePower ?? run.power.averagePower
                if let tokens = run.tokens, run.totalTime > 0, power > 0,
                    let capital = Capital.of(ranks: devices, system: outcome.system, device: spec)
                {
                    let cost = CostEstimate(
                        capital: capital, power: power, tokensPerSecond: Double(tokens) / run.totalTime,
                        assumptions: CostAssumptions())
                    options["cost_per_million_tokens_usd"] = "\(cost.perMillionTokens)"
                }
                _ = try store.save(
                    run, context: Experiment.context(outcome, workloadHash: plan.workloadHash, options: options, toolVersion: toolVersion))
                ran += 1
            }
            progress(
                Progress(done: ran, total: total, skipped: skipped, elapsed: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        }
        return (ran, skipped)
    }
}

/// A stored point of a sweep, with its objective values.
public struct SweepRun: Sendable {
    public var runID: Int64
    public var point: String
    public var index: Int
    public var chip: String
    public var assignments: [String]
    public var baseline: Bool
    public var values: [Objective: Double]
}

public enum SweepRuns {
    /// The runs stored for sweep `id` (a plan id), in point order, the baseline first.
    public static func load(_ store: RunStore, sweep id: String) throws -> [SweepRun] {
        var out: [SweepRun] = []
        for run in try store.list() {
            let options = run.optionValues
            guard options["sweep"] == id, let point = options["point"] else { continue }
            // A run on a system: the whole system's energy and power, and its stored tokens are
            // every replica's (as `compare --systems` counts them).
            var values: [Objective: Double] = [.time: run.time]
            let energy = run.systemEnergy ?? run.energy
            if let e = energy { values[.energy] = e }
            if let p = run.systemAveragePower ?? run.averagePower { values[.power] = p }
            if let t = run.peakTemperature { values[.peak_temperature] = t }
            if let cost = options["cost_per_million_tokens_usd"].flatMap(Double.init) { values[.cost_per_million_tokens] = cost }
            if let tokens = run.tokens, let energy, energy > 0 {
                values[.throughput] = Double(tokens) / run.time
                values[.perf_per_watt] = Double(tokens) / energy
            }
            out.append(
                SweepRun(
                    runID: run.id, point: point, index: Int(options["index"] ?? "") ?? 0, chip: options["chip"] ?? run.chipID,
                    assignments: options["set"].map { $0.components(separatedBy: "; ") } ?? [], baseline: options["baseline"] == "yes",
                    values: values))
        }
        // A point stored twice (two runs of a plan racing) counts once: its first run.
        var seen = Set<String>()
        return out.sorted { ($0.index, $0.runID) < ($1.index, $1.runID) }.filter { seen.insert($0.point).inserted }
    }

    /// The points no other point beats on every objective (and strictly on one).
    public static func paretoFront(_ runs: [SweepRun], objectives: [Objective]) -> [SweepRun] {
        func better(_ a: SweepRun, _ b: SweepRun, _ o: Objective) -> (Bool, Bool) {
            guard let x = a.values[o], let y = b.values[o] else { return (false, false) }
            return o.maximise ? (x >= y, x > y) : (x <= y, x < y)
        }
        return runs.filter { b in
            !runs.contains { a in
                let pairs = objectives.map { better(a, b, $0) }
                return pairs.allSatisfy(\.0) && pairs.contains(where: \.1)
            }
        }
    }

    /// Elasticity of each objective to each numeric parameter: the coefficients of one least-squares
    /// fit of ln(objective) on the ln(parameter)s together (a +1% change in the parameter moves the
    /// objective by this many per cent with the other parameters held, so parameters that move
    /// together, as a constraint makes them, are told apart). nil where a parameter does not vary,
    /// is not a positive number, or cannot be told apart from the others.
    public static func sensitivity(_ runs: [SweepRun], spec: SweepSpec) -> [(parameter: String, objective: Objective, elasticity: Double?)]
    {
        let points = runs.filter { !$0.baseline }
        let logs: [[Double?]] = spec.parameters.enumerated().map { i, p in
            points.map { run in
                guard i < run.assignments.count else { return nil }
                let text = run.assignments[i].split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
                let x: Double?
                switch p.type {
                case .quantity(let kind): x = Quantity.parse(text, as: kind)?.value
                default: x = Double(text.trimmingCharacters(in: .whitespaces))
                }
                return x.flatMap { $0 > 0 ? Foundation.log($0) : nil }
            }
        }
        // Parameters that vary over the points, numeric at every point.
        let used = logs.indices.filter { i in
            let v = logs[i].compactMap { $0 }
            guard v.count == points.count, let lo = v.min(), let hi = v.max() else { return false }
            return hi - lo > 1e-12
        }
        var out: [(String, Objective, Double?)] = []
        var fitted: [Objective: [Int: Double]] = [:]
        for o in spec.objectives {
            let rows = points.indices.filter { (points[$0].values[o] ?? 0) > 0 }
            guard rows.count > used.count, !used.isEmpty else { continue }
            let ys = rows.map { Foundation.log(points[$0].values[o]!) }
            let xs = rows.map { r in [1.0] + used.map { logs[$0][r]! } }
            if let b = leastSquares(xs, ys) { fitted[o] = Dictionary(uniqueKeysWithValues: zip(used, b.dropFirst())) }
        }
        for (i, p) in spec.parameters.enumerated() {
            for o in spec.objectives { out.append((p.path, o, fitted[o]?[i])) }
        }
        return out
    }

    /// Solves the normal equations of y ≈ X b by Gaussian elimination with partial pivoting; nil
    /// when the columns are (nearly) dependent.
    static func leastSquares(_ x: [[Double]], _ y: [Double]) -> [Double]? {
        let k = x[0].count
        // Columns scaled to unit size first, so the pivot test means the same for every figure.
        var scale = [Double](repeating: 0, count: k)
        for row in x { for c in 0..<k { scale[c] = max(scale[c], abs(row[c])) } }
        var a = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for (row, t) in zip(x, y) {
            for r in 0..<k {
                for c in 0..<k { a[r][c] += row[r] / scale[r] * row[c] / scale[c] }
                a[r][k] += row[r] / scale[r] * t
            }
        }
        for col in 0..<k {
            let pivot = (col..<k).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            guard abs(a[pivot][col]) > 1e-9 * Double(x.count) else { return nil }
            a.swapAt(col, pivot)
            for r in 0..<k where r != col {
                let f = a[r][col] / a[col][col]
                for c in col...k { a[r][c] -= f * a[col][c] }
            }
        }
        return (0..<k).map { a[$0][k] / a[$0][$0] / scale[$0] }
    }
}
