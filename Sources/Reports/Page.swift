import Foundation

/// A report page: sections, each with a chart and the table of the numbers it draws. One
/// self-contained HTML file: styles inline, no script, and a content security policy that lets
/// the page load nothing from anywhere (a browser reports any attempt as a console error).
public struct Page: Sendable {
    public struct Table: Sendable {
        public var headers: [String]
        public var rows: [[String]]
        /// Columns aligned right (numbers).
        public var numeric: Set<Int>
        public init(_ headers: [String], rows: [[String]] = [], numeric: Set<Int> = []) {
            self.headers = headers
            self.rows = rows
            self.numeric = numeric
        }
    }
    public struct Section: Sendable {
        public var title: String
        public var text: String
        public var svg: String?
        public var table: Table?
        public init(_ title: String, text: String = "", svg: String? = nil, table: Table? = nil) {
            self.title = title
            self.text = text
            self.svg = svg
            self.table = table
        }
    }

    public var title: String
    public var subtitle: String
    public var sections: [Section]

    public init(title: String, subtitle: String, sections: [Section]) {
        self.title = title
        self.subtitle = subtitle
        self.sections = sections
    }

    static let style = """
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 2em auto;
          max-width: 980px; padding: 0 1em; }
        h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
        .subtitle { color: #555; margin-top: 0; } p { max-width: 60em; }
        table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 12.5px; }
        th, td { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; } th { background: #f5f5f5; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        svg.chart { display: block; max-width: 100%; height: auto; margin: 0.5em 0; background: #fff; }
        svg .title { font-weight: 600; font-size: 14px; } svg .tick, svg .legend, svg .value, svg .point { font-size: 11px; fill: #333; }
        svg .axis { font-size: 12px; fill: #222; } svg .grid line { stroke: #e6e6e6; } svg .frame { fill: none; stroke: #999; }
        svg .zero { stroke: #666; } footer { color: #777; margin-top: 3em; font-size: 12px; }
        """

    public var html: String {
        var s = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeHTML(title))</title>
            <style>
            \(Page.style)
            </style>
            </head>
            <body>
            <h1>\(escapeHTML(title))</h1>
            <p class="subtitle">\(escapeHTML(subtitle))</p>

            """
        for section in sections {
            s += "<section>\n<h2>\(escapeHTML(section.title))</h2>\n"
            if !section.text.isEmpty { s += "<p>\(escapeHTML(section.text))</p>\n" }
            if let svg = section.svg { s += svg }
            if let table = section.table {
                s += "<table>\n<tr>" + table.headers.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr>\n"
                for row in table.rows {
                    s +=
                        "<tr>"
                        + row.enumerated().map { i, cell in
                            table.numeric.contains(i) ? "<td class=\"n\">\(escapeHTML(cell))</td>" : "<td>\(escapeHTML(cell))</td>"
                        }.joined() + "</tr>\n"
                }
                s += "</table>\n"
            }
            s += "</section>\n"
        }
        s +=
            "<footer>Made by xpusim from the runs in its database: each chart is drawn from the table under "
            + "it.</footer>\n</body>\n</html>\n"
        return s
    }
}
