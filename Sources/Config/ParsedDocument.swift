import Foundation

/// A document read by the built-in parser, stored compactly: the file's bytes, and per node its
/// kind, the byte offset of its mark and one extent (a scalar's length, or where a collection's
/// entries start in `children`).
///
/// Nodes are numbered in document order (a collection before its entries), so the root is node 0
/// and a node's field path and line are worked out only when asked for (an error message, a
/// figure's line): a trace of a million kernels carries no path strings. Scalars stay bytes of the
/// file until a reader asks for their text; mapping keys are interned, one string per distinct key.
final class ParsedDocument: @unchecked Sendable {
    enum Kind: UInt8 {
        case null = 0
        /// A plain scalar: `bytes[offset ..< offset + extent]`.
        case plain
        /// A quoted scalar without escapes: the bytes between the quotes.
        case quoted
        /// A single-quoted scalar with `''` inside, or a double-quoted one with `\` escapes:
        /// decoded from `bytes[offset ..< offset + extent]` (quotes included) when read.
        case singleEscaped
        case doubleEscaped
        /// Collections: `children[extent]` holds the entry count, then per mapping entry the key's
        /// id and the value's node, per sequence item its node.
        case mapping
        case sequence
    }

    let file: String
    let bytes: [UInt8]
    let kinds: [UInt8]
    let offsets: [UInt32]
    let extents: [UInt32]
    let children: [UInt32]
    let keys: [String]
    let keyTable: KeyTable

    // The offsets where lines start, built the first time a line is asked for (under `lock`).
    private var lineStarts: [UInt32]?
    private let lock = NSLock()

    init(
        file: String, bytes: [UInt8], kinds: [UInt8], offsets: [UInt32], extents: [UInt32], children: [UInt32], keyTable: KeyTable
    ) {
        self.file = file
        self.bytes = bytes
        self.kinds = kinds
        self.offsets = offsets
        self.extents = extents
        self.children = children
        self.keys = keyTable.strings
        self.keyTable = keyTable
    }

    /// The id of `key` if some mapping of the document has it.
    func keyID(_ key: String) -> UInt32? {
        var key = key
        return key.withUTF8 { keyTable.find($0) }
    }

    @inline(__always) func kind(_ node: UInt32) -> Kind { Kind(rawValue: kinds[Int(node)])! }

    /// The entry count of a collection node.
    @inline(__always) func count(_ node: UInt32) -> Int { Int(children[Int(extents[Int(node)])]) }

    func content(_ node: UInt32) -> ConfigNode.Content {
        switch kind(node) {
        case .null: return .null
        case .plain: return .scalar(text(node), plain: true)
        case .quoted, .singleEscaped, .doubleEscaped: return .scalar(text(node), plain: false)
        case .mapping:
            let base = Int(extents[Int(node)])
            let n = Int(children[base])
            var entries: [(key: String, value: ConfigNode)] = []
            entries.reserveCapacity(n)
            for i in 0..<n {
                entries.append((keys[Int(children[base + 1 + 2 * i])], ConfigNode(document: self, index: children[base + 2 + 2 * i])))
            }
            return .mapping(entries)
        case .sequence:
            let base = Int(extents[Int(node)])
            let n = Int(children[base])
            var items: [ConfigNode] = []
            items.reserveCapacity(n)
            for i in 0..<n { items.append(ConfigNode(document: self, index: children[base + 1 + i])) }
            return .sequence(items)
        }
    }

    /// The text of a scalar node (empty for anything else).
    func text(_ node: UInt32) -> String {
        let start = Int(offsets[Int(node)])
        let length = Int(extents[Int(node)])
        switch kind(node) {
        case .plain: return string(start, length)
        case .quoted: return string(start + 1, length - 2)
        case .singleEscaped, .doubleEscaped:
            return bytes.withUnsafeBufferPointer { buffer in
                String(decoding: QuotedScalar.decode(UnsafeBufferPointer(rebasing: buffer[start..<start + length])), as: UTF8.self)
            }
        default: return ""
        }
    }

    @inline(__always) private func string(_ start: Int, _ length: Int) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<start + length]), as: UTF8.self) }
    }

    /// A plain scalar's digits as an integer, without making a string: nil when it is anything but
    /// an optional sign and decimal digits that fit (the caller then reads the text the slow way).
    func plainInteger(_ node: UInt32) -> Int? {
        guard kinds[Int(node)] == Kind.plain.rawValue else { return nil }
        let start = Int(offsets[Int(node)])
        let end = start + Int(extents[Int(node)])
        return bytes.withUnsafeBufferPointer { b -> Int? in
            var i = start
            var negative = false
            if i < end, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
                negative = b[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end, end - i <= 18 else { return nil }  // 18 digits never overflow
            var value = 0
            while i < end {
                let digit = Int(b[i]) &- 48
                guard digit >= 0 && digit <= 9 else { return nil }
                value = value &* 10 &+ digit
                i += 1
            }
            return negative ? -value : value
        }
    }

    // MARK: Where a node is

    /// The 1-based line and column (in characters) of a node's mark.
    func place(_ node: UInt32) -> (line: Int, column: Int) {
        let offset = Int(offsets[Int(node)])
        let starts = lineTable()
        var low = 0
        var high = starts.count  // the first line start after `offset`
        while low < high {
            let mid = (low + high) / 2
            if Int(starts[mid]) <= offset { low = mid + 1 } else { high = mid }
        }
        let lineStart = Int(starts[low - 1])
        var column = 1
        for i in lineStart..<min(offset, bytes.count) where bytes[i] & 0xC0 != 0x80 { column += 1 }
        return (low, column)
    }

    private func lineTable() -> [UInt32] {
        lock.lock()
        defer { lock.unlock() }
        if let lineStarts { return lineStarts }
        var starts: [UInt32] = [0]
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<b.count where b[i] == UInt8(ascii: "\n") { starts.append(UInt32(i + 1)) }
        }
        lineStarts = starts
        return starts
    }

    /// The field path of a node (`kernels[3].m`), found by walking down from the root: the entries
    /// of a collection are numbered in increasing order, so the one holding `node` is the last
    /// entry numbered at most `node`.
    func path(_ node: UInt32) -> String {
        var path = ""
        var current: UInt32 = 0
        while current != node {
            let base = Int(extents[Int(current)])
            let n = Int(children[base])
            let isMapping = kind(current) == .mapping
            let stride = isMapping ? 2 : 1
            let first = base + (isMapping ? 2 : 1)
            var low = 0
            var high = n
            while low < high {
                let mid = (low + high) / 2
                if children[first + mid * stride] <= node { low = mid + 1 } else { high = mid }
            }
            guard low > 0 else { return path }
            let entry = low - 1
            if isMapping {
                let key = keys[Int(children[base + 1 + 2 * entry])]
                path = path.isEmpty ? key : "\(path).\(key)"
            } else {
                path += "[\(entry)]"
            }
            current = children[first + entry * stride]
        }
        return path
    }
}
