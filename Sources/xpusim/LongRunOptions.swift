import ArgumentParser
import Estimates
import Foundation
import SimCore

/// `xpusim train`'s options for a long run: its length, checkpoints, storage, the day's heat and
/// the Monte Carlo. Given --days or --tokens, train adds the run's failures and goodput.
struct LongRunOptions: ParsableArguments {
    @Option(help: "Run for this many days of wall-clock time, with failures, checkpoints and restarts.") var days: Double?
    @Option(help: "Run until this many tokens are trained, e.g. 15.6T or 2e12 (instead of --days).") var tokens: String?
    @Option(help: "Checkpoint every this much training time, e.g. 30min (default: the interval that maximises goodput).")
    var checkpointInterval: String?
    @Flag(help: "Checkpoint asynchronously: stall only for the copy to host memory; the write runs behind the next steps.")
    var asyncCheckpoint = false
    @Option(help: "The checkpoint file system's aggregate bandwidth for the job, e.g. 2TB/s (default: the nodes' storage NICs).")
    var storageBandwidth: String?
    @Option(help: "Daily swing of the ambient or coolant temperature around --ambient, e.g. 5C for +-5 K (default: none).")
    var ambientSwing: String?
    @Option(help: "Monte Carlo over failure times: this many simulated runs (median and 10th/90th percentiles).") var trials = 0
    @Option(help: "Seed of the Monte Carlo's random numbers.") var seed: UInt64 = 1

    var requested: Bool { days != nil || tokens != nil }

    func validate() throws {
        if days != nil && tokens != nil { throw ValidationError("give --days or --tokens, not both") }
        if let days, !(days > 0 && days <= 3650) { throw ValidationError("--days must be between 0 and 3650, found \(days)") }
        if trials < 0 || trials > 100_000 { throw ValidationError("--trials must be between 0 and 100000") }
        if !requested && (trials > 0 || checkpointInterval != nil || asyncCheckpoint || storageBandwidth != nil || ambientSwing != nil) {
            throw ValidationError(
                "--trials, --checkpoint-interval, --async-checkpoint, --storage-bandwidth and --ambient-swing describe a long run: "
                    + "give --days or --tokens")
        }
        _ = try request()
    }

