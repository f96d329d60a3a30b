import Chips
import Workloads

extension Engine {
    /// A kernel run back to back, as benchmarks time it: the clock it settles at under the power
    /// limit (junction at its steady-state temperature), and its duration and power there.
    public func sustained(_ kernel: Kernel, conditions: RunConditions = RunConditions()) throws -> (
        duration: Double, clock: Double, power: Double
    ) {
        let cost = try cost(of: kernel)
        let spec = machine.spec
        let model = PowerModel(spec)
        let energy = model.dynamicEnergy(cost, dtype: kernel.dtype, activity: kernel.activity)
        let limit = conditions.powerLimit ?? spec.power.limitMax.value
        let (ambient, resistance) = thermalPath(conditions)
        let boost = spec.clocks.boost.value
        func duration(_ f: Double) -> Double { cost.duration * (cost.computeFraction * boost / f + 1 - cost.computeFraction) }
        func power(_ f: Double) -> Double {
            let v = spec.clocks.voltage(at: f) / model.referenceVoltage
            let dynamic = energy.total(coreScale: v * v) / duration(f)
            var p = dynamic + model.uncorePower + model.clockPower(at: f)
            for _ in 0..<3 {
                p =
                    dynamic + model.uncorePower + model.clockPower(at: f)
                    + model.staticPower(temperature: ambient + p * resistance, clock: f)
            }
            return p
        }
        if let fixed = conditions.fixedClock { return (duration(fixed), fixed, power(fixed)) }
        if power(boost) <= limit { return (duration(boost), boost, power(boost)) }
        var low = spec.clocks.min.value
        var high = boost
        for _ in 0..<40 {
            let mid = (low + high) / 2
            if power(mid) <= limit { low = mid } else { high = mid }
        }
        return (duration(low), low, power(low))
    }
}

/// A trace run back to back at thermal steady state (``Engine/sustained(_:duration:conditions:)``).
public struct SustainedRun: Sendable {
    /// One pass of the trace, averaged over the repeats.
    public var stepTime: Double
    /// Average power over the repeats (W).
    public var power: Double
    public var clock: Double
    public var peakTemperature: Double
    /// The repeated run itself.
    public var result: RunResult
    public var repeats: Int
}

extension Engine {
    /// Runs a trace back to back under the power model for `duration` of simulated time (long enough
    /// for the power cap to settle) with the chip at thermal steady state, as a benchmark of several
    /// minutes runs: the run starts with junction and heatsink settled at its own average power, found
    /// by iterating until that power moves by less than 0.5 W, so static power is the settled
    /// junction's, not a cold chip's.
    public func sustained(_ trace: Trace, duration: Double, conditions: RunConditions = RunConditions()) throws -> SustainedRun {
        let once = try run(trace, conditions: conditions)
        let repeats = max(2, min(2000, Int((duration / max(once.totalTime, 1e-9)).rounded(.up))))
        let repeated = trace.repeated(repeats)
        // A chip whose power would settle its junction above the maximum operating temperature
        // slows down until it does not: in steady state it draws at most what the cooling removes
        // at that temperature (the software thermal slowdown of PowerControl), so it starts there.
        let (ambient, resistance) = thermalPath(conditions)
        let thermalCap = (machine.spec.thermal.maxOperating.value - ambient) / resistance
        func settled(_ power: Double) -> Double { min(power, max(thermalCap, 0)) }
        var warm = conditions
        warm.initialPower = settled(once.power.averagePower)
        var result = try run(repeated, conditions: warm)
        for _ in 0..<8 where abs(settled(result.power.averagePower) - (warm.initialPower ?? 0)) >= 0.5 {
            warm.initialPower = settled(result.power.averagePower)
            result = try run(repeated, conditions: warm)
        }
        return SustainedRun(
            stepTime: result.totalTime / Double(repeats), power: result.power.averagePower, clock: result.power.averageClock,
            peakTemperature: result.power.peakTemperature, result: result, repeats: repeats)
    }
}

extension Engine {
    /// The ambient (or coolant) temperature and the junction-to-ambient thermal resistance under
    /// `conditions`: the junction settles at ambient + power x resistance.
    func thermalPath(_ conditions: RunConditions) -> (ambient: Double, resistance: Double) {
        let spec = machine.spec
        let cooling = conditions.cooling ?? spec.thermal.cooling
        return (
            conditions.ambient ?? spec.thermal.ambient.value,
            spec.thermal.junctionResistance.value + spec.thermal.heatsinkResistance(cooling).value
        )
    }
}
