import Foundation

/// Text for HTML and SVG: `&`, `<`, `>`, `"` and `'` escaped (names and ids come from user files).
public func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

/// A number for a chart label: three significant figures with an SI prefix (1.23T, 456M, 0.5m).
public func siLabel(_ x: Double) -> String {
    guard x.isFinite else { return "-" }
    if x == 0 { return "0" }
    let prefixes: [(Double, String)] = [
        (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"),
    ]
    let a = abs(x)
    let (scale, symbol) = prefixes.first { a >= $0.0 * 0.9995 } ?? (1e-9, "n")
    let v = x / scale
    let digits = abs(v) >= 100 ? 0 : abs(v) >= 10 ? 1 : 2
    var text = String(format: "%.\(digits)f", v)
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text + symbol
}

/// Coordinates in SVG text: one decimal, no trailing zeros, so the same data draw the same bytes.
func coordinate(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
}

/// One axis of a chart: its range, linear or logarithmic, and its ticks.
public struct Axis: Sendable {
    public var label: String
    public var log: Bool
    public var lower: Double
    public var upper: Double

    /// An axis spanning `values` (padded a little; a log axis to whole decades or halves).
    public init(_ label: String, values: [Double], log: Bool = false, includeZero: Bool = false) {
        self.label = label
        self.log = log
        let finite = values.filter { $0.isFinite && (!log || $0 > 0) }
        var lo = finite.min() ?? (log ? 1 : 0)
        var hi = finite.max() ?? (log ? 10 : 1)
        if log {
            lo = pow(10, floor(log10(lo)))
            hi = pow(10, ceil(log10(hi)))
            if hi <= lo { hi = lo * 10 }
        } else {
            if includeZero {
                lo = min(lo, 0)
                hi = max(hi, 0)
            }
            if hi <= lo { (lo, hi) = (lo - 1, hi + 1) }
            let step = Axis.niceStep((hi - lo) / 5)
            lo = floor(lo / step) * step
            hi = ceil(hi / step) * step
        }
        lower = lo
        upper = hi
    }

    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(raw)))
        let f = raw / magnitude
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude
    }

    /// Where `v` falls, 0 at the lower end and 1 at the upper.
    public func fraction(_ v: Double) -> Double {
        if log { return (log10(max(v, lower * 1e-3)) - log10(lower)) / (log10(upper) - log10(lower)) }
        return (v - lower) / (upper - lower)
    }

    public var ticks: [Double] {
        if log {
            let decades = Int((log10(upper) - log10(lower)).rounded())
            let every = max(1, decades / 8)
            return stride(from: 0, through: decades, by: every).map { lower * pow(10, Double($0)) }
        }
        let step = Axis.niceStep((upper - lower) / 5)
        return stride(from: lower, through: upper + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
    }
}

/// The colours of series, in order (colour-blind safe, after Okabe and Ito).
public let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

