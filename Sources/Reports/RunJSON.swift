import Experiments
import Fabric
import Foundation
import Simulator

/// The JSON of `run --format json` (docs/json.md): a run's object, and what a run on a system adds.
public enum RunJSON {
    /// The run as `run --format json` prints it (docs/json.md); `result` is of the trace repeated `repeat` times.
    public static func object(_ result: RunResult, repeat: Int) -> [String: Any] {
        var object: [String: Any] = [
            "chip": result.chip, "workload": result.workload, "repeat": `repeat`, "clock_hz": result.clock, "total_s": result.totalTime,
            "total_flops": result.totalFLOPs, "total_hbm_bytes": result.totalHBMBytes,
            "kernels": result.kernels.map { k -> [String: Any] in
                [
                    "id": k.id, "op": k.op, "dtype": k.dtype.rawValue, "stream": k.stream, "start_s": k.start, "end_s": k.end,
                    "duration_s": k.duration, "cycles": k.cycles, "flops": k.cost.flops, "tflops": k.achievedFLOPS / 1e12,
                    "hbm_bytes": k.cost.hbmBytes, "l2_bytes": k.cost.l2Bytes, "buffer_bytes": k.cost.bufferBytes,
                    "hbm_tb_per_s": k.achievedHBMBandwidth / 1e12, "bound": k.cost.bound.rawValue,
                    "busy": ["matrix": k.cost.matrixBusy, "vector": k.cost.vectorBusy, "hbm": k.cost.hbmBusy],
                    "units_used": k.cost.unitsUsed, "decomposition": k.cost.decomposition, "energy_j": k.energy,
                ]
            },
        ]
        if let tokens = result.tokens {
            object["tokens"] = tokens
            object["tokens_per_s"] = Double(tokens) / result.totalTime
            object["tokens_per_j"] = Double(tokens) / result.power.energy
        }
        let p = result.power
        object["energy_j"] = p.energy
        object["avg_power_w"] = p.averagePower
        object["peak_power_w"] = p.peakPower
        object["peak_temp_c"] = p.peakTemperature
        object["avg_clock_hz"] = p.averageClock
        object["power_limit_w"] = p.powerLimit
        object["throttled_s"] = ["power_cap": p.powerThrottled, "thermal": p.thermalThrottled]
        object["reached_shutdown"] = p.reachedShutdown
        let (samples, stride) = result.downsampledSamples()
        object["samples"] = [
            "stride": stride, "t_s": samples.map(\.time), "power_w": samples.map(\.power), "temp_c": samples.map(\.temperature),
            "clock_hz": samples.map(\.clock), "hbm_bytes_per_s": samples.map(\.hbmBandwidth),
        ]
        return object
    }

    public static func add(_ run: SystemRun, to object: inout [String: Any]) {
        object["system"] = run.system.id
        object["nodes"] = run.system.nodes
        object["devices"] = run.system.totalDevices
        object["device_avg_power_w"] = run.result.power.averagePower
        object["avg_power_w"] = run.averagePower
        object["energy_j"] = run.energy
        object["device_peak_power_w"] = run.result.power.peakPower
        object["peak_power_w"] = run.extrasPower + run.result.power.peakPower * Double(run.system.totalDevices)
        if let tokens = run.result.tokens { object["tokens_per_j"] = Double(tokens) / run.energy }
        object["power_parts_w"] = ["chips": run.chipsPower, "node_and_domain": run.extrasPower]
        var byID: [String: CollectiveResult] = [:]
        for c in run.collectives { byID[c.id] = c.result }
        if var kernels = object["kernels"] as? [[String: Any]] {
            for index in kernels.indices {
                guard let id = kernels[index]["id"] as? String, let c = byID[id] else { continue }
                kernels[index]["algorithm"] = c.algorithm.rawValue
                kernels[index]["protocol"] = c.protocol.rawValue
                kernels[index]["algbw_gbps"] = c.algorithmBandwidth / 1e9
                kernels[index]["busbw_gbps"] = c.busBandwidth / 1e9
                kernels[index]["ranks"] = c.placement.ranks
            }
            object["kernels"] = kernels
        }
        object["links"] = run.links.map {
            [
                "name": $0.name, "bytes": $0.bytes, "busy_s": $0.busy, "achieved_bytes_per_s": $0.busy > 0 ? $0.bytes / $0.busy : 0,
                "line_rate_bytes_per_s": $0.lineRate,
            ]
                as [String: Any]
        }
    }
}
