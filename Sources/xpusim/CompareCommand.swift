import ArgumentParser
import Chips
import Config
import Estimates
import Experiments
import Foundation
import SimCore
import Simulator
import Systems
import Workloads

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run one workload on several chips (or systems) and compare speed, power, energy and perf per watt.",
        discussion: """
            Per chip: time, throughput (FLOP/s, tokens/s where the workload states its tokens), average and peak
            power, energy, TFLOPS/W and tokens/J, peak temperature and throttled time, each relative to the baseline.
            With --systems the trace is one rank's on each system (as `run --system`): time is the rank's, the
            FLOP rate is every device's, power and energy are the whole system's (chips, hosts, NICs, switches, fans).

            Examples:
              xpusim compare --chips h100-sxm,h20,ascend-910b2 --workload workloads/llama2-7b-layer-decode-b64.yaml
              xpusim compare --chips all --workload workloads/llama2-7b-layer-prefill2048.yaml --power-limit 400W --repeat 100
              xpusim compare --systems dgx-h100,atlas-800t-a2,hgx-h20 --workload workloads/llama2-70b-layer-tp8-prefill2048.yaml
            """)

    @Option(help: "Comma-separated chip ids or files, or \"all\" for every shipped chip.")
    var chips: String?
    @Option(help: "Comma-separated system ids or files, or \"all\" for every shipped system (instead of --chips).")
    var systems: String?
    @Option(help: "A trace file (YAML or JSON).")
    var workload: String
    @Option(help: "The chip (or system) the others are compared with (default: the first that can run the workload).")
    var baseline: String?
    @OptionGroup var operating: ConditionOptions
    @OptionGroup var repetition: RepeatOption
    @OptionGroup var money: CostOptions
    @Option(help: "Output format: table or json.")
    var format: OutputFormat = .table
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
    var chipsDir: String?

    var `repeat`: Int { repetition.repeat }

    struct Row {
        var chip: String
        var result: RunResult?
        var error: String?
        var system: SystemRun?
    }

    func validate() throws {
        guard (chips == nil) != (systems == nil) else { throw ValidationError("give either --chips or --systems") }
    }

    func run() throws {
        let directory = chipsDir ?? ChipCatalog.defaultDirectory()
        let list = chips ?? systems ?? ""
        let ids =
            list == "all"
            ? (systems != nil ? try SystemCatalog.load(chips: directory).ids : try ChipCatalog.load(directory: directory).ids)
            : try commaList(list, option: systems != nil ? "--systems" : "--chips")
        guard !ids.isEmpty else { throw ValidationError(systems != nil ? "--systems names no system" : "--chips names no chip") }
        let trace = try Trace.load(file: workload)
        try repetition.checkSize(of: trace)
        let conditions = try operating.conditions()
        var rows: [Row] = []
        for id in ids {
            let target = systems == nil ? RunTarget(chip: id, chips: directory) : RunTarget(system: id, chips: directory)
            let (spec, system) = try target.resolve()
            let name = system?.id ?? spec.id
            // A chip or system that cannot run the workload (no fp8, a power limit outside its range) is reported, not fatal.
            do {
                let outcome = try Experiment.run(spec, system: system, trace: trace, repeat: `repeat`, conditions: conditions)
                rows.append(Row(chip: name, result: outcome.result, system: outcome.systemRun))
            } catch let error as ConfigError {  // the trace's replica is larger than this system
                rows.append(Row(chip: name, error: error.message))
            } catch let error as SimulationError {
                rows.append(Row(chip: name, error: error.message))
            } catch let error as ConditionError {
                rows.append(Row(chip: name, error: operating.optionError(error).description))
            }
        }
        // Without --baseline: the first chip that ran.
        let baseID = baseline ?? (rows.first { $0.result != nil } ?? rows[0]).chip
        guard let base = rows.first(where: { $0.chip == baseID }) else {
            throw ValidationError("--baseline \(baseID) is not among the compared chips (\(rows.map(\.chip).joined(separator: ", ")))")
        }
        guard let baseResult = base.result else {
            guard baseline != nil else { throw ValidationError("no compared chip can run \(workload): \(base.error ?? "")") }
            throw OptionError(option: "--baseline", message: "\(baseID) cannot run \(workload): \(base.error ?? "")")
        }
        // On a system a run's tokens are every replica's (Experiment.run); the header follows the trace.
        let tokens = trace.tokens
        func metrics(_ r: RunResult, _ system: SystemRun?) -> [String: Double] {
            // On a system every device runs the rank's trace; power and energy are the whole system's.
            let devices = Double(system?.system.totalDevices ?? 1)
            let power = system?.averagePower ?? r.power.averagePower
            let energy = system?.energy ?? r.power.energy
            var m: [String: Double] = [
                "time_s": r.totalTime, "flops_per_s": r.totalFLOPs * devices / r.totalTime, "avg_power_w": power,
                "peak_power_w": system.map { $0.extrasPower + r.power.peakPower * devices } ?? r.power.peakPower,
                "energy_j": energy, "tflops_per_w": r.totalFLOPs * devices / r.totalTime / 1e12 / power,
                "peak_temp_c": r.power.peakTemperature, "throttled_s": r.power.powerThrottled + r.power.thermalThrottled,
                "avg_clock_hz": r.power.averageClock,
            ]
            if let tokens = r.tokens.map(Double.init) {
                m["tokens_per_s"] = tokens / r.totalTime
                m["tokens_per_j"] = tokens / energy  // on a system: every replica's tokens over the whole system's energy
            }
            return m
        }
        /// Cost per million tokens: the chip alone, or every device of the system with its power.
        func cost(_ row: Row) -> CostEstimate? {
            guard let r = row.result, let tokens = r.tokens.map(Double.init) else { return nil }
            let spec = row.system?.system.chip.device ?? (try? ChipCatalog.resolve(row.chip, directory: directory))
            guard let spec else { return nil }
            let ranks = row.system?.system.totalDevices ?? 1
            return money.estimate(
                ranks: ranks, system: row.system?.system, device: spec, power: row.system?.averagePower ?? r.power.averagePower,
                tokensPerSecond: tokens / r.totalTime)
        }
        let baseMetrics = metrics(baseResult, base.system)
        if format == .json {
            let key = systems != nil ? "system" : "chip"
            printJSON([
                "workload": trace.name, "baseline": baseID, "repeat": `repeat`,
                systems != nil ? "systems" : "chips": rows.map { row -> [String: Any] in
                    guard let r = row.result else { return [key: row.chip, "error": row.error ?? ""] }
                    let m = metrics(r, row.system)
                    var relative: [String: Double] = [:]
                    for (key, value) in m where (baseMetrics[key] ?? 0) > 0 { relative[key] = value / baseMetrics[key]! }
                    var object: [String: Any] = [key: row.chip, "relative_to_baseline": relative]
                    if let system = row.system { object["chip"] = system.system.chip.id }
                    for (key, value) in m { object[key] = value }
                    if tokens != nil { object.merge(CostOptions.json(cost(row))) { a, _ in a } }
                    return object
                },
            ])
            return
        }
        let what = systems != nil ? "systems (one rank's trace on every device)" : "chips"
        print("\(trace.name)\(`repeat` > 1 ? " x \(`repeat`)" : "") on \(rows.count) \(what); ratios against \(baseID)\n")
        var headers = [systems != nil ? "system" : "chip", "time", "TFLOPS", "avg W", "peak W", "energy J", "TFLOPS/W"]
        if tokens != nil { headers += ["tokens/s", "tokens/J", "$/M tokens"] }
        headers += ["peak C", "throttled"]
        var table = TextTable(headers, numeric: Set(1..<headers.count))
        for row in rows {
            guard let r = row.result else {
                table.add([row.chip, "cannot run: \(row.error ?? "")"])
                continue
            }
            let m = metrics(r, row.system)
            func cell(_ key: String, _ text: String) -> String {
                guard row.chip != baseID, let b = baseMetrics[key], b > 0, let v = m[key] else { return text }
                return text + String(format: " (%.2fx)", v / b)
            }
            var cells = [
                row.chip, cell("time_s", Quantity.format(r.totalTime, .time)), cell("flops_per_s", formatNumber(m["flops_per_s"]! / 1e12)),
                cell("avg_power_w", formatNumber(m["avg_power_w"]!)), formatNumber(m["peak_power_w"]!),
                cell("energy_j", formatNumber(m["energy_j"]!)), cell("tflops_per_w", formatNumber(m["tflops_per_w"]!)),
            ]
            if tokens != nil {
                cells += [cell("tokens_per_s", formatNumber(m["tokens_per_s"]!))]
                cells += [cell("tokens_per_j", formatNumber(m["tokens_per_j"]!))]
                cells += [cost(row).map { formatNumber($0.perMillionTokens) } ?? "-"]
            }
            cells += [formatNumber(m["peak_temp_c"]!), Quantity.format(m["throttled_s"]!, .time)]
            table.add(cells)
        }
        print(table.rendered)
        // A cost per token rests on a price: those not a vendor's or market list price are named, with how they were had.
        guard tokens != nil, systems == nil else { return }
        var notes: [String] = []
        for row in rows where row.result != nil {
            guard let spec = try? ChipCatalog.resolve(row.chip, directory: directory), let price = spec.document.figures["cost.price"],
                price.kind == .estimated || price.kind == .derived
            else { continue }
            let value = spec.price.map { "\(formatNumber($0 / 1000)) kUSD" } ?? "-"
            notes.append("  \(row.chip): \(value), \(price.kind.rawValue): \(price.how ?? "")")
        }
        if !notes.isEmpty { print("\nprices that are not list prices (cost.price):\n" + notes.joined(separator: "\n")) }
    }
}
