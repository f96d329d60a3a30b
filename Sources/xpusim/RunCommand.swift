import ArgumentParser
import Chips
import Config
import Estimates
import Experiments
import Foundation
import Reports
import SimCore
import Simulator
import Store
import Systems
import Workloads

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Simulate a kernel trace on one chip, or one rank of a system.",
        discussion: """
            Prints one row per kernel (start, duration, achieved TFLOPS and TB/s, what bounds it) and the totals.
            With --system the trace is one representative rank's (all ranks run the same trace): its
            collectives run over the system's links with the algorithm its collective library
            chooses, and the power covers the whole system (chips, switches, NICs, hosts).

            Examples:
              xpusim run --chip h100-sxm --workload workloads/llama2-7b-layer-prefill2048.yaml
              xpusim run --chip ascend-910b2 --workload workloads/llama2-7b-layer-prefill2048.yaml --top 10 --format json
              xpusim run --system dgx-h100 --workload workloads/llama2-70b-layer-tp8-prefill2048.yaml
            """)

    @Option(help: "A chip id from `xpusim chips list`, or the path of a chip YAML file.")
    var chip: String?
    @Option(help: "A system id from `xpusim systems list`, or the path of a system YAML file (instead of --chip).")
    var system: String?
    @Option(help: "Nodes of the system (with --system): whole scale-up domains joined over its scale-out network.")
    var nodes: Int?
    @Option(help: "A trace file (YAML or JSON).")
    var workload: String
    @Option(name: .customLong("set"), help: "Override one chip figure (with --system: one system figure): PATH=VALUE (repeatable).")
    var overrides: [String] = []
    @Option(help: "Show only the N longest kernels in the table (totals still cover all).")
    var top: Int?
    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
    var chipsDir: String?
    @OptionGroup var operating: ConditionOptions
    @OptionGroup var repetition: RepeatOption
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Write a Chrome trace / Perfetto JSON timeline of the run to this file (open it in ui.perfetto.dev).")
    var timeline: String?
    @Flag(help: "Do not store the run in the database.")
    var noStore = false

    func validate() throws {
        if let top, top <= 0 { throw ValidationError("--top must be a positive number of kernels") }
        guard (chip == nil) != (system == nil) else { throw ValidationError("give either --chip or --system") }
        if nodes != nil && system == nil { throw ValidationError("--nodes goes with --system") }
    }

    var `repeat`: Int { repetition.repeat }
    var clock: String? { operating.clock }
    func conditions() throws -> RunConditions { try operating.conditions() }

    func run() throws {
        let target = RunTarget(
            chip: chip, system: system, nodes: nodes, overrides: overrides, chips: chipsDir ?? ChipCatalog.defaultDirectory())
        let trace = try Trace.load(file: workload)
        try repetition.checkSize(of: trace)
        let outcome: RunOutcome
        do {
            outcome = try Experiment.run(target, trace: trace, repeat: `repeat`, conditions: try conditions())
        } catch let error as SimulationError {
            throw ConfigError(file: workload, line: kernelLine(error.kernel, in: workload), message: error.description)
        } catch let error as ConditionError {
            throw operating.optionError(error)
        }
        let (spec, systemSpec, result) = (outcome.spec, outcome.system, outcome.result)
        var runID: Int64?
        if !noStore {
            var options = [
                "chip": chip ?? spec.id, "workload": workload, "repeat": "\(`repeat`)", "power_limit_w": "\(result.power.powerLimit)",
                "ambient_c": "\(result.power.ambient)", "cooling": result.power.cooling.rawValue,
            ]
            if let clock { options["clock"] = clock }
            if !overrides.isEmpty { options["set"] = overrides.joined(separator: "; ") }
            if let systemSpec {
                options["system"] = systemSpec.id
                options["nodes"] = "\(systemSpec.nodes)"
            }
            runID = try Experiment.store(
                outcome, workload: workload, options: options, in: try openStore(database), toolVersion: XPUSim.configuration.version)
        }
        // Written once the run is stored: a run that fails leaves no timeline behind.
        if let timeline {
            let process = systemSpec.map { "\(spec.name), one rank of \($0.name)" } ?? spec.name
            do {
                try writeAtomically(Data(result.chromeTrace(process: process).utf8), to: timeline)
            } catch let error as ConfigError {
                throw ValidationError("--timeline: \(error.description)")
            }
        }
        let systemRun = outcome.systemRun
        if format == .json {
            var object = RunJSON.object(result, repeat: `repeat`)
            if let systemRun { RunJSON.add(systemRun, to: &object) }
            if let runID { object["run_id"] = runID }
            printJSON(object)
            return
        }
        if spec.devicesPerPackage > 1 {
            print(
                "\(spec.name) is \(spec.devicesPerPackage) devices to its software (one per die): this run simulates the whole package, "
                    + "its \(spec.dies) dies sharing each kernel's tiles (with --system each rank is one device)")
        }
        let on =
            systemSpec.map { sys in
                let devices =
                    sys.devicesPerPackage > 1
                    ? "\(sys.totalDevices) devices, each one of a \(sys.chip.name)'s \(sys.devicesPerPackage) dies"
                    : "\(sys.totalDevices) devices of \(spec.name)"
                return "one rank of \(sys.name) (\(sys.nodes) node\(sys.nodes == 1 ? "" : "s"), \(devices))"
            } ?? spec.name
        print(
            "\(trace.name)\(`repeat` > 1 ? " x \(`repeat`)" : "") on \(on), \(Int(result.power.powerLimit)) W limit, "
                + "\(result.power.cooling) cooling at \(formatNumber(result.power.ambient)) C\n"
        )
        var shown = result.kernels
        if let top {
            // Sort indices, not the results themselves (large values with strings): a million-kernel
            // run's --top spent seconds moving them.
            let durations = result.kernels.map(\.duration)
            let order = durations.indices.sorted { durations[$0] > durations[$1] }
            shown = order.prefix(top).map { result.kernels[$0] }
        }
        var table = TextTable(
            [
                "kernel", "op", "dtype", "stream", "start", "duration", "TFLOPS", "TB/s", "bound", "matrix", "vector", "hbm",
                "decomposition",
            ],
            numeric: [3, 4, 5, 6, 7, 9, 10, 11])
        for k in shown {
            table.add([
                k.id, k.op, k.dtype.rawValue, String(k.stream), Quantity.format(k.start, .time), Quantity.format(k.duration, .time),
                formatNumber(k.achievedFLOPS / 1e12), formatNumber(k.achievedHBMBandwidth / 1e12), k.cost.bound.rawValue,
                percent(k.cost.matrixBusy), percent(k.cost.vectorBusy), percent(k.cost.hbmBusy), k.cost.decomposition,
            ])
        }
        print(table.rendered)
        if let top, top < result.kernels.count { print("(\(top) longest of \(result.kernels.count) kernels shown)") }
        print(
            """

            total time      \(Quantity.format(result.totalTime, .time))
            kernels         \(result.kernels.count)
            FLOPs           \(formatNumber(result.totalFLOPs / 1e12)) TFLOP, \
            \(formatNumber(result.totalFLOPs / result.totalTime / 1e12)) TFLOPS average
            HBM traffic     \(Quantity.format(result.totalHBMBytes, .bytes)), \
            \(formatNumber(result.totalHBMBytes / result.totalTime / 1e12)) TB/s average
            clock           \(Quantity.format(result.power.averageClock, .frequency)) average
            energy          \(formatNumber(result.power.energy)) J, \(formatNumber(result.power.averagePower)) W average, \
            \(formatNumber(result.power.peakPower)) W peak
            temperature     \(formatNumber(result.power.peakTemperature)) C \
            peak\(result.power.reachedShutdown ? " (reached the shutdown temperature)" : "")
            throttled       \(Quantity.format(result.power.powerThrottled, .time)) by the power cap, \
            \(Quantity.format(result.power.thermalThrottled, .time)) thermal
            perf per watt   \(formatNumber(result.totalFLOPs / result.totalTime / 1e12 / max(result.power.averagePower, 1e-9))) TFLOPS/W
            """)
        if let tokens = result.tokens, systemRun == nil {
            print(
                "tokens          \(tokens), \(formatNumber(Double(tokens) / result.totalTime)) tokens/s, "
                    + "\(formatNumber(Double(tokens) / result.power.energy)) tokens/J"
            )
        }
        if let systemRun { print(systemRun.rendered) }
        if let runID { print("stored as run \(runID) in \(database.path)") }
    }
}

