import Foundation

/// A plain-text table with aligned columns: text left, numbers right.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns whose cells are right-aligned (numbers).
    var numeric: Set<Int>

    init(_ headers: [String], numeric: Set<Int> = []) {
        self.headers = headers
        self.numeric = numeric
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    /// Characters a cell takes on screen: its byte count when it is ASCII (every cell the CLI
    /// prints, and cheap), else its characters.
    static func width(_ cell: String) -> Int {
        var ascii = true
        var bytes = 0
        for byte in cell.utf8 {
            if byte >= 0x80 { ascii = false }
            bytes += 1
        }
        return ascii ? bytes : cell.count
    }

    var rendered: String {
        let all = [headers] + rows
        let cellWidths = all.map { $0.map(TextTable.width) }
        var widths = Array(repeating: 0, count: headers.count)
        for row in cellWidths {
            for (column, w) in row.enumerated() where column < widths.count { widths[column] = max(widths[column], w) }
        }
        var out = ""
        func line(_ cells: [String], _ sizes: [Int]) {
            var text = ""
            for (column, cell) in cells.enumerated() {
                if column > 0 { text += "  " }
                let pad = String(repeating: " ", count: max(0, (column < widths.count ? widths[column] : 0) - sizes[column]))
                if numeric.contains(column) {
                    text += pad
                    text += cell
                } else {
                    text += cell
                    text += pad
                }
            }
            // Trailing padding goes (a regular expression here was most of a large table's cost).
            while text.utf8.last == UInt8(ascii: " ") { text.removeLast() }
            out += text
        }
        line(headers, cellWidths[0])
        out += "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        for (index, row) in rows.enumerated() {
            out += "\n"
            line(row, cellWidths[index + 1])
        }
        return out
    }
}
