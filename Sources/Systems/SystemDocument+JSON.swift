import Config

extension SystemDocument {
    /// The full description used (file figures and `--set` / `--nodes` overrides) as canonical
    /// JSON: stored with every run on the system and hashed to identify it. The chip's own
    /// description is stored beside it (the run's chip_json).
    public var canonicalJSON: String { json(file: file) }

    /// The same, naming the file without its folder (what sweep point ids hash: the same wherever
    /// the checkout lives).
    public var contentJSON: String { json(file: file.split(separator: "/").last.map(String.init) ?? file) }

    func json(file: String) -> String {
        var entries: [String: Any] = [:]
        for (path, figure) in figures {
            let value = figure.value.plain
            entries[path] = CanonicalJSON.figure(value: value, kind: figure.kind.rawValue, source: figure.source?.url, how: figure.how)
        }
        return CanonicalJSON.document(schema: SystemParameterCatalog.schemaVersion, id: id, file: file, figures: entries)
    }
}
