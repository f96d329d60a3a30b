import Chips
import Estimates
import Foundation
import SimCore
import Systems
import Workloads

/// One point of a sweep: the chip figures it sets, and its stable id.
public struct SweepPoint: Sendable, Equatable {
    public var index: Int
    /// `path=value` assignments, in the spec's parameter order (what `--set` takes).
    public var assignments: [String]
    /// SHA-256 (first 16 hex digits) of the tool version, the base chip's content, the
    /// assignments as written and the workload's bytes: the same point in two plans has the same id.
    public var id: String
}

/// A sweep expanded into its points.
public struct SweepPlan: Sendable {
    public var spec: SweepSpec
    public var points: [SweepPoint]
    /// Hash of the spec's name, workload and every point id: what `sweep show` finds its runs by.
    public var id: String
    public var workloadHash: String
    /// The baseline chip's run (index -1, no assignments), if the spec names one.
    public var baseline: SweepPoint?
    /// Points of the design left out because they break a constraint.
    public var excluded = 0
    /// Points of the design that came out equal to an earlier one as written (one is kept).
    public var duplicates = 0

    /// The tasks a plan splits into for `--index` and `--shard`: its points in order, then the
    /// baseline (task `points.count`) if there is one.
    public var taskCount: Int { points.count + (baseline == nil ? 0 : 1) }

    /// The point task `i` runs (`0..<taskCount`).
    public func task(_ i: Int) -> SweepPoint { i < points.count ? points[i] : baseline! }

    /// The tasks of shard `k` of `n` (1-based): contiguous, sizes differing by at most one.
    public func shard(_ k: Int, of n: Int) -> Range<Int> {
        let lo = taskCount * (k - 1) / n
        let hi = taskCount * k / n
        return lo..<hi
    }

