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
        let ambient = conditions.ambient ?? spec.thermal.ambient.value
        let cooling = conditions.cooling ?? spec.thermal.cooling
        let resistance = spec.thermal.junctionResistance.value + spec.thermal.heatsinkResistance(cooling).value
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
