import Config

extension ChipDocument {
    /// The full description actually used (file figures, variant and `--set` overrides), as
    /// canonical JSON: stored with every run and hashed to identify it.
    public var canonicalJSON: String {
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
