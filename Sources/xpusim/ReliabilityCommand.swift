import ArgumentParser
import Chips
import Estimates
import Foundation
import SimCore
import Simulator
import Systems
import Validation
import Workloads

struct ReliabilityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reliability",
        abstract: "Fit the failure rates on published fleet records, and check the model against the records kept out of the fit.",
        discussion: """
            The records are chips/reliability/fleets.yaml: interruptions of long training runs by cause,
            each with its source. `fit` derives each component class's mean time between failures from
            the calibration records (the figures marked fitted in the chip and system files, with the
            hash of the data they were fitted on); `check` compares the model with every record.

            Examples:
              xpusim reliability fit
              xpusim reliability check --format json
            """,
        subcommands: [Fit.self, Check.self, Compare.self])

    struct Place: ParsableArguments {
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
        @Option(help: "The fleet records (default: <chips>/reliability/fleets.yaml).") var records: String?
        var chips: String { chipsDir ?? ChipCatalog.defaultDirectory() }
        func load() throws -> [FleetRecord] { try FleetRecords.load(records ?? FleetRecords.defaultFile(chips: chips)) }
    }

    struct Fit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fit",
            abstract: "Fit each class's MTBF on the calibration records and print the figures for the chip and system files.")
        @OptionGroup var place: Place

        func run() throws {
            let records = try place.load()
            let fit = try estimating { try FleetRecords.fit(records, chips: place.chips) }
            print(
                "# \(fit.command): fitted on \(records.filter { $0.split == .calibration }.map(\.id).joined(separator: ", ")) "
                    + "(data \(fit.dataHash))")
            var table = TextTable(["file", "figure", "value", "events", "exposure"], numeric: [2, 3])
            for f in fit.figures {
                let parts = f.path.split(separator: " ")
                table.add([
                    parts[0] == "chip" ? fit.chip : fit.system, String(parts[1]), "\(formatNumber((f.mtbf / 3600).rounded())) h",
                    "\(f.events)", f.exposure,
                ])
            }
            table.add([fit.chip, "reliability.reference_temperature", "\(formatNumber(fit.referenceTemperature)) C", "", "xpusim train"])
            print(table.rendered)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Compare the model with every fleet record, and print the errors.")
        @OptionGroup var place: Place
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            let records = try place.load()
            let rows = try estimating { try FleetRecords.compare(records, chips: place.chips) }
            if format == .json {
                printJSON([
                    "records": rows.map { r -> [String: Any] in
                        var o: [String: Any] = [
                            "record": r.record, "split": r.split.rawValue, "quantity": r.quantity, "measured": r.measured,
                            "relation": r.relation, "predicted": r.predicted, "unit": r.unit,
                        ]
                        if let e = r.error { o["error"] = e }
                        if let b = r.boundHolds { o["bound_holds"] = b }
                        return o
                    }
                ])
                return
            }
            var table = TextTable(["record", "split", "quantity", "measured", "xpusim", "error"], numeric: [3, 4])
            for r in rows {
                let unit = r.unit.isEmpty ? "" : " \(r.unit)"
                let verdict =
                    r.error.map { String(format: "%+.1f%%", $0 * 100) } ?? (r.boundHolds == true ? "bound holds" : "bound fails")
                table.add([
                    r.record, r.split.rawValue, r.quantity, "\(r.relation == ">=" ? ">= " : "")\(formatNumber(r.measured))\(unit)",
                    "\(formatNumber(r.predicted))\(unit)", verdict,
                ])
            }
            print(table.rendered)
        }
    }
}

/// An estimate's refusal as the command line's error.
private func estimating<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as EstimateError { throw ValidationError(error.message) }
}

