import Foundation

extension ChipDocument {
    /// The full description actually used (file figures, variant and `--set` overrides), as JSON
    /// with sorted keys: stored with every run and hashed to identify it.
    public var canonicalJSON: String {
        var figures: [String: Any] = [:]
        for (path, figure) in self.figures {
            var item: [String: Any] = ["kind": figure.kind.rawValue]
            switch figure.value {
            case .number(let n): item["value"] = n
            case .text(let t): item["value"] = t
            case .curve(let points): item["value"] = points.map { [$0.x, $0.y] }
            }
            if let source = figure.source { item["source"] = source.url }
            if let how = figure.how { item["how"] = how }
            figures[path] = item
        }
        let object: [String: Any] = ["schema": ParameterCatalog.schemaVersion, "id": id, "file": file, "figures": figures]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
