import Foundation

/// The built-in reader of JSON and of the YAML the project writes, straight from UTF-8 bytes.
///
/// It reads flow mappings and lists (`{id: qkv, op: gemm}`, `[1, 2]`, JSON), block mappings and
/// lists, plain, single- and double-quoted scalars on one line, and comments, and builds a
/// ``ParsedDocument`` the way Yams would build its node tree (same texts, styles, lines and
/// columns). Anything else YAML allows (anchors, tags, block scalars, multi-line scalars,
/// complex keys, documents markers, tabs as indentation, CR line ends) is `Unsupported`: the
/// caller hands the document to Yams, so a file never reads differently for being unusual.
///
/// Errors it is sure of (a list or mapping never closed, a quoted scalar never closed, a key
/// written twice, nesting deeper than ``maxDepth``) are thrown as ``ConfigError`` with the line.
struct DocumentParser {
    /// Deeper nesting is refused (no configuration nests past a dozen levels); it also bounds the
    /// recursion of every reader of the tree.
    static let maxDepth = 128
    /// libyaml gives up on a key longer than 1024 characters; longer ones go to Yams to decide.
    static let maxKeyLength = 1000

    struct Unsupported: Error {
        var reason: String
        var offset: Int
    }

    let b: UnsafeBufferPointer<UInt8>
    let file: String
    let count: Int
    var p = 0
    var lineStart = 0
    var depth = 0

    var kinds: [UInt8] = []
    var offsets: [UInt32] = []
    var extents: [UInt32] = []
    var children: [UInt32] = []
    var pending: [UInt32] = []
    var keys = KeyTable()

    init(_ buffer: UnsafeBufferPointer<UInt8>, file: String) {
        b = buffer
        count = buffer.count
        self.file = file
    }

    /// Parses the whole buffer; the caller has checked it is UTF-8 without NUL and control characters.
    static func parse(_ bytes: [UInt8], file: String) throws -> ParsedDocument {
        guard bytes.count < Int(UInt32.max) else {
            throw ConfigError(file: file, message: "the file is larger than 4 GiB; split the trace")
        }
        let parts = try bytes.withUnsafeBufferPointer { buffer in
            var parser = DocumentParser(buffer, file: file)
            // About one node per 7 bytes in traces; reserved, not touched, beyond what is used.
            parser.kinds.reserveCapacity(bytes.count / 6 + 16)
            parser.offsets.reserveCapacity(bytes.count / 6 + 16)
            parser.extents.reserveCapacity(bytes.count / 6 + 16)
            parser.children.reserveCapacity(bytes.count / 5 + 16)
            try parser.document()
            return (parser.kinds, parser.offsets, parser.extents, parser.children, parser.keys)
        }
        return ParsedDocument(
            file: file, bytes: bytes, kinds: parts.0, offsets: parts.1, extents: parts.2, children: parts.3, keyTable: parts.4)
    }

    // MARK: Bytes

