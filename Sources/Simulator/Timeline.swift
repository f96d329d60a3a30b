import Foundation
import SimCore

extension RunResult {
    /// The run as a Chrome trace / Perfetto JSON timeline (../shared/reference/formats.md): one
    /// process for the simulated device, one track per stream with each kernel a complete event
    /// (its op, dtype, bound, units, FLOPs and bytes as arguments), and counters for power,
    /// junction temperature, core clock and HBM bandwidth from the power model's samples. On a
    /// system, each class of link the rank's collectives use has a track (one per stream, so that
    /// collectives on two streams never overlap on a track): each collective's use of it, as long
    /// as the link was busy, from the collective's start, with its bytes and achieved bandwidth.
    /// Times are microseconds with three decimals (nanosecond resolution), `displayTimeUnit: ns`.
    public func chromeTrace(process: String) -> String {
        var out = "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"xpusim\",\"chip\":\(jsonQuoted(chip)),"
        out += "\"workload\":\(jsonQuoted(workload))},\"traceEvents\":[\n"
        func us(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1e6) }
        func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "0" }
        var events: [String] = []
        events.append("{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{\"name\":\(jsonQuoted(process))}}")
        let streams = Set(kernels.map(\.stream)).sorted()
        for stream in streams {
            events.append(
                "{\"ph\":\"M\",\"pid\":1,\"tid\":\(stream + 1),\"name\":\"thread_name\",\"args\":{\"name\":\"stream \(stream)\"}}")
            events.append(
                "{\"ph\":\"M\",\"pid\":1,\"tid\":\(stream + 1),\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":\(stream)}}")
        }
        for k in kernels {
            let c = k.cost
            events.append(
                "{\"ph\":\"X\",\"pid\":1,\"tid\":\(k.stream + 1),\"name\":\(jsonQuoted(k.id)),\"cat\":\(jsonQuoted(k.op)),"
                    + "\"ts\":\(us(k.start)),\"dur\":\(us(k.duration)),\"args\":{\"op\":\(jsonQuoted(k.op)),"
                    + "\"dtype\":\"\(k.dtype.rawValue)\",\"bound\":\"\(c.bound.rawValue)\",\"units\":\(c.unitsUsed),"
                    + "\"flops\":\(number(c.flops)),\"hbm_bytes\":\(number(c.hbmBytes)),\"energy_j\":\(number(k.energy))}}")
        }
        let linkNames = linkTotals.map(\.name)
        var linkTracks = Set<Int>()
        for k in kernels {
            guard let c = k.cost.collective else { continue }
            for use in c.links where use.busy > 0 {
                let link = linkNames.firstIndex(of: use.name) ?? 0
                let tid = 1000 + link * 100 + k.stream
                if linkTracks.insert(tid).inserted {
                    let name = "link \(use.name)" + (streams.count > 1 ? " (stream \(k.stream))" : "")
                    events.append(
                        "{\"ph\":\"M\",\"pid\":1,\"tid\":\(tid),\"name\":\"thread_name\",\"args\":{\"name\":\(jsonQuoted(name))}}")
                    events.append("{\"ph\":\"M\",\"pid\":1,\"tid\":\(tid),\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":\(tid)}}")
                }
                events.append(
                    "{\"ph\":\"X\",\"pid\":1,\"tid\":\(tid),\"name\":\(jsonQuoted(k.id)),\"cat\":\"link\",\"ts\":\(us(k.start)),"
                        + "\"dur\":\(us(min(use.busy, k.duration))),\"args\":{\"link\":\(jsonQuoted(use.name)),"
                        + "\"bytes\":\(number(use.bytes)),\"achieved_gb_per_s\":\(number(use.bytes / use.busy / 1e9)),"
                        + "\"line_rate_gb_per_s\":\(number(use.lineRate / 1e9))}}"
                )
            }
        }
        for s in samples {
            let ts = us(s.time)
            events.append("{\"ph\":\"C\",\"pid\":1,\"name\":\"power W\",\"ts\":\(ts),\"args\":{\"power\":\(number(s.power))}}")
            events.append(
                "{\"ph\":\"C\",\"pid\":1,\"name\":\"temperature C\",\"ts\":\(ts),\"args\":{\"junction\":\(number(s.temperature))}}")
            events.append("{\"ph\":\"C\",\"pid\":1,\"name\":\"clock MHz\",\"ts\":\(ts),\"args\":{\"core\":\(number(s.clock / 1e6))}}")
            events.append(
                "{\"ph\":\"C\",\"pid\":1,\"name\":\"HBM GB/s\",\"ts\":\(ts),\"args\":{\"hbm\":\(number(s.hbmBandwidth / 1e9))}}")
        }
        out += events.joined(separator: ",\n")
        out += "\n]}\n"
        return out
    }
}
