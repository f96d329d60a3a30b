import ArgumentParser
import Chips
import Config
import Foundation
import SimCore

struct ChipsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chips",
        abstract: "List, show and validate chip descriptions.",
        subcommands: [List.self, Show.self, Validate.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the shipped chips with their peaks, memory and power.",
            discussion: "Peaks are dense (no sparsity), derived from units x MACs per cycle x 2 x the vendor's peak clock.")

        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
        var chipsDir: String?
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        func run() throws {
            let directory = chipsDir ?? ChipCatalog.defaultDirectory()
            let libraries = KernelLibraries.directory(besideChipsIn: directory)
            // Each chip is checked and built on its own core; errors come in the catalogue's order.
            let specs = try Parallel.map(try ChipCatalog.load(directory: directory).documents) { document in
                Result { try ChipSpec(document, libraries: libraries) }
            }.map { try $0.get() }
            if format == .json {
                printJSON(["chips": specs.map(chipSummary)])
                return
            }
            var table = TextTable(
                ["id", "name", "vendor", "dies/devices", "bf16/fp16", "per device", "int8/fp8", "HBM", "HBM bw", "TDP"],
                numeric: [3, 4, 5, 6, 7, 8, 9])
            for spec in specs {
                let half = spec.peakMatrixFLOPS(.bf16) ?? spec.peakMatrixFLOPS(.fp16)
                let low = [spec.peakMatrixFLOPS(.fp8), spec.peakMatrixFLOPS(.int8)].compactMap { $0 }.max()
                let devices = max(1, spec.devicesPerPackage)
                table.add([
                    spec.id, spec.name, spec.vendor, "\(spec.dies)/\(devices)",
                    half.map { "\(formatNumber($0 / 1e12)) TF" } ?? "-",
                    half.map { "\(formatNumber($0 / Double(devices) / 1e12)) TF" } ?? "-",
                    low.map { "\(formatNumber($0 / 1e12)) TF" } ?? "-",
                    spec.memory.hbmCapacity.description,
                    "\(formatNumber(spec.memory.hbmBandwidth.value / 1e12)) TB/s",
                    spec.power.tdp.description,
                ])
            }
            print(table.rendered)
            print("\nFigures are per package; \"per device\" is what software sees as one device (a 910C die, a whole B200).")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show every parameter of a chip with its unit and source, and the derived peaks.",
            discussion: """
                Examples:
                  xpusim chips show h100-sxm
                  xpusim chips show ./my-chip.yaml --set memory.hbm.bandwidth="4 TB/s"
                """)

        @Argument(help: "A chip id from `xpusim chips list`, or the path of a chip YAML file.")
        var chip: String
        @Option(name: .customLong("set"), help: "Override one figure: PATH=VALUE (repeatable).")
        var overrides: [String] = []
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
        var chipsDir: String?
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        func run() throws {
            let spec = try ChipCatalog.resolve(chip, overrides: overrides, directory: chipsDir ?? ChipCatalog.defaultDirectory())
            let document = spec.document
            let rows = ParameterCatalog.orderedPaths.compactMap { path -> (String, ParameterDeclaration, Figure)? in
                guard let figure = document.figures[path], let declaration = ParameterCatalog.declaration(for: path) else { return nil }
                return (path, declaration, figure)
            }
            if format == .json {
                var summary = chipSummary(spec)
                summary["parameters"] = rows.map { path, declaration, figure -> [String: Any] in
                    var item: [String: Any] = [
                        "path": path, "meaning": declaration.meaning, "kind": figure.kind.rawValue,
                        "text": figure.formatted(as: declaration.type),
                    ]
                    switch figure.value {
                    case .number(let n): item["value"] = n
                    case .text(let t): item["value"] = t
                    case .curve(let points): item["value"] = points.map { [$0.x, $0.y] }
                    }
                    if case .quantity(let kind) = declaration.type {
                        item["si_unit"] = kind.units[0].symbol.isEmpty ? "1" : kind.units.first { $0.factor == 1 }?.symbol ?? ""
                    }
                    if let source = figure.source { item["source"] = source.url }
                    if let how = figure.how { item["how"] = how }
                    if let fit = figure.fit { item["fit"] = fit }
                    if let hash = figure.dataHash { item["data"] = hash }
                    if let origin = figure.origin { item["same_as"] = origin }
                    return item
                }
                printJSON(summary)
                return
            }
            print("\(spec.name) (\(spec.id)), \(document.file)\(document.baseID.map { ", variant of \($0)" } ?? "")\n")
            var table = TextTable(["parameter", "value", "kind", "source / how"])
            for (path, declaration, figure) in rows {
                var origin = figure.origin.map { "same as \($0)" } ?? ""
                for part in [figure.source?.url, figure.how, figure.fit.map { "fitted by `\($0)` on data \(figure.dataHash ?? "?")" }] {
                    if let part { origin = origin.isEmpty ? part : "\(origin); \(part)" }
                }
                table.add([
                    path, figure.formatted(as: declaration.type),
                    figure.source == nil && figure.how == nil && figure.fit == nil ? "" : figure.kind.rawValue,
                    origin,
                ])
            }
            print(table.rendered)
            print("\nDerived peaks (dense, whole package):")
            var peaks = TextTable(
                ["data type", "matrix at boost", "matrix at peak clock", "vendor peak", "vector at boost"], numeric: [1, 2, 3, 4])
            for dtype in DataType.allCases where spec.compute.macsPerCycle[dtype] != nil || spec.compute.vectorFlopsPerCycle[dtype] != nil {
                let tf = { (v: Double?) in v.map { "\(formatNumber($0 / 1e12)) TFLOPS" } ?? "-" }
                peaks.add([
                    dtype.rawValue, tf(spec.peakMatrixFLOPS(dtype, clock: spec.clocks.boost.value)), tf(spec.peakMatrixFLOPS(dtype)),
                    tf(spec.compute.vendorPeak[dtype]), tf(spec.peakVectorFLOPS(dtype)),
                ])
            }
            print(peaks.rendered)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check chip files: fields, units, sources, plausibility and the peak check.",
            discussion: """
                Checks every file, prints "FILE: ok (ids)" for each good one, then every error of the others (each naming the file,
                the line and the field) and exits non-zero.
                """)

        @Argument(help: "Chip YAML files.")
        var files: [String]

        func run() throws {
            try validateFiles(files) { file in
                let folder = (file as NSString).deletingLastPathComponent
                let document = try ChipDocument.load(file: file)
                let libraries = KernelLibraries.directory(besideChipsIn: folder)
                for chip in [document] + document.variants.compactMap({ document.variant($0.id) }) {
                    _ = try ChipSpec(ChipCatalog.resolvingCopies(chip, directory: folder.isEmpty ? "." : folder), libraries: libraries)
                }
                return ([document.id] + document.variants.map(\.id)).joined(separator: ", ")
            }
        }
    }
}