    @inline(__always) func at(_ i: Int) -> UInt8 { i < count ? b[i] : 0 }
    @inline(__always) var column: Int { p - lineStart }
    @inline(__always) static func isBlankz(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0 || c == 0x09 }
    @inline(__always) static func isFlowIndicator(_ c: UInt8) -> Bool {
        c == UInt8(ascii: ",") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: "{") || c == UInt8(ascii: "}")
    }
    /// Characters that cannot start a plain scalar (YAML's indicators).
    @inline(__always) static func isIndicator(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"),
            UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"),
            UInt8(ascii: "`"):
            return true
        default: return false
        }
    }

    func unsupported(_ reason: String) -> Unsupported { Unsupported(reason: reason, offset: p) }

    func error(_ message: String, at offset: Int) -> ConfigError {
        var line = 1
        var start = 0
        for i in 0..<min(offset, count) where b[i] == 0x0A {
            line += 1
            start = i + 1
        }
        var column = 1
        for i in start..<min(offset, count) where b[i] & 0xC0 != 0x80 { column += 1 }
        return ConfigError(file: file, line: line, column: column, message: message)
    }

    // MARK: Nodes

    mutating func newNode(_ kind: ParsedDocument.Kind, offset: Int, extent: Int = 0) -> UInt32 {
        kinds.append(kind.rawValue)
        offsets.append(UInt32(offset))
        extents.append(UInt32(extent))
        return UInt32(kinds.count - 1)
    }

    /// Moves the entries gathered since `mark` into `children`, behind their count.
    mutating func close(_ node: UInt32, from mark: Int, entries: Int) {
        extents[Int(node)] = UInt32(children.count)
        children.append(UInt32(entries))
        children.append(contentsOf: pending[mark...])
        pending.removeSubrange(mark...)
        depth -= 1
    }

    mutating func enter(_ offset: Int) throws {
        depth += 1
        if depth > DocumentParser.maxDepth {
            throw error("malformed YAML/JSON: nested more than \(DocumentParser.maxDepth) levels deep", at: offset)
        }
    }

    mutating func scalarNode(start: Int, end: Int) -> UInt32 {
        let length = end - start
        if length <= 4 {
            // The plain texts Yams reads as null.
            let c0 = at(start)
            if length == 1 && c0 == UInt8(ascii: "~") { return newNode(.null, offset: start) }
            if length == 4 {
                let rest = (at(start + 1), at(start + 2), at(start + 3))
                if (c0 == UInt8(ascii: "n") || c0 == UInt8(ascii: "N")) && rest == (UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l"))
                    || (c0 == UInt8(ascii: "N") && rest == (UInt8(ascii: "U"), UInt8(ascii: "L"), UInt8(ascii: "L")))
                {
                    return newNode(.null, offset: start)
                }
            }
        }
        return newNode(.plain, offset: start, extent: length)
    }

    /// Checks a new key against the keys of the mapping gathered since `mark`.
    func checkDuplicate(_ key: UInt32, from mark: Int, keyOffset: Int, seen: inout Set<UInt32>?) throws {
        let entries = (pending.count - mark) / 2
        if entries > 16 {
            if seen == nil { seen = Set(stride(from: mark, to: pending.count, by: 2).map { pending[$0] }) }
            if seen!.insert(key).inserted { return }
        } else {
            var i = mark
            var found = false
            while i < pending.count {
                if pending[i] == key {
                    found = true
                    break
                }
                i += 2
            }
            if !found { return }
        }
        throw error("the key \"\(keys.strings[Int(key)])\" appears twice in one mapping", at: keyOffset)
    }

    // MARK: Lines

    /// Skips spaces on the current line; tabs are left to Yams (YAML allows them only in some places).
    mutating func skipSpaces() throws {
        while at(p) == 0x20 { p += 1 }
        if at(p) == 0x09 { throw unsupported("a tab") }
    }

    /// After a node in block context: only spaces and a comment may follow on its line.
    mutating func endOfLine() throws {
        try skipSpaces()
        let c = at(p)
        if c == UInt8(ascii: "#") {
            // A comment needs a space before it here; libyaml also takes `]#x` as one, Yams decides.
            if b[p - 1] != 0x20 { throw unsupported("a comment right after a value") }
            while p < count && b[p] != 0x0A { p += 1 }
            return
        }
        if c == 0x0A || p >= count { return }
        throw unsupported("more after a value on its line")
    }

    /// From the end of a line (or the start of the file), to the first character of the next
    /// line with content; blank and comment-only lines are skipped. At the end, `p == count`.
    mutating func nextContentLine() throws {
        while true {
            if p < count && b[p] == 0x0A {
                p += 1
                lineStart = p
            } else if p >= count {
                return
            }
            try skipSpaces()
            let c = at(p)
            if c == UInt8(ascii: "#") {
                while p < count && b[p] != 0x0A { p += 1 }
                continue
            }
            if c == 0x0A { continue }
            if p >= count { return }
            if column == 0, isDocumentMarker(p) { throw unsupported("a document marker") }
            return
        }
    }

    func isDocumentMarker(_ i: Int) -> Bool {
        let c = at(i)
        return (c == UInt8(ascii: "-") || c == UInt8(ascii: ".")) && at(i + 1) == c && at(i + 2) == c && DocumentParser.isBlankz(at(i + 3))
    }

    // MARK: Document and block context

    mutating func document() throws {
        if count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { throw unsupported("a byte order mark") }
        // Start as if after a line end, so the first line's spaces and comments are skipped too.
        try skipSpaces()
        if at(p) == UInt8(ascii: "#") || at(p) == 0x0A {
            while p < count && b[p] != 0x0A { p += 1 }
            try nextContentLine()
        }
        guard p < count else { throw unsupported("no document") }
        if column == 0, isDocumentMarker(p) { throw unsupported("a document marker") }
        if at(p) == UInt8(ascii: "%") { throw unsupported("a directive") }
        _ = try blockNode(parentIndent: -1)
        if p < count { throw unsupported("content after the document") }
    }

    /// A node in block context starting at `p` (a line's first content, or after `- `); returns
    /// with `p` at the next line with content.
    mutating func blockNode(parentIndent: Int) throws -> UInt32 {
        let c = at(p)
        let start = p
        switch c {
        case UInt8(ascii: "-") where DocumentParser.isBlankz(at(p + 1)):
            return try blockSequence(column: column)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let node = try flowCollection(blockIndent: parentIndent)
            try skipSpaces()
            if at(p) == UInt8(ascii: ":") { throw unsupported("a list or mapping as a key") }
            try endOfLine()
            try nextContentLine()
            return node
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let (kind, end) = try quoted()
            try skipSpaces()
            if at(p) == UInt8(ascii: ":") && DocumentParser.isBlankz(at(p + 1)) {
                p = start
                return try blockMapping(column: column)
            }
            let node = newNode(kind, offset: start, extent: end - start)
            try endOfLine()
            try nextContentLine()
            return node
        default:
            if DocumentParser.isIndicator(c) && !(c == UInt8(ascii: "-") && plainCanFollowDash(at(p + 1))) {
                throw unsupported("an indicator YAML reads specially")
            }
            let end = try plainInBlock()
            if at(p) == UInt8(ascii: ":") {
                p = start
                return try blockMapping(column: column)
            }
            let node = scalarNode(start: start, end: end)
            try endOfLine()
            try nextContentLine()
            return node
        }
    }

    /// `-5`, `-x`: a dash followed by an ordinary character starts a plain scalar.
    func plainCanFollowDash(_ c: UInt8) -> Bool {
        !DocumentParser.isBlankz(c) && !DocumentParser.isFlowIndicator(c) && c != UInt8(ascii: "#") && c != UInt8(ascii: ":")
    }

    /// A plain scalar in block context, on one line: stops at `: `, ` #` or the line's end; returns
    /// the end of its text (trailing spaces dropped), with `p` at what stopped it.
    mutating func plainInBlock() throws -> Int {
        var end = p
        while true {
            let c = at(p)
            if c == 0x0A || p >= count { break }
            if c == 0x20 {
                p += 1
                continue
            }
            if c == 0x09 { throw unsupported("a tab in a plain scalar") }
            if c == UInt8(ascii: ":") && DocumentParser.isBlankz(at(p + 1)) { break }
            if c == UInt8(ascii: "#") && b[p - 1] == 0x20 { break }
            p += 1
            end = p
        }
        return end
    }

    /// A key of a block mapping at `p`: a plain or quoted scalar on one line, then `:` and a space.
    mutating func blockKey() throws -> UInt32 {
        let start = p
        let c = at(p)
        var id: UInt32
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            let (kind, end) = try quoted()
            id = internQuoted(kind, start, end)
            try skipSpaces()
        } else {
            if DocumentParser.isIndicator(c) && !(c == UInt8(ascii: "-") && plainCanFollowDash(at(p + 1))) {
                throw unsupported("an indicator YAML reads specially")
            }
            let end = try plainInBlock()
            id = keys.intern(UnsafeBufferPointer(rebasing: b[start..<end]))
        }
        guard at(p) == UInt8(ascii: ":") && DocumentParser.isBlankz(at(p + 1)) else { throw unsupported("a line without a key") }
        if p - start > DocumentParser.maxKeyLength { throw unsupported("a very long key") }
        return id
    }

    mutating func internQuoted(_ kind: ParsedDocument.Kind, _ start: Int, _ end: Int) -> UInt32 {
        if kind == .quoted { return keys.intern(UnsafeBufferPointer(rebasing: b[start + 1..<end - 1])) }
        let decoded = QuotedScalar.decode(UnsafeBufferPointer(rebasing: b[start..<end]))
        return decoded.withUnsafeBufferPointer { keys.intern($0) }
    }

    mutating func blockMapping(column n: Int) throws -> UInt32 {
        try enter(p)
        let node = newNode(.mapping, offset: p)
        let mark = pending.count
        var seen: Set<UInt32>?
        while true {
            let keyOffset = p
            let key = try blockKey()
            try checkDuplicate(key, from: mark, keyOffset: keyOffset, seen: &seen)
            let colon = p
            p += 1
            try skipSpaces()
            let value: UInt32
            let c = at(p)
            if c == 0x0A || p >= count || c == UInt8(ascii: "#") {
                while p < count && b[p] != 0x0A { p += 1 }
                try nextContentLine()
                if p < count && column > n {
                    value = try blockNode(parentIndent: n)
                } else if p < count && column == n && at(p) == UInt8(ascii: "-") && DocumentParser.isBlankz(at(p + 1)) {
                    value = try blockSequence(column: n)  // YAML's indentless list as a value
                } else {
                    value = newNode(.null, offset: colon + 1)
                }
            } else {
                value = try inlineValue(parentIndent: n)
                try nextContentLine()
            }
            pending.append(key)
            pending.append(value)
            if p >= count || column < n { break }
            if column > n { throw unsupported("a more indented line after a value") }
            if at(p) == UInt8(ascii: "-") && DocumentParser.isBlankz(at(p + 1)) { throw unsupported("a list entry among keys") }
        }
        close(node, from: mark, entries: (pending.count - mark) / 2)
        return node
    }

    /// A value on its key's line.
    mutating func inlineValue(parentIndent n: Int) throws -> UInt32 {
        let start = p
        let c = at(p)
        switch c {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let node = try flowCollection(blockIndent: n)
            try endOfLine()
            return node
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let (kind, end) = try quoted()
            let node = newNode(kind, offset: start, extent: end - start)
            try endOfLine()
            return node
        default:
            if DocumentParser.isIndicator(c) && !(c == UInt8(ascii: "-") && plainCanFollowDash(at(p + 1))) {
                throw unsupported("an indicator YAML reads specially")
            }
            let end = try plainInBlock()
            if at(p) == UInt8(ascii: ":") { throw unsupported("a mapping value on a key's line") }
            let node = scalarNode(start: start, end: end)
            try endOfLine()
            return node
        }
    }

    mutating func blockSequence(column n: Int) throws -> UInt32 {
        try enter(p)
        let node = newNode(.sequence, offset: p)
        let mark = pending.count
        while true {
            let dash = p
            p += 1
            try skipSpaces()
            let c = at(p)
            let item: UInt32
            if c == 0x0A || p >= count || c == UInt8(ascii: "#") {
                while p < count && b[p] != 0x0A { p += 1 }
                try nextContentLine()
                item = p < count && column > n ? try blockNode(parentIndent: n) : newNode(.null, offset: dash + 1)
            } else {
                item = try blockNode(parentIndent: n)
            }
            pending.append(item)
            if p >= count || column < n { break }
            if column > n { throw unsupported("a more indented line after a list entry") }
            if !(at(p) == UInt8(ascii: "-") && DocumentParser.isBlankz(at(p + 1))) { break }
        }
        close(node, from: mark, entries: pending.count - mark)
        return node
    }

    // MARK: Flow context

    /// Spaces, line ends and comments between the tokens of a flow collection; lines must stay
    /// indented past the enclosing block (`blockIndent`).
    mutating func skipFlowSpace(blockIndent: Int) throws -> Bool {
        var crossed = false
        while true {
            let c = at(p)
            if c == 0x20 {
                p += 1
            } else if c == 0x0A {
                p += 1
                lineStart = p
                crossed = true
            } else if c == UInt8(ascii: "#") {
                if p > 0 && b[p - 1] != 0x20 && b[p - 1] != 0x0A { throw unsupported("a comment right after a value") }
                while p < count && b[p] != 0x0A { p += 1 }
            } else if c == 0x09 {
                throw unsupported("a tab")
            } else {
                break
            }
        }
        if crossed && p < count {
            if column <= blockIndent { throw unsupported("a flow collection's line not indented") }
            if column == 0 && isDocumentMarker(p) { throw unsupported("a document marker") }
        }
        return crossed
    }

    mutating func flowCollection(blockIndent: Int) throws -> UInt32 {
        at(p) == UInt8(ascii: "[") ? try flowSequence(blockIndent: blockIndent) : try flowMapping(blockIndent: blockIndent)
    }

    mutating func flowNode(blockIndent: Int) throws -> UInt32 {
        let start = p
        let c = at(p)
        switch c {
        case UInt8(ascii: "["): return try flowSequence(blockIndent: blockIndent)
        case UInt8(ascii: "{"): return try flowMapping(blockIndent: blockIndent)
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let (kind, end) = try quoted()
            return newNode(kind, offset: start, extent: end - start)
        default:
            if p >= count { throw error("malformed YAML/JSON: the document ends where a value was expected", at: p) }
            if DocumentParser.isIndicator(c) && !(c == UInt8(ascii: "-") && plainCanFollowDash(at(p + 1))) {
                throw unsupported("an indicator YAML reads specially")
            }
            let end = try plainInFlow()
            return scalarNode(start: start, end: end)
        }
    }

    /// A plain scalar in flow context, on one line: stops at `,[]{}`, `: `, ` #` or the line's end.
    mutating func plainInFlow() throws -> Int {
        var end = p
        while true {
            let c = at(p)
            if c == 0x0A || p >= count { break }
            if c == 0x20 {
                p += 1
                continue
            }
            if c == 0x09 { throw unsupported("a tab in a plain scalar") }
            if DocumentParser.isFlowIndicator(c) { break }
            if c == UInt8(ascii: ":") {
                if DocumentParser.isBlankz(at(p + 1)) { break }
                throw unsupported("a colon inside a plain scalar of a flow collection")
            }
            if c == UInt8(ascii: "#") && b[p - 1] == 0x20 { break }
            p += 1
            end = p
        }
        return end
    }

    mutating func flowSequence(blockIndent: Int) throws -> UInt32 {
        let open = p
        try enter(p)
        let node = newNode(.sequence, offset: p)
        let mark = pending.count
        p += 1
        _ = try skipFlowSpace(blockIndent: blockIndent)
        if at(p) == UInt8(ascii: "]") {
            p += 1
        } else {
            while true {
                if at(p) == UInt8(ascii: ",") || at(p) == UInt8(ascii: "]") { throw unsupported("an empty list entry") }
                pending.append(try flowNode(blockIndent: blockIndent))
                _ = try skipFlowSpace(blockIndent: blockIndent)
                let c = at(p)
                if c == UInt8(ascii: ",") {
                    p += 1
                    _ = try skipFlowSpace(blockIndent: blockIndent)
                    if at(p) == UInt8(ascii: "]") {
                        p += 1
                        break
                    }
                    continue
                }
                if c == UInt8(ascii: "]") {
                    p += 1
                    break
                }
                if p >= count { throw unclosed("list", open, "',' or ']'") }
                throw unsupported("something other than ',' or ']' after a list entry")
            }
        }
        close(node, from: mark, entries: pending.count - mark)
        return node
    }

    mutating func flowMapping(blockIndent: Int) throws -> UInt32 {
        let open = p
        try enter(p)
        let node = newNode(.mapping, offset: p)
        let mark = pending.count
        var seen: Set<UInt32>?
        p += 1
        _ = try skipFlowSpace(blockIndent: blockIndent)
        if at(p) == UInt8(ascii: "}") {
            p += 1
        } else {
            while true {
                let keyOffset = p
                let c = at(p)
                let key: UInt32
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    let (kind, end) = try quoted()
                    key = internQuoted(kind, keyOffset, end)
                } else {
                    if p >= count { throw unclosed("mapping", open, "a key or '}'") }
                    if DocumentParser.isIndicator(c) && !(c == UInt8(ascii: "-") && plainCanFollowDash(at(p + 1))) {
                        throw unsupported("an indicator YAML reads specially")
                    }
                    let end = try plainInFlow()
                    key = keys.intern(UnsafeBufferPointer(rebasing: b[keyOffset..<end]))
                }
                if p - keyOffset > DocumentParser.maxKeyLength { throw unsupported("a very long key") }
                if try skipFlowSpace(blockIndent: blockIndent) { throw unsupported("a key and its ':' on different lines") }
                guard at(p) == UInt8(ascii: ":") else {
                    if p >= count { throw unclosed("mapping", open, "':' after the key") }
                    throw unsupported("a key without a value")
                }
                try checkDuplicate(key, from: mark, keyOffset: keyOffset, seen: &seen)
                p += 1
                _ = try skipFlowSpace(blockIndent: blockIndent)
                let v = at(p)
                if v == UInt8(ascii: ",") || v == UInt8(ascii: "}") { throw unsupported("an empty value in a flow mapping") }
                if p >= count { throw unclosed("mapping", open, "a value") }
                pending.append(key)
                pending.append(try flowNode(blockIndent: blockIndent))
                _ = try skipFlowSpace(blockIndent: blockIndent)
                let e = at(p)
                if e == UInt8(ascii: ",") {
                    p += 1
                    _ = try skipFlowSpace(blockIndent: blockIndent)
                    if at(p) == UInt8(ascii: "}") {
                        p += 1
                        break
                    }
                    continue
                }
                if e == UInt8(ascii: "}") {
                    p += 1
                    break
                }
                if p >= count { throw unclosed("mapping", open, "',' or '}'") }
                throw unsupported("something other than ',' or '}' after a value")
            }
        }
        close(node, from: mark, entries: (pending.count - mark) / 2)
        return node
    }

    func unclosed(_ what: String, _ open: Int, _ expected: String) -> ConfigError {
        let opened = error("", at: open)
        return error(
            "malformed YAML/JSON: the file ends inside the \(what) opened at line \(opened.line ?? 0), column \(opened.column ?? 0); "
                + "expected \(expected)",
            at: p)
    }

    // MARK: Quoted scalars

    /// A quoted scalar on one line starting at `p`; returns its kind and the offset after the
    /// closing quote (where `p` is left).
    mutating func quoted() throws -> (ParsedDocument.Kind, Int) {
        let open = p
        let quote = b[p]
        p += 1
        var escaped = false
        if quote == UInt8(ascii: "'") {
            while true {
                let c = at(p)
                if p >= count { throw unclosedQuote(open) }
                if c == 0x0A { throw unsupported("a quoted scalar over several lines") }
                if c == UInt8(ascii: "'") {
                    if at(p + 1) == UInt8(ascii: "'") {
                        escaped = true
                        p += 2
                        continue
                    }
                    p += 1
                    break
                }
                p += 1
            }
            return (escaped ? .singleEscaped : .quoted, p)
        }
        while true {
            let c = at(p)
            if p >= count { throw unclosedQuote(open) }
            if c == 0x0A { throw unsupported("a quoted scalar over several lines") }
            if c == UInt8(ascii: "\"") {
                p += 1
                break
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                let length = QuotedScalar.escapeLength(b, p + 1)
                if length == 0 { throw unsupported("an escape left to Yams") }
                p += 1 + length
                continue
            }
            p += 1
        }
        return (escaped ? .doubleEscaped : .quoted, p)
    }

    func unclosedQuote(_ open: Int) -> ConfigError {
        let opened = error("", at: open)
        return error(
            "malformed YAML/JSON: the quoted text opened at line \(opened.line ?? 0), column \(opened.column ?? 0) is never closed", at: p)
    }
}