/// A small chart layer drawing SVG by hand: scatter and line charts on linear or log axes, and
/// horizontal bar charts. Every chart is a self-contained `<svg>` with a title and axis labels;
/// the data's own text is escaped.
public enum Chart {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        /// Points joined by a line (a time series, a roof) rather than drawn as dots.
        public var line: Bool
        public var radius: Double
        /// A label beside each point, if given (same count as points).
        public var labels: [String]?
        public init(
            name: String, points: [(x: Double, y: Double)], color: String, line: Bool = false, radius: Double = 3.5, labels: [String]? = nil
        ) {
            self.name = name
            self.points = points
            self.color = color
            self.line = line
            self.radius = radius
            self.labels = labels
        }
    }

    static let width = 760.0
    static let left = 78.0, right = 20.0, top = 34.0, bottom = 48.0

    static func open(_ title: String, height: Double) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(coordinate(width)) \(coordinate(height))\" "
            + "width=\"\(coordinate(width))\" height=\"\(coordinate(height))\" role=\"img\" aria-label=\"\(escapeHTML(title))\">\n"
            + "<title>\(escapeHTML(title))</title>\n"
            + "<text x=\"\(coordinate(left))\" y=\"20\" class=\"title\">\(escapeHTML(title))</text>\n"
    }

    /// A scatter or line chart of `series` on axes `x` and `y`, with a legend.
    public enum Corner: Sendable { case topRight, bottomRight }

    public static func plot(_ title: String, x: Axis, y: Axis, series: [Series], height: Double = 380, legend: Corner = .topRight) -> String
    {
        let plotW = width - left - right
        let plotH = height - top - bottom
        func px(_ v: Double) -> Double { left + plotW * min(max(x.fraction(v), 0), 1) }
        func py(_ v: Double) -> Double { top + plotH * (1 - min(max(y.fraction(v), 0), 1)) }
        var s = open(title, height: height)
        s += "<g class=\"grid\">\n"
        for t in y.ticks {
            s +=
                "<line x1=\"\(coordinate(left))\" y1=\"\(coordinate(py(t)))\" x2=\"\(coordinate(left + plotW))\" "
                + "y2=\"\(coordinate(py(t)))\"/>"
            s +=
                "<text x=\"\(coordinate(left - 6))\" y=\"\(coordinate(py(t) + 4))\" class=\"tick\" "
                + "text-anchor=\"end\">\(siLabel(t))</text>\n"
        }
        for t in x.ticks {
            s +=
                "<line x1=\"\(coordinate(px(t)))\" y1=\"\(coordinate(top))\" x2=\"\(coordinate(px(t)))\" "
                + "y2=\"\(coordinate(top + plotH))\"/>"
            s +=
                "<text x=\"\(coordinate(px(t)))\" y=\"\(coordinate(top + plotH + 16))\" class=\"tick\" "
                + "text-anchor=\"middle\">\(siLabel(t))</text>\n"
        }
        s += "</g>\n"
        s +=
            "<rect x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotW))\" "
            + "height=\"\(coordinate(plotH))\" class=\"frame\"/>\n"
        s +=
            "<text x=\"\(coordinate(left + plotW / 2))\" y=\"\(coordinate(height - 8))\" class=\"axis\" text-anchor=\"middle\">"
            + "\(escapeHTML(x.label))</text>\n"
        s +=
            "<text x=\"14\" y=\"\(coordinate(top + plotH / 2))\" class=\"axis\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(coordinate(top + plotH / 2)))\">\(escapeHTML(y.label))</text>\n"
        for (i, series) in series.enumerated() {
            s += "<g class=\"series\" data-series=\"\(i)\">\n"
            let visible = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!x.log || $0.x > 0) && (!y.log || $0.y > 0) }
            if series.line {
                let path = visible.map { "\(coordinate(px($0.x))),\(coordinate(py($0.y)))" }.joined(separator: " ")
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
            } else {
                for (k, p) in series.points.enumerated() where visible.contains(where: { $0 == p }) {
                    s +=
                        "<circle cx=\"\(coordinate(px(p.x)))\" cy=\"\(coordinate(py(p.y)))\" r=\"\(coordinate(series.radius))\" "
                        + "fill=\"\(series.color)\" fill-opacity=\"0.75\"/>"
                    if let labels = series.labels, k < labels.count, !labels[k].isEmpty {
                        s +=
                            "<text x=\"\(coordinate(px(p.x) + 6))\" y=\"\(coordinate(py(p.y) - 6))\" "
                            + "class=\"point\">\(escapeHTML(labels[k]))</text>"
                    }
                    s += "\n"
                }
            }
            s += "</g>\n"
        }
        // Legend, top right inside the frame.
        let named = series.filter { !$0.name.isEmpty }
        var ly = legend == .topRight ? top + 14 : top + plotH - 16 * Double(named.count) + 8
        for series in named {
            let lx = left + plotW - 220
            s +=
                series.line
                ? "<line x1=\"\(coordinate(lx))\" y1=\"\(coordinate(ly - 4))\" x2=\"\(coordinate(lx + 16))\" y2=\"\(coordinate(ly - 4))\" "
                    + "stroke=\"\(series.color)\" stroke-width=\"2\"/>"
                : "<circle cx=\"\(coordinate(lx + 8))\" cy=\"\(coordinate(ly - 4))\" r=\"4\" fill=\"\(series.color)\"/>"
            s += "<text x=\"\(coordinate(lx + 22))\" y=\"\(coordinate(ly))\" class=\"legend\">\(escapeHTML(series.name))</text>\n"
            ly += 16
        }
        return s + "</svg>\n"
    }

    /// Horizontal bars, one per item, with their values written at the end; negative values
    /// extend left of a zero line.
    public static func bars(
        _ title: String, unit: String, items: [(label: String, value: Double, color: String)], format: (Double) -> String = siLabel
    ) -> String {
        let rowH = 22.0
        // Room for the longest label (about 6.2 px a character at 11 px).
        let labelW = min(360, max(120, 6.2 * Double(items.map(\.label.count).max() ?? 0) + 16))
        let height = top + Double(items.count) * rowH + bottom - 10
        let plotW = width - labelW - right - 70
        let values = items.map(\.value).filter(\.isFinite)
        let lo = min(0, values.min() ?? 0)
        let hi = max(0, values.max() ?? 1)
        let span = hi - lo > 0 ? hi - lo : 1
        func px(_ v: Double) -> Double { labelW + plotW * (v - lo) / span }
        var s = open(title, height: height)
        for (i, item) in items.enumerated() {
            let y = top + Double(i) * rowH
            s +=
                "<text x=\"\(coordinate(labelW - 8))\" y=\"\(coordinate(y + 15))\" class=\"tick\" text-anchor=\"end\">"
                + "\(escapeHTML(item.label))</text>"
            if item.value.isFinite {
                let x0 = px(min(0, item.value))
                let x1 = px(max(0, item.value))
                s +=
                    "<rect x=\"\(coordinate(x0))\" y=\"\(coordinate(y + 3))\" width=\"\(coordinate(max(x1 - x0, 0.5)))\" height=\"16\" "
                    + "fill=\"\(item.color)\"/>"
                s +=
                    "<text x=\"\(coordinate(x1 + 5))\" y=\"\(coordinate(y + 15))\" "
                    + "class=\"value\">\(format(item.value))\(escapeHTML(unit))</text>"
            } else {
                s += "<text x=\"\(coordinate(px(0) + 5))\" y=\"\(coordinate(y + 15))\" class=\"value\">n/a</text>"
            }
            s += "\n"
        }
        s +=
            "<line x1=\"\(coordinate(px(0)))\" y1=\"\(coordinate(top))\" x2=\"\(coordinate(px(0)))\" "
            + "y2=\"\(coordinate(top + Double(items.count) * rowH))\" class=\"zero\"/>\n"
        return s + "</svg>\n"
    }
}
