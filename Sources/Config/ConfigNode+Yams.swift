import Foundation
import Yams

/// Yams reads what the built-in parser leaves to it (anchors, block scalars, multi-line scalars,
/// ...); its node tree becomes ``ConfigNode``s built in memory.
extension ConfigNode {
    static func parseWithYams(text: String, file: String) throws -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw convert(error, file: file, yamlText: text)
        } catch {
            throw ConfigError(file: file, message: "cannot parse: \(error)")
        }
        guard let root else { throw ConfigError(file: file, message: "the file holds no document; expected a YAML or JSON document") }
        // Aliases repeat what their anchor holds: nested ones multiply (ten aliases of ten aliases
        // of ...), so a few hundred bytes could stand for billions of nodes. Without aliases a node
        // takes at least one byte of text; expanded, the document may hold at most as many again.
        var budget = text.utf8.count + 10_000
        return try convert(root, file: file, path: "", budget: &budget)
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

    static func convert(_ node: Node, file: String, path: String, budget: inout Int) throws -> ConfigNode {
        let line = node.mark?.line
        let column = node.mark?.column
        budget -= 1
        guard budget >= 0 else {
            throw ConfigError(
                file: file, line: line, column: column, path: path,
                message: "the document's aliases expand to more nodes than its text holds; expected anchors and aliases that do not "
                    + "multiply (write the values out)")
        }
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
                items.append(try convert(item, file: file, path: "\(path)[\(index)]", budget: &budget))
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
                entries.append((key, try convert(valueNode, file: file, path: childPath, budget: &budget)))
            }
            return ConfigNode(content: .mapping(entries), file: file, line: line, column: column, path: path)
        case .alias:
            throw ConfigError(file: file, line: line, column: column, path: path, message: "YAML aliases are not supported")
        }
    }
}