/// Escapes of quoted scalars, shared by the parser (which checks them) and the document (which
/// decodes them when a reader asks for the text).
enum QuotedScalar {
    /// The length of the escape after a backslash at `i` (the letter and its digits), or 0 for one
    /// the built-in reader leaves to Yams.
    static func escapeLength(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        guard i < b.count else { return 0 }
        switch b[i] {
        case UInt8(ascii: "0"), UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "v"),
            UInt8(ascii: "f"), UInt8(ascii: "r"), UInt8(ascii: "e"), UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "\\"):
            return 1
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = b[i] == UInt8(ascii: "x") ? 2 : b[i] == UInt8(ascii: "u") ? 4 : 8
            guard let value = hex(b, i + 1, digits) else { return 0 }
            if (0xD800...0xDFFF).contains(value) || value > 0x10FFFF { return 0 }
            return 1 + digits
        default: return 0
        }
    }

    static func hex(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ digits: Int) -> UInt32? {
        guard start + digits <= b.count else { return nil }
        var value: UInt32 = 0
        for i in start..<start + digits {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | d
        }
        return value
    }

    /// The text of a quoted scalar (quotes included in `raw`), its escapes resolved; the parser
    /// has checked every escape.
    static func decode(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        let end = raw.count - 1
        var i = 1
        if raw[0] == UInt8(ascii: "'") {
            while i < end {
                out.append(raw[i])
                i += raw[i] == UInt8(ascii: "'") ? 2 : 1
            }
            return out
        }
        while i < end {
            let c = raw[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "e"): out.append(27)
            case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                let digits = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
                let value = hex(raw, i, digits) ?? 0xFFFD
                i += digits
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(value) ?? "\u{FFFD}")).utf8))
            default: out.append(e)  // space, quote, backslash
            }
        }
        return out
    }
}

