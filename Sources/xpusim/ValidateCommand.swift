import ArgumentParser
import Chips
import Config
import Foundation
import SimCore
import Simulator
import Systems
import Validation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run the model over a measured data set and print predicted against measured.",
        discussion: """
            Data sets (the measured digest in chips/measured/, or $XPUSIM_MEASURED; scripts/make-digest.py
            writes it from ../shared/validation):
            \(ValidationSet.all.map { "  \($0.id): \($0.title) [\($0.chip)]" }.joined(separator: "\n"))
            \(PowerValidationSet.all.map { "  \($0.id): \($0.title) [\($0.chip)]" }.joined(separator: "\n"))
            \(CollectiveValidationSet.all.map { "  \($0.id): \($0.title) [system \($0.system)]" }.joined(separator: "\n"))

            Each set is split into a calibration part (efficiency parameters are fitted on it, see
            `xpusim calibrate`) and a check part (never used for fitting). The summary gives MAPE,
            median and worst error per split and regime.
            """)

    @Option(help: "Chip id or file (default: the chip the data set was measured on).")
    var chip: String?
    @Option(help: "Data set id (see --help).")
    var data: String?
    @Flag(help: "Every data set on the chip it was measured on: one table of calibration and check errors per set and regime.")
    var all = false
    @Option(help: "Print per-row predictions: all, none, or check (only the check rows).")
    var rows: RowsShown = .all
    @Option(
        help: "Output format: table or json (with --all also markdown, markdown-summary: the tables of docs/validation.md and README.md).")
    var format: ValidateFormat = .table
    @Option(help: "Folder of the measured digest (default: $XPUSIM_MEASURED or chips/measured).")
    var dataDir: String?
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
    var chipsDir: String?

    enum RowsShown: String, ExpressibleByArgument { case all, none, check }
    enum ValidateFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json, markdown
        case markdownSummary = "markdown-summary"
    }

    func validate() throws {
        guard all != (data != nil) else { throw ValidationError("give either --data ID or --all") }
        if !all && (format == .markdown || format == .markdownSummary) {
            throw ValidationError("--format \(format.rawValue) goes with --all")
        }
    }

    func run() throws {
        guard let data else { return try runAll() }
        if let collectiveSet = CollectiveValidationSet.named(data) { return try runCollectives(collectiveSet) }
        if let powerSet = PowerValidationSet.named(data) { return try runPower(powerSet) }
        let set = try dataSet(data)
        let spec = try ChipCatalog.resolve(chip ?? set.chip, directory: chipsDir ?? ChipCatalog.defaultDirectory())
        let rowsIn = try loadRows(set, dataDir)
        let predictions = try Validator.predict(rowsIn, on: Machine(spec), harness: set.harness)
        let summary = Validator.summarise(predictions)
        if format == .json {
            printJSON([
                "data": set.id, "chip": spec.id, "split": set.splitRule, "rows": predictions.count,
                "summary": summary.map {
                    [
                        "group": $0.group, "count": $0.count, "mape": $0.mape, "median": $0.median,
                        "worst": $0.worst, "worst_row": $0.worstLabel,
                    ]
                },
            ])
            return
        }
        print("\(set.title) on \(spec.name)\nsource: \(set.provenance)\nsplit: \(set.splitRule)")
        let twins = rowsIn.filter(\.twin).count
        if twins > 0 { print("twins: \(twins) rows of the check part are the same kernels as calibration rows and count as calibration") }
        if let noCheck = set.noCheck { print("no check part: \(noCheck)") }
        if let single = set.singleRowFigures { print("figures resting on one row: \(single)") }
        if !set.harness.isZero {
            print(
                "measurement harness overhead added to each prediction: \(Quantity.format(set.harness.eager, .time)) around an eager op, "
                    + "\(Quantity.format(set.harness.compiled, .time)) around a torch.compile'd function"
                    + (set.harness.library > 0
                        ? ", \(Quantity.format(set.harness.library, .time)) more in a matrix product's BLAS call" : ""))
        }
        print("")
        if rows != .none {
            var table = TextTable(["row", "split", "regime", "measured", "predicted", "error"], numeric: [3, 4, 5])
            for p in predictions where rows == .all || p.row.split == .check {
                table.add([
                    p.row.label, p.row.split.rawValue, p.row.regime, Quantity.format(p.row.measured, .time),
                    Quantity.format(p.predicted, .time), String(format: "%+.1f%%", p.error * 100),
                ])
            }
            print(table.rendered + "\n")
        }
        print(summaryTable(summary))
    }
}

