import Config
import SimCore

/// Checks that a chip document's figures make sense together.
///
/// Shape errors (unknown keys, units, types) are found while reading; these are the cross-field
/// rules: ordering of clocks, temperatures and power limits, references between fields, and the
/// peak check (units x MACs x clock must agree with the vendor's peak within 3%).
public enum ChipValidator {
    /// Largest accepted gap between the derived and the vendor peak.
    public static let peakTolerance = 0.03

    public static func validate(_ document: ChipDocument) -> [ConfigError] {
        var errors: [ConfigError] = []
        let file = document.file
        func fail(_ path: String, _ message: String) {
            errors.append(ConfigError(file: file, line: document.figures[path]?.line, path: path, message: message))
        }
        for (path, figure) in document.figures.sorted(by: { $0.key < $1.key }) where figure.sameAs != nil && figure.origin == nil {
            fail(
                path,
                "copied figure (same_as: \(figure.sameAs!)) not resolved: load the chip through the catalogue (ChipCatalog.resolvingCopies)"
            )
        }
        if document.hasUnresolvedCopies { return errors }
        func n(_ path: String) -> Double? { document.number(path) }
        func fmt(_ path: String, _ value: Double) -> String {
            if case .quantity(let kind) = ParameterCatalog.declaration(for: path)?.type { return Quantity.format(value, kind) }
            return formatNumber(value)
        }
        func order(_ low: String, _ high: String, strict: Bool = false) {
            guard let a = n(low), let b = n(high) else { return }
            if strict ? a >= b : a > b {
                fail(high, "must be \(strict ? "above" : "at least") \(low) (\(fmt(low, a))), found \(fmt(high, b))")
            }
        }

        for declaration in ParameterCatalog.declarations where declaration.required {
            if !ParameterCatalog.expand(declaration).contains(where: { document.figures[$0] != nil }) {
                errors.append(
                    ConfigError(
                        file: file, path: declaration.path.replacingOccurrences(of: ".<dtype>", with: ""),
                        message: "missing required field (\(declaration.meaning))"))
            }
        }
        if !errors.isEmpty { return errors }

        order("clocks.min", "clocks.base")
        order("clocks.base", "clocks.boost")
        order("power.idle", "power.tdp", strict: true)
        order("power.limit_min", "power.tdp")
        order("power.tdp", "power.limit_max")
        order("power.static", "power.tdp", strict: true)
        order("thermal.ambient", "thermal.max_operating", strict: true)
        order("thermal.max_operating", "thermal.slowdown")
        order("thermal.slowdown", "thermal.shutdown", strict: true)

        if case .curve(let points) = document.figures["clocks.vf_table"]?.value {
            let sorted = points.sorted { $0.x < $1.x }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.y < a.y {
                fail(
                    "clocks.vf_table",
                    "voltage must not fall as the clock rises (\(Quantity.format(b.x, .frequency)) has \(formatNumber(b.y)) V, below "
                        + "\(formatNumber(a.y)) V)"
                )
            }
            if let boost = n("clocks.boost"), let top = sorted.last?.x, top < boost * 0.999 {
                fail(
                    "clocks.vf_table",
                    "must reach the boost clock \(fmt("clocks.boost", boost)); its highest point is \(Quantity.format(top, .frequency))")
            }
        }
        for role in ["compute.matrix.staging_buffer", "compute.matrix.accumulator_buffer"] {
            if let name = document.figures[role]?.value.text, document.figures["compute.buffers.\(name)"] == nil {
                fail(role, "names the buffer \"\(name)\", which compute.buffers does not declare")
            }
        }
        if let dies = n("identity.dies_per_package"), dies > 1, document.figures["interconnect.die_to_die.bandwidth"] == nil {
            fail("identity.dies_per_package", "a package of \(Int(dies)) dies needs interconnect.die_to_die.bandwidth and latency")
        }
        if let devices = n("identity.devices_per_package"), let dies = n("identity.dies_per_package"),
            devices > dies || dies.truncatingRemainder(dividingBy: devices) != 0
        {
            fail("identity.devices_per_package", "\(Int(devices)) devices cannot split a package of \(Int(dies)) dies evenly")
        }
        for dtype in DataType.allCases {
            let peakPath = "compute.matrix.vendor_peak.\(dtype.rawValue)"
            guard let vendor = n(peakPath) else { continue }
            guard let macs = n("compute.matrix.macs_per_cycle.\(dtype.rawValue)") else {
                fail(peakPath, "a vendor peak for \(dtype.rawValue) needs compute.matrix.macs_per_cycle.\(dtype.rawValue)")
                continue
            }
            // A --set of a count or clock is a design change: the vendor's peak describes the
            // shipped chip, not the changed one, so the check only holds figures from files.
            let inputs = [
                "identity.dies_per_package", "compute.units_per_die", "compute.matrix.macs_per_cycle.\(dtype.rawValue)",
                "compute.matrix.peak_clock", "clocks.boost", peakPath,
            ]
            if inputs.contains(where: { document.figures[$0]?.kind == .override }) { continue }
            let clock = n("compute.matrix.peak_clock") ?? n("clocks.boost")!
            let derived = n("identity.dies_per_package")! * n("compute.units_per_die")! * macs * 2 * clock
            let gap = derived / vendor - 1
            if abs(gap) > peakTolerance {
                fail(
                    peakPath,
                    "units x MACs x 2 x clock = \(Quantity.format(derived, .flopRate)) at \(Quantity.format(clock, .frequency)) "
                        + "disagrees with the vendor peak \(Quantity.format(vendor, .flopRate)) by \(formatNumber(gap * 100))%; "
                        + "fix the counts or state the clock the vendor quotes in compute.matrix.peak_clock"
                )
            }
        }
        for (path, figure) in document.figures where figure.kind == .derived || figure.kind == .estimated {
            if figure.how == nil { fail(path, "\(figure.kind.withArticle) figure must say how it was obtained (how: ...)") }
        }
        return errors.sorted { ($0.line ?? 0, $0.path) < ($1.line ?? 0, $1.path) }
    }
}
