import Config
import Foundation
import SimCore

/// The chips that ship in `chips/`, and the loading of a chip by id or by file path.
///
/// ```
/// xpusim chips show h100-sxm             # by id from the catalogue
/// xpusim chips show ./my-chip.yaml       # by path
/// ```
public struct ChipCatalog: Sendable {
    public var directory: String
    /// Every chip by id, variants included, in the order of the files.
    public var documents: [ChipDocument]

    /// Where the shipped chips live: `$XPUSIM_CHIPS`, else `chips/` in the current directory, else
    /// `chips/` beside the package the executable was built from.
    public static func defaultDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["XPUSIM_CHIPS"], !env.isEmpty { return env }
        return ResourceLocator.find("chips")
    }

    static func chipFiles(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    }

    public static func load(directory: String = defaultDirectory()) throws -> ChipCatalog {
        let files = chipFiles(in: directory)
        // The files are read on all cores (start-up of `chips list` is most of this); results and
        // errors are kept in file order, so the catalogue and its messages do not depend on timing.
        let loaded = Parallel.map(files) { name -> Result<ChipDocument, Error> in
            Result { try ChipDocument.load(file: (directory as NSString).appendingPathComponent(name)) }
        }
        var documents: [ChipDocument] = []
        var errors: [ConfigError] = []
        for result in loaded {
            switch result {
            case .success(let document):
                documents.append(document)
                documents.append(contentsOf: document.variants.compactMap { document.variant($0.id) })
            case .failure(let error as ConfigErrors): errors.append(contentsOf: error.errors)
            case .failure(let error as ConfigError): errors.append(error)
            case .failure(let error): throw error
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        if documents.isEmpty { throw ConfigError(file: directory, message: "no chip files (*.yaml) found") }
        // An id names one chip: a second file (or variant) with it would silently stand in for the first.
        var firstFile: [String: String] = [:]
        for document in documents {
            if let other = firstFile[document.id] {
                errors.append(
                    ConfigError(
                        file: document.file, path: "identity.id",
                        message: "chip id \"\(document.id)\" is also declared by \(other); ids must be unique in \(directory)"))
            } else {
                firstFile[document.id] = document.file
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        let byID = Dictionary(documents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        documents = try documents.map { try $0.resolvingCopies { byID[$0] } }
        return ChipCatalog(directory: directory, documents: documents)
    }

    public var ids: [String] { documents.map(\.id) }

    /// Resolves a document's copied figures (`same_as:`) against the chips in `directory`, reading
    /// only the files needed; a file that does not read is skipped here (it reports its own errors).
    public static func resolvingCopies(_ document: ChipDocument, directory: String = defaultDirectory()) throws -> ChipDocument {
        guard document.hasUnresolvedCopies else { return document }
        var cache: [String: ChipDocument] = [:]
        return try document.resolvingCopies { id in
            if let known = cache[id] { return known }
            let found = try? find(id, in: directory)
            cache[id] = found
            return found
        }
    }

    static func contains(_ data: Data, _ wanted: [UInt8]) -> Bool {
        guard !wanted.isEmpty else { return true }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let n = wanted.count
            guard raw.count >= n else { return false }
            let first = wanted[0]
            var i = 0
            while i <= raw.count - n {
                if raw[i] == first {
                    var k = 1
                    while k < n && raw[i + k] == wanted[k] { k += 1 }
                    if k == n { return true }
                }
                i += 1
            }
            return false
        }
    }

    /// The chip with id `reference`, reading only the file that declares it: the ids of a file (its
    /// own, its variants') are looked up in its node tree before the file is read and checked.
    /// Nil when no file declares it (the caller then loads the whole catalogue, for its errors and
    /// the nearest id).
    static func find(_ reference: String, in directory: String) throws -> ChipDocument? {
        let wanted = Array(reference.utf8)
        // How a file declares the id: `id: ref` (YAML), `"id": "ref"` (JSON), or a variant's key.
        let declarations = ["id: \(reference)", "\"\(reference)\"", "\(reference):"].map { Array($0.utf8) }
        var found: (document: ChipDocument, file: String)?
        for name in chipFiles(in: directory) {
            let path = (directory as NSString).appendingPathComponent(name)
            // A file whose text does not hold the id cannot declare it: not even parsed. Once the
            // id is found, the rest are only read for a second declaration of it.
            guard let bytes = FileManager.default.contents(atPath: path), contains(bytes, wanted) else { continue }
            if found != nil && !declarations.contains(where: { contains(bytes, $0) }) { continue }
            guard let root = try? ConfigNode.parse(data: bytes, file: path),
                let entries = try? root.mapping()
            else { continue }
            let identity = entries.first { $0.key == "identity" }?.value
            let id = (try? identity?.mapping())?.first { $0.key == "id" }.flatMap { try? $0.value.string() }
            let variants = (try? entries.first { $0.key == "variants" }?.value.mapping())?.map(\.key) ?? []
            guard id == reference || variants.contains(reference) else { continue }
            if let found {
                throw ConfigError(
                    file: path, path: "identity.id",
                    message: "chip id \"\(reference)\" is also declared by \(found.file); ids must be unique in \(directory)")
            }
            let document = try ChipDocument.read(root)
            if let chosen = id == reference ? document : document.variant(reference) { found = (chosen, path) }
        }
        return found?.document
    }

    /// The chip named by `reference`: a catalogue id, or the path of a YAML file (optionally
    /// `path#variant`). `overrides` are `path=value` assignments applied on top.
    public static func resolve(_ reference: String, overrides: [String] = [], directory: String = defaultDirectory()) throws -> ChipSpec {
        var document: ChipDocument
        let looksLikeFile =
            reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") || reference.hasSuffix(".json")
        if looksLikeFile {
            let parts = reference.split(separator: "#", maxSplits: 1).map(String.init)
            document = try ChipDocument.load(file: parts[0])
            if parts.count == 2 {
                guard let variant = document.variant(parts[1]) else {
                    throw ConfigError(
                        file: parts[0], path: "variants",
                        message: "no variant \"\(parts[1])\"; the file has: \(document.variants.map(\.id).joined(separator: ", "))")
                }
                document = variant
            }
        } else if let found = try find(reference, in: directory) {
            document = found
        } else {
            let catalog = try load(directory: directory)
            guard let found = catalog.documents.first(where: { $0.id == reference }) else {
                let hint = didYouMean(reference, in: catalog.ids)
                throw ConfigError(
                    file: directory, message: "no chip with id \"\(reference)\"\(hint) (known: \(catalog.ids.joined(separator: ", ")))")
            }
            document = found
        }
        // Overrides first, so that a copy scaled by an overridden figure is scaled by the new value
        // (an override of the copied figure itself replaces the copy). A file's copies come from the
        // chips beside it, as its libraries do.
        for assignment in overrides { try document.override(assignment) }
        let chips =
            looksLikeFile
            ? ((reference.split(separator: "#").first.map(String.init) ?? reference) as NSString).deletingLastPathComponent : directory
        if document.hasUnresolvedCopies || document.figures.values.contains(where: { $0.scaledBy != nil }) {
            document = try resolvingCopies(document.unresolvingScaledCopies(), directory: chips.isEmpty ? "." : chips)
        }
        return try ChipSpec(document, libraries: KernelLibraries.directory(besideChipsIn: chips.isEmpty ? "." : chips))
    }
}
