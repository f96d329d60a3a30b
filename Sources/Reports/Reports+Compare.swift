import Chips
import Estimates
import Foundation
import SimCore
import Store
import Sweeps
import Systems

extension Reports {
    /// Stored runs side by side: time, throughput, tokens per joule and cost per million tokens.
    public static func compare(_ ids: [Int64], store: RunStore, chips: String, cost: CostAssumptions = CostAssumptions()) throws -> Page {
        guard ids.count >= 2 else { throw ReportError("--compare needs at least two run ids") }
        let runs = try ids.map { id -> StoredRun in
            guard let run = try store.run(id) else { throw ReportError("no run \(id) in \(store.path) (xpusim runs list)") }
            return run
        }
        struct Row {
            var run: StoredRun
            var label: String
            var tokensPerJoule: Double?
            var wallPower: Double?
            var costPerMillion: Double?
            var basis: String
        }
        let rows: [Row] = runs.map { run in
            let label = Reports.label(run)
            let spec = chip(of: run, chips: chips, stored: nil)?.spec
            let o = run.optionValues
            let system = run.systemID.flatMap {
                try? SystemCatalog.resolve(
                    o["system"] ?? $0, overrides: o["set"].map { $0.components(separatedBy: "; ") } ?? [], nodes: run.nodes, chips: chips)
            }
            // A chip: its own power and energy. A system: the whole system's (chips, hosts, NICs,
            // switches, fans), its whole price, and the trace's tokens as the system's output, as
            // `compare --systems` counts them.
            let wall = run.systemAveragePower ?? run.averagePower
            let energy = run.systemEnergy ?? run.energy
            let perJoule = run.tokens.flatMap { t in energy.map { Double(t) / $0 } }
            var costPerMillion: Double?
            var basis = "no price known"
            if let spec, let wall, let tps = run.tokensPerSecond, tps > 0,
                let capital = Capital.of(ranks: run.systemID == nil ? 1 : run.devices ?? 1, system: system, device: spec)
            {
                costPerMillion = CostEstimate(capital: capital, power: wall, tokensPerSecond: tps, assumptions: cost).perMillionTokens
                basis = capital.basis
            }
            return Row(run: run, label: label, tokensPerJoule: perJoule, wallPower: wall, costPerMillion: costPerMillion, basis: basis)
        }
        let workloads = Set(runs.map(\.workloadHash))
        var table = Page.Table(
            [
                "run", "chip / system", "workload", "time", "tokens/s", "power per device (W)", "tokens/J (chip)", "USD per M tokens",
                "price basis",
            ],
            numeric: [3, 4, 5, 6, 7])
        table.rows = rows.map { r in
            [
                "#\(r.run.id)", r.label.split(separator: " ", maxSplits: 1).last.map(String.init) ?? r.label, r.run.workloadID,
                time(r.run.time),
                r.run.tokensPerSecond.map(formatNumber) ?? "-", r.wallPower.map(formatNumber) ?? "-",
                r.tokensPerJoule.map(formatNumber) ?? "-",
                r.costPerMillion.map(formatNumber) ?? "-", r.basis,
            ]
        }
        func bars(_ title: String, _ unit: String, format: @escaping (Double) -> String = siLabel, _ value: (Row) -> Double?) -> String {
            Chart.bars(
                title, unit: unit,
                items: rows.enumerated().map {
                    (label: $0.element.label, value: value($0.element) ?? .nan, color: palette[$0.offset % palette.count])
                },
                format: format)
        }
        var svg = bars("Time (lower is better)", "s") { $0.run.time }
        if rows.contains(where: { $0.run.tokensPerSecond != nil }) {
            svg += bars("Throughput (higher is better)", " tokens/s") { $0.run.tokensPerSecond }
        }
        if rows.contains(where: { $0.tokensPerJoule != nil }) {
            svg += bars("Tokens per joule (higher is better)", " tokens/J") { $0.tokensPerJoule }
        }
        if rows.contains(where: { $0.costPerMillion != nil }) {
            svg += bars("Cost per million tokens (lower is better)", "", format: { "$" + formatNumber($0) }) { $0.costPerMillion }
        }
        let text =
            (workloads.count == 1
                ? "All runs are of the same workload file. "
                : "The runs are of \(workloads.count) different workload files: compare with care. ")
            + "A chip's power and energy are its own; a system's are the whole system's (chips, hosts, NICs, switches, fans), with "
            + "the trace's tokens as the system's output, as `compare --systems` counts them. "
            + "Cost: the hardware's price over \(formatNumber(cost.years)) years plus energy at "
            + "\(formatNumber(cost.electricityPrice)) USD/kWh "
            + "and PUE \(formatNumber(cost.pue)), per million tokens of the run's throughput."
        return Page(
            title: "Comparison of \(runs.count) runs",
            subtitle: runs.map { label($0) }.joined(separator: " · "),
            sections: [Page.Section("Performance, energy and cost", text: text, svg: svg, table: table)])
    }