extension ValidateCommand {
    func runAll() throws {
        let directory = chipsDir ?? ChipCatalog.defaultDirectory()
        let lines = try AccuracyReport.compute(
            directory: dataDir ?? ValidationSet.defaultDirectory(),
            machine: { id in Machine(try ChipCatalog.resolve(id, directory: directory)) },
            system: { id, nodes in try SystemCatalog.resolve(id, nodes: nodes, chips: directory) })
        switch format {
        case .markdown: print(AccuracyReport.markdown(lines))
        case .markdownSummary: print(AccuracyReport.summary(lines))
        case .json:
            func stats(_ s: ErrorStats?) -> Any {
                guard let s else { return NSNull() }
                return ["rows": s.count, "mape": s.mape, "median": s.median, "worst": s.worst]
            }
            printJSON([
                "schema": 1,
                "lines": lines.map {
                    [
                        "data": $0.set, "chip": $0.chip, "regime": $0.regime, "calibration": stats($0.calibration),
                        "check": stats($0.check), "twins": $0.twins,
                    ] as [String: Any]
                },
            ])
        case .table:
            var table = TextTable(
                ["data set", "chip", "regime", "cal rows", "cal MAPE", "check rows", "check MAPE", "median", "worst"],
                numeric: [3, 4, 5, 6, 7, 8])
            for l in lines {
                table.add([
                    l.set, l.chip, l.regime, String(l.calibration?.count ?? 0), percent(l.calibration?.mape), String(l.check?.count ?? 0),
                    percent(l.check?.mape), percent(l.check?.median), percent(l.check?.worst),
                ])
            }
            print(table.rendered)
            let noCheck = ValidationSet.all.filter { $0.noCheck != nil }
            for set in noCheck { print("\n\(set.id): no check part: \(set.noCheck!)") }
        }
    }

