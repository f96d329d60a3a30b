import ArgumentParser
import Chips
import Foundation
import SimCore
import Store
import Sweeps

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep chip design parameters: plan the points, run them on all cores into the database, show the Pareto front.",
        discussion: """
            A sweep spec (YAML, see workloads/sweeps/) names a base chip, a workload trace, the chip figures
            to vary (by their paths, as `xpusim chips show` lists them; values, ranges on a grid, or random
            or Latin-hypercube samples with a seed) and the objectives. Each point has a stable id (a hash
            of the tool version, the chip as the point sets it, and the workload's bytes); `run` stores
            each point as a run and skips points already stored, so an interrupted sweep resumes.

            Examples:
              xpusim sweep plan workloads/sweeps/h100-small.yaml
              xpusim sweep run workloads/sweeps/910b-memory-vs-h20.yaml
              xpusim sweep show workloads/sweeps/910b-memory-vs-h20.yaml
            """,
        subcommands: [Plan.self, Run.self, Show.self])

    struct Spec: ParsableArguments {
        @Argument(help: "The sweep spec (YAML).") var spec: String
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
        var chips: String { chipsDir ?? ChipCatalog.defaultDirectory() }
        func plan() throws -> SweepPlan {
            do {
                return try SweepPlan.expand(try SweepSpec.load(file: spec), toolVersion: XPUSim.configuration.version, chips: chips)
            } catch let error as SweepError {
                throw ValidationError(error.description)
            }
        }
    }

    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Expand a sweep spec into its points, with their ids.")
        @OptionGroup var spec: Spec
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let plan = try spec.plan()
            if format == .json {
                printJSON([
                    "sweep": plan.id, "name": plan.spec.name, "chip": plan.spec.chip, "workload": plan.spec.workload,
                    "points": plan.points.map { ["index": $0.index, "id": $0.id, "set": $0.assignments] as [String: Any] },
                ])
                return
            }
            print("sweep \(plan.id) (\(plan.spec.name)): \(plan.points.count) points of \(plan.spec.chip) on \(plan.spec.workload)")
            var table = TextTable(["index", "id"] + plan.spec.parameters.map(\.path), numeric: [0])
            for p in plan.points {
                table.add(["\(p.index)", p.id] + p.assignments.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") })
            }
            print(table.rendered)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a sweep's points on all cores and store each as a run.")
        @OptionGroup var spec: Spec
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Points simulated at once (default: the machine's cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount

        @Flag(inversion: .prefixedNo, help: "Report progress on standard error (points done, rate, time left).") var progress = true

        func validate() throws { if jobs < 1 { throw ValidationError("--jobs must be at least 1") } }

        func run() throws {
            let plan = try spec.plan()
            let store = try openStore(database)
            let terminal = isatty(STDERR_FILENO) == 1
            let result: (ran: Int, skipped: Int)
            do {
                result = try SweepRunner.run(
                    plan, chips: spec.chips, store: store, toolVersion: XPUSim.configuration.version, jobs: jobs
                ) { p in
                    guard progress else { return }
                    let rate = Double(p.done) / max(p.elapsed, 1e-9)
                    let left = Double(p.total - p.done) / max(rate, 1e-9)
                    let line = "\(p.done)/\(p.total) points, \(formatNumber(rate)) per s, \(formatNumber(left)) s left"
                    FileHandle.standardError.write(Data((terminal ? "\r\(line)" : line + "\n").utf8))
                }
            } catch let error as SweepError {
                throw ValidationError(error.description)
            }
            if terminal && result.ran > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            print("sweep \(plan.id) (\(plan.spec.name)): \(result.ran) point(s) run, \(result.skipped) already stored in \(database.path)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The sweep's Pareto front over its objectives, and each objective's sensitivity to each parameter.")
        @OptionGroup var spec: Spec
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let plan = try spec.plan()
            let store = try openStore(database)
            let runs = try SweepRuns.load(store, sweep: plan.id)
            guard !runs.isEmpty else {
                throw ValidationError("no runs of sweep \(plan.id) in \(database.path): run `xpusim sweep run \(spec.spec)` first")
            }
            let objectives = plan.spec.objectives
            for o in objectives where runs.contains(where: { $0.values[o] == nil }) {
                let needs = o == .throughput || o == .perf_per_watt ? "a trace that states its tokens" : "power figures"
                throw ValidationError("objective \(o.rawValue) needs \(needs)")
            }
            let points = runs.filter { !$0.baseline }
            let front = SweepRuns.paretoFront(points, objectives: objectives)
            let sensitivity = SweepRuns.sensitivity(runs, spec: plan.spec)
            let baseline = runs.first { $0.baseline }
            if format == .json {
                func row(_ r: SweepRun) -> [String: Any] {
                    var o: [String: Any] = ["run_id": r.runID, "point": r.point, "index": r.index, "chip": r.chip, "set": r.assignments]
                    for (k, v) in r.values where objectives.contains(k) { o[k.rawValue] = v }
                    return o
                }
                var object: [String: Any] = [
                    "sweep": plan.id, "name": plan.spec.name, "points": points.count, "missing": plan.points.count - points.count,
                    "objectives": objectives.map(\.rawValue), "front": front.map(row),
                    "sensitivity": sensitivity.map { s -> [String: Any] in
                        [
                            "parameter": s.parameter, "objective": s.objective.rawValue,
                            "elasticity": s.elasticity.map { $0 as Any } ?? NSNull(),
                        ]
                    },
                ]
                if let baseline { object["baseline"] = row(baseline) }
                printJSON(object)
                return
            }
            let missing = plan.points.count - points.count
            print(
                "sweep \(plan.id) (\(plan.spec.name)): \(points.count) of \(plan.points.count) points stored"
                    + (missing > 0 ? " (\(missing) not run yet)" : "") + "; Pareto front over "
                    + objectives.map { "\($0.rawValue) (\($0.maximise ? "higher" : "lower") is better)" }.joined(separator: ", "))
            print("")
            var table = TextTable(
                ["index", "chip"] + plan.spec.parameters.map(\.path) + objectives.map { "\($0.rawValue) \($0.unit)" },
                numeric: Set(0..<(2 + plan.spec.parameters.count + objectives.count)).subtracting([1]))
            for r in (baseline.map { [$0] } ?? []) + front {
                let values = r.assignments.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") }
                table.add(
                    [r.baseline ? "baseline" : "\(r.index)", r.chip]
                        + (r.baseline ? plan.spec.parameters.map { _ in "-" } : values)
                        + objectives.map { o in formatNumber(r.values[o]!) })
            }
            print(table.rendered)
            print("")
            print("sensitivity: % change of each objective per +1% of each parameter (log-log slope over the points)")
            print("")
            var s = TextTable(["parameter"] + objectives.map(\.rawValue), numeric: Set(1...objectives.count))
            for p in plan.spec.parameters {
                s.add(
                    [p.path]
                        + objectives.map { o in
                            sensitivity.first { $0.parameter == p.path && $0.objective == o }?.elasticity.map {
                                String(format: "%+.3f", $0)
                            } ?? "-"
                        })
            }
            print(s.rendered)
        }
    }
}
