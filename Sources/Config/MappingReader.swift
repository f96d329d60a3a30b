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
    /// The entries some `optional` or `required` found (the first 64; the rest are looked up in `asked`).
    private var found: UInt64 = 0
    // A mapping of a read document is looked up by key id, without comparing strings.
    private let document: ParsedDocument?
    private let base: Int

    public init(_ node: ConfigNode) throws {
        self.node = node
        self.entries = try node.mapping()
        asked.reserveCapacity(16)
        if let document = node.readDocument {
            self.document = document
            base = Int(document.extents[Int(node.index)])
        } else {
            document = nil
            base = 0
        }
    }

    public var keys: [String] { entries.map(\.key) }

    public mutating func optional(_ key: String) -> ConfigNode? {
        asked.append(key)
        var index: Int?
        if let document {
            if let id = document.keyID(key) {
                let children = document.children
                for i in 0..<entries.count where children[base + 1 + 2 * i] == id {
                    index = i
                    break
                }
            }
        } else {
            index = entries.firstIndex { $0.key == key }
        }
        guard let index else { return nil }
        if index < 64 { found |= 1 << UInt64(index) }
        let value = entries[index].value
        return value.isNull ? nil : value
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
        for (index, (key, value)) in entries.enumerated() where index < 64 ? found & (1 << UInt64(index)) == 0 : !asked.contains(key) {
            let hint = didYouMean(key, in: asked)
            let message = "unknown field \"\(key)\"" + (hint.isEmpty ? "; expected one of: \(asked.joined(separator: ", "))" : hint)
            throw ConfigError(file: value.file, line: value.line, column: value.column, path: value.path, message: message)
        }
    }
}
