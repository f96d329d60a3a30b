import Config
import Foundation
import SimCore

/// A chip file as read: every figure by its concrete path, with sources and variants.
///
/// Reading checks the shape of the file against ``ParameterCatalog`` (unknown keys, wrong types,
/// wrong units, missing sources). ``ChipValidator`` then checks that the figures make sense together,
/// and ``ChipSpec`` turns a valid document into the typed description the simulator uses.
public struct ChipDocument: Sendable {
    public var file: String
    public var figures: [String: Figure]
    public var sources: [String: Source]
    public var variants: [Variant]
    /// The id of the base document this one was made from, when it is a variant.
    public var baseID: String?

    public struct Variant: Sendable {
        public var id: String
        public var name: String
        public var overrides: [String: Figure]
        /// Base figures the variant does not have (written `path: null`).
        public var removals: [String] = []
    }

    public var id: String { figures["identity.id"]?.value.text ?? "" }
    public var name: String { figures["identity.name"]?.value.text ?? "" }

    public func number(_ path: String) -> Double? { figures[path]?.value.number }

    /// Reads and checks the shape of one chip file; every problem found is reported at once.
    public static func load(file: String) throws -> ChipDocument {
        let root = try ConfigNode.load(file: file)
        return try read(root)
    }

    public static func read(_ root: ConfigNode) throws -> ChipDocument {
        var reader = ChipFileReader(file: root.file)
        let document = reader.read(root)
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return document
    }

    /// The document of one variant: the base with the variant's figures replacing the base's.
    public func variant(_ id: String) -> ChipDocument? {
        guard let variant = variants.first(where: { $0.id == id }) else { return nil }
        var copy = self
        copy.variants = []
        copy.baseID = self.id
        for path in variant.removals { copy.figures[path] = nil }
        for (path, figure) in variant.overrides { copy.figures[path] = figure }
        let line = figures["identity.id"]?.line
        copy.figures["identity.id"] = Figure(value: .text(variant.id), kind: .vendor, file: file, line: line)
        copy.figures["identity.name"] = Figure(value: .text(variant.name), kind: .vendor, file: file, line: line)
        return copy
    }