/// The line of a trace file that declares kernel `id` (a repetition's "#i" dropped), for messages
/// about a kernel the simulation cannot run; nil where the file does not show it as written.
func kernelLine(_ id: String, in file: String) -> Int? {
    let base = id.split(separator: "#").first.map(String.init) ?? id
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
    let needles = ["id: \(base),", "id: \(base)}", "id: \(base)\n", "\"id\": \"\(base)\"", "id: \"\(base)\""]
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let padded = line + "\n"
        if needles.contains(where: { padded.contains($0) }) { return index + 1 }
    }
    return nil
}

func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

/// `--repeat`, for the commands that run a trace as given (`run`, `compare`); `serve` and `train`
/// run their steps at steady state and have no such option.
struct RepeatOption: ParsableArguments {
    @Option(help: "Run the trace this many times back to back (sustained load).")
    var `repeat`: Int = 1

    /// The most kernels one run may hold once repeated (about 2 GB of results).
    static let maxKernels = 10_000_000

    func validate() throws {
        if `repeat` <= 0 || `repeat` > 1_000_000 { throw ValidationError("--repeat must be between 1 and 1000000") }
    }

    func checkSize(of trace: Trace) throws {
        if trace.kernels.count * `repeat` > RepeatOption.maxKernels {
            throw ValidationError(
                "--repeat \(`repeat`) x \(trace.kernels.count) kernels is more than \(RepeatOption.maxKernels) kernels in one "
                    + "run; repeat fewer times"
            )
        }
        if let tokens = trace.tokens, tokens.multipliedReportingOverflow(by: `repeat`).overflow {
            throw ValidationError("--repeat \(`repeat`) x \(tokens) tokens is more tokens than can be counted; repeat fewer times")
        }
    }
}

