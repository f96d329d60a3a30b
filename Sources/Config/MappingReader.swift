/// Reads the keys of one mapping, and at the end rejects any key nobody asked for.
///
/// ```swift
/// var reader = try MappingReader(node)
/// let id = try reader.required("id").string()
/// let stream = try reader.optional("stream")?.int() ?? 0
/// try reader.finish()   // "unknown key \"strem\"; did you mean \"stream\"?"
/// ```
public struct MappingReader {
    public let node: ConfigNode
    private let entries: [(key: String, value: ConfigNode)]
    private var asked: [String] = []

    public init(_ node: ConfigNode) throws {
        self.node = node
        self.entries = try node.mapping()
    }

    public var keys: [String] { entries.map(\.key) }

    public mutating func optional(_ key: String) -> ConfigNode? {
        asked.append(key)
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    public mutating func required(_ key: String, _ expected: String = "") throws -> ConfigNode {
        guard let value = optional(key) else {
            let what = expected.isEmpty ? "" : " (\(expected))"
            throw node.error("missing required field \"\(key)\"\(what)")
        }
        return value
    }

    /// Marks keys as known without reading them (read by someone else).
    public mutating func allow(_ keys: [String]) { asked.append(contentsOf: keys) }

    /// Throws for the first key that was never asked for, suggesting the nearest known key.
    public func finish() throws {
        for (key, value) in entries where !asked.contains(key) {
            let hint = didYouMean(key, in: asked)
            let message = "unknown field \"\(key)\"" + (hint.isEmpty ? "; expected one of: \(asked.joined(separator: ", "))" : hint)
            throw ConfigError(file: value.file, line: value.line, column: value.column, path: value.path, message: message)
        }
    }
}
