import Foundation

extension SystemDocument {
    /// The full description used (file figures and `--set` / `--nodes` overrides) as JSON with
    /// sorted keys: stored with every run on the system and hashed to identify it. The chip's own
    /// description is stored beside it (the run's chip_json).
    public var canonicalJSON: String {
        var figures: [String: Any] = [:]
        for (path, figure) in self.figures {
            var item: [String: Any] = ["kind": figure.kind.rawValue]
            switch figure.value {
            case .number(let n): item["value"] = n
            case .text(let t): item["value"] = t
            }
            if let source = figure.source { item["source"] = source.url }
            if let how = figure.how { item["how"] = how }
            figures[path] = item
        }
        let object: [String: Any] = ["schema": SystemParameterCatalog.schemaVersion, "id": id, "file": file, "figures": figures]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
