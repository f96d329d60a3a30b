import ArgumentParser
import Chips
import Config
import Foundation
import SimCore
import Systems

struct SystemsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systems",
        abstract: "List, show and validate system descriptions (many chips: nodes, links, switches, networks, node power).",
        subcommands: [List.self, Show.self, Validate.self])

    /// Where the chips and the systems are read from.
    struct Folders: ParsableArguments {
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
        var chipsDir: String?
        @Option(help: "Folder of system files (default: $XPUSIM_SYSTEMS or the chips folder's systems/).")
        var systemsDir: String?

        var chips: String { chipsDir ?? ChipCatalog.defaultDirectory() }
        var systems: String { systemsDir ?? SystemCatalog.defaultDirectory(chips: chips) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the shipped systems with their chips, peaks, bandwidths and power.",
            discussion: """
                Peaks are dense (no sparsity), of the whole system at the chips' peak clock; bandwidths are per direction, summed over
                every chip (scale-up) or every NIC (scale-out); power is every chip at its TDP plus the nodes' CPUs, NICs, switches,
                fans and the rest.
                """)

        @OptionGroup var folders: Folders
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        func run() throws {
            let catalog = try SystemCatalog.load(directory: folders.systems, chips: folders.chips)
            if format == .json {
                printJSON(["systems": catalog.systems.map(systemSummary)])
                return
            }
            var table = TextTable(
                ["id", "name", "chip", "nodes", "chips", "devices", "bf16/fp16", "HBM", "scale-up", "scale-out", "power"],
                numeric: [3, 4, 5, 6, 7, 8, 9, 10])
            for system in catalog.systems {
                table.add([
                    system.id, system.name, system.chipID, String(system.nodes), String(system.totalChips), String(system.totalDevices),
                    (system.peakFLOPS(.bf16, .system) ?? system.peakFLOPS(.fp16, .system)).map { "\(formatNumber($0 / 1e15)) PF" } ?? "-",
                    system.hbmCapacity(.system).description,
                    "\(formatNumber(system.scaleUpBandwidth(.system).value / 1e12)) TB/s",
                    system.scaleOutBandwidth(.system).map { "\(formatNumber($0.value / 1e12)) TB/s" } ?? "-",
                    "\(formatNumber(system.systemPower.value / 1e3)) kW",
                ])
            }
            print(table.rendered)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract:
                "Show every figure of a system with its unit and source, and the derived figures per device, package, node and system.",
            discussion: """
                A device is what software sees as one accelerator: a 910C package is two (one per die, joined by SIO), a B200 one.

                Examples:
                  xpusim systems show dgx-h100
                  xpusim systems show cloudmatrix-384 --set scale_out.bandwidth_per_nic="800 Gb/s"
                  xpusim systems show dgx-h100 --nodes 32 --format json
                """)

        @Argument(help: "A system id from `xpusim systems list`, or the path of a system YAML file.")
        var system: String
        @Option(name: .customLong("set"), help: "Override one figure: PATH=VALUE (repeatable).")
        var overrides: [String] = []
        @Option(help: "Number of nodes, joined over the scale-out network beyond one scale-up domain (default: the file's nodes).")
        var nodes: Int?
        @OptionGroup var folders: Folders
        @Option(help: "Output format: table or json.")
        var format: OutputFormat = .table

        func validate() throws {
            if let nodes, nodes < 1 { throw ValidationError("--nodes must be a positive number of nodes") }
        }

        func run() throws {
            let spec = try SystemCatalog.resolve(
                system, overrides: overrides, nodes: nodes, directory: folders.systems, chips: folders.chips)
            let rows = SystemParameterCatalog.orderedPaths.compactMap { path -> (String, SystemParameterDeclaration, SystemFigure)? in
                guard let figure = spec.document.figures[path], let declaration = SystemParameterCatalog.declaration(for: path) else {
                    return nil
                }
                return (path, declaration, figure)
            }
            if format == .json {
                var summary = systemSummary(spec)
                summary["parameters"] = rows.map { path, declaration, figure -> [String: Any] in
                    var item: [String: Any] = [
                        "path": path, "meaning": declaration.meaning, "kind": figure.kind.rawValue,
                        "text": declaration.type.text(figure.value),
                    ]
                    item["value"] = figure.value.plain
                    if case .quantity(let kind) = declaration.type { item["si_unit"] = kind.units.first { $0.factor == 1 }?.symbol ?? "1" }
                    if let source = figure.source { item["source"] = source.url }
                    if let how = figure.how { item["how"] = how }
                    return item
                }
                summary["derived"] = derivedJSON(spec)
                printJSON(summary)
                return
            }
            print("\(spec.name) (\(spec.id)), \(spec.document.file)\n")
            var table = TextTable(["parameter", "value", "kind", "source / how"])
            for (path, declaration, figure) in rows {
                let origin = [figure.source?.url, figure.how].compactMap { $0 }.joined(separator: "; ")
                table.add([
                    path, declaration.type.text(figure.value), figure.source == nil && figure.how == nil ? "" : figure.kind.rawValue,
                    origin,
                ])
            }
            print(table.rendered)
            let devices =
                spec.devicesPerPackage == 1
                ? "software sees each package as 1 device"
                : "software sees each package as \(spec.devicesPerPackage) devices (one per die)"
            print(
                """

                Chip: \(spec.chip.name) (\(spec.chipID)), \(spec.chip.dies) die\(spec.chip.dies == 1 ? "" : "s") per package; \(devices).
                \(spec.nodes) node\(spec.nodes == 1 ? "" : "s") of \(spec.chipsPerNode) packages (\(spec.devicesPerNode) \
                devices): \(spec.totalChips) packages, \(spec.totalDevices) devices; \(spec.domains) scale-up \
                domain\(spec.domains == 1 ? "" : "s") of \(spec.nodesPerDomain) node\(spec.nodesPerDomain == 1 ? "" : "s") \
                (\(spec.chipsPerDomain) packages).

                Derived figures (dense peaks at the chip's peak clock; bandwidths per direction; power with every chip at its TDP):
                """)
            var derived = TextTable(["figure", "per device", "per package", "per node", "system"], numeric: [1, 2, 3, 4])
            func row(_ name: String, _ value: (SystemScope) -> String?) {
                derived.add([name] + SystemScope.allCases.map { value($0) ?? "-" })
            }
            for dtype in DataType.allCases where spec.peakFLOPS(dtype, .package) != nil {
                row("peak \(dtype.rawValue)") { spec.peakFLOPS(dtype, $0).map { flops($0, dtype) } }
            }
            row("HBM capacity") { spec.hbmCapacity($0).description }
            row("HBM bandwidth") { "\(formatNumber(spec.hbmBandwidth($0).value / 1e12)) TB/s" }
            row("scale-up bandwidth") { "\(formatNumber(spec.scaleUpBandwidth($0).value / 1e9)) GB/s" }
            row("scale-out bandwidth") { spec.scaleOutBandwidth($0).map { "\(formatNumber($0.value / 1e9)) GB/s" } }
            row("power at TDP") { watts(spec.powerAtTDP($0)) }
            print(derived.rendered)
            if spec.power.domain.value > 0 {
                let nodes = "its \(spec.nodes) node\(spec.nodes == 1 ? "'s" : "s'") part"
                let share =
                    spec.domainShare < 1
                    ? "\(formatNumber(spec.domainShare)) of the \(watts(spec.power.domain)) that the \(spec.scaleUp.domainNodes) nodes "
                        + "of its scale-up domain share (power.domain): \(nodes)."
                    : "\(spec.domains) x \(watts(spec.power.domain)) shared by the nodes of each scale-up domain (power.domain)."
                print("\nThe system's power includes " + share)
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check system files: fields, units, sources, plausibility, the chip and the rules between figures.",
            discussion: """
                Checks every file, prints "FILE: ok (id)" for each good one, then every error of the others (each naming the file,
                the line and the field) and exits non-zero.
                """)

        @Argument(help: "System YAML files.")
        var files: [String]
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).")
        var chipsDir: String?

        func run() throws {
            let chips = try ChipCatalog.load(directory: chipsDir ?? ChipCatalog.defaultDirectory())
            try validateFiles(files) { file in try SystemCatalog.build(try SystemDocument.load(file: file), chips: chips).id }
        }
    }
}

