import Chips
import Estimates
import Experiments
import Foundation
import SimCore
import Store
import Sweeps
import Systems

public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// HTML reports of stored runs, comparisons of runs, and sweeps (`xpusim report`).
public enum Reports {
    /// The chip a run was simulated on, as its chip file and overrides give it now, and whether
    /// that is still exactly the description the run stored.
    /// On a system: one device of it (a 910C die), with the system's figures as the run set them.
    /// `current` compares the descriptions without the folder the chip file was read from.
    static func chip(of run: StoredRun, chips: String, stored: String?) -> (spec: ChipSpec, current: Bool)? {
        let o = run.optionValues
        let overrides = o["set"].map { $0.components(separatedBy: "; ") } ?? []
        let target =
            run.systemID != nil
            ? RunTarget(system: o["system"] ?? run.systemID, nodes: run.nodes, overrides: overrides, chips: chips)
            : RunTarget(chip: o["chip"] ?? run.chipID, overrides: overrides, chips: chips)
        guard let spec = try? target.resolve().spec else { return nil }
        return (spec, stored.map { withoutFolder($0) == withoutFolder(spec.document.canonicalJSON) } ?? false)
    }

    /// Canonical JSON with its `"file"` value cut to the file's name.
    static func withoutFolder(_ json: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return json }
        if let file = object["file"] as? String { object["file"] = file.split(separator: "/").last.map(String.init) ?? file }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
            ?? json
    }

    static func label(_ run: StoredRun) -> String {
        let o = run.optionValues
        var text = "#\(run.id) \(run.systemID.map { "\($0) x\(run.nodes ?? 1)" } ?? run.chipID)"
        if let set = o["set"], o["sweep"] == nil { text += " (\(set))" }
        return text
    }

    static func time(_ s: Double) -> String { Quantity.format(s, .time) }

    // MARK: run

    /// One run: its summary, the roofline of its kernels, where the time goes, power, temperature
    /// and clock over time, and (on a system) its collectives' bus bandwidth against the links.
    public static func run(_ id: Int64, store: RunStore, chips: String) throws -> Page {
        guard let run = try store.run(id) else { throw ReportError("no run \(id) in \(store.path) (xpusim runs list)") }
        let kernels = try store.kernels(id)
        let samples = try store.samples(id)
        let o = run.optionValues
        let resolved = chip(of: run, chips: chips, stored: try store.chipJSON(id))
        var sections: [Page.Section] = []

        var summary = Page.Table(["figure", "value"], numeric: [1])
        var rows: [[String]] = [
            ["chip", run.chipID], ["workload", "\(run.workloadID) (\(o["workload"] ?? "-"))"], ["kernels", "\(run.kernelCount)"],
            ["time", time(run.time)], ["throughput", "\(siLabel(run.throughput))FLOP/s"],
        ]
        if let system = run.systemID {
            rows.insert(["system", "\(system), \(run.nodes ?? 1) node(s), \(run.devices ?? 0) devices"], at: 1)
        }
        if let set = o["set"] { rows.append(["figures set", set]) }
        if let t = run.tokensPerSecond { rows.append(["tokens/s", formatNumber(t)]) }
        if let e = run.energy { rows.append(["energy (chip)", "\(siLabel(e))J"]) }
        if let p = run.averagePower { rows.append(["average power (chip)", "\(formatNumber(p)) W"]) }
        if let p = run.peakPower { rows.append(["peak power (chip)", "\(formatNumber(p)) W"]) }
        if let t = run.peakTemperature { rows.append(["peak junction temperature", "\(formatNumber(t)) C"]) }
        if let t = run.throttled { rows.append(["throttled", time(t)]) }
        if let p = run.systemAveragePower { rows.append(["average power (whole system)", "\(formatNumber(p)) W"]) }
        rows += [["tool version", run.toolVersion]]
        summary.rows = rows
        sections.append(Page.Section("Summary", table: summary))

        // Roofline: each kernel at its arithmetic intensity (FLOP per HBM byte) and achieved FLOP/s.
        let points = kernels.filter { $0.flops > 0 && $0.hbmBytes > 0 && $0.duration > 0 }
        if !points.isEmpty {
            var byOp: [String: [StoredKernel]] = [:]
            for k in points { byOp[k.op, default: []].append(k) }
            let ops = byOp.keys.sorted { (byOp[$0]!.map(\.duration).reduce(0, +), $1) > (byOp[$1]!.map(\.duration).reduce(0, +), $0) }
            let intensities = points.map { $0.flops / $0.hbmBytes }
            var ys = points.map(\.flopsPerSecond)
            var series: [Chart.Series] = []
            var roofText = "No roofs: the run's chip (\(run.chipID)) is not in the chips folder."
            let x = Axis(
                "arithmetic intensity (FLOP per HBM byte)", values: intensities + [intensities.min()! / 2, intensities.max()! * 2],
                log: true)
            if let (spec, current) = resolved {
                let flopsByDtype = Dictionary(grouping: points, by: \.dtype).mapValues { $0.map(\.flops).reduce(0, +) }
                let dtype = flopsByDtype.max { $0.value < $1.value }.flatMap { DataType(rawValue: $0.key) } ?? .bf16
                let bandwidth = spec.memory.hbmBandwidth.value
                for (i, roof) in [(dtype, spec.peakMatrixFLOPS(dtype)), (DataType.fp32, spec.peakVectorFLOPS(.fp32))].enumerated() {
                    guard let peak = roof.1 else { continue }
                    ys.append(peak)
                    let ridge = peak / bandwidth
                    // The roof min(bandwidth x intensity, peak) at the axis' ends and at the ridge, if it is on the axis.
                    let pts = ([x.lower] + (ridge > x.lower && ridge < x.upper ? [ridge] : []) + [x.upper]).map { ($0, bandwidth * $0) }
                    series.append(
                        Chart.Series(
                            name: i == 0 ? "\(roof.0.rawValue) matrix peak, HBM \(siLabel(bandwidth))B/s" : "fp32 vector peak",
                            points: pts.map { (x: $0.0, y: min($0.1, peak)) }, color: i == 0 ? "#444444" : "#999999", line: true))
                }
                roofText =
                    "Roofs from \(spec.name)'s peaks at boost clock: \(dtype.rawValue) matrix "
                    + "\(siLabel(spec.peakMatrixFLOPS(dtype) ?? 0))FLOP/s, "
                    + "HBM \(siLabel(bandwidth))B/s"
                    + (current ? "." : " (from the chip file as it is now, which differs from the description the run stored).")
            }
            for (i, op) in ops.prefix(7).enumerated() {
                let ks = byOp[op]!
                series.append(
                    Chart.Series(
                        name: op, points: ks.map { (x: $0.flops / $0.hbmBytes, y: $0.flopsPerSecond) }, color: palette[i % palette.count]))
            }
            if ops.count > 7 {
                let rest = ops.dropFirst(7).flatMap { byOp[$0]! }
                series.append(
                    Chart.Series(
                        name: "other ops", points: rest.map { (x: $0.flops / $0.hbmBytes, y: $0.flopsPerSecond) }, color: "#bbbbbb"))
            }
            let y = Axis("achieved FLOP/s", values: ys + [ys.min()! / 2], log: true)
            var table = Page.Table(
                ["op", "kernels", "time", "FLOP/byte (median)", "FLOP/s (median)", "bound (most time)"], numeric: [1, 2, 3, 4])
            for op in ops {
                let ks = byOp[op]!
                let median = { (v: [Double]) in v.sorted()[v.count / 2] }
                let bound = Dictionary(grouping: ks, by: \.bound).mapValues { $0.map(\.duration).reduce(0, +) }.max { $0.value < $1.value }!
                    .key
                table.rows.append([
                    op, "\(ks.count)", time(ks.map(\.duration).reduce(0, +)), formatNumber(median(ks.map { $0.flops / $0.hbmBytes })),
                    siLabel(median(ks.map(\.flopsPerSecond))), bound,
                ])
            }
            sections.append(
                Page.Section(
                    "Roofline", text: "Each kernel at its arithmetic intensity and the FLOP/s it achieved. " + roofText,
                    svg: Chart.plot(
                        "Roofline: \(run.chipID) on \(run.workloadID)", x: x, y: y, series: series, height: 420, legend: .bottomRight),
                    table: table))
        }

        // Where the time goes: kernel time by op (summed over streams), and the longest kernels.
        if !kernels.isEmpty {
            var byOp: [String: (time: Double, count: Int)] = [:]
            for k in kernels {
                byOp[k.op, default: (0, 0)].time += k.duration
                byOp[k.op]!.count += 1
            }
            let total = kernels.map(\.duration).reduce(0, +)
            let ranked = byOp.sorted { ($0.value.time, $1.key) > ($1.value.time, $0.key) }
            var table = Page.Table(["op", "kernels", "time", "share"], numeric: [1, 2, 3])
            table.rows = ranked.map {
                [$0.key, "\($0.value.count)", time($0.value.time), String(format: "%.1f%%", 100 * $0.value.time / max(total, 1e-30))]
            }
            sections.append(
                Page.Section(
                    "Time by op",
                    text: "Kernel time summed over streams (\(time(total)) of kernels in a run of \(time(run.time))).",
                    svg: Chart.bars(
                        "Kernel time by op", unit: "s",
                        items: ranked.prefix(20).enumerated().map {
                            (label: $0.element.key, value: $0.element.value.time, color: palette[0])
                        }),
                    table: table))
            let longest = kernels.sorted { ($0.duration, $1.seq) > ($1.duration, $0.seq) }.prefix(15)
            var top = Page.Table(["#", "kernel", "op", "dtype", "time", "FLOP/s", "HBM B/s", "bound", "units"], numeric: [0, 4, 5, 6, 8])
            top.rows = longest.map {
                [
                    "\($0.seq)", $0.kernelID, $0.op, $0.dtype, time($0.duration), siLabel($0.flopsPerSecond), siLabel($0.hbmBytesPerSecond),
                    $0.bound, "\($0.unitsUsed)",
                ]
            }
            sections.append(
                Page.Section(
                    "Longest kernels",
                    svg: Chart.bars(
                        "The \(longest.count) longest kernels", unit: "s",
                        items: longest.map { (label: "\($0.seq) \($0.kernelID)", value: $0.duration, color: palette[2]) }),
                    table: top))
        }

        // Power, temperature and clock over time.
        if samples.count >= 2 {
            let ts = samples.map(\.time)
            let x = Axis("time (s)", values: ts)
            var table = Page.Table(["t (s)", "power (W)", "junction (C)", "clock (MHz)"], numeric: [0, 1, 2, 3])
            let step = max(1, samples.count / 20)
            table.rows = stride(from: 0, to: samples.count, by: step).map { i in
                let s = samples[i]
                return [formatNumber(s.time), formatNumber(s.power), formatNumber(s.temperature), formatNumber(s.clock / 1e6)]
            }
            var svg = ""
            for (name, unit, values, color) in [
                ("Power", "W", samples.map(\.power), palette[1]), ("Junction temperature", "C", samples.map(\.temperature), palette[3]),
                ("Clock", "Hz", samples.map(\.clock), palette[2]),
            ] {
                svg += Chart.plot(
                    "\(name) over time", x: x, y: Axis("\(name.lowercased()) (\(unit))", values: values, includeZero: name == "Power"),
                    series: [Chart.Series(name: "", points: zip(ts, values).map { (x: $0, y: $1) }, color: color, line: true)], height: 240)
            }
            sections.append(
                Page.Section(
                    "Power, temperature and clock",
                    text: "As the power and thermal model ran them (\(samples.count) samples; every \(step) in the table).",
                    svg: svg, table: table))
        }

        // Links on a system: how much of the run each class of link was busy, and how close to its
        // line rate it ran while busy.
        let links = try store.links(id)
        if !links.isEmpty {
            var table = Page.Table(
                [
                    "link (one rank, per direction)", "bytes", "busy", "busy share of the run", "achieved while busy", "line rate",
                    "of line rate",
                ],
                numeric: [1, 2, 3, 4, 5, 6])
            table.rows = links.map { l in
                [
                    l.name, Quantity.format(l.bytes, .bytes), time(l.busy), String(format: "%.1f%%", 100 * l.busy / max(run.time, 1e-30)),
                    "\(siLabel(l.achieved))B/s", "\(siLabel(l.lineRate))B/s",
                    l.lineRate > 0 ? String(format: "%.0f%%", 100 * l.achieved / l.lineRate) : "-",
                ]
            }
            var svg = Chart.bars(
                "Share of the run each link class was busy", unit: "%",
                items: links.enumerated().map {
                    (label: $0.element.name, value: 100 * $0.element.busy / max(run.time, 1e-30), color: palette[$0.offset % palette.count])
                },
                format: { String(format: "%.1f", $0) })
            svg += Chart.bars(
                "Achieved bandwidth while busy, of the line rate", unit: "%",
                items: links.enumerated().map {
                    (
                        label: $0.element.name, value: $0.element.lineRate > 0 ? 100 * $0.element.achieved / $0.element.lineRate : .nan,
                        color: palette[$0.offset % palette.count]
                    )
                },
                format: { String(format: "%.0f", $0) })
            sections.append(
                Page.Section(
                    "Links",
                    text: "What one rank's collectives moved over each class of link, per direction, as the fabric model ran them.",
                    svg: svg, table: table))
        }

        // Collectives on a system: bus bandwidth against the chip's scale-up links.
        let collectives = kernels.filter { $0.busBandwidth != nil }
        if !collectives.isEmpty {
            let system = run.systemID.flatMap { try? SystemCatalog.resolve($0, nodes: run.nodes, chips: chips) }
            let scaleUp = system.map { Double($0.scaleUp.linksPerChip) * $0.scaleUp.bandwidthPerLink.value }
            var table = Page.Table(
                ["#", "kernel", "op", "algorithm", "protocol", "time", "bus bandwidth", "of scale-up links"], numeric: [0, 5, 6, 7])
            let shown = collectives.sorted { ($0.duration, $1.seq) > ($1.duration, $0.seq) }.prefix(20)
            table.rows = shown.map { k in
                let share = scaleUp.map { String(format: "%.0f%%", 100 * (k.busBandwidth ?? 0) / $0) } ?? "-"
                return [
                    "\(k.seq)", k.kernelID, k.op, k.algorithm ?? "-", k.protocol ?? "-", time(k.duration),
                    "\(siLabel(k.busBandwidth ?? 0))B/s", share,
                ]
            }
            let text =
                scaleUp.map {
                    "Each collective's bus bandwidth (NCCL's definition) as a share of one chip's scale-up bandwidth "
                        + "(\(system!.scaleUp.linksPerChip) links x \(siLabel(system!.scaleUp.bandwidthPerLink.value))B/s = "
                        + "\(siLabel($0))B/s per direction)."
                } ?? "Each collective's bus bandwidth (NCCL's definition)."
            sections.append(
                Page.Section(
                    "Links: collectives", text: text,
                    svg: Chart.bars(
                        "Bus bandwidth of the longest collectives", unit: "B/s",
                        items: shown.map { (label: "\($0.seq) \($0.kernelID)", value: $0.busBandwidth ?? 0, color: palette[5]) }),
                    table: table))
        }
        return Page(
            title: "Run #\(run.id): \(run.workloadID) on \(run.systemID ?? run.chipID)",
            subtitle: "\(time(run.time)), \(run.kernelCount) kernels; xpusim \(run.toolVersion)", sections: sections)
    }
}