    func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    func runPower(_ set: PowerValidationSet) throws {
        let spec = try ChipCatalog.resolve(chip ?? set.chip, directory: chipsDir ?? ChipCatalog.defaultDirectory())
        let predictions = try set.evaluate(dataDir ?? ValidationSet.defaultDirectory(), Machine(spec))
        let summary = PowerValidationSet.summarise(predictions)
        if format == .json {
            printJSON([
                "data": set.id, "chip": spec.id, "split": set.splitRule, "assumptions": set.assumptions,
                "summary": summary.map { ["group": $0.group, "count": $0.count, "mape": $0.mape, "worst": $0.worst] },
            ])
            return
        }
        print("\(set.title) on \(spec.name)\nsource: \(set.provenance)\nsplit: \(set.splitRule)\nassumptions: \(set.assumptions)\n")
        if rows != .none {
            var table = TextTable(["row", "split", "metric", "measured", "predicted", "error"], numeric: [3, 4, 5])
            for p in predictions where rows == .all || p.split == .check {
                for (metric, measured) in p.measured.sorted(by: { $0.key < $1.key }) {
                    guard let predicted = p.predicted[metric] else { continue }
                    table.add([
                        p.label, p.split.rawValue, metric, formatNumber(measured), formatNumber(predicted),
                        String(format: "%+.1f%%", (predicted / measured - 1) * 100),
                    ])
                }
            }
            print(table.rendered + "\n")
        }
        var table = TextTable(["split / metric", "rows", "MAPE", "worst"], numeric: [1, 2, 3])
        for s in summary {
            table.add([s.group, String(s.count), String(format: "%.1f%%", s.mape * 100), String(format: "%.1f%%", s.worst * 100)])
        }
        print(table.rendered)
    }
}

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit a chip's efficiency parameters on the calibration part of measured data sets.",
        discussion: """
            Coordinate descent over the chosen parameters, each searched on a 25-point grid over its
            range then a 21-point grid around the best, three rounds, minimising the MAPE of the
            calibration rows only. Prints the fitted values for the chip file and the error on both
            parts before and after.

            Example:
              xpusim calibrate --chip h100-sxm --data vidur-h100 --fit efficiency.matrix,efficiency.hbm,runtime.launch_overhead
            """)

    @Option(help: "Chip id or file (not for a collective data set, which fits the collective library of its system's chip).")
    var chip: String?
    @Option(help: "Comma-separated data set ids.")
    var data: String
    @Option(
        help: ArgumentHelp(
            "Comma-separated parameters to fit: \(Calibrator.Parameter.allCases.map(\.rawValue).joined(separator: ", ")); for collective "
                + "sets: \(CollectiveCalibrator.allFigures.map(\.path).joined(separator: ", ")).",
            discussion: "Default: \(Self.chipFit) (collective sets: the library's five collectives.* figures)."))
    var fit: String?
    static let chipFit =
        "efficiency.matrix,efficiency.hbm,efficiency.rowwise,efficiency.blockwise,efficiency.gather,efficiency.l2,runtime.launch_overhead"
    @Flag(help: "Do not fit: diagnose the values the chip file holds (sensitivity, bounds, ridges).")
    var diagnose = false
    @Option(help: "Folder of the measured digest (default: $XPUSIM_MEASURED or chips/measured).")
    var dataDir: String?
    @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
    var chipsDir: String?

    func run() throws {
        let ids = try commaList(data, option: "--data")
        if ids.contains(where: { CollectiveValidationSet.named($0) != nil }) {
            return try fitCollectives(
                try ids.map { id in
                    guard let set = CollectiveValidationSet.named(id) else {
                        throw ValidationError("\(id) is not a collective data set; a collective fit takes only collective sets")
                    }
                    return set
                })
        }
        let parameters = try commaList(fit ?? Self.chipFit, option: "--fit").map { name -> Calibrator.Parameter in
            guard let p = Calibrator.Parameter(rawValue: String(name)) else {
                let known = Calibrator.Parameter.allCases.map(\.rawValue)
                let hint = didYouMean(String(name), in: known)
                throw OptionError(
                    option: "--fit",
                    message: "unknown parameter \"\(name)\"" + (hint.isEmpty ? "; expected one of: \(known.joined(separator: ", "))" : hint)
                )
            }
            return p
        }
        guard let chip else { throw ValidationError("give --chip: the chip whose figures are fitted") }
        if let powerSet = PowerValidationSet.named(data) {
            if diagnose {
                throw OptionError(
                    option: "--diagnose",
                    message: "diagnoses fits on timing data sets; a power set's fit reports its one objective (\(powerSet.id))")
            }
            let spec = try ChipCatalog.resolve(chip, directory: chipsDir ?? ChipCatalog.defaultDirectory())
            let directory = dataDir ?? ValidationSet.defaultDirectory()
            // A serving engine's time outside the kernels is fitted on the latency; the chip's power figures on the power.
            let engine = parameters.filter(\.isServingEngine)
            guard engine.isEmpty || engine.count == parameters.count else {
                throw ValidationError(
                    "fit a serving engine's time outside the kernels (serving.*) apart from power figures: they fit different metrics")
            }
            // Latency where the set measures it (ML.ENERGY's median inter-token latency), else the throughput it measures.
            let baseline = try powerSet.evaluate(directory, Machine(spec))
            let measures = Set(baseline.flatMap(\.measured.keys))
            let metric = engine.isEmpty ? "power_w" : measures.contains("itl_s") ? "itl_s" : "output_tokens_per_s"
            let result = try Calibrator.fit(Machine(spec), parameters: parameters, rounds: parameters.count == 1 ? 1 : 3) { machine in
                PowerValidationSet.objective(try powerSet.evaluate(directory, machine), metric: metric)
            }
            let what =
                engine.isEmpty
                ? "MAPE of average power" : metric == "itl_s" ? "MAPE of the median inter-token latency" : "MAPE of \(metric)"
            print(
                "calibration objective (\(what) on calibration rows): \(String(format: "%.2f%%", result.before * 100)) "
                    + "-> \(String(format: "%.2f%%", result.after * 100))\n"
            )
            let hash = Calibrator.dataHash(baseline)
            let file = engine.isEmpty ? spec.document.file : result.machine.library.file
            print("fitted values (for \(file); write them as kind: fitted, data: \(hash)):")
            for (parameter, value) in result.values {
                print("  \(parameter.rawValue): \(parameter.isServingEngine ? Quantity.format(value, .time) : formatNumber(value))")
            }
            printDiagnostics(result.diagnostics)
            return
        }
        let sets = try commaList(data, option: "--data").map { try dataSet($0) }
        let spec = try ChipCatalog.resolve(chip, directory: chipsDir ?? ChipCatalog.defaultDirectory())
        let harnessParameters: Set<Calibrator.Parameter> = [.harness, .harnessCompiled, .harnessLibrary]
        if !harnessParameters.isDisjoint(with: parameters) && sets.count != 1 {
            throw ValidationError("--fit harness fits one data set's measurement overhead: give exactly one --data set")
        }
        var rows: [ValidationRow] = []
        for set in sets { rows += try loadRows(set, dataDir) }
        // No kernel on both sides across the joined sets either.
        rows = ValidationSet.separatingTwins(rows)
        let machine = Machine(spec)
        let harness = sets.count == 1 ? sets[0].harness : Harness()
        if diagnose {
            print(
                "values of \(spec.document.file) on \(rows.filter { $0.split == .calibration }.count) calibration rows "
                    + "(\(sets.map(\.id).joined(separator: ", "))), data \(Calibrator.dataHash(rows))"
            )
            for parameter in parameters where !harnessParameters.contains(parameter) {
                print("  \(parameter.rawValue): \(formatNumber(parameter.get(machine)))")
            }
            return printDiagnostics(try Calibrator.diagnose(machine, rows: rows, parameters: parameters, harness: harness))
        }
        let result = try Calibrator.fit(machine, rows: rows, parameters: parameters, harness: harness)
        print(
            "calibration rows: \(rows.filter { $0.split == .calibration }.count) of \(rows.count) "
                + "(\(sets.map(\.id).joined(separator: ", ")))"
        )
        print(
            "calibration objective (mean of per-regime MAPEs): \(String(format: "%.2f%%", result.before * 100)) -> "
                + "\(String(format: "%.2f%%", result.after * 100))\n"
        )
        print("fitted values (for \(spec.document.file); write them as kind: fitted, data: \(Calibrator.dataHash(rows))):")
        for (parameter, value) in result.values {
            let text =
                [.launchOverhead, .gemmSetup, .harness, .harnessCompiled, .harnessLibrary, .l2Latency, .hbmLatency].contains(parameter)
                ? Quantity.format(value, .time)
                : parameter == .macEnergyFP8 ? String(format: "%.4f pJ", value * 1e12) : String(format: "%.3f", value)
            let name: String
            switch parameter {
            case .harness: name = "harness overhead (eager) of \(sets[0].id) (Sources/Validation/DataSets.swift)"
            case .harnessCompiled: name = "harness overhead (torch.compile) of \(sets[0].id) (Sources/Validation/DataSets.swift)"
            case .harnessLibrary: name = "harness overhead (BLAS call) of \(sets[0].id) (Sources/Validation/DataSets.swift)"
            default: name = parameter.rawValue
            }
            print("  \(name): \(text)")
        }
        printDiagnostics(result.diagnostics)
        let after = try Validator.predict(rows, on: result.machine, harness: result.harness)
        print("\n" + summaryTable(Validator.summarise(after)))
    }
}