extension ReliabilityCommand {
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "One training job over a long run on clusters of equal peak compute, under air and liquid cooling.",
            discussion: """
                Each system gets the nodes nearest --peak (dense bf16, the vendor's figure), in steps of whole
                model-parallel groups and scale-up domains; data-parallel replicas fill them, and the global
                batch is rounded up to whole micro-batches per replica. Each cluster then runs as
                `xpusim train ... --days D` does: step at thermal steady state, failures at the junction
                temperature it reaches, checkpoints, restarts, goodput.

                Example:
                  xpusim reliability compare --model telechat2-115b --systems atlas-800t-a2,dgx-h100,hgx-h20 \\
                    --peak 1000PFLOPS --tp 8 --pp 8 --global-batch 2048 --seq 4096 --recompute --days 50
                """)

        @Option(help: "A model id from `xpusim workload models`, or the path of a model file.") var model: String
        @Option(help: "Systems to compare, comma-separated ids.") var systems: String
        @Option(help: "Peak dense bf16 compute of each cluster, e.g. 1000PFLOPS.") var peak: String
        @Option(help: "Sequences per optimizer step (rounded up per cluster to whole micro-batches per replica).") var globalBatch: Int
        @Option(help: "Tokens per sequence.") var seq: Int
        @Option(help: "Tensor-parallel ranks.") var tp = 1
        @Option(help: "Pipeline-parallel stages.") var pp = 1
        @Flag(help: "Full activation recomputation.") var recompute = false
        @Option(help: "Coolings to compare, comma-separated: air, liquid.") var cooling = "air,liquid"
        @Option(help: "Days of wall-clock time.") var days = 30.0
        @Option(parsing: .unconditional, help: "Ambient or coolant temperature, e.g. 35C (default: each chip file's).") var ambient: String?
        @Option(help: "The checkpoint file system's aggregate bandwidth per cluster, e.g. 2TB/s.") var storageBandwidth: String?
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
        @Option(help: "Output format: table or json.") var format: OutputFormat = .table

        func run() throws {
            guard let peakFLOPS = try optionQuantity(peak, .flopRate, "peak", positive: true) else { return }
            guard days > 0 && days <= 3650 else { throw ValidationError("--days must be between 0 and 3650") }
            guard tp >= 1, pp >= 1, seq >= 1, globalBatch >= 1 else {
                throw ValidationError("--tp, --pp, --seq and --global-batch must be at least 1")
            }
            let coolings = try commaList(cooling, option: "--cooling").map { word -> Cooling in
                guard let c = Cooling(rawValue: String(word)) else {
                    throw ValidationError("--cooling: expected air or liquid, found \"\(word)\"")
                }
                return c
            }
            let chips = chipsDir ?? ChipCatalog.defaultDirectory()
            let specs = try commaList(systems, option: "--systems").map { try SystemCatalog.resolve($0, chips: chips) }
            let m = try ModelCatalog.resolve(model).model
            let conditions = RunConditions(ambient: try optionQuantity(ambient, .temperature, "ambient", positive: false))
            let request = TrainingRequest(
                model: m, globalBatch: globalBatch, seq: seq, parallelism: Parallelism(tp: tp, pp: pp), recompute: recompute,
                conditions: conditions)
            let longRun = LongRunRequest(
                length: .days(days), storageBandwidth: try optionQuantity(storageBandwidth, .bandwidth, "storage-bandwidth", positive: true)
            )
            let result = try estimating {
                try ClusterComparison.compare(request, longRun, systems: specs, peak: peakFLOPS, coolings: coolings) { base, nodes in
                    try SystemCatalog.resolve(base.id, nodes: nodes, chips: chips)
                }
            }
            if format == .json {
                printJSON([
                    "model": model, "days": days, "peak_flops": peakFLOPS,
                    "clusters": result.entries.map { x -> [String: Any] in
                        let e = x.estimate
                        return [
                            "system": x.system.id, "cooling": x.cooling.rawValue, "nodes": x.system.nodes, "devices": x.system.totalDevices,
                            "peak_flops": x.peakFLOPS, "global_batch": x.globalBatch, "tokens_per_s": e.tokensPerSecond, "mfu": e.step.mfu,
                            "junction_temperature_c": e.temperature, "mtti_s": e.rates.mtti, "interruptions": e.totalInterruptions,
                            "goodput": e.goodput.fraction, "effective_tokens_per_day": e.effectiveTokensPerDay,
                            "training_power_w": e.trainingPower, "joules_per_useful_token": e.joulesPerUsefulToken,
                        ]
                    },
                ])
                return
            }
            print(
                "\(m.name), \(seq)-token sequences, tp\(tp) pp\(pp)\(recompute ? ", full recomputation" : ""), \(formatNumber(days)) days "
                    + "on clusters of about \(formatNumber(peakFLOPS / 1e15)) PFLOPS dense bf16")
            print("")
            var table = TextTable(
                [
                    "system", "cooling", "nodes", "PFLOPS", "batch", "tokens/s", "MFU", "Tj C", "MTTI h", "interrupts", "goodput",
                    "B tokens/day", "MW", "J/token",
                ], numeric: Set(2...13))
            for x in result.entries {
                let e = x.estimate
                table.add([
                    x.system.id, x.cooling.rawValue, "\(x.system.nodes)", formatNumber(x.peakFLOPS / 1e15), "\(x.globalBatch)",
                    formatNumber(e.tokensPerSecond), "\(formatNumber(e.step.mfu * 100))%", formatNumber(e.temperature),
                    formatNumber(e.rates.mtti / 3600), formatNumber(e.totalInterruptions), "\(formatNumber(e.goodput.fraction * 100))%",
                    formatNumber(e.effectiveTokensPerDay / 1e9), formatNumber(e.trainingPower / 1e6), formatNumber(e.joulesPerUsefulToken),
                ])
            }
            print(table.rendered)
        }
    }
}
