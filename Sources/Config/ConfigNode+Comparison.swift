extension ConfigNode {
    /// The first place where two trees differ (content, style, line, column or path), or nil
    /// when they are the same tree: how tests and the fuzzer hold the built-in parser to Yams.
    ///
    /// ```swift
    /// let ours = try ConfigNode.parse(text: text, file: "t.yaml", parser: .builtIn)
    /// let yams = try ConfigNode.parse(text: text, file: "t.yaml", parser: .yams)
    /// XCTAssertNil(ours.firstDifference(from: yams))
    /// ```
    public func firstDifference(from other: ConfigNode) -> String? {
        let here = "\(path.isEmpty ? "<root>" : path) (line \(line.map(String.init) ?? "?"))"
        if path != other.path { return "\(here): path \"\(path)\" against \"\(other.path)\"" }
        if line != other.line || column != other.column {
            return "\(here): at \(line ?? 0):\(column ?? 0) against \(other.line ?? 0):\(other.column ?? 0)"
        }
        switch (content, other.content) {
        case (.null, .null): return nil
        case (.scalar(let a, let plainA), .scalar(let b, let plainB)):
            if a != b { return "\(here): text \"\(a)\" against \"\(b)\"" }
            if plainA != plainB { return "\(here): plain \(plainA) against \(plainB)" }
            return nil
        case (.sequence(let a), .sequence(let b)):
            if a.count != b.count { return "\(here): \(a.count) items against \(b.count)" }
            for (x, y) in zip(a, b) { if let difference = x.firstDifference(from: y) { return difference } }
            return nil
        case (.mapping(let a), .mapping(let b)):
            if a.map(\.key) != b.map(\.key) { return "\(here): keys \(a.map(\.key)) against \(b.map(\.key))" }
            for (x, y) in zip(a, b) { if let difference = x.value.firstDifference(from: y.value) { return difference } }
            return nil
        default:
            return "\(here): \(found) against \(other.found)"
        }
    }
}
