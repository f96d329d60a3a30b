import Chips
import Config
import Foundation
import Simulator

/// Checks that every `kind: fitted` figure in the chip, library and system files was fitted on the data
/// the digest holds today: its `data:` hash must equal the hash of the calibration rows its `fit:`
/// command would see now. A changed digest or split makes the figure stale, and this says so.
public enum FitProvenance {
    public struct Stale: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int?
        public var path: String
        public var recorded: String
        public var current: String
        public var description: String {
            "\(file)\(line.map { ":\($0)" } ?? ""): \(path): fitted on data \(recorded), but its fit command now sees \(current): refit"
        }
    }

    /// Every fitted figure: (file, line, path, fit command, recorded hash).
    public static func fittedFigures(chipsDirectory: String) throws -> [(file: String, line: Int?, path: String, fit: String, data: String)]
    {
        var files: [String] = []
        for folder in [chipsDirectory, chipsDirectory + "/libraries", chipsDirectory + "/systems"] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
            files += names.map { folder + "/" + $0 }
        }
        var found: [(file: String, line: Int?, path: String, fit: String, data: String)] = []
        func walk(_ node: ConfigNode, _ file: String) throws {
            switch node.content {
            case .mapping(let entries):
                let keys = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                if let kind = try? keys["kind"]?.string(), kind == "fitted", let fit = try? keys["fit"]?.string(),
                    let data = try? keys["data"]?.string()
                {
                    found.append((file, node.line, node.path, fit, data))
                }
                for (_, child) in entries { try walk(child, file) }
            case .sequence(let items): for item in items { try walk(item, file) }
            default: break
            }
        }
        for file in files { try walk(try ConfigNode.load(file: file), file) }
        return found
    }

    /// The `--chip` and `--data` of a `xpusim calibrate ...` command.
    static func arguments(_ command: String) -> (chip: String?, data: [String]) {
        let words = command.split(separator: " ").map(String.init)
        func value(_ flag: String) -> String? {
            if let i = words.firstIndex(of: flag), i + 1 < words.count { return words[i + 1] }
            return words.first { $0.hasPrefix(flag + "=") }.map { String($0.dropFirst(flag.count + 1)) }
        }
        return (value("--chip"), value("--data")?.split(separator: ",").map(String.init) ?? [])
    }

    /// The hash the fit command would record today.
    public static func currentHash(of command: String, measured: String, chipsDirectory: String) throws -> String? {
        if command.hasPrefix("xpusim reliability fit") {
            let records = try FleetRecords.load(FleetRecords.defaultFile(chips: chipsDirectory))
            return try FleetRecords.fit(records, chips: chipsDirectory).dataHash
        }
        let (chip, data) = arguments(command)
        guard !data.isEmpty else { return nil }
        if data.allSatisfy({ CollectiveValidationSet.named($0) != nil }) {
            let rows = CollectiveValidator.separatingTwins(try data.map { try CollectiveValidationSet.named($0)!.load(measured) })
            return CollectiveValidator.dataHash(rows.joined().filter { $0.split == .calibration })
        }
        if data.count == 1, let power = PowerValidationSet.named(data[0]) {
            let spec = try ChipCatalog.resolve(chip ?? power.chip, directory: chipsDirectory)
            return Calibrator.dataHash(try power.evaluate(measured, Machine(spec)))
        }
        var rows: [ValidationRow] = []
        for id in data {
            guard let set = ValidationSet.named(id) else { return nil }
            rows += try set.load(measured)
        }
        return Calibrator.dataHash(ValidationSet.separatingTwins(rows))
    }

    /// Fitted figures whose data changed since they were fitted (or whose command names no data set).
    public static func stale(chipsDirectory: String, measured: String) throws -> [Stale] {
        var cache: [String: String?] = [:]
        var result: [Stale] = []
        for figure in try fittedFigures(chipsDirectory: chipsDirectory) {
            let current: String?
            if let known = cache[figure.fit] {
                current = known
            } else {
                current = try currentHash(of: figure.fit, measured: measured, chipsDirectory: chipsDirectory)
                cache[figure.fit] = current
            }
            if current != figure.data {
                result.append(
                    Stale(file: figure.file, line: figure.line, path: figure.path, recorded: figure.data, current: current ?? "no data set")
                )
            }
        }
        return result
    }
}
