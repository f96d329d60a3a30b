import Chips
import Config
import Foundation

/// The systems that ship in `chips/systems/`, and the loading of a system by id or by file path.
///
/// ```
/// xpusim systems show dgx-h100                    # by id from the catalogue
/// xpusim systems show ./my-cluster.yaml --nodes 4 # by path, 4 nodes over its scale-out network
/// ```
public struct SystemCatalog: Sendable {
    public var directory: String
    /// Every system, in the order of the files.
    public var systems: [SystemSpec]

    public var ids: [String] { systems.map(\.id) }

    /// Where the shipped systems live: `$XPUSIM_SYSTEMS`, else `systems/` inside the chips folder.
    public static func defaultDirectory(chips: String = ChipCatalog.defaultDirectory()) -> String {
        if let env = ProcessInfo.processInfo.environment["XPUSIM_SYSTEMS"], !env.isEmpty { return env }
        return (chips as NSString).appendingPathComponent("systems")
    }

    static func files(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Reads every system file of `directory` against the chips of `chips`; every error of every file is reported at once.
    public static func load(
        directory: String? = nil, chips chipsDirectory: String = ChipCatalog.defaultDirectory()
    ) throws -> SystemCatalog {
        let directory = directory ?? defaultDirectory(chips: chipsDirectory)
        let chips = try ChipCatalog.load(directory: chipsDirectory)
        var systems: [SystemSpec] = []
        var errors: [ConfigError] = []
        for file in files(in: directory) {
            do {
                let system = try build(try SystemDocument.load(file: file), chips: chips)
                if let first = systems.first(where: { $0.id == system.id }) {
                    throw ConfigError(
                        file: file, line: system.document.figures["identity.id"]?.line, path: "identity.id",
                        message: "the id \"\(system.id)\" is already used by \(first.document.file)")
                }
                systems.append(system)
            } catch let error as ConfigErrors {
                errors += error.errors
            } catch let error as ConfigError {
                errors.append(error)
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        if systems.isEmpty { throw ConfigError(file: directory, message: "no system files (*.yaml) found") }
        return SystemCatalog(directory: directory, systems: systems)
    }

    /// The typed system of a read document: its chip looked up in `chips` (an unknown id names the
    /// file, line and field, with the nearest id), then the rules of ``SystemValidator``.
    public static func build(_ document: SystemDocument, chips: ChipCatalog) throws -> SystemSpec {
        let chipID = document.figures["node.chip"]?.value.text ?? ""
        guard let chipDocument = chips.documents.first(where: { $0.id == chipID }) else {
            throw ConfigError(
                file: document.file, line: document.figures["node.chip"]?.line, path: "node.chip",
                message: "no chip with id \"\(chipID)\"\(didYouMean(chipID, in: chips.ids)) (known: \(chips.ids.joined(separator: ", ")))")
        }
        let chip = try ChipSpec(chipDocument, libraries: KernelLibraries.directory(besideChipsIn: chips.directory))
        let errors = SystemValidator.validate(document, chip: chip)
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return SystemSpec(document, chip: chip)
    }

    /// The system named by `reference`: a catalogue id or the path of a YAML file, with `overrides`
    /// (`path=value`, as `--set`) applied and, where given, `nodes` nodes (as `--nodes`).
    public static func resolve(
        _ reference: String, overrides: [String] = [], nodes: Int? = nil, directory: String? = nil,
        chips chipsDirectory: String = ChipCatalog.defaultDirectory()
    ) throws -> SystemSpec {
        let directory = directory ?? defaultDirectory(chips: chipsDirectory)
        let looksLikeFile = reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml")
        var document: SystemDocument
        if looksLikeFile {
            document = try SystemDocument.load(file: reference)
        } else if let file = try find(reference, in: directory) {
            document = try SystemDocument.load(file: file)
        } else {
            let known = try load(directory: directory, chips: chipsDirectory).ids
            throw ConfigError(
                file: directory,
                message: "no system with id \"\(reference)\"\(didYouMean(reference, in: known)) (known: \(known.joined(separator: ", ")))")
        }
        for assignment in overrides { try document.override(assignment) }
        let system = try build(document, chips: try ChipCatalog.load(directory: chipsDirectory))
        return try nodes.map { try system.with(nodes: $0) } ?? system
    }

    /// The file that declares system `id`, found from each file's `identity.id` before the file is checked.
    static func find(_ id: String, in directory: String) throws -> String? {
        for file in files(in: directory) {
            guard let root = try? ConfigNode.load(file: file), let entries = try? root.mapping(),
                let identity = try? entries.first(where: { $0.key == "identity" })?.value.mapping(),
                let found = identity.first(where: { $0.key == "id" }).flatMap({ try? $0.value.string() })
            else { continue }
            if found == id { return file }
        }
        return nil
    }
}
