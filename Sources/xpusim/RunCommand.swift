import ArgumentParser
import Chips
import Config
import Foundation
import SimCore
import Simulator
import Store
import Workloads

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Simulate a kernel trace on one chip.",
        discussion: """
            Prints one row per kernel (start, duration, achieved TFLOPS and TB/s, what bounds it) and the totals.

            Examples:
              xpusim run --chip h100-sxm --workload workloads/llama2-7b-layer-prefill2048.yaml
              xpusim run --chip ascend-910b2 --workload workloads/gemm-sweep.yaml --top 10 --format json
            """)

    @Option(help: "A chip id from `xpusim chips list`, or the path of a chip YAML file.")
    var chip: String
    @Option(help: "A trace file (YAML or JSON).")
    var workload: String
    @Option(name: .customLong("set"), help: "Override one chip figure: PATH=VALUE (repeatable).")
    var overrides: [String] = []
    @Option(help: "Show only the N longest kernels in the table (totals still cover all).")
    var top: Int?
    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
    var chipsDir: String?
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Do not store the run in the database.")
    var noStore = false

    func validate() throws {
        if let top, top <= 0 { throw ValidationError("--top must be a positive number of kernels") }
    }

    func run() throws {
        let (spec, trace) = try reportingErrors {
            (try ChipCatalog.resolve(chip, overrides: overrides, directory: chipsDir ?? ChipCatalog.defaultDirectory()),
             try Trace.load(file: workload))
        }
        let result: RunResult
        do {
            result = try Engine(machine: Machine(spec)).run(trace)
        } catch let error as SimulationError {
            FileHandle.standardError.write(Data("error: \(workload): \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        var runID: Int64?
        if !noStore {
            let store = try openStore(database)
            let bytes = FileManager.default.contents(atPath: workload).map { [UInt8]($0) } ?? []
            var options = ["chip": chip, "workload": workload]
            if !overrides.isEmpty { options["set"] = overrides.joined(separator: "; ") }
            let context = RunContext(toolVersion: XPUSim.configuration.version, chipJSON: spec.document.canonicalJSON,
                                     workloadID: trace.name, workloadHash: ContentHash.sha256(bytes), options: options)
            runID = try storing { try store.save(result, context: context) }
        }
        if format == .json {
            var object = runJSON(result)
            if let runID { object["run_id"] = runID }
            printJSON(object)
            return
        }
        print("\(trace.name) on \(spec.name) at \(Quantity.format(result.clock, .frequency))\n")
        var shown = result.kernels
        if let top { shown = Array(shown.sorted { $0.duration > $1.duration }.prefix(top)) }
        var table = TextTable(["kernel", "op", "dtype", "stream", "start", "duration", "TFLOPS", "TB/s", "bound", "matrix", "vector", "hbm", "decomposition"],
                              numeric: [3, 4, 5, 6, 7, 9, 10, 11])
        for k in shown {
            table.add([k.id, k.op, k.dtype.rawValue, String(k.stream), Quantity.format(k.start, .time), Quantity.format(k.duration, .time),
                       formatNumber(k.achievedFLOPS / 1e12), formatNumber(k.achievedHBMBandwidth / 1e12), k.cost.bound.rawValue,
                       percent(k.cost.matrixBusy), percent(k.cost.vectorBusy), percent(k.cost.hbmBusy), k.cost.decomposition])
        }
        print(table.rendered)
        if let top, top < result.kernels.count { print("(\(top) longest of \(result.kernels.count) kernels shown)") }
        print("""

            total time      \(Quantity.format(result.totalTime, .time))
            kernels         \(result.kernels.count)
            FLOPs           \(formatNumber(result.totalFLOPs / 1e12)) TFLOP, \(formatNumber(result.totalFLOPs / result.totalTime / 1e12)) TFLOPS average
            HBM traffic     \(Quantity.format(result.totalHBMBytes, .bytes)), \(formatNumber(result.totalHBMBytes / result.totalTime / 1e12)) TB/s average
            """)
        if let tokens = result.tokens { print("tokens          \(tokens), \(formatNumber(Double(tokens) / result.totalTime)) tokens/s") }
        if let runID { print("stored as run \(runID) in \(database.path)") }
    }
}

func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

func runJSON(_ result: RunResult) -> [String: Any] {
    var object: [String: Any] = [
        "chip": result.chip, "workload": result.workload, "clock_hz": result.clock, "total_s": result.totalTime,
        "total_flops": result.totalFLOPs, "total_hbm_bytes": result.totalHBMBytes,
        "kernels": result.kernels.map { k -> [String: Any] in
            ["id": k.id, "op": k.op, "dtype": k.dtype.rawValue, "stream": k.stream, "start_s": k.start, "end_s": k.end,
             "duration_s": k.duration, "cycles": k.cycles, "flops": k.cost.flops, "tflops": k.achievedFLOPS / 1e12,
             "hbm_bytes": k.cost.hbmBytes, "l2_bytes": k.cost.l2Bytes, "buffer_bytes": k.cost.bufferBytes,
             "hbm_tb_per_s": k.achievedHBMBandwidth / 1e12, "bound": k.cost.bound.rawValue,
             "busy": ["matrix": k.cost.matrixBusy, "vector": k.cost.vectorBusy, "hbm": k.cost.hbmBusy],
             "units_used": k.cost.unitsUsed, "decomposition": k.cost.decomposition]
        },
    ]
    if let tokens = result.tokens { object["tokens"] = tokens; object["tokens_per_s"] = Double(tokens) / result.totalTime }
    return object
}
