import ArgumentParser
import Chips
import Config
import Fabric
import Foundation
import SimCore
import Systems
import Validation

extension ValidateCommand {
    /// `validate --data <collective set>`: per-row predictions with the algorithm the library ran,
    /// and the errors per split and message-size regime.
    func runCollectives(_ set: CollectiveValidationSet) throws {
        let chips = chipsDir ?? ChipCatalog.defaultDirectory()
        // The twin rule across every collective set, as `validate --all` applies it.
        let directory = dataDir ?? ValidationSet.defaultDirectory()
        let all = CollectiveValidator.separatingTwins(try CollectiveValidationSet.all.map { try $0.load(directory) })
        let rowsIn = all[CollectiveValidationSet.all.firstIndex { $0.id == set.id }!]
        let predictions = try CollectiveValidator.predict(rowsIn) { nodes in
            try SystemCatalog.resolve(set.system, nodes: nodes, chips: chips)
        }
        let lines = CollectiveValidator.lines(set, predictions)
        if format == .json {
            func stats(_ s: ErrorStats?) -> Any {
                guard let s else { return NSNull() }
                return ["rows": s.count, "mape": s.mape, "median": s.median, "worst": s.worst]
            }
            printJSON([
                "data": set.id, "system": set.system, "split": set.splitRule, "rows": predictions.count,
                "summary": lines.map {
                    ["regime": $0.regime, "calibration": stats($0.calibration), "check": stats($0.check)] as [String: Any]
                },
            ])
            return
        }
        print("\(set.title) on \(set.system)\nsource: \(set.provenance)\nsplit: \(set.splitRule)")
        let twins = rowsIn.filter(\.twin).count
        if twins > 0 {
            print("twins: \(twins) check rows are the same collectives as calibration rows of a collective set and count as calibration")
        }
        print("")
        if rows != .none {
            var table = TextTable(["row", "split", "algorithm", "measured", "predicted", "error", "busbw"], numeric: [3, 4, 5, 6])
            for p in predictions where rows == .all || p.row.split == .check {
                // A row measured as a bandwidth (DeepEP's normal kernels) is shown as one.
                let shown: (String, String) =
                    p.row.measuredBandwidth.map {
                        (Quantity.format($0, .bandwidth), Quantity.format(p.predictedBandwidth ?? 0, .bandwidth))
                    }
                    ?? (Quantity.format(p.row.measured, .time), Quantity.format(p.predicted, .time))
                table.add([
                    p.row.label, p.row.split.rawValue, "\(p.result.algorithm.rawValue)/\(p.result.protocol.rawValue)", shown.0, shown.1,
                    String(format: "%+.1f%%", p.error * 100), Quantity.format(p.result.busBandwidth, .bandwidth),
                ])
            }
            print(table.rendered + "\n")
        }
        var table = TextTable(
            ["regime", "cal rows", "cal MAPE", "check rows", "check MAPE", "median", "worst"], numeric: [1, 2, 3, 4, 5, 6])
        for l in lines {
            table.add([
                l.regime, String(l.calibration?.count ?? 0), percent(l.calibration?.mape), String(l.check?.count ?? 0),
                percent(l.check?.mape),
                percent(l.check?.median), percent(l.check?.worst),
            ])
        }
        print(table.rendered)
    }
}

extension CalibrateCommand {
    /// `calibrate --data <collective sets>`: fits the collective library of the sets' systems' chip.
    func fitCollectives(_ sets: [CollectiveValidationSet]) throws {
        if diagnose {
            throw OptionError(
                option: "--diagnose",
                message: "diagnoses fits on chip timing sets, not collective sets (\(sets.map(\.id).joined(separator: ", ")))")
        }
        let chips = chipsDir ?? ChipCatalog.defaultDirectory()
        let directory = dataDir ?? ValidationSet.defaultDirectory()
        var sources: [CollectiveCalibrator.Source] = []
        var library: CollectiveLibrary?
        var libraryFile = ""
        for set in sets {
            let system = { (nodes: Int) in try SystemCatalog.resolve(set.system, nodes: nodes, chips: chips) }
            let base = try system(1)
            if let chip, chip != base.chip.id {
                throw OptionError(
                    option: "--chip", message: "\(set.id) was measured on \(set.system), whose chip is \(base.chip.id), not \(chip)")
            }
            guard let collectives = base.chip.library.collectives else {
                throw ValidationError("\(base.chip.library.id) (\(base.chip.library.file)) has no collectives section to fit")
            }
            if library != nil, libraryFile != base.chip.library.file {
                throw ValidationError("\(set.id) runs \(base.chip.library.file), not \(libraryFile): fit one collective library at a time")
            }
            library = collectives
            libraryFile = base.chip.library.file
            sources.append(.init(rows: try set.load(directory), system: system))
        }
        for (index, rows) in CollectiveValidator.separatingTwins(sources.map(\.rows)).enumerated() { sources[index].rows = rows }
        let figures =
            try fit.map { list in
                try commaList(list, option: "--fit").map { name -> CollectiveCalibrator.Figure in
                    let known = CollectiveCalibrator.allFigures.map(\.path)
                    guard let figure = CollectiveCalibrator.allFigures.first(where: { $0.path == name }) else {
                        let hint = didYouMean(String(name), in: known)
                        throw OptionError(
                            option: "--fit",
                            message: "\"\(name)\" is not a collective figure"
                                + (hint.isEmpty ? "; a collective set fits: \(known.joined(separator: ", "))" : hint))
                    }
                    return figure
                }
            } ?? CollectiveCalibrator.figures
        // A system's figures are one system's: every set must have run on it.
        let systemFile = try SystemCatalog.resolve(sets[0].system, nodes: 1, chips: chips)
        if figures.contains { $0.system }, let other = sets.first(where: { $0.system != sets[0].system }) {
            throw OptionError(
                option: "--fit",
                message: "system figures are fitted on one system's sets; \(other.id) ran on \(other.system), not \(sets[0].system)")
        }
        let start = CollectiveCalibrator.State(library: library!, system: systemFile)
        let fit = try CollectiveCalibrator.fit(sources, start: start, figures: figures)
        var check: [Double] = []
        for source in sources {
            check += try CollectiveValidator.predict(
                source.rows, system: { nodes in fit.state.applied(to: try source.system(nodes)) }, library: fit.library
            ).filter {
                $0.row.split == .check
            }.map(\.error)
        }
        print(
            "calibration objective (mean over sources of the MAPE of collective time on calibration rows): "
                + "\(String(format: "%.2f%%", fit.before * 100)) -> \(String(format: "%.2f%%", fit.after * 100))"
                + (ErrorStats(check).map { "; check rows after: \(String(format: "%.2f%%", $0.mape * 100)) (not used to fit)" } ?? "")
                + "\n")
        let hash = CollectiveValidator.dataHash(sources.flatMap { $0.rows.filter { $0.split == .calibration } })
        let file = figures.contains { $0.system } ? systemFile.document.file : libraryFile
        print("fitted values (for \(file); write them as kind: fitted, data: \(hash)):")
        for value in fit.values {
            let shown = value.path.hasSuffix("latency") ? Quantity.format(value.value, .time) : formatNumber(value.value)
            print("  \(value.path): \(shown)\(value.atBound ? "  (at a bound of its range)" : "")")
        }
    }
}
