import ArgumentParser
import Chips
import Estimates
import Foundation
import SimCore
import Validation

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
        subcommands: [Fit.self, Check.self])

    struct Place: ParsableArguments {
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
        @Option(help: "The fleet records (default: <chips>/reliability/fleets.yaml).") var records: String?
        var chips: String { chipsDir ?? ChipCatalog.defaultDirectory() }
        func load() throws -> [FleetRecord] { try FleetRecords.load(records ?? FleetRecords.defaultFile(chips: chips)) }
    }

    struct Fit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit each class's MTBF on the calibration records and print the figures for the chip and system files.")
        @OptionGroup var place: Place

        func run() throws {
            let records = try place.load()
            let fit = try estimating { try FleetRecords.fit(records, chips: place.chips) }
            print("# \(fit.command): fitted on \(records.filter { $0.split == .calibration }.map(\.id).joined(separator: ", ")) "
                + "(data \(fit.dataHash))")
            var table = TextTable(["file", "figure", "value", "events", "exposure"], numeric: [2, 3])
            for f in fit.figures {
                let parts = f.path.split(separator: " ")
                table.add([parts[0] == "chip" ? fit.chip : fit.system, String(parts[1]), "\(formatNumber((f.mtbf / 3600).rounded())) h",
                    "\(f.events)", f.exposure])
            }
            table.add([fit.chip, "reliability.reference_temperature", "\(formatNumber(fit.referenceTemperature)) C", "", "xpusim train"])
            print(table.rendered)
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the model with every fleet record, and print the errors.")
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