/// Sensitivity, bounds and ridges of a fit: which fitted values the data really pin down.
func printDiagnostics(_ diagnostics: FitDiagnostics?) {
    guard let diagnostics else { return }
    print("\nhow well the calibration rows pin each value (objective rise one coarse step away; flags):")
    for e in diagnostics.entries {
        var flags: [String] = []
        if e.atBound { flags.append("AT A BOUND of its range: the model misses something, or the bound is wrong") }
        if e.sensitivity < 0.0005 { flags.append("UNPINNED: the objective hardly moves") }
        print(
            "  \(e.parameter.rawValue): +\(String(format: "%.2f", e.sensitivity * 100)) "
                + "points\(flags.isEmpty ? "" : "  " + flags.joined(separator: "; "))"
        )
    }
    let ridges = diagnostics.ridges()
    if diagnostics.entries.count > 1 {
        if let c = diagnostics.correlation {
            print("correlations between the fitted values (from the residuals' Jacobian):")
            var table = TextTable([""] + diagnostics.entries.indices.map { "(\($0 + 1))" }, numeric: Set(1...diagnostics.entries.count))
            for (i, e) in diagnostics.entries.enumerated() {
                table.add(["(\(i + 1)) \(e.parameter.rawValue)"] + c[i].map { String(format: "%+.2f", $0) })
            }
            print(table.rendered)
        } else {
            print(
                "  correlations: not defined (the rows give fewer independent residuals than parameters, or some parameter has no effect)")
        }
    }
    for (a, b, c) in ridges {
        print("  RIDGE: \(a.rawValue) and \(b.rawValue) correlate at \(String(format: "%+.2f", c)): the rows cannot tell them apart")
    }
}

func dataSet(_ id: String) throws -> ValidationSet {
    guard let set = ValidationSet.named(id) else {
        // Every kind of set `validate --data` takes: kernel, collective, and whole-run (power, training, serving) sets.
        let known = ValidationSet.all.map(\.id) + CollectiveValidationSet.all.map(\.id) + PowerValidationSet.all.map(\.id)
        let hint = didYouMean(id, in: known)
        throw OptionError(option: "--data", message: "unknown data set \"\(id)\"\(hint) (known: \(known.joined(separator: ", ")))")
    }
    return set
}

func loadRows(_ set: ValidationSet, _ directory: String?) throws -> [ValidationRow] {
    try set.load(directory ?? ValidationSet.defaultDirectory())
}

func summaryTable(_ summary: [Validator.Summary]) -> String {
    var table = TextTable(["split / regime", "rows", "MAPE", "median", "worst", "worst row"], numeric: [1, 2, 3, 4])
    for s in summary {
        table.add([
            s.group, String(s.count), String(format: "%.1f%%", s.mape * 100), String(format: "%.1f%%", s.median * 100),
            String(format: "%.1f%%", s.worst * 100), s.worstLabel,
        ])
    }
    return table.rendered
}
