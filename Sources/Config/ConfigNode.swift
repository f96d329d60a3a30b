import SimCore

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

    /// A node of a document the built-in parser read (a reference and an index: its text, line and
    /// path are worked out when asked for), or nil for a node built in memory or by Yams.
    let document: ParsedDocument?
    let index: UInt32
    /// What was set explicitly: everything of a built node, the changed fields of a read one.
    private var explicit: Explicit?

    /// Immutable, replaced on every change, so copies of a node never share a change.
    final class Explicit: Sendable {
        let content: Content?
        let file: String?
        let line: Int??
        let column: Int??
        let path: String?
        init(content: Content?, file: String?, line: Int??, column: Int??, path: String?) {
            self.content = content
            self.file = file
            self.line = line
            self.column = column
            self.path = path
        }
        func with(content: Content?? = nil, file: String? = nil, line: Int?? = nil, column: Int?? = nil, path: String? = nil) -> Explicit {
            Explicit(
                content: content ?? self.content, file: file ?? self.file, line: line ?? self.line, column: column ?? self.column,
                path: path ?? self.path)
        }
    }

    public init(content: Content, file: String, line: Int? = nil, column: Int? = nil, path: String) {
        document = nil
        index = 0
        explicit = Explicit(content: content, file: file, line: .some(line), column: .some(column), path: path)
    }

    init(document: ParsedDocument, index: UInt32) {
        self.document = document
        self.index = index
        explicit = nil
    }

    private var blank: Explicit { explicit ?? Explicit(content: nil, file: nil, line: nil, column: nil, path: nil) }

    public var content: Content {
        get {
            if let content = explicit?.content { return content }
            return document?.content(index) ?? .null
        }
        set { explicit = blank.with(content: .some(newValue)) }
    }

    public var file: String {
        get { explicit?.file ?? document?.file ?? "" }
        set { explicit = blank.with(file: newValue) }
    }

    public var line: Int? {
        get {
            if let line = explicit?.line { return line }
            return document?.place(index).line
        }
        set { explicit = blank.with(line: .some(newValue)) }
    }

    public var column: Int? {
        get {
            if let column = explicit?.column { return column }
            return document?.place(index).column
        }
        set { explicit = blank.with(column: .some(newValue)) }
    }

    /// The field path from the root (`kernels[3].m`).
    public var path: String {
        get { explicit?.path ?? document?.path(index) ?? "" }
        set { explicit = blank.with(path: newValue) }
    }

    /// The document this node is a node of, when nothing about it was set in memory.
    var readDocument: ParsedDocument? { explicit == nil ? document : nil }

    /// The read document's node, when nothing of its content was set in memory.
    @inline(__always) private var stored: ParsedDocument? {
        guard let document, explicit?.content == nil else { return nil }
        return document
    }

    public func error(_ message: String) -> ConfigError {
        if let document, explicit == nil {
            let (line, column) = document.place(index)
            return ConfigError(file: document.file, line: line, column: column, path: document.path(index), message: message)
        }
        return ConfigError(file: file, line: line, column: column, path: path, message: message)
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
        if let stored { return stored.kind(index) == .null }
        if case .null = content { return true }
        return false
    }

    public func scalar() throws -> String {
        if let stored {
            switch stored.kind(index) {
            case .plain, .quoted, .singleEscaped, .doubleEscaped: return stored.text(index)
            default: throw error("expected a single value, found \(found)")
            }
        }
        guard case .scalar(let text, _) = content else { throw error("expected a single value, found \(found)") }
        return text
    }

    public func string() throws -> String {
        let text = try scalar()
        guard !text.isEmpty else { throw error("expected a non-empty text") }
        return text
    }

    /// A word from a closed set (an enum's raw values). Anything else is an error that names what
    /// was read, the nearest word and the whole set:
    /// `unknown algorithm "treee"; did you mean "tree"? (expected one of: ring, tree, ...)`.
    public func word<T: RawRepresentable & CaseIterable>(_: T.Type, _ what: String) throws -> T where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            let known = T.allCases.map(\.rawValue)
            throw error("unknown \(what) \"\(text)\"\(didYouMean(text, in: known)) (expected one of: \(known.joined(separator: ", ")))")
        }
        return value
    }

    public func int() throws -> Int {
        if let stored, let value = stored.plainInteger(index) { return value }  // digits, read from the bytes
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
        if let stored, stored.kind(index) != .mapping { throw error("expected a mapping of keys to values, found \(found)") }
        guard case .mapping(let entries) = content else { throw error("expected a mapping of keys to values, found \(found)") }
        return entries
    }

    public func sequence() throws -> [ConfigNode] {
        if let stored, stored.kind(index) != .sequence { throw error("expected a list, found \(found)") }
        guard case .sequence(let items) = content else { throw error("expected a list, found \(found)") }
        return items
    }
}
