import Chips
import Foundation

/// The control loop of a run: every control interval, the interval's average power drives the
/// thermal RC network, and the clock for the next interval is set from the power limit and the
/// temperature, as GPU power capping and thermal slowdown do. The memory clock does not change.
///
/// Thermal network (two nodes): junction/package (R_j, C_j) and heatsink or cold plate (R_h, C_h)
/// to the ambient air or coolant:
///   C_j dT_j/dt = P - (T_j - T_h) / R_j
///   C_h dT_h/dt = (T_j - T_h) / R_j - (T_h - T_amb) / R_h
///
/// Clock for the next interval:
/// - power cap: the highest clock on the V-f curve whose predicted power (uncore + static at the
///   junction temperature + last interval's dynamic power rescaled by V^2 f) stays within the limit;
/// - software thermal slowdown above the maximum operating temperature: the limit becomes the power
///   the cooling removes at that temperature in steady state, (T_max - T_amb) / (R_j + R_h);
/// - hardware slowdown at the slowdown temperature: at most half the boost clock;
/// - at the shutdown temperature: the minimum clock, and the run records it.
struct PowerControl {
    let machine: Machine
    let power: PowerModel
    let interval: Double
    let limit: Double
    let fixedClock: Double?
    let ambient: Double
    let rJunction: Double, cJunction: Double, rSink: Double, cSink: Double

    private(set) var clock: Double
    private(set) var nextTick: Double
    private(set) var junction: Double
    private(set) var sink: Double
    private var intervalStart = 0.0
    private var intervalEnergy = 0.0
    private var intervalDynamicEnergy = DynamicEnergy()
    /// The part of it whose rate of work follows the clock (each kernel's compute-bound share).
    private var intervalScalingEnergy = DynamicEnergy()
    private var intervalHBMBytes = 0.0
    private var clockTime = 0.0
    private(set) var summary = PowerSummary()
    private(set) var samples: [Sample] = []

    init(machine: Machine, power: PowerModel, conditions: RunConditions) {
        let spec = machine.spec
        self.machine = machine
        self.power = power
        interval = spec.power.controlInterval.value
        limit = conditions.powerLimit ?? spec.power.limitMax.value
        fixedClock = conditions.fixedClock
        ambient = conditions.ambient ?? spec.thermal.ambient.value
        let cooling = conditions.cooling ?? spec.thermal.cooling
        rJunction = spec.thermal.junctionResistance.value
        cJunction = spec.thermal.junctionCapacitance.value
        rSink = spec.thermal.heatsinkResistance(cooling).value
        cSink = spec.thermal.heatsinkCapacitance.value
        clock = conditions.fixedClock ?? spec.clocks.boost.value
        nextTick = interval
        // The chip starts at thermal equilibrium: idle, or at the power the conditions give.
        let start = conditions.initialPower ?? spec.power.idle.value
        sink = ambient + start * rSink
        junction = sink + start * rJunction
        summary.powerLimit = limit
        summary.ambient = ambient
        summary.cooling = cooling
        summary.peakTemperature = junction
    }

    /// Scale of dynamic energy at the current clock's voltage.
    var dynamicScale: Double {
        let v = machine.spec.clocks.voltage(at: clock) / power.referenceVoltage
        return v * v
    }

    /// Static, uncore and clock power now (kernels are running whenever the engine asks).
    var backgroundPower: Double { power.uncorePower + power.staticPower(temperature: junction, clock: clock) + power.clockPower(at: clock) }

    /// `dynamicPower`: the running kernels' dynamic power, the core's at the reference voltage;
    /// `scalingPower`: the part of it from their compute-bound shares, whose rate follows the clock.
    mutating func advance(by step: Double, dynamicPower: DynamicEnergy, scalingPower: DynamicEnergy, hbmBandwidth: Double) {
        guard step > 0 else { return }
        let total = dynamicPower.total(coreScale: dynamicScale) + backgroundPower
        intervalEnergy += total * step
        intervalDynamicEnergy = intervalDynamicEnergy + dynamicPower * step
        intervalScalingEnergy = intervalScalingEnergy + scalingPower * step
        intervalHBMBytes += hbmBandwidth * step
        clockTime += clock * step
    }

