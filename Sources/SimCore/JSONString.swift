/// `text` as a JSON string literal (also a valid double-quoted YAML scalar): quotes, backslashes
/// and control characters escaped, everything else as it is. One escaping for every writer of
/// JSON and YAML in the package (the CLI's JSON, generated traces, the fuzzer's documents).
public func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