    /// Sets one figure from `path=value` text, as `--set` does.
    ///
    /// ```
    /// xpusim chips show h100-sxm --set memory.hbm.bandwidth="4 TB/s"
    /// ```
    public mutating func override(_ assignment: String) throws {
        guard let equals = assignment.firstIndex(of: "=") else {
            throw ConfigError(file: "--set", message: "expected path=value, found \"\(assignment)\"")
        }
        let path = String(assignment[..<equals]).trimmingCharacters(in: .whitespaces)
        let text = String(assignment[assignment.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        guard !path.isEmpty else { throw ConfigError(file: "--set", message: "expected path=value, found \"\(assignment)\" (no path)") }
        guard let declaration = ParameterCatalog.declaration(for: path) else {
            let known = ParameterCatalog.orderedPaths
            let hint = didYouMean(path, in: known)
            throw ConfigError(file: "--set", path: path, message: "unknown chip parameter\(hint)")
        }
        let node = try ConfigNode.parse(text: text.isEmpty ? "\"\"" : text, file: "--set")
        var located = node
        located.path = path
        var reader = ChipFileReader(file: "--set")
        guard let value = reader.parseValue(located, declaration.type) else {
            // The value's line and column are those of the option's text, not of a file: the option names the place.
            let error = reader.errors.first ?? ConfigError(file: "--set", path: path, message: "expected \(declaration.type.expected)")
            throw ConfigError(file: "--set", path: error.path, message: error.message)
        }
        figures[path] = Figure(value: value, kind: .override, source: nil, how: "set on the command line", file: "--set")
    }
}

/// Walks a chip file's node tree against the parameter catalogue, collecting every error.
struct ChipFileReader {
    let file: String
    var errors: [ConfigError] = []
    /// Paths written in the file, valid or not, so a bad value is not also reported as missing.
    var present: Set<String> = []

    init(file: String) { self.file = file }

    mutating func read(_ root: ConfigNode) -> ChipDocument {
        var document = ChipDocument(file: file, figures: [:], sources: [:], variants: [])
        guard case .mapping(let entries) = root.content else {
            errors.append(root.error("expected a chip description (a mapping with schema, sources, identity, ...), found \(root.found)"))
            return document
        }
        let topKeys = ["schema", "sources", "variants"] + ParameterCatalog.childKeys(of: [])
        // Another kind of xpusim file given as a chip file: say which, not every chip field it lacks.
        let keys = Set(entries.map(\.key))
        let kinds: [(String, Set<String>, String)] = [
            ("a system file", ["scale_up", "scale_out", "nodes", "node"], "xpusim systems validate"),
            ("a kernel library file", ["gemm", "collectives", "serving_engines", "streaming"], "a chip's runtime.library"),
            ("a trace", ["kernels"], "xpusim run --workload"), ("a sweep spec", ["parameters", "objectives"], "xpusim sweep plan"),
        ]
        if let (kind, _, use) = kinds.first(where: { !$0.1.isDisjoint(with: keys) }) {
            errors.append(root.error("this is \(kind), not a chip file; it goes to \(use)"))
            return document
        }
        var schemaSeen = false
        for (key, node) in entries {
            switch key {
            case "schema":
                schemaSeen = true
                if let version = try? node.int() {
                    if version != ParameterCatalog.schemaVersion {
                        errors.append(
                            node.error(
                                "unsupported chip schema version \(version); this xpusim reads version \(ParameterCatalog.schemaVersion)"))
                    }
                } else {
                    errors.append(node.error("expected the schema version \(ParameterCatalog.schemaVersion), found \(node.found)"))
                }
            case "sources": document.sources = readSources(node)
            case "variants": continue
            default:
                if topKeys.contains(key) {
                    walk(node, prefix: [Substring(key)], into: &document.figures)
                } else {
                    errors.append(unknownKey(key, node, topKeys))
                }
            }
        }
        if !schemaSeen {
            errors.append(root.error("missing required field \"schema\" (the chip schema version, \(ParameterCatalog.schemaVersion))"))
        }
        if let variantsNode = entries.first(where: { $0.key == "variants" })?.value {
            document.variants = readVariants(variantsNode)
            // A variant is another chip: with the base's id it would stand in for it.
            if let base = document.figures["identity.id"]?.value.text,
                let clash = (try? variantsNode.mapping())?.first(where: { $0.key == base })
            {
                errors.append(clash.value.error("variant \"\(base)\" has the base chip's id; give it an id of its own"))
            }
        }
        resolveSources(&document.figures, document.sources)
        for variant in document.variants.indices {
            resolveSources(&document.variants[variant].overrides, document.sources)
        }
        for declaration in ParameterCatalog.declarations where declaration.required {
            if !ParameterCatalog.expand(declaration).contains(where: { document.figures[$0] != nil || present.contains($0) }) {
                errors.append(
                    ConfigError(
                        file: file, path: declaration.path.replacingOccurrences(of: ".<dtype>", with: ""),
                        message: "missing required field (\(declaration.meaning); \(declaration.type.expected))"))
            }
        }
        return document
    }

    func unknownKey(_ key: String, _ node: ConfigNode, _ known: [String]) -> ConfigError {
        let hint = didYouMean(key, in: known)
        let message = "unknown field \"\(key)\"" + (hint.isEmpty ? "; expected one of: \(known.joined(separator: ", "))" : hint)
        return ConfigError(file: node.file, line: node.line, column: node.column, path: node.path, message: message)
    }

    mutating func walk(_ node: ConfigNode, prefix: [Substring], into figures: inout [String: Figure]) {
        let path = prefix.joined(separator: ".")
        // A key with a dot in it is not a path: it matches no declaration segment by segment.
        let declaration =
            prefix.contains { $0.isEmpty || $0.utf8.contains(UInt8(ascii: ".")) }
            ? ParameterCatalog.declarations.first(where: { ParameterCatalog.matches($0.segments, prefix) })
            : ParameterCatalog.declaration(for: path)
        if let declaration {
            present.insert(path)
            if let figure = parseFigure(node, declaration) { figures[path] = figure }
            return
        }
        let known = ParameterCatalog.childKeys(of: prefix)
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

    /// A figure is `{value: ..., source: key}`, `{value: ..., kind: estimated, how: ...}`,
    /// `{value: ..., kind: fitted, fit: COMMAND, data: HASH}` or a copy from another chip,
    /// `{same_as: CHIP, how: ...}` (optionally `scaled_by: PATH`); labels and choices may be written plainly.
    mutating func parseFigure(_ node: ConfigNode, _ declaration: ParameterDeclaration) -> Figure? {
        if case .mapping(let entries) = node.content {
            let allowed = ["value", "source", "kind", "how", "fit", "data", "same_as", "scaled_by"]
            var valueNode: ConfigNode?
            var sourceKey: String?
            var kind: FigureKind?
            var how: String?
            var fit: String?
            var dataHash: String?
            var sameAs: String?
            var scaledBy: String?
            for (key, child) in entries {
                switch key {
                case "value":
                    valueNode = child
                    valueNode?.path = node.path
                case "source":
                    sourceKey = try? child.string()
                    if sourceKey == nil { errors.append(child.error("expected the key of an entry under sources:, found \(child.found)")) }
                case "kind":
                    if let text = try? child.string(), let k = FigureKind(rawValue: text), k != .override {
                        kind = k
                    } else {
                        errors.append(child.error("expected one of: vendor, measured, derived, estimated, fitted; found \(child.found)"))
                    }
                case "how": how = try? child.string()
                case "fit": fit = try? child.string()
                case "data": dataHash = try? child.string()
                case "same_as": sameAs = try? child.string()
                case "scaled_by":
                    scaledBy = try? child.string()
                    if let scaledBy, ParameterCatalog.declaration(for: scaledBy) == nil {
                        errors.append(child.error("scaled_by names no chip parameter: \(scaledBy)"))
                    }
                default: errors.append(unknownKey(key, child, allowed))
                }
            }
            if let sameAs {
                if valueNode != nil || kind != nil || sourceKey != nil {
                    errors.append(
                        node.error(
                            "a copied figure (same_as: \(sameAs)) takes its value, kind and source from its origin: drop value, kind "
                                + "and source"
                        ))
                }
                if how == nil { errors.append(node.error("a copied figure must say why the copy holds (how: ...)")) }
                if scaledBy != nil, !declaration.type.isQuantity { errors.append(node.error("scaled_by applies to quantities only")) }
                var figure = Figure(value: .number(.nan), kind: .derived, file: file, line: node.line)
                figure.how = how
                figure.sameAs = sameAs
                figure.scaledBy = scaledBy
                return figure
            }
            guard let valueNode else {
                errors.append(node.error("missing \"value\" (\(declaration.meaning); \(declaration.type.expected))"))
                return nil
            }
            guard let value = parseValue(valueNode, declaration.type) else { return nil }
            if declaration.type.needsSource, sourceKey == nil, kind != .derived, kind != .estimated, kind != .fitted {
                errors.append(
                    node.error(
                        "a figure needs a source (source: KEY), kind: derived/estimated with how:, or kind: fitted with fit: and data:"))
            }
            if kind == .derived || kind == .estimated, how == nil {
                errors.append(node.error("\(kind!.withArticle) figure must say how it was obtained (how: ...)"))
            }
            if kind == .fitted, fit == nil || dataHash == nil {
                errors.append(
                    node.error(
                        "a fitted figure names the command that fitted it (fit: ...) and the hash of its data (data: ...), as xpusim "
                            + "calibrate prints them"
                    ))
            }
            if kind != .fitted, fit != nil || dataHash != nil {
                errors.append(node.error("fit: and data: belong to a figure of kind: fitted"))
            }
            var figure = Figure(value: value, kind: kind ?? .vendor, file: file, line: node.line)
            figure.how = how
            figure.fit = fit
            figure.dataHash = dataHash
            if let sourceKey { figure.source = Source(key: sourceKey, url: "", kind: kind ?? .vendor) }
            figure.kind = kind ?? .vendor
            if kind == nil, sourceKey != nil { figure.kind = .override }  // resolved from the source later
            return figure
        }
        if declaration.type.needsSource {
            errors.append(
                node.error(
                    "expected a figure with its source, e.g. {value: \(exampleValue(declaration.type)), source: KEY}; found \(node.found)"))
            return nil
        }
        guard let value = parseValue(node, declaration.type) else { return nil }
        return Figure(value: value, kind: .vendor, file: file, line: node.line)
    }

    func exampleValue(_ type: ParameterType) -> String {
        switch type {
        case .quantity(let kind): return kind.example.components(separatedBy: "\"").dropFirst().first.map { "\"\($0)\"" } ?? "1"
        case .integer: return "1"
        default: return "..."
        }
    }

    mutating func parseValue(_ node: ConfigNode, _ type: ParameterType) -> FigureValue? {
        do {
            switch type {
            case .quantity(let kind):
                let quantity = try node.quantity(kind)
                return try checked(.number(quantity.value), node)
            case .integer:
                return try checked(.number(Double(try node.int())), node)
            case .text, .label:
                return .text(try node.string())
            case .choice(let words):
                let word = try node.string()
                guard words.contains(word) else {
                    let hint = didYouMean(word, in: words)
                    throw node.error("expected one of: \(words.joined(separator: ", ")), found \(node.found)\(hint)")
                }
                return .text(word)
            case .curve(let xKind, let yKind):
                let items = try node.sequence()
                guard !items.isEmpty else { throw node.error("expected at least one point") }
                var points: [FigureValue.Point] = []
                for item in items {
                    let pair = try item.sequence()
                    guard pair.count == 2 else { throw item.error("expected a pair [\(xKind.example), \(yKind.example)]") }
                    let x = try pair[0].quantity(xKind).value
                    let y = try pair[1].quantity(yKind).value
                    guard x > 0, y > 0 else { throw item.error("expected positive values") }
                    points.append(.init(x: x, y: y))
                }
                return .curve(points)
            }
        } catch let error as ConfigError {
            errors.append(error)
            return nil
        } catch {
            errors.append(node.error("\(error)"))
            return nil
        }
    }

    func checked(_ value: FigureValue, _ node: ConfigNode) throws -> FigureValue {
        guard let number = value.number else { return value }
        let declaration = ParameterCatalog.declaration(for: node.path)
        if number < 0 { throw node.error("must not be negative, found \(node.found)") }
        if number == 0, declaration?.type != .quantity(.temperature), declaration?.type != .quantity(.temperatureCoefficient),
            declaration?.plausible?.lowerBound != 0
        {
            throw node.error("must be positive, found \(node.found)")
        }
        if let range = declaration?.plausible, !range.contains(number), case .some(let type) = declaration?.type {
            let low: String
            let high: String
            if case .quantity(let kind) = type {
                low = Quantity.format(range.lowerBound, kind)
                high = Quantity.format(range.upperBound, kind)
            } else {
                low = formatNumber(range.lowerBound)
                high = formatNumber(range.upperBound)
            }
            throw node.error("\(node.found) is not plausible here; expected between \(low) and \(high)")
        }
        return value
    }

    mutating func readSources(_ node: ConfigNode) -> [String: Source] {
        var sources: [String: Source] = [:]
        guard let entries = try? node.mapping() else {
            errors.append(node.error("expected a mapping of source keys to {url: ..., kind: ...}, found \(node.found)"))
            return sources
        }
        for (key, child) in entries {
            do {
                var reader = try MappingReader(child)
                let url = try reader.required("url", "a URL or document name").string()
                let kindNode = try reader.required("kind", "vendor, measured, derived or estimated")
                guard let kind = FigureKind(rawValue: try kindNode.string()), kind != .override else {
                    throw kindNode.error("expected one of: vendor, measured, derived, estimated; found \(kindNode.found)")
                }
                let note = try reader.optional("note")?.string()
                try reader.finish()
                sources[key] = Source(key: key, url: url, kind: kind, note: note)
            } catch let error as ConfigError {
                errors.append(error)
            } catch {
                errors.append(child.error("\(error)"))
            }
        }
        return sources
    }

    mutating func readVariants(_ node: ConfigNode) -> [ChipDocument.Variant] {
        var variants: [ChipDocument.Variant] = []
        guard let entries = try? node.mapping() else {
            errors.append(node.error("expected a mapping of variant ids to {name: ..., set: {...}}, found \(node.found)"))
            return variants
        }
        for (id, child) in entries {
            do {
                var reader = try MappingReader(child)
                let name = try reader.required("name").string()
                let setNode = try reader.required("set", "figures that differ from the base, by path")
                try reader.finish()
                var overrides: [String: Figure] = [:]
                var removals: [String] = []
                for (path, figureNode) in try setNode.mapping() {
                    guard let declaration = ParameterCatalog.declaration(for: path), !path.hasPrefix("identity.id"),
                        !path.hasPrefix("identity.name")
                    else {
                        let hint = didYouMean(path, in: ParameterCatalog.orderedPaths)
                        errors.append(figureNode.error("unknown chip parameter \"\(path)\"\(hint)"))
                        continue
                    }
                    if figureNode.isNull {
                        if declaration.required {
                            errors.append(figureNode.error("a variant cannot remove the required field \"\(path)\""))
                        }
                        removals.append(path)
                        continue
                    }
                    var located = figureNode
                    located.path = path
                    if let figure = parseFigure(located, declaration) { overrides[path] = figure }
                }
                variants.append(.init(id: id, name: name, overrides: overrides, removals: removals))
            } catch let error as ConfigError {
                errors.append(error)
            } catch {
                errors.append(child.error("\(error)"))
            }
        }
        return variants
    }

    mutating func resolveSources(_ figures: inout [String: Figure], _ sources: [String: Source]) {
        for (path, var figure) in figures {
            guard let key = figure.source?.key else { continue }
            guard let source = sources[key] else {
                let hint = didYouMean(key, in: Array(sources.keys).sorted())
                errors.append(
                    ConfigError(
                        file: figure.file, line: figure.line, path: path,
                        message: "unknown source \"\(key)\"; declare it under sources:\(hint)"))
                continue
            }
            if figure.kind == .override { figure.kind = source.kind }
            figure.source = source
            figures[path] = figure
        }
    }
}