/// Mapping keys, one string per distinct key (a trace repeats the same dozen keys a million times).
struct KeyTable {
    var strings: [String] = []
    private var hashes: [UInt32] = []
    /// Every key's bytes, one after another, for comparing without going through `String`.
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    private var slots = [Int32](repeating: -1, count: 64)

    @inline(__always) static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for c in key { hash = (hash ^ UInt32(c)) &* 16_777_619 }
        return hash
    }

    @inline(__always) private func equal(_ id: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[id]
        guard starts[id + 1] - start == key.count else { return false }
        return arena.withUnsafeBufferPointer { a in
            key.isEmpty || memcmp(a.baseAddress! + start, key.baseAddress!, key.count) == 0
        }
    }

    /// The id of a key already interned, if it is.
    func find(_ key: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let hash = KeyTable.hash(key)
        var slot = Int(hash) & (slots.count - 1)
        while true {
            let id = slots[slot]
            if id < 0 { return nil }
            if hashes[Int(id)] == hash && equal(Int(id), key) { return UInt32(id) }
            slot = (slot + 1) & (slots.count - 1)
        }
    }

    mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let hash = KeyTable.hash(key)
        var slot = Int(hash) & (slots.count - 1)
        while true {
            let id = slots[slot]
            if id < 0 { break }
            if hashes[Int(id)] == hash && equal(Int(id), key) { return UInt32(id) }
            slot = (slot + 1) & (slots.count - 1)
        }
        let id = Int32(strings.count)
        strings.append(String(decoding: key, as: UTF8.self))
        hashes.append(hash)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        slots[slot] = id
        if strings.count * 2 > slots.count { grow() }
        return UInt32(id)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for (id, hash) in hashes.enumerated() {
            var slot = Int(hash) & (slots.count - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (slots.count - 1) }
            slots[slot] = Int32(id)
        }
    }
}
