import Chips
import Config
import Foundation
import SimCore

/// A system file as read: every figure by its path, with its sources.
///
/// Reading checks the file's shape against ``SystemParameterCatalog`` (unknown keys with the
/// nearest known one, wrong types and units, missing sources, negative or implausible values) and
/// reports every problem at once. ``SystemValidator`` then checks the figures against each other
/// and against the chip, and ``SystemSpec`` turns a valid document into typed figures.
///
/// ```yaml
/// schema: 1
/// sources:
///   dgx-guide: {url: "https://docs.nvidia.com/dgx/dgxh100-user-guide/introduction-to-dgxh100.html", kind: vendor}
/// identity: {id: dgx-h100, name: NVIDIA DGX H100, vendor: NVIDIA}
/// node:
///   chip: h100-sxm
///   chips: {value: 8, source: dgx-guide}
/// nodes: 1
/// ```
public struct SystemDocument: Sendable {
    public var file: String
    public var figures: [String: SystemFigure]
    public var sources: [String: SystemSource]

    public var id: String { figures["identity.id"]?.value.text ?? "" }
    public var name: String { figures["identity.name"]?.value.text ?? "" }
    public func number(_ path: String) -> Double? { figures[path]?.value.number }

    /// Whether any figure under `section` (`scale_out`, `scale_up.switches`) is given.
    public func has(section: String) -> Bool { figures.keys.contains { $0.hasPrefix(section + ".") } }

    /// Reads and checks the shape of one system file; every problem found is reported at once.
    public static func load(file: String) throws -> SystemDocument {
        try read(try ConfigNode.load(file: file))
    }

    public static func read(_ root: ConfigNode) throws -> SystemDocument {
        var reader = SystemFileReader(file: root.file)
        let document = reader.read(root)
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return document
    }

