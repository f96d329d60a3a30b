import Foundation

/// The canonical JSON of a described document (a chip, a system): its figures by path, each with
/// its kind, value and source, with sorted keys and no escaped slashes. Stored with every run and
/// hashed to identify what was simulated.
public enum CanonicalJSON {
    /// One figure's entry: `value` (a number, text or list), `kind`, and `source` / `how` where given.
    public static func figure(value: Any, kind: String, source: String?, how: String?) -> [String: Any] {
        var item: [String: Any] = ["kind": kind, "value": value]
        if let source { item["source"] = source }
        if let how { item["how"] = how }
        return item
    }

    public static func document(schema: Int, id: String, file: String, figures: [String: Any]) -> String {
        let object: [String: Any] = ["schema": schema, "id": id, "file": file, "figures": figures]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
