import Foundation

/// One line of a CSV file split into its fields: commas separate, double quotes group (a quoted
/// comma is text), surrounding spaces are dropped. No embedded line breaks (the measured digests
/// and profile tables have none).
public enum CSVLine {
    public static func fields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        for c in line {
            if c == "\"" {
                quoted.toggle()
            } else if c == "," && !quoted {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