private func watts(_ power: Watts) -> String {
    power.value >= 1e4 ? "\(formatNumber(power.value / 1e3)) kW" : power.description
}

/// A peak rate: operations per second of an integer type are OPS, not FLOPS.
private func flops(_ value: Double, _ dtype: DataType = .bf16) -> String {
    let unit = dtype.isInteger ? "OPS" : "FLOPS"
    return value >= 1e15 ? "\(formatNumber(value / 1e15)) P\(unit)" : "\(formatNumber(value / 1e12)) T\(unit)"
}

/// A system's entry in `systems list --format json` (docs/json.md).
func systemSummary(_ spec: SystemSpec) -> [String: Any] {
    var peaks: [String: Double] = [:]
    for dtype in DataType.allCases { if let p = spec.peakFLOPS(dtype, .system) { peaks[dtype.rawValue] = p } }
    var summary: [String: Any] = [
        "id": spec.id, "name": spec.name, "vendor": spec.vendor, "file": spec.document.file,
        "chip": spec.chipID, "chips": spec.totalChips, "chips_per_node": spec.chipsPerNode,
        "devices": spec.totalDevices, "devices_per_package": spec.devicesPerPackage,
        "nodes": spec.nodes, "nodes_per_domain": spec.nodesPerDomain, "topology": spec.scaleUp.topology.rawValue,
        "in_switch_reduction": spec.scaleUp.inSwitchReduction,
        "peak_flops": peaks,
        "hbm_capacity_bytes": spec.hbmCapacity(.system).value, "hbm_bandwidth_bytes_per_s": spec.hbmBandwidth(.system).value,
        "scale_up_bandwidth_bytes_per_s": spec.scaleUpBandwidth(.system).value,
        "power_w": spec.systemPower.value, "node_power_w": spec.nodePower.value,
    ]
    if let out = spec.scaleOutBandwidth(.system) { summary["scale_out_bandwidth_bytes_per_s"] = out.value }
    return summary
}

/// The derived figures of `systems show --format json`: per scope (device, package, node, system).
func derivedJSON(_ spec: SystemSpec) -> [String: Any] {
    var result: [String: Any] = [:]
    for scope in SystemScope.allCases {
        var peaks: [String: Double] = [:]
        for dtype in DataType.allCases { if let p = spec.peakFLOPS(dtype, scope) { peaks[dtype.rawValue] = p } }
        var figures: [String: Any] = [
            "peak_flops": peaks, "hbm_capacity_bytes": spec.hbmCapacity(scope).value,
            "hbm_bandwidth_bytes_per_s": spec.hbmBandwidth(scope).value,
            "scale_up_bandwidth_bytes_per_s": spec.scaleUpBandwidth(scope).value, "power_w": spec.powerAtTDP(scope).value,
        ]
        if let out = spec.scaleOutBandwidth(scope) { figures["scale_out_bandwidth_bytes_per_s"] = out.value }
        result[scope.rawValue] = figures
    }
    return result
}