    /// Sets one figure from `path=value` text, as `--set` does; the figure's kind becomes `override`.
    ///
    /// ```
    /// xpusim systems show dgx-h100 --set scale_out.bandwidth_per_nic="800 Gb/s"
    /// ```
    public mutating func override(_ assignment: String) throws {
        guard let equals = assignment.firstIndex(of: "=") else {
            throw ConfigError(file: "--set", message: "expected path=value, found \"\(assignment)\"")
        }
        let path = String(assignment[..<equals]).trimmingCharacters(in: .whitespaces)
        let text = String(assignment[assignment.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        guard let declaration = SystemParameterCatalog.declaration(for: path), !path.hasPrefix("identity.") else {
            let settable = SystemParameterCatalog.orderedPaths.filter { !$0.hasPrefix("identity.") }
            throw ConfigError(file: "--set", path: path, message: "unknown system parameter\(didYouMean(path, in: settable))")
        }
        var node = try ConfigNode.parse(text: text.isEmpty ? "\"\"" : text, file: "--set")
        node.path = path
        var reader = SystemFileReader(file: "--set")
        guard let value = reader.parseValue(node, declaration) else {
            let error = reader.errors.first ?? ConfigError(file: "--set", path: path, message: "expected \(declaration.type.expected)")
            throw ConfigError(file: "--set", path: path, message: error.message)
        }
        figures[path] = SystemFigure(value: value, kind: .override, how: "set on the command line", file: "--set")
    }
}

/// Walks a system file's node tree against the parameter catalogue, collecting every error.
struct SystemFileReader {
    let file: String
    var errors: [ConfigError] = []
    /// Paths written in the file, valid or not, so a bad value is not also reported as missing.
    var present: Set<String> = []

    init(file: String) { self.file = file }

    mutating func read(_ root: ConfigNode) -> SystemDocument {
        var document = SystemDocument(file: file, figures: [:], sources: [:])
        guard case .mapping(let entries) = root.content else {
            errors.append(
                root.error("expected a system description (a mapping with schema, sources, identity, node, ...), found \(root.found)"))
            return document
        }
        let topKeys = ["schema", "sources"] + SystemParameterCatalog.childKeys(of: [])
        var schemaSeen = false
        for (key, node) in entries {
            switch key {
            case "schema":
                schemaSeen = true
                if let version = try? node.int() {
                    if version != SystemParameterCatalog.schemaVersion {
                        errors.append(
                            node.error(
                                "unsupported system schema version \(version); this xpusim reads version "
                                    + "\(SystemParameterCatalog.schemaVersion)"
                            ))
                    }
                } else {
                    errors.append(node.error("expected the schema version \(SystemParameterCatalog.schemaVersion), found \(node.found)"))
                }
            case "sources": document.sources = readSources(node)
            default:
                if topKeys.contains(key) {
                    walk(node, prefix: [Substring(key)], into: &document.figures)
                } else {
                    errors.append(unknownKey(key, node, topKeys))
                }
            }
        }
        if !schemaSeen {
            errors.append(
                root.error("missing required field \"schema\" (the system schema version, \(SystemParameterCatalog.schemaVersion))"))
        }
        resolveSources(&document.figures, document.sources)
        for declaration in SystemParameterCatalog.declarations
        where document.figures[declaration.path] == nil && !present.contains(declaration.path) {
            let needed: Bool
            switch declaration.requirement {
            case .always: needed = true
            case .optional: needed = false
            case .withSection(let section): needed = present.contains { $0.hasPrefix(section + ".") }
            }
            if needed {
                var message = "missing required field (\(declaration.meaning); \(declaration.type.expected))"
                if case .withSection(let section) = declaration.requirement { message += ", needed once \(section) is given" }
                errors.append(ConfigError(file: file, path: declaration.path, message: message))
            }
        }
        return document
    }

    func unknownKey(_ key: String, _ node: ConfigNode, _ known: [String]) -> ConfigError {
        let hint = didYouMean(key, in: known)
        let message = "unknown field \"\(key)\"" + (hint.isEmpty ? "; expected one of: \(known.joined(separator: ", "))" : hint)
        return ConfigError(file: node.file, line: node.line, column: node.column, path: node.path, message: message)
    }

    mutating func walk(_ node: ConfigNode, prefix: [Substring], into figures: inout [String: SystemFigure]) {
        let path = prefix.joined(separator: ".")
        if let declaration = SystemParameterCatalog.declaration(for: path) {
            present.insert(path)
            if let figure = parseFigure(node, declaration) { figures[path] = figure }
            return
        }
        let known = SystemParameterCatalog.childKeys(of: prefix)
        guard case .mapping(let entries) = node.content else {
            errors.append(node.error("expected a mapping with the fields \(known.joined(separator: ", ")), found \(node.found)"))
            return
        }
        for (key, child) in entries {
            if known.contains(key) {
                walk(child, prefix: prefix + [Substring(key)], into: &figures)
            } else {
                errors.append(unknownKey(key, child, known))
            }
        }
    }

    /// A figure is `{value: ..., source: KEY}` or `{value: ..., kind: derived|estimated, how: ...}`;
    /// labels, choices and counts may be written plainly.
    mutating func parseFigure(_ node: ConfigNode, _ declaration: SystemParameterDeclaration) -> SystemFigure? {
        guard case .mapping(let entries) = node.content else {
            if declaration.type.needsSource {
                errors.append(node.error("expected a figure with its source, e.g. {value: ..., source: KEY}; found \(node.found)"))
                return nil
            }
            guard let value = parseValue(node, declaration) else { return nil }
            return SystemFigure(value: value, kind: .vendor, file: file, line: node.line)
        }
        var valueNode: ConfigNode?
        var sourceKey: String?
        var kind: FigureKind?
        var how: String?
        var fit: String?
        var data: String?
        for (key, child) in entries {
            switch key {
            case "value":
                valueNode = child
                valueNode?.path = node.path
            case "source":
                sourceKey = try? child.string()
                if sourceKey == nil { errors.append(child.error("expected the key of an entry under sources:, found \(child.found)")) }
            case "kind":
                if let text = try? child.string(), let k = FigureKind(rawValue: text),
                    k == .derived || k == .estimated || k == .vendor || k == .measured || k == .fitted
                {
                    kind = k
                } else {
                    errors.append(child.error("expected one of: vendor, measured, derived, estimated, fitted; found \(child.found)"))
                }
            case "how": how = try? child.string()
            case "fit": fit = try? child.string()
            case "data": data = try? child.string()
            default: errors.append(unknownKey(key, child, ["value", "source", "kind", "how", "fit", "data"]))
            }
        }
        guard let valueNode else {
            errors.append(node.error("missing \"value\" (\(declaration.meaning); \(declaration.type.expected))"))
            return nil
        }
        guard let value = parseValue(valueNode, declaration) else { return nil }
        if declaration.type.needsSource, sourceKey == nil, kind != .derived, kind != .estimated, kind != .fitted {
            errors.append(
                node.error("a figure needs a source (source: KEY), or kind: derived/estimated with how: saying how it was obtained"))
        }
        if kind == .fitted, fit == nil || data == nil {
            errors.append(node.error("a fitted figure names the command that fitted it (fit: ...) and the hash of its data (data: ...)"))
        }
        if kind != .fitted, fit != nil || data != nil { errors.append(node.error("fit: and data: belong to a figure of kind: fitted")) }
        if let kind, kind == .derived || kind == .estimated, how == nil {
            errors.append(node.error("a \(kind.rawValue) figure must say how it was obtained (how: ...)"))
        }
        var figure = SystemFigure(value: value, kind: kind ?? .vendor, how: how, file: file, line: node.line)
        figure.fit = fit
        figure.data = data
        // The kind of a sourced figure is its source's, unless the figure says it was derived from it.
        if let sourceKey { figure.source = SystemSource(key: sourceKey, url: "", kind: kind ?? .vendor) }
        if kind == nil, sourceKey != nil { figure.kind = .override }  // resolved from the source below
        return figure
    }

    mutating func parseValue(_ node: ConfigNode, _ declaration: SystemParameterDeclaration) -> SystemValue? {
        do {
            switch declaration.type {
            case .quantity(let kind): return try checked(try node.quantity(kind).value, node, declaration)
            case .integer, .count: return try checked(Double(try node.int()), node, declaration)
            case .text, .label: return .text(try node.string())
            case .flag: return .text(try node.bool() ? "yes" : "no")
            case .choice(let words):
                let word = try node.string()
                guard words.contains(word) else {
                    throw node.error("expected one of: \(words.joined(separator: ", ")), found \(node.found)\(didYouMean(word, in: words))")
                }
                return .text(word)
            case .words(let words):
                // One word or a list of them.
                let items: [ConfigNode]
                if case .sequence(let list) = node.content { items = list } else { items = [node] }
                guard !items.isEmpty else { throw node.error("expected \(declaration.type.expected), found an empty list") }
                var chosen: [String] = []
                for item in items {
                    let word = try item.string()
                    guard words.contains(word) else {
                        throw item.error(
                            "expected one of: \(words.joined(separator: ", ")), found \(item.found)\(didYouMean(word, in: words))")
                    }
                    guard !chosen.contains(word) else { throw item.error("\"\(word)\" is listed twice") }
                    chosen.append(word)
                }
                return .text(chosen.joined(separator: ", "))
            case .rules:
                guard case .sequence(let items) = node.content, !items.isEmpty else {
                    throw node.error("expected \(declaration.type.expected), found \(node.found)")
                }
                return .rules(try items.map(TunerRule.init))
            }
        } catch let error as ConfigError {
            errors.append(error)
            return nil
        } catch {
            errors.append(node.error("\(error)"))
            return nil
        }
    }

    func checked(_ number: Double, _ node: ConfigNode, _ declaration: SystemParameterDeclaration) throws -> SystemValue {
        if number < 0 { throw node.error("must not be negative, found \(node.found)") }
        if number == 0, declaration.plausible?.lowerBound != 0 { throw node.error("must be positive, found \(node.found)") }
        if let range = declaration.plausible, !range.contains(number) {
            let bound = { (value: Double) -> String in
                if case .quantity(let kind) = declaration.type { return Quantity.format(value, kind) }
                return formatNumber(value)
            }
            throw node.error(
                "\(node.found) is not plausible here; expected between \(bound(range.lowerBound)) and \(bound(range.upperBound))")
        }
        return .number(number)
    }

    mutating func readSources(_ node: ConfigNode) -> [String: SystemSource] {
        var sources: [String: SystemSource] = [:]
        guard let entries = try? node.mapping() else {
            errors.append(node.error("expected a mapping of source keys to {url: ..., kind: ...}, found \(node.found)"))
            return sources
        }
        for (key, child) in entries {
            do {
                var reader = try MappingReader(child)
                let url = try reader.required("url", "a URL or the name of a primary document").string()
                let kindNode = try reader.required("kind", "vendor or measured")
                guard let kind = FigureKind(rawValue: try kindNode.string()), kind == .vendor || kind == .measured else {
                    throw kindNode.error(
                        "expected vendor or measured (a derived or estimated figure says how instead), found \(kindNode.found)")
                }
                let note = try reader.optional("note")?.string()
                try reader.finish()
                sources[key] = SystemSource(key: key, url: url, kind: kind, note: note)
            } catch let error as ConfigError {
                errors.append(error)
            } catch {
                errors.append(child.error("\(error)"))
            }
        }
        return sources
    }

    mutating func resolveSources(_ figures: inout [String: SystemFigure], _ sources: [String: SystemSource]) {
        for (path, var figure) in figures {
            guard let key = figure.source?.key else { continue }
            guard let source = sources[key] else {
                errors.append(
                    ConfigError(
                        file: figure.file, line: figure.line, path: path,
                        message: "unknown source \"\(key)\"; declare it under sources:\(didYouMean(key, in: sources.keys.sorted()))"))
                continue
            }
            if figure.kind == .override { figure.kind = source.kind }
            figure.source = source
            figures[path] = figure
        }
    }
}
