import ArgumentParser
import Foundation
import SimCore
import Store

/// Where runs are stored: `--db`, else `$XPUSIM_DB`, else `./xpusim.sqlite`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite database of runs (default: $XPUSIM_DB or ./xpusim.sqlite).")
    var dbPath: String?

    var path: String {
        if let dbPath { return dbPath }
        if let env = ProcessInfo.processInfo.environment["XPUSIM_DB"], !env.isEmpty { return env }
        return "xpusim.sqlite"
    }
}

func openStore(_ options: DatabaseOptions) throws -> RunStore {
    try RunStore(path: options.path)
}

func jsonValue(_ value: Any?) -> Any { value ?? NSNull() }

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List, show, compare, export and delete stored runs.",
        discussion: """
            Every `xpusim run` is stored (unless --no-store) in an SQLite file: ./xpusim.sqlite, $XPUSIM_DB or --db.
            The schema is in docs/database.md; `sqlite3 xpusim.sqlite 'SELECT * FROM run_summary'` reads it directly.
            """,
        subcommands: [List.self, Show.self, Compare.self, Export.self, Delete.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List stored runs, newest first.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only runs on this chip id.") var chip: String?
        @Option(help: "Only runs of this workload id (the trace's name).") var workload: String?
        @Option(help: "Only runs created at or after this date (YYYY-MM-DD or ISO 8601).") var since: String?
        @Option(help: "Only runs created before this date.") var until: String?
        @Option(help: "At most this many runs.") var limit: Int?
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func validate() throws {
            for (name, value) in [("since", since), ("until", until)] {
                if let value, !isDate(value) {
                    throw ValidationError("--\(name): expected a date such as 2026-11-22 or 2026-11-22T10:00:00Z, found \"\(value)\"")
                }
            }
            if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        }

        func run() throws {
            let store = try openStore(database)
            let runs = try store.list(RunFilter(chip: chip, workload: workload, since: since, until: until, limit: limit))
            if format == .json {
                printJSON(["runs": runs.map { run in Dictionary(uniqueKeysWithValues: run.fields.map { ($0.0, jsonValue($0.1)) }) }])
                return
            }
            var table = TextTable(
                ["id", "created", "chip", "workload", "kernels", "time", "TFLOPS", "tokens/s"], numeric: [0, 4, 5, 6, 7])
            for r in runs {
                table.add([
                    String(r.id), String(r.createdAt.prefix(19)), r.chipID, r.workloadID, String(r.kernelCount),
                    Quantity.format(r.time, .time), formatNumber(r.throughput / 1e12), r.tokensPerSecond.map(formatNumber) ?? "-",
                ])
            }
            print(runs.isEmpty ? "no runs in \(database.path)" : table.rendered)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one run: totals, options and its kernels.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Run id.") var id: Int64
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let store = try openStore(database)
            guard let run = try store.run(id) else { throw StoreError(path: database.path, message: "no run with id \(id)") }
            let kernels = try store.kernels(id)
            if format == .json {
                var object = Dictionary(uniqueKeysWithValues: run.fields.map { ($0.0, jsonValue($0.1)) })
                object["options"] = (try? JSONSerialization.jsonObject(with: Data(run.options.utf8))) ?? run.options
                object["kernels"] = kernels.map { Dictionary(uniqueKeysWithValues: zip(StoredKernel.columns, $0.values)) }
                printJSON(object)
                return
            }
            for (name, value) in run.fields {
                print("\(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(value.map { "\($0)" } ?? "-")")
            }
            print("options                  \(run.options)\n")
            var table = TextTable(["kernel", "op", "dtype", "start", "duration", "TFLOPS", "TB/s", "bound"], numeric: [3, 4, 5, 6])
            for k in kernels {
                table.add([
                    k.kernelID, k.op, k.dtype, Quantity.format(k.start, .time), Quantity.format(k.duration, .time),
                    formatNumber(k.flopsPerSecond / 1e12), formatNumber(k.hbmBytesPerSecond / 1e12), k.bound,
                ])
            }
            print(table.rendered)
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Compare runs: totals side by side, then per-kernel deltas against the first run, largest first.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Two or more run ids; the first is the baseline.") var ids: [Int64]
        @Option(help: "Show only the N kernels that moved most.") var top: Int?
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func validate() throws {
            if ids.count < 2 { throw ValidationError("give at least two run ids") }
        }

        func run() throws {
            let store = try openStore(database)
            let comparison = try store.compare(ids)
            var kernels = comparison.kernels
            if let top { kernels = Array(kernels.prefix(max(0, top))) }
            if format == .json {
                printJSON([
                    "runs": comparison.runs.map { run in Dictionary(uniqueKeysWithValues: run.fields.map { ($0.0, jsonValue($0.1)) }) },
                    "kernels": kernels.map { k -> [String: Any] in
                        [
                            "kernel_id": k.kernelID, "op": k.op, "duration_s": k.durations.map(jsonValue),
                            "max_relative_change": k.change.isFinite ? k.change : NSNull(),
                        ]
                    },
                ])
                return
            }
            let base = comparison.runs[0]
            var totals = TextTable([""] + comparison.runs.map { "run \($0.id)" }, numeric: Set(1...comparison.runs.count))
            totals.add(["chip"] + comparison.runs.map(\.chipID))
            totals.add(["workload"] + comparison.runs.map(\.workloadID))
            totals.add(["time"] + comparison.runs.map { Quantity.format($0.time, .time) + relative($0.time, base.time) })
            totals.add(["TFLOPS"] + comparison.runs.map { formatNumber($0.throughput / 1e12) + relative($0.throughput, base.throughput) })
            totals.add(["HBM traffic"] + comparison.runs.map { Quantity.format($0.hbmBytes, .bytes) })
            totals.add(["tokens/s"] + comparison.runs.map { $0.tokensPerSecond.map(formatNumber) ?? "-" })
            totals.add(["energy"] + comparison.runs.map { $0.energy.map { "\(formatNumber($0)) J" } ?? "-" })
            print(totals.rendered + "\n")
            var table = TextTable(
                ["kernel", "op"] + comparison.runs.map { "run \($0.id)" } + ["max change"], numeric: Set(2...(comparison.runs.count + 2)))
            for k in kernels {
                table.add(
                    [k.kernelID, k.op] + k.durations.map { $0.map { Quantity.format($0, .time) } ?? "absent" }
                        + [k.change.isFinite ? String(format: "%.1f%%", k.change * 100) : "n/a"])
            }
            print(table.rendered)
        }

        func relative(_ value: Double, _ base: Double) -> String {
            guard base > 0, value != base else { return "" }
            return String(format: " (%+.1f%%)", (value / base - 1) * 100)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Export a run's kernels as CSV, or the whole run as JSON.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Run id.") var id: Int64
        @Option(help: "csv or json.") var format: ExportFormat = .csv

        enum ExportFormat: String, ExpressibleByArgument { case csv, json }

        func run() throws {
            let store = try openStore(database)
            guard let run = try store.run(id) else { throw StoreError(path: database.path, message: "no run with id \(id)") }
            let kernels = try store.kernels(id)
            let chip = try store.chipJSON(id) ?? "{}"
            switch format {
            case .csv:
                print(StoredKernel.columns.joined(separator: ","))
                for k in kernels { print(k.values.map(csvField).joined(separator: ",")) }
            case .json:
                var object = Dictionary(uniqueKeysWithValues: run.fields.map { ($0.0, jsonValue($0.1)) })
                object["options"] = (try? JSONSerialization.jsonObject(with: Data(run.options.utf8))) ?? run.options
                object["chip"] = (try? JSONSerialization.jsonObject(with: Data(chip.utf8))) ?? chip
                object["kernels"] = kernels.map { Dictionary(uniqueKeysWithValues: zip(StoredKernel.columns, $0.values)) }
                printJSON(object)
            }
        }

        func csvField(_ value: Any) -> String {
            let text = "\(value)"
            return text.contains(",") || text.contains("\"") || text.contains("\n")
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a run and everything stored with it.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Run id.") var id: Int64

        func run() throws {
            let store = try openStore(database)
            guard try store.delete(id) else { throw StoreError(path: database.path, message: "no run with id \(id)") }
            print("deleted run \(id)")
        }
    }
}

func isDate(_ text: String) -> Bool {
    let formatter = ISO8601DateFormatter()
    if formatter.date(from: text) != nil { return true }
    formatter.formatOptions = [.withFullDate]
    return text.count == 10 && formatter.date(from: text) != nil
}
