import Foundation
import SimCore

/// Writes JSON values (dictionaries, arrays, strings, numbers, booleans, NSNull) with sorted keys
/// and two-space indentation: equal inputs print identical text. Foundation's JSONSerialization
/// takes close to a minute for a 100,000-kernel run on Linux; this takes well under a second.
struct JSONWriter {
    private(set) var output = ""

    init() { output.reserveCapacity(1 << 16) }

    static func render(_ value: Any) -> String {
        var writer = JSONWriter()
        writer.write(value, indent: 0)
        return writer.output
    }

    mutating func write(_ value: Any, indent: Int) {
        switch value {
        case let dictionary as [String: Any]:
            if dictionary.isEmpty {
                output += "{}"
                return
            }
            output += "{\n"
            let keys = dictionary.keys.sorted()
            for (i, key) in keys.enumerated() {
                pad(indent + 1)
                writeString(key)
                output += " : "
                write(dictionary[key]!, indent: indent + 1)
                output += i == keys.count - 1 ? "\n" : ",\n"
            }
            pad(indent)
            output += "}"
        case let array as [Any]:
            if array.isEmpty {
                output += "[]"
                return
            }
            output += "[\n"
            for (i, item) in array.enumerated() {
                pad(indent + 1)
                write(item, indent: indent + 1)
                output += i == array.count - 1 ? "\n" : ",\n"
            }
            pad(indent)
            output += "]"
        case let string as String: writeString(string)
        case let bool as Bool: output += bool ? "true" : "false"
        case let int as Int: output += String(int)
        case let int as Int64: output += String(int)
        case let double as Double: writeNumber(double)
        case is NSNull: output += "null"
        case let number as NSNumber: writeNumber(number.doubleValue)
        default: writeString("\(value)")
        }
    }

    mutating func writeNumber(_ value: Double) {
        guard value.isFinite else {
            output += "null"
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            output += String(Int64(value))
            return
        }
        output += "\(value)"
    }

    mutating func writeString(_ string: String) { output += jsonQuoted(string) }

    private mutating func pad(_ level: Int) { output += String(repeating: "  ", count: level) }
}

/// The version of every JSON document the CLI prints or exports (docs/json.md): fields may be
/// added under one version, none renamed or removed.
let jsonSchemaVersion = 1

/// Prints a JSON document: `object` with `"schema": 1` added at the top, keys sorted, so equal
/// inputs print identical text. Lists are printed inside an object (`{"schema": 1, "chips": [...]}`).
func printJSON(_ object: [String: Any]) {
    var document = object
    document["schema"] = jsonSchemaVersion
    print(JSONWriter.render(document))
}
