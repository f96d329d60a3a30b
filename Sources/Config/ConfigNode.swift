import Foundation
import SimCore
import Yams

/// One node of a YAML or JSON document, with the file, line and field path it came from.
///
/// Readers ask a node for the type they expect (`string()`, `int()`, `quantity(.bandwidth)`, ...);
/// a mismatch throws a ``ConfigError`` that names the file, the line and the path.
public struct ConfigNode: Sendable {
    public enum Content: Sendable {
        case scalar(String, plain: Bool)
        case mapping([(key: String, value: ConfigNode)])
        case sequence([ConfigNode])
        case null
    }

    public var content: Content
    public var file: String
    public var line: Int?
    public var column: Int?
    public var path: String

    public init(content: Content, file: String, line: Int? = nil, column: Int? = nil, path: String) {
        self.content = content
        self.file = file
        self.line = line
        self.column = column
        self.path = path
    }

    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, path: path, message: message)
    }

    /// A short description of what the node holds, for "found ..." in messages.
    public var found: String {
        switch content {
        case .scalar(let text, _): return "\"\(text.count > 40 ? String(text.prefix(40)) + "..." : text)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .null: return "nothing"
        }
    }

    public var isNull: Bool {
        if case .null = content { return true }
        return false
    }

    public func scalar() throws -> String {
        guard case .scalar(let text, _) = content else { throw error("expected a single value, found \(found)") }
        return text
    }

    public func string() throws -> String {
        let text = try scalar()
        guard !text.isEmpty else { throw error("expected a non-empty text") }
        return text
    }

    public func int() throws -> Int {
        let raw = try scalar()
        if let value = Int(raw) { return value }  // the common case, without copying
        let text = raw.replacingOccurrences(of: "_", with: "")
        guard let value = Int(text) else {
            if let d = Double(text), d.isFinite {
                if d.rounded() == d, abs(d) > Double(Int.max) / 2 { throw error("the number \(text) is too large") }
                if d.rounded() == d { return Int(d) }
            }
            throw error("expected an integer, found \(found)")
        }
        return value
    }

    public func double() throws -> Double {
        let raw = try scalar()
        if let value = Double(raw), value.isFinite { return value }
        let text = raw.replacingOccurrences(of: "_", with: "")
        guard let value = Double(text), value.isFinite else { throw error("expected a number, found \(found)") }
        return value
    }

    public func bool() throws -> Bool {
        switch try scalar().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found \(found)")
        }
    }

    public func quantity(_ kind: QuantityKind) throws -> Quantity {
        let text = try scalar()
        if let quantity = Quantity.parse(text, as: kind) { return quantity }
        throw error("expected \(kind.example), found \(found)")
    }

    public func mapping() throws -> [(key: String, value: ConfigNode)] {
        guard case .mapping(let entries) = content else { throw error("expected a mapping of keys to values, found \(found)") }
        return entries
    }

    public func sequence() throws -> [ConfigNode] {
        guard case .sequence(let items) = content else { throw error("expected a list, found \(found)") }
        return items
    }
}

extension ConfigNode {
    /// Reads a YAML or JSON file into a node tree.
    ///
    /// An unreadable, empty, binary or malformed file throws a ``ConfigError`` naming the file and,
    /// where the parser knows it, the line.
    public static func load(file path: String) throws -> ConfigNode {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(file: path, message: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, message: "cannot read the file")
        }
        return try parse(data: data, file: path)
    }

    public static func parse(data: Data, file: String) throws -> ConfigNode {
        if data.isEmpty { throw ConfigError(file: file, message: "the file is empty; expected a YAML or JSON document") }
        if data.contains(0) { throw ConfigError(file: file, message: "the file is binary, not YAML or JSON text") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, message: "the file is not UTF-8 text; expected a YAML or JSON document")
        }
        return try parse(text: text, file: file)
    }

    public static func parse(text: String, file: String) throws -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw convert(error, file: file, yamlText: text)
        } catch {
            throw ConfigError(file: file, message: "cannot parse: \(error)")
        }
        guard let root else { throw ConfigError(file: file, message: "the file holds no document; expected a YAML or JSON document") }
        return try convert(root, file: file, path: "")
    }

    static func convert(_ error: YamlError, file: String, yamlText: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " (\($0.text))" } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "malformed YAML/JSON: \(problem)\(where_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams reports the mapping's start; find the second occurrence of the key for the line.
            let key = duplicates.sorted().first ?? ""
            let lines = yamlText.components(separatedBy: "\n")
            let start = max(0, context.mark.line - 1)
            let hits = lines.indices.filter { $0 >= start && lines[$0].trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") }
            let line = hits.count > 1 ? hits[1] + 1 : context.mark.line
            return ConfigError(file: file, line: line, message: "the key \"\(key)\" appears twice in one mapping")
        case .reader(let problem, _, _, _):
            return ConfigError(file: file, message: "unreadable text: \(problem)")
        default:
            return ConfigError(file: file, message: "malformed YAML/JSON: \(error)")
        }
    }

    static func convert(_ node: Node, file: String, path: String) throws -> ConfigNode {
        let line = node.mark?.line
        let column = node.mark?.column
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return ConfigNode(content: .null, file: file, line: line, column: column, path: path)
            }
            return ConfigNode(
                content: .scalar(scalar.string, plain: scalar.style == .plain), file: file, line: line, column: column, path: path)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            items.reserveCapacity(sequence.count)
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, file: file, path: "\(path)[\(index)]"))
            }
            return ConfigNode(content: .sequence(items), file: file, line: line, column: column, path: path)
        case .mapping(let mapping):
            var entries: [(key: String, value: ConfigNode)] = []
            var seen = Set<String>()
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    throw ConfigError(
                        file: file, line: keyNode.mark?.line, column: keyNode.mark?.column, path: path,
                        message: "a key must be a plain name, not a list or mapping")
                }
                let key = keyScalar.string
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if !seen.insert(key).inserted {
                    throw ConfigError(
                        file: file, line: keyNode.mark?.line, column: keyNode.mark?.column, path: childPath,
                        message: "the key \"\(key)\" appears twice")
                }
                entries.append((key, try convert(valueNode, file: file, path: childPath)))
            }
            return ConfigNode(content: .mapping(entries), file: file, line: line, column: column, path: path)
        case .alias:
            throw ConfigError(file: file, line: line, column: column, path: path, message: "YAML aliases are not supported")
        }
    }
}