/// Checks each file with `check` (which returns the ids the file holds), prints "FILE: ok (ids)"
/// for each good one, and throws every other file's errors together, as `chips validate` and
/// `systems validate` do.
func validateFiles(_ files: [String], _ check: (String) throws -> String) throws {
    var problems: [ConfigError] = []
    for file in files {
        do {
            print("\(file): ok (\(try check(file)))")
        } catch let error as ConfigErrors {
            problems += error.errors
        } catch let error as ConfigError {
            problems.append(error)
        }
    }
    if !problems.isEmpty { throw ConfigErrors(problems) }
}

func chipSummary(_ spec: ChipSpec) -> [String: Any] {
    var peaks: [String: Double] = [:]
    for dtype in DataType.allCases { if let p = spec.peakMatrixFLOPS(dtype) { peaks[dtype.rawValue] = p } }
    return [
        "id": spec.id, "name": spec.name, "vendor": spec.vendor, "dies": spec.dies, "devices_per_package": max(1, spec.devicesPerPackage),
        "compute_units": spec.totalUnits, "peak_flops": peaks,
        "hbm_capacity_bytes": spec.memory.hbmCapacity.value, "hbm_bandwidth_bytes_per_s": spec.memory.hbmBandwidth.value,
        "tdp_w": spec.power.tdp.value, "file": spec.document.file,
    ]
}
