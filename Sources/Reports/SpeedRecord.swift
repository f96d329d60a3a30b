import Foundation

/// One run of the speed benchmark (`xpusim-bench --record FILE`), as README.md's Speed table shows
/// it: each measure with its value, its target and whether it met it, and the machine it ran on.
/// The table is rendered from the committed record (scripts/update-speed.sh), never typed, and a
/// test holds README.md to the record.
public struct SpeedRecord: Codable, Equatable, Sendable {
    public struct Measure: Codable, Equatable, Sendable {
        /// What was measured, as a reader names it ("GEMM kernels costed per second").
        public var name: String
        public var value: Double
        /// One of the units ``SpeedRecord/format(_:unit:)`` knows: kernels/s, points/s, s, ms, us, MiB.
        public var unit: String
        /// The target; nil where the measure has none (it is shown for context).
        public var target: Double?
        /// True when larger is better (a rate), false when smaller is (a time, a memory peak).
        public var higherIsBetter: Bool
        /// How it was taken (median of n, what the trace was).
        public var how: String

        public init(name: String, value: Double, unit: String, target: Double?, higherIsBetter: Bool, how: String) {
            (self.name, self.value, self.unit, self.target, self.higherIsBetter, self.how) =
                (name, value, unit, target, higherIsBetter, how)
        }

        public var met: Bool? {
            guard let target else { return nil }
            return higherIsBetter ? value >= target : value < target
        }
    }

    /// The machine, in words (cores, operating system, architecture).
    public var machine: String
    /// The day of the run (UTC, yyyy-mm-dd).
    public var date: String
    public var measures: [Measure]

    public init(machine: String, date: String, measures: [Measure]) {
        (self.machine, self.date, self.measures) = (machine, date, measures)
    }

    public static func load(_ path: String) throws -> SpeedRecord {
        try JSONDecoder().decode(SpeedRecord.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// A value in its unit: whole numbers with thousands separators from 100 up (and for rates),
    /// one decimal from 10, two below.
    public static func format(_ value: Double, unit: String) -> String {
        let magnitude = abs(value)
        guard magnitude < 100 && !unit.hasSuffix("/s") else {
            let digits = Array(String(Int(magnitude.rounded())))
            var out = value < 0 ? "-" : ""
            for (i, d) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
                out.append(d)
            }
            return out + " " + unit
        }
        return String(format: "%.\(magnitude >= 10 ? 1 : 2)f", value) + " " + unit
    }

    /// README.md's Speed table.
    public func markdown() -> String {
        var lines = [
            "Measured by `swift run -c release --static-swift-stdlib xpusim-bench --record docs/speed.json` on \(machine), \(date)"
                + " (scripts/update-speed.sh; the figures vary from run to run on a shared machine):",
            "",
            "| measure | result | target | met | how |",
            "|---|---|---|---|---|",
        ]
        for m in measures {
            let target = m.target.map { (m.higherIsBetter ? ">= " : "< ") + SpeedRecord.format($0, unit: m.unit) } ?? "-"
            let met = m.met.map { $0 ? "yes" : "**no**" } ?? "-"
            var shown = SpeedRecord.format(m.value, unit: m.unit)
            // A value that rounds to its target is shown to the precision that tells them apart.
            if let t = m.target, shown == SpeedRecord.format(t, unit: m.unit) { shown = String(format: "%.3f", m.value) + " " + m.unit }
            lines.append("| \(m.name) | \(shown) | \(target) | \(met) | \(m.how) |")
        }
        let missed = measures.filter { $0.met == false }.map(\.name)
        lines.append("")
        lines.append(
            missed.isEmpty
                ? "Every target was met in this run."
                : "Missed in this run: \(missed.joined(separator: "; ")).")
        return lines.joined(separator: "\n")
    }
}