    /// A sweep: its points on the first two objectives with the Pareto front and the baseline, and
    /// each objective's sensitivity to each parameter.
    public static func sweep(_ plan: SweepPlan, store: RunStore) throws -> Page {
        let runs = try SweepRuns.load(store, sweep: plan.id)
        guard !runs.isEmpty else {
            throw ReportError("no runs of sweep \(plan.id) in \(store.path): run `xpusim sweep run \(plan.spec.file)` first")
        }
        let objectives = plan.spec.objectives.filter { o in runs.allSatisfy { $0.baseline || $0.values[o] != nil } }
        guard !objectives.isEmpty else { throw ReportError("the sweep's runs carry none of its objectives") }
        let points = runs.filter { !$0.baseline }
        let baseline = runs.first { $0.baseline }
        let front = SweepRuns.paretoFront(points, objectives: objectives)
        let onFront = Set(front.map(\.point))
        var sections: [Page.Section] = []
        func value(_ text: String) -> String { String(text.split(separator: "=", maxSplits: 1).last ?? "") }
        var table = Page.Table(
            ["index", "chip"] + plan.spec.parameters.map(\.path) + objectives.map { "\($0.rawValue) (\($0.unit))" } + ["front"],
            numeric: Set(0..<(2 + plan.spec.parameters.count + objectives.count)).subtracting([1]))
        for r in (baseline.map { [$0] } ?? []) + points.sorted(by: { $0.index < $1.index }) {
            table.rows.append(
                [r.baseline ? "baseline" : "\(r.index)", r.chip]
                    + (r.baseline ? plan.spec.parameters.map { _ in "-" } : r.assignments.map(value))
                    + objectives.map { r.values[$0].map(formatNumber) ?? "-" } + [onFront.contains(r.point) ? "yes" : ""])
        }
        if objectives.count >= 2 {
            let (ox, oy) = (objectives[0], objectives[1])
            let all = runs.compactMap { r in r.values[ox].flatMap { x in r.values[oy].map { (x: x, y: $0) } } }
            let x = Axis("\(ox.rawValue) (\(ox.unit), \(ox.maximise ? "higher" : "lower") is better)", values: all.map(\.x))
            let y = Axis("\(oy.rawValue) (\(oy.unit), \(oy.maximise ? "higher" : "lower") is better)", values: all.map(\.y))
            var series = [
                Chart.Series(
                    name: "points", points: points.filter { !onFront.contains($0.point) }.map { (x: $0.values[ox]!, y: $0.values[oy]!) },
                    color: "#9a9a9a"),
                Chart.Series(
                    name: "Pareto front (over all \(objectives.count) objectives)",
                    points: front.map { (x: $0.values[ox]!, y: $0.values[oy]!) }, color: palette[1], radius: 5,
                    labels: front.map { "\($0.index)" }),
            ]
            if let baseline, baseline.values[ox] != nil, baseline.values[oy] != nil {
                series.append(
                    Chart.Series(
                        name: "baseline: \(baseline.chip)", points: [(x: baseline.values[ox]!, y: baseline.values[oy]!)], color: "#000000",
                        radius: 6, labels: [baseline.chip]))
            }
            sections.append(
                Page.Section(
                    "Pareto front",
                    text:
                        "\(points.count) of \(plan.points.count) points of \(plan.spec.chip) on \(plan.spec.workload); the "
                        + "front is the points no other beats on every objective.",
                    svg: Chart.plot("\(plan.spec.name): \(ox.rawValue) against \(oy.rawValue)", x: x, y: y, series: series, height: 420),
                    table: table))
        } else {
            sections.append(Page.Section("Points", svg: nil, table: table))
        }
        let sensitivity = SweepRuns.sensitivity(runs, spec: plan.spec)
        var sTable = Page.Table(["parameter"] + objectives.map(\.rawValue), numeric: Set(1...objectives.count))
        var items: [(label: String, value: Double, color: String)] = []
        for p in plan.spec.parameters {
            var row = [p.path]
            for (j, o) in objectives.enumerated() {
                let e = sensitivity.first { $0.parameter == p.path && $0.objective == o }?.elasticity
                row.append(e.map { String(format: "%+.3f", $0) } ?? "-")
                items.append((label: "\(p.path) → \(o.rawValue)", value: e ?? .nan, color: palette[j % palette.count]))
            }
            sTable.rows.append(row)
        }
        sections.append(
            Page.Section(
                "Sensitivity",
                text: "Per cent change of each objective per +1% of each parameter: the log-log least-squares slope over the points.",
                svg: Chart.bars(
                    "Elasticity of each objective to each parameter", unit: "", items: items, format: { String(format: "%+.3f", $0) }),
                table: sTable))
        return Page(
            title: "Sweep \(plan.spec.name) (\(plan.id))",
            subtitle:
                "\(plan.spec.chip) with \(plan.spec.parameters.map(\.path).joined(separator: ", ")) varied; objectives "
                + "\(plan.spec.objectives.map(\.rawValue).joined(separator: ", "))",
            sections: sections)
    }
}