    /// Expands the spec: the grid of every parameter's values (ranges at their steps), or `count`
    /// random or Latin-hypercube samples (each range split into `count` strata, one sample in
    /// each, the strata shuffled per parameter) from SplitMix64 with the spec's seed.
    public static func expand(_ spec: SweepSpec, toolVersion: String, chips: String) throws -> SweepPlan {
        var rows = try values(spec)
        // Values written at the display precision can coincide (a narrow range, repeated samples):
        // one point each.
        var distinct = Set<[String]>()
        let written = rows.count
        rows = rows.filter { distinct.insert($0).inserted }
        let duplicates = written - rows.count
        let workloadHash: String
        if spec.generator != nil {
            // The generated trace's own text: the same call on another machine hashes the same.
            workloadHash = ContentHash.sha256(TraceWriter.text(try trace(spec), format: .json))
        } else {
            guard let bytes = FileManager.default.contents(atPath: spec.workload) else {
                throw SweepError("\(spec.file): workload: no such file \(spec.workload)")
            }
            workloadHash = ContentHash.sha256([UInt8](bytes))
        }
        // The base: its figures for the constraints, a check of a set of assignments against its
        // file's rules, and the hash of its content.
        let baseNumber: (String) -> Double?
        let check: ([String]) throws -> Void
        let chipHash: String
        if spec.isSystem {
            let system: SystemSpec
            do { system = try SystemCatalog.resolve(spec.chip, nodes: spec.nodes, chips: chips) } catch {
                throw SweepError("\(spec.file): system: \(error)")
            }
            baseNumber = { system.document.number($0) }
            check = { probe in _ = try SystemCatalog.resolve(spec.chip, overrides: probe, nodes: spec.nodes, chips: chips) }
            chipHash = ContentHash.sha256(
                [system.document.contentJSON, system.chip.document.contentJSON, "nodes=\(system.nodes)"].joined(separator: "\n"))
        } else {
            let base = try ChipCatalog.load(directory: chips)
            guard let document = base.documents.first(where: { $0.id == spec.chip }) else {
                throw SweepError("\(spec.file): chip: no chip \"\(spec.chip)\" (xpusim chips list)")
            }
            baseNumber = { document.number($0) }
            check = { probe in
                var d = document
                for assignment in probe { try d.override(assignment) }
                let errors = ChipValidator.validate(d)
                if !errors.isEmpty { throw errors[0] }
            }
            chipHash = ContentHash.sha256(document.contentJSON)
        }
        let designed = rows.count
        if !spec.constraints.isEmpty {
            rows = try rows.filter { row in try holds(spec, row: row, base: baseNumber) }
            guard !rows.isEmpty else {
                throw SweepError("\(spec.file): constraints: no point of the \(designed) meets them all")
            }
        }
        // Each parameter's extremes (or each listed value) are checked against the file's rules
        // once, alone and at the corners of the design, rather than every point (a 100,000-point
        // plan would spend minutes there); a point that still breaks a rule fails when it runs,
        // naming itself.
        var probes: [[String]] = rows.isEmpty ? [] : [rows[0]]
        for (i, p) in spec.parameters.enumerated() {
            let column = Set(rows.map { $0[i] })
            switch p.domain {
            case .values: probes += column.sorted().map { [$0] }
            case .range: probes += [column.min()!, column.max()!].map { [$0] }
            }
        }
        if spec.parameters.count <= 10 {
            let extremes = spec.parameters.indices.map { i in Array(Set([rows.map { $0[i] }.min()!, rows.map { $0[i] }.max()!])) }
            var corners: [[String]] = [[]]
            for e in extremes { corners = corners.flatMap { c in e.map { c + [$0] } } }
            probes += corners
        }
        for probe in probes {
            do { try check(probe) } catch { throw SweepError("\(spec.file): \(probe.joined(separator: ", ")): \(error)") }
        }
        var points: [SweepPoint] = []
        points.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            let id = pointID(toolVersion: toolVersion, chipHash: chipHash, workloadHash: workloadHash, assignments: row)
            points.append(SweepPoint(index: index, assignments: row, id: id))
        }
        var baseline: SweepPoint?
        if let chip = spec.baseline {
            let hash: String
            do {
                if spec.isSystem {
                    let other = try SystemCatalog.resolve(chip, nodes: spec.nodes, chips: chips)
                    hash = ContentHash.sha256(
                        [other.document.contentJSON, other.chip.document.contentJSON, "nodes=\(other.nodes)"].joined(separator: "\n"))
                } else {
                    hash = ContentHash.sha256(try ChipCatalog.resolve(chip, directory: chips).document.contentJSON)
                }
            } catch {
                throw SweepError("\(spec.file): baseline: \(error)")
            }
            let id = pointID(toolVersion: toolVersion, chipHash: hash, workloadHash: workloadHash, assignments: [])
            baseline = SweepPoint(index: -1, assignments: [], id: id)
        }
        // The baseline is part of the plan: two specs that differ only in it are two plans.
        let planID = String(
            ContentHash.sha256(
                ([spec.name, workloadHash] + points.map(\.id) + (baseline.map { ["baseline " + $0.id] } ?? [])).joined(separator: "\n")
            )
            .prefix(12))
        return SweepPlan(
            spec: spec, points: points, id: planID, workloadHash: workloadHash, baseline: baseline, excluded: designed - rows.count,
            duplicates: duplicates)
    }

    /// The spec's workload: its trace file, or the trace its generator call makes.
    public static func trace(_ spec: SweepSpec) throws -> Trace {
        guard let g = spec.generator else { return try Trace.load(file: spec.workload) }
        do {
            let model = try ModelCatalog.resolve(g.model)
            return try TraceGenerator(model: model.model, request: g.request).trace()
        } catch let error as GenerationError {
            throw SweepError("\(spec.file): workload: \(error.message)")
        }
    }

    /// Whether a row of assignments meets every constraint: varied figures at the row's values
    /// (SI), the others at the base chip's.
    static func holds(_ spec: SweepSpec, row: [String], base: (String) -> Double?) throws -> Bool {
        var values: [String: Double] = [:]
        for (p, assignment) in zip(spec.parameters, row) {
            let text = String(assignment.split(separator: "=", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces)
            let value: Double?
            switch p.type {
            case .quantity(let kind): value = Quantity.parse(text, as: kind)?.value
            case .integer: value = Double(text)
            default: value = nil  // text and choices: constraints cannot read them
            }
            if let value {
                values[p.path] = value
            } else if spec.constraints.contains(where: { $0.paths.contains(p.path) }) {
                throw SweepError("\(spec.file): \(assignment): not a value a constraint can read (\(p.type.expected))")
            }
        }
        for c in spec.constraints {
            do {
                if try !c.holds({ values[$0] ?? base($0) }) { return false }
            } catch let error as SweepError {
                throw SweepError("\(spec.file): constraints: \(error.description)")
            }
        }
        return true
    }

    /// A point's id: the first 16 hex digits of SHA-256 over the tool version, the base chip's
    /// content hash, the workload's hash and the point's assignments.
    static func pointID(toolVersion: String, chipHash: String, workloadHash: String, assignments: [String]) -> String {
        String(
            ContentHash.sha256([toolVersion, chipHash, workloadHash].joined(separator: "\n") + "\n" + assignments.joined(separator: "\n"))
                .prefix(16))
    }

    /// The assignments of every point, before any chip is resolved.
    static func values(_ spec: SweepSpec) throws -> [[String]] {
        func text(_ x: Double, _ p: SweepSpec.Parameter) -> String {
            switch p.type {
            case .quantity(.bytes) where x >= 1_048_576:
                return "\(p.path)=\(formatNumber(x / 1_048_576)) MiB"
            case .quantity(let kind):
                let unit = kind.displayUnit
                return "\(p.path)=\(formatNumber(x / unit.factor)) \(unit.symbol)".trimmingCharacters(in: .whitespaces)
            default: return "\(p.path)=\(Int(x.rounded()))"
            }
        }
        switch spec.sampling {
        case .grid:
            let axes: [[String]] = spec.parameters.map { p in
                switch p.domain {
                case .values(let v): return v.map { "\(p.path)=\($0)" }
                case .range(let from, let to, let steps):
                    return (0..<steps).map { text(from + (to - from) * Double($0) / Double(steps - 1), p) }
                }
            }
            let count = axes.reduce(1) { $0.multipliedReportingOverflow(by: $1.count).overflow ? Int.max : $0 * $1.count }
            guard count <= SweepSpec.maxPoints else {
                throw SweepError("\(spec.file): the grid has \(count) points, more than \(SweepSpec.maxPoints): sample it instead")
            }
            var rows: [[String]] = [[]]
            for axis in axes { rows = rows.flatMap { row in axis.map { row + [$0] } } }
            return rows
        case .random(let count, let seed), .latinHypercube(let count, let seed):
            var rng = SplitMix64(seed: seed)
            let latin = { if case .latinHypercube = spec.sampling { return true } else { return false } }()
            var columns: [[String]] = []
            for p in spec.parameters {
                var unit: [Double]
                if latin {
                    unit = (0..<count).map { (Double($0) + rng.uniform()) / Double(count) }
                    for i in stride(from: count - 1, to: 0, by: -1) { unit.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                } else {
                    unit = (0..<count).map { _ in rng.uniform() }
                }
                switch p.domain {
                case .values(let v): columns.append(unit.map { "\(p.path)=\(v[min(v.count - 1, Int($0 * Double(v.count)))])" })
                case .range(let from, let to, _): columns.append(unit.map { text(from + (to - from) * $0, p) })
                }
            }
            return (0..<count).map { i in columns.map { $0[i] } }
        }
    }
}

public struct SweepError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
