import Config

extension ChipDocument {
    /// The full description actually used (file figures, variant and `--set` overrides), as
    /// canonical JSON: stored with every run and hashed to identify it.
    public var canonicalJSON: String { json(file: file) }

    /// The same, naming the file without its folder: what identifies a chip's content wherever
    /// the checkout lives (sweep point ids hash this, so a task on a cluster node that reads the
    /// chips by another path computes the same plan).
    public var contentJSON: String { json(file: file.split(separator: "/").last.map(String.init) ?? file) }

    func json(file: String) -> String {
        var entries: [String: Any] = [:]
        for (path, figure) in figures {
            let value: Any
            switch figure.value {
            case .number(let n): value = n
            case .text(let t): value = t
            case .curve(let points): value = points.map { [$0.x, $0.y] }
            }
            entries[path] = CanonicalJSON.figure(value: value, kind: figure.kind.rawValue, source: figure.source?.url, how: figure.how)
        }
        return CanonicalJSON.document(schema: ParameterCatalog.schemaVersion, id: id, file: file, figures: entries)
    }
}