    /// "15.6T", "2e12", "500B": a token count.
    static func count(_ text: String) -> Double? {
        let suffixes: [Character: Double] = ["K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12]
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var factor = 1.0
        if let last = body.last, let f = suffixes[Character(last.uppercased())] {
            factor = f
            body = body.dropLast()
        }
        guard let value = Double(body), value.isFinite else { return nil }
        return value * factor
    }

    func request() throws -> LongRunRequest? {
        let length: LongRunRequest.Length
        if let days {
            length = .days(days)
        } else if let tokens {
            guard let n = LongRunOptions.count(tokens), n >= 1, n <= 1e18 else {
                throw ValidationError("--tokens: expected a count of tokens such as 15.6T or 2e12, found \"\(tokens)\"")
            }
            length = .tokens(n)
        } else {
            return nil
        }
        let interval = try optionQuantity(checkpointInterval, .time, "checkpoint-interval", positive: true)
        let storage = try optionQuantity(storageBandwidth, .bandwidth, "storage-bandwidth", positive: true)
        let swing = try optionQuantity(ambientSwing, .temperature, "ambient-swing", positive: false) ?? 0
        if swing < 0 || swing > 40 { throw ValidationError("--ambient-swing: expected a swing of 0 to 40 K, found \"\(ambientSwing!)\"") }
        return LongRunRequest(
            length: length, interval: interval, asynchronous: asyncCheckpoint, storageBandwidth: storage, ambientSwing: swing,
            trials: trials, seed: seed)
    }

    static func json(_ e: LongRunEstimate) -> [String: Any] {
        var causes: [String: Any] = [:]
        for (c, v) in e.interruptions { causes[c.rawValue] = v }
        var object: [String: Any] = [
            "goodput": e.goodput.fraction, "interruptions": e.totalInterruptions, "interruptions_by_cause": causes,
            "checkpoint_interval_s": e.interval, "young_interval_s": e.youngInterval, "daly_interval_s": e.dalyInterval,
            "checkpoint_bytes": e.checkpoint.bytes, "checkpoint_write_s": e.checkpoint.writeTime, "checkpoint_stall_s": e.checkpoint.stall,
            "async_checkpoint": e.checkpoint.asynchronous, "restart_s": e.checkpoint.restart, "reload_s": e.checkpoint.reloadTime,
            "mtti_s": e.rates.mtti, "wall_time_s": e.wallTime, "useful_time_s": e.usefulTime, "lost_to_checkpoints_s": e.checkpointTime,
            "lost_to_recomputation_s": e.reworkTime, "lost_to_restarts_s": e.restartTime, "lost_work_per_failure_s": e.lostWorkPerFailure,
            "effective_tokens_per_day": e.effectiveTokensPerDay, "useful_tokens": e.usefulTokens,
            "joules_per_useful_token": e.joulesPerUsefulToken, "tokens_per_s_day_average": e.tokensPerSecond,
            "junction_temperature_c": e.temperature, "ambient_swing_k": e.request.ambientSwing,
        ]
        if let s = e.spread {
            func spread(_ x: Spread) -> [String: Any] { ["p10": x.p10, "median": x.median, "p90": x.p90] }
            object["monte_carlo"] = [
                "trials": s.trials, "seed": s.seed, "goodput": spread(s.goodput), "interruptions": spread(s.interruptions),
                "effective_tokens_per_day": spread(s.effectiveTokensPerDay), "wall_time_s": spread(s.wallTime),
            ]
        }
        return object
    }

    static func lines(_ e: LongRunEstimate) -> [String] {
        let percent = { (x: Double) in "\(formatNumber(x * 100))%" }
        let hours = { (x: Double) in "\(formatNumber(x / 3600)) h" }
        let days = { (x: Double) in "\(formatNumber(x / 86_400)) days" }
        let c = e.checkpoint
        let causes = e.interruptions.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \(formatNumber($0.value))" }
        var out = [
            "",
            "long run        \(days(e.wallTime)) wall clock, \(formatNumber(e.usefulTokens / 1e9)) B tokens trained"
                + (e.request.ambientSwing > 0
                    ? ", ambient +-\(formatNumber(e.request.ambientSwing)) K over the day (throughput "
                        + "\(formatNumber(e.tokensPerSecondRange.lowerBound))-\(formatNumber(e.tokensPerSecondRange.upperBound)) tokens/s)"
                    : ""),
            "failures        MTTI \(hours(e.rates.mtti)) at \(formatNumber(e.temperature)) C junction: "
                + "\(formatNumber(e.totalInterruptions)) interruptions (\(causes.joined(separator: ", ")))",
            "checkpoints     \(formatNumber(c.bytes / 1e12)) TB written at \(formatNumber(c.bytes / c.writeTime / 1e9)) GB/s, every "
                + "\(Quantity.format(e.interval, .time)) "
                + (c.asynchronous
                    ? "(no shorter than the write), "
                    : "(Young \(Quantity.format(e.youngInterval, .time)), Daly \(Quantity.format(e.dalyInterval, .time))), ")
                + (c.asynchronous
                    ? "\(Quantity.format(c.stall, .time)) stall to host, written in \(Quantity.format(c.writeTime, .time))"
                    : "\(Quantity.format(c.stall, .time)) stall each"),
            "restart         \(Quantity.format(c.restart, .time)): detection \(Quantity.format(c.detection, .time)), rescheduling "
                + "\(Quantity.format(c.reschedule, .time)), reload \(Quantity.format(c.reloadTime, .time)), warm-up "
                + "\(Quantity.format(c.warmup, .time))",
            "time lost       \(hours(e.checkpointTime)) to checkpoints, \(hours(e.reworkTime)) to recomputation "
                + "(\(Quantity.format(e.lostWorkPerFailure, .time)) per failure), \(hours(e.restartTime)) to restarts",
            "goodput         \(percent(e.goodput.fraction)): \(formatNumber(e.effectiveTokensPerDay / 1e9)) B effective tokens per day, "
                + "\(formatNumber(e.joulesPerUsefulToken)) J per useful token",
        ]
        if let s = e.spread {
            let isDays: Bool
            if case .days = e.request.length { isDays = true } else { isDays = false }
            out.append(
                "monte carlo     \(s.trials) runs (seed \(s.seed)): goodput \(percent(s.goodput.median)) "
                    + "[\(percent(s.goodput.p10)), \(percent(s.goodput.p90))], interruptions \(formatNumber(s.interruptions.median)) "
                    + "[\(formatNumber(s.interruptions.p10)), \(formatNumber(s.interruptions.p90))], "
                    + (isDays
                        ? "effective tokens per day \(formatNumber(s.effectiveTokensPerDay.median / 1e9)) B "
                            + "[\(formatNumber(s.effectiveTokensPerDay.p10 / 1e9)), \(formatNumber(s.effectiveTokensPerDay.p90 / 1e9))]"
                        : "wall clock \(days(s.wallTime.median)) [\(days(s.wallTime.p10)), \(days(s.wallTime.p90))]")
                    + " (median [p10, p90])")
        }
        return out
    }
}