/// Operating conditions shared by `run`, `compare`, `serve` and `train`.
struct ConditionOptions: ParsableArguments {
    // Values are taken as given even where they start with "-" ("--ambient -10C"), so a negative
    // power limit is reported as such, not as a missing value.
    @Option(parsing: .unconditional, help: "Power limit, e.g. 500W (default: the chip's highest settable limit).")
    var powerLimit: String?
    @Option(parsing: .unconditional, help: "Run at a fixed core clock, e.g. 1.5GHz, instead of under the power-cap controller.")
    var clock: String?
    @Option(parsing: .unconditional, help: "Ambient or coolant temperature, e.g. 35C (default: the chip file's).")
    var ambient: String?
    @Option(help: "Cooling: air or liquid (default: the chip file's).")
    var cooling: String?

    func validate() throws {
        _ = try conditions()
    }

    /// Runs an estimate (serve, train), its errors as the command line's: what the estimate
    /// refuses, what the simulation cannot run, and a condition the chip does not allow.
    func estimating<T>(_ model: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as EstimateError {
            throw ValidationError(error.message)
        } catch let error as SimulationError {
            throw ValidationError("simulating \(model): \(error.description)")
        } catch let error as ConditionError {
            throw optionError(error)
        }
    }

    /// A condition the chip does not allow, named by its option.
    func optionError(_ error: ConditionError) -> OptionError {
        let option: String
        switch error.condition {
        case .powerLimit: option = "--power-limit"
        case .fixedClock: option = "--clock"
        case .ambient: option = "--ambient"
        }
        return OptionError(option: option, message: error.message)
    }

    /// Parses the operating conditions; units are required ("500W", "1.5GHz", "35C").
    func conditions() throws -> RunConditions {
        var kind: Cooling?
        if let cooling {
            let words = Cooling.allCases.map(\.rawValue)
            guard let known = Cooling(rawValue: cooling) else {
                throw ValidationError(
                    "--cooling: expected \(words.joined(separator: " or ")), found \"\(cooling)\"\(didYouMean(cooling, in: words))")
            }
            kind = known
        }
        return RunConditions(
            powerLimit: try optionQuantity(powerLimit, .power, "power-limit", positive: true),
            fixedClock: try optionQuantity(clock, .frequency, "clock", positive: true),
            ambient: try optionQuantity(ambient, .temperature, "ambient", positive: false), cooling: kind)
    }
}

/// An option's quantity ("500W", "1.5 GHz", "2TB/s"), nil when the option is not given; the
/// error names the option and what it expected.
func optionQuantity(_ text: String?, _ kind: QuantityKind, _ flag: String, positive: Bool) throws -> Double? {
    guard let text else { return nil }
    let spaced = text.replacingOccurrences(of: #"([0-9.])([A-Za-z°])"#, with: "$1 $2", options: .regularExpression)
    guard let q = Quantity.parse(spaced, as: kind) else {
        throw ValidationError("--\(flag): expected \(kind.example), found \"\(text)\"")
    }
    if positive && q.value <= 0 { throw ValidationError("--\(flag): must be positive, found \"\(text)\"") }
    return q.value
}