    mutating func tick(at now: Double) {
        let dt = now - intervalStart
        guard dt > 0 else {
            nextTick = now + interval
            return
        }
        let average = intervalEnergy / dt
        integrateThermal(power: average, over: dt)
        summary.energy += intervalEnergy
        summary.peakPower = max(summary.peakPower, average)
        summary.peakTemperature = max(summary.peakTemperature, junction)
        samples.append(Sample(time: now, power: average, temperature: junction, clock: clock, hbmBandwidth: intervalHBMBytes / dt))
        // The interval's dynamic power (the core's at V0): the compute-bound part at the boost
        // clock's rate of work, the memory-bound part as it ran (its rate does not follow the clock).
        let demand = Demand(
            scaling: intervalScalingEnergy * (1 / dt / (clock / machine.spec.clocks.boost.value)),
            fixed: (intervalDynamicEnergy - intervalScalingEnergy) * (1 / dt))
        setClock(demand, over: dt)
        intervalStart = now
        intervalEnergy = 0
        intervalDynamicEnergy = DynamicEnergy()
        intervalScalingEnergy = DynamicEnergy()
        intervalHBMBytes = 0
        nextTick = now + interval
    }

    mutating func finish(at now: Double) {
        if now > intervalStart { tick(at: now) }
        summary.averagePower = now > 0 ? summary.energy / now : backgroundPower
        summary.averageClock = now > 0 ? clockTime / now : clock
    }

    mutating func integrateThermal(power p: Double, over dt: Double) {
        // Explicit Euler in steps well below the junction time constant.
        let steps = max(1, Int((dt / (0.1 * rJunction * cJunction)).rounded(.up)))
        let h = dt / Double(steps)
        for _ in 0..<steps {
            let toSink = (junction - sink) / rJunction
            let toAmbient = (sink - ambient) / rSink
            junction += h * (p - toSink) / cJunction
            sink += h * (toSink - toAmbient) / cSink
        }
    }

    /// Dynamic power the running work asks for, split by whether its rate follows the clock.
    struct Demand {
        var scaling: DynamicEnergy
        var fixed: DynamicEnergy
    }

    mutating func setClock(_ demand: Demand, over dt: Double) {
        let spec = machine.spec
        let thermal = spec.thermal
        var target = fixedClock ?? spec.clocks.boost.value
        var thermalHeld = false
        if fixedClock == nil {
            var cap = limit
            if junction >= thermal.maxOperating.value {
                cap = min(cap, (thermal.maxOperating.value - ambient) / (rJunction + rSink))
                thermalHeld = true
            }
            let capped = highestClock(under: cap, demand)
            if capped < target * 0.9995 {
                if thermalHeld && highestClock(under: limit, demand) <= capped * 1.0005 {
                    thermalHeld = false
                }
                if !thermalHeld { summary.powerThrottled += dt }
            } else {
                thermalHeld = false
            }
            target = min(target, capped)
        }
        if junction >= thermal.slowdown.value {
            target = min(target, max(spec.clocks.min.value, spec.clocks.boost.value * thermal.slowdownClock))
            thermalHeld = true
        }
        if junction >= thermal.shutdown.value {
            target = spec.clocks.min.value
            summary.reachedShutdown = true
            thermalHeld = true
        }
        if thermalHeld { summary.thermalThrottled += dt }
        clock = target
    }

    /// The highest clock whose predicted power stays within `cap` (bisection on the V-f curve).
    func highestClock(under cap: Double, _ demand: Demand) -> Double {
        let spec = machine.spec
        func predicted(_ f: Double) -> Double {
            power.power(dynamic: demand.scaling, fixedRate: demand.fixed, clock: f, temperature: junction)
        }
        if predicted(spec.clocks.boost.value) <= cap { return spec.clocks.boost.value }
        if predicted(spec.clocks.min.value) >= cap { return spec.clocks.min.value }
        var low = spec.clocks.min.value
        var high = spec.clocks.boost.value
        for _ in 0..<30 {
            let mid = (low + high) / 2
            if predicted(mid) <= cap { low = mid } else { high = mid }
        }
        return low
    }
}
