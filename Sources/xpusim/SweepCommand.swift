import ArgumentParser
import Chips
import Foundation
import SimCore
import Store
import Sweeps

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Sweep chip or system design parameters: plan the points, run them into the database, show the Pareto front.",
        discussion: """
            A sweep spec (YAML, see workloads/sweeps/) names a base chip (or a system), a workload (a trace
            file or a generator call), the figures to vary (by their paths, as `xpusim chips show` or
            `systems show` lists them; values, ranges on a grid, or random or Latin-hypercube samples with a
            seed), constraints between them, and the objectives. Each point has a stable id (a hash of the
            tool version, the base as the point sets it, and the workload); `run` stores each point as a run
            and skips points already stored, so an interrupted sweep resumes.

            Examples:
              xpusim sweep plan workloads/sweeps/h100-small.yaml
              xpusim sweep run workloads/sweeps/910b-memory-vs-h20.yaml
              xpusim sweep show workloads/sweeps/910b-memory-vs-h20.yaml

            On many processes or machines, each task runs one shard of the plan into a result file of
            its own, and `merge` folds the files into the database:
              xpusim sweep run workloads/sweeps/h100-small.yaml --shard 2/3 --out results/h100-small
              xpusim sweep submit workloads/sweeps/h100-small.yaml --engine slurm --out results/h100-small
              xpusim sweep merge results/h100-small
            """,
        subcommands: [Plan.self, Run.self, Show.self, Merge.self, Submit.self])

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
        static let configuration = CommandConfiguration(
            commandName: "plan", abstract: "Expand a sweep spec into its points, with their ids.")
        @OptionGroup var spec: Spec
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let plan = try spec.plan()
            if format == .json {
                printJSON([
                    "sweep": plan.id, "name": plan.spec.name, "chip": plan.spec.chip, "workload": plan.spec.workload,
                    "excluded_by_constraints": plan.excluded, "duplicates": plan.duplicates,
                    "points": plan.points.map { ["index": $0.index, "id": $0.id, "set": $0.assignments] as [String: Any] },
                ])
                return
            }
            var notes: [String] = []
            if plan.excluded > 0 { notes.append("\(plan.excluded) more left out by the constraints") }
            if plan.duplicates > 0 { notes.append("\(plan.duplicates) equal to another point as written, run once") }
            let left = notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")"
            print("sweep \(plan.id) (\(plan.spec.name)): \(plan.points.count) points of \(plan.spec.chip) on \(plan.spec.workload)\(left)")
            var table = TextTable(["index", "id"] + plan.spec.parameters.map(\.path), numeric: [0])
            for p in plan.points {
                table.add(["\(p.index)", p.id] + p.assignments.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") })
            }
            print(table.rendered)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a sweep's points on all cores and store each as a run.",
            discussion: """
                The plan's tasks are its points in order, then the baseline (if the spec names one). --index I
                runs task I alone and --shard k/n the k-th of n contiguous slices of the tasks; with --out DIR
                they land in a result file of their own in DIR (written on local disk, then copied whole into
                DIR), for `xpusim sweep merge DIR`; without --out, in the database.
                """)
        @OptionGroup var spec: Spec
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Points simulated at once (default: the machine's cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount
        @Option(help: "Run only task I (0-based: the points, then the baseline).") var index: Int?
        @Option(help: "Run only shard k of n (1-based), e.g. 2/8.") var shard: String?
        @Option(help: "Write the runs into a result file in this folder instead of the database.") var out: String?

        @Flag(inversion: .prefixedNo, help: "Report progress on standard error (points done, rate, time left).") var progress = true

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if index != nil && shard != nil { throw ValidationError("give --index or --shard, not both") }
            if let shard { _ = try Self.parseShard(shard) }
        }

        static func parseShard(_ text: String) throws -> (k: Int, n: Int) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 1_000_000, k >= 1, k <= n else {
                throw ValidationError("--shard expects k/n with 1 <= k <= n <= 1000000 (for example 2/8); found \"\(text)\"")
            }
            return (k, n)
        }

        func run() throws {
            let plan = try spec.plan()
            var tasks = 0..<plan.taskCount
            if let index {
                guard tasks.contains(index) else {
                    throw ValidationError("--index \(index) is outside the plan's \(plan.taskCount) task(s) (0 to \(plan.taskCount - 1))")
                }
                tasks = index..<(index + 1)
            } else if let shard {
                let (k, n) = try Self.parseShard(shard)
                tasks = plan.shard(k, of: n)
            }
            let terminal = isatty(STDERR_FILENO) == 1
            let report: (SweepRunner.Progress) -> Void = { p in
                guard progress else { return }
                let rate = Double(p.done) / max(p.elapsed, 1e-9)
                let left = Double(p.total - p.done) / max(rate, 1e-9)
                let line = "\(p.done)/\(p.total) points, \(formatNumber(rate)) per s, \(formatNumber(left)) s left"
                FileHandle.standardError.write(Data((terminal ? "\r\(line)" : line + "\n").utf8))
            }
            let range =
                tasks.isEmpty
                ? "no tasks" : tasks.count == 1 ? "task \(tasks.lowerBound)" : "tasks \(tasks.lowerBound)-\(tasks.upperBound - 1)"
            do {
                if let out {
                    let result = try SweepResults.run(
                        plan, chips: spec.chips, toolVersion: XPUSim.configuration.version, tasks: tasks, into: out, jobs: jobs,
                        progress: report)
                    if terminal && progress && result.ran > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
                    print(
                        "sweep \(plan.id) (\(plan.spec.name)): \(range) of \(plan.taskCount), \(result.ran) point(s) run into "
                            + "\(result.file)"
                    )
                    return
                }
                let store = try openStore(database)
                let result = try SweepRunner.run(
                    plan, chips: spec.chips, store: store, toolVersion: XPUSim.configuration.version, tasks: tasks, jobs: jobs,
                    progress: report)
                if terminal && progress && result.ran > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
                let scope = tasks.count == plan.taskCount ? "" : "\(range) of \(plan.taskCount): "
                print(
                    "sweep \(plan.id) (\(plan.spec.name)): \(scope)\(result.ran) point(s) run, \(result.skipped) already stored "
                        + "in \(database.path)"
                )
            } catch let error as SweepError {
                throw ValidationError(error.description)
            }
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Fold a result folder's files into the database in one transaction, each point exactly once.",
            discussion: """
                DIR is a folder that `sweep run --out DIR` or `sweep submit --out DIR` wrote: a plan.json
                and one result file per task. A point already in the database, or in an earlier file, is
                not stored again; a file of another plan is refused and nothing is merged. Points in no
                file yet are listed (run their tasks again, then merge again).
                """)
        @Argument(help: "The result folder.") var folder: String
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let store = try openStore(database)
            let summary: SweepResults.MergeSummary
            do { summary = try SweepResults.merge(folder, into: store) } catch let error as SweepError {
                throw ValidationError(error.description)
            }
            if format == .json {
                printJSON([
                    "sweep": summary.sweep, "name": summary.name, "files": summary.files, "merged": summary.merged,
                    "duplicates": summary.duplicates, "missing": summary.missing, "tasks": summary.tasks,
                ])
                return
            }
            print(
                "sweep \(summary.sweep) (\(summary.name)): \(summary.merged) point(s) merged from \(summary.files) file(s) into "
                    + "\(database.path), \(summary.duplicates) already stored; \(summary.tasks - summary.missing.count) of "
                    + "\(summary.tasks) "
                    + "task(s) stored")
            if !summary.missing.isEmpty {
                let shown = summary.missing.prefix(20).map(String.init).joined(separator: ", ")
                print("missing task(s): \(shown)\(summary.missing.count > 20 ? ", ..." : "") (run them with --index I, then merge again)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
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
            // The baseline may lack one (a chip without a price); it then shows "-" there.
            for o in objectives where runs.contains(where: { !$0.baseline && $0.values[o] == nil }) {
                let needs =
                    o == .throughput || o == .perf_per_watt
                    ? "a trace that states its tokens"
                    : o == .cost_per_million_tokens ? "a chip price (economics) and a trace that states its tokens" : "power figures"
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
                        + objectives.map { o in r.values[o].map(formatNumber) ?? "-" })
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
