import Chips
import Foundation
import SimCore
import Workloads

/// Power from what ran: dynamic energy per kernel, static power, uncore power.
///
/// - Dynamic energy (at the boost-clock voltage V0): MACs x energy per MAC for the data type,
///   scaled by operand activity (a floor for clocking and control, the rest with the data's
///   switching), plus bytes moved at each memory level and on links x energy per byte, plus vector
///   work. Dynamic energy per operation scales with V^2 at other clocks, so dynamic power scales with V^2 f.
/// - Static power: the chip file's figure at its reference temperature, rising exponentially with
///   temperature and linearly with voltage.
/// - Uncore power: what makes an idle chip draw its measured idle figure (idle clock, idle
///   temperature, nothing running): idle minus static power at that point.
/// - Clock power: while kernels run, the clock tree and always-active logic of the running core
///   clock draw the chip file's `power.clock_power` scaled by V^2 f (zero-work kernels still pay it).
public struct PowerModel: Sendable {
    public let spec: ChipSpec
    /// Voltage at the boost clock, the reference for dynamic energies.
    public let referenceVoltage: Double
    public let uncorePower: Double

    public init(_ spec: ChipSpec) {
        self.spec = spec
        referenceVoltage = spec.clocks.voltage(at: spec.clocks.boost.value)
        let thermal = spec.thermal
        let heatsink = thermal.heatsinkResistance(thermal.cooling).value
        let idleTemperature = thermal.ambient.value + spec.power.idle.value * (thermal.junctionResistance.value + heatsink)
        let idleStatic = PowerModel.staticPower(
            spec, temperature: idleTemperature, voltage: spec.clocks.voltage(at: spec.clocks.min.value),
            referenceVoltage: spec.clocks.voltage(at: spec.clocks.boost.value))
        uncorePower = max(0, spec.power.idle.value - idleStatic)
    }

    static func staticPower(_ spec: ChipSpec, temperature: Double, voltage: Double, referenceVoltage: Double) -> Double {
        let p = spec.power
        return p.staticPower.value * (voltage / referenceVoltage)
            * exp(p.staticTemperatureCoefficient * (temperature - p.staticReferenceTemperature.value))
    }

    public func staticPower(temperature: Double, clock: Double) -> Double {
        PowerModel.staticPower(spec, temperature: temperature, voltage: spec.clocks.voltage(at: clock), referenceVoltage: referenceVoltage)
    }

    /// Energy of a vector FMA: the chip's fp32 MAC energy, or twice its 16-bit MAC energy where it lists no fp32.
    var vectorFMAEnergy: Double {
        let e = spec.power.energyPerMAC
        return e[.fp32] ?? e[.tf32] ?? (e[.bf16] ?? e[.fp16] ?? e.values.max() ?? 1e-12) * 2
    }

    /// Energy per MAC for `dtype`; a type the chip lists no energy for takes the nearest wider type's.
    func macEnergy(_ dtype: DataType) -> Double {
        let e = spec.power.energyPerMAC
        if let value = e[dtype] { return value }
        let wider = DataType.allCases.filter { $0 < dtype }.reversed()
        for candidate in wider { if let value = e[candidate] { return value } }
        return e.values.max() ?? 1e-12
    }

    /// Dynamic energy of a kernel (J): the core domain's at the reference voltage, and the memory
    /// and link domains'.
    public func dynamicEnergy(_ cost: KernelCost, dtype: DataType, activity: Double) -> DynamicEnergy {
        let floor = spec.power.macActivityFloor
        let dataFactor = floor + (1 - floor) * activity
        let perByte = spec.power.energyPerByte
        var core = cost.macs * macEnergy(dtype) * dataFactor
        core += cost.vectorFlops / 2 * vectorFMAEnergy * dataFactor
        core += cost.bufferBytes * (perByte[.l1] ?? 0)
        var memory = cost.hbmBytes * (perByte[.hbm] ?? 0)
        memory += cost.l2Bytes * (perByte[.l2] ?? 0)
        memory += cost.linkBytes * (perByte[.pcie] ?? perByte[.link] ?? 0)
        return DynamicEnergy(core: core, memory: memory)
    }

    /// Total power running at `clock` with the junction at `temperature`, with `dynamic` W of
    /// dynamic power whose rate of work follows the clock (compute-bound work; given at the boost
    /// clock's rate) and `fixedRate` W whose rate does not (memory-bound work), the core's part of
    /// each at V0.
    public func power(dynamic: DynamicEnergy, fixedRate: DynamicEnergy = DynamicEnergy(), clock: Double, temperature: Double) -> Double {
        let v = spec.clocks.voltage(at: clock) / referenceVoltage
        let rate = clock / spec.clocks.boost.value
        return uncorePower + staticPower(temperature: temperature, clock: clock) + clockPower(at: clock)
            + dynamic.total(coreScale: v * v) * rate + fixedRate.total(coreScale: v * v)
    }

    /// Clock-tree and always-active power while running at `clock`.
    public func clockPower(at clock: Double) -> Double {
        let v = spec.clocks.voltage(at: clock) / referenceVoltage
        return spec.power.clockPower.value * v * v * clock / spec.clocks.boost.value
    }
}

/// Dynamic energy (or power) split by voltage domain. The core domain (matrix and vector units,
/// register files, L1 / shared memory) follows the core clock's voltage, so its energy per
/// operation scales with V^2. HBM (its DRAM and PHY on their own supply), the L2 and crossbar
/// (a separate memory-subsystem rail on NVIDIA parts since Ampere, MSVDD beside NVVDD) and the
/// links' SerDes keep their voltage when the core clock moves, so their energy per byte does not.
public struct DynamicEnergy: Sendable, Equatable {
    public var core: Double
    public var memory: Double
    public init(core: Double = 0, memory: Double = 0) {
        self.core = core
        self.memory = memory
    }
    /// At the voltage scale `v2` (V^2 relative to the reference) of the core clock.
    public func total(coreScale v2: Double) -> Double { core * v2 + memory }
    public static func * (e: DynamicEnergy, k: Double) -> DynamicEnergy { DynamicEnergy(core: e.core * k, memory: e.memory * k) }
    public static func + (a: DynamicEnergy, b: DynamicEnergy) -> DynamicEnergy {
        DynamicEnergy(core: a.core + b.core, memory: a.memory + b.memory)
    }
    public static func - (a: DynamicEnergy, b: DynamicEnergy) -> DynamicEnergy {
        DynamicEnergy(core: a.core - b.core, memory: a.memory - b.memory)
    }
}

/// Operating conditions of a run.
public struct RunConditions: Sendable {
    /// Power limit (W); nil: the chip's highest settable limit (its default).
    public var powerLimit: Double?
    /// A fixed core clock (Hz) instead of the power-cap controller.
    public var fixedClock: Double?
    /// Ambient / coolant temperature; nil: the chip file's.
    public var ambient: Double?
    /// "air" or "liquid"; nil: the chip file's.
    public var cooling: Cooling?
    /// Start warm, as if the chip had drawn this power (W) long enough for its junction and heatsink
    /// to settle; nil: start idle at thermal equilibrium.
    public var initialPower: Double?

    public init(
        powerLimit: Double? = nil, fixedClock: Double? = nil, ambient: Double? = nil, cooling: Cooling? = nil, initialPower: Double? = nil
    ) {
        self.powerLimit = powerLimit
        self.fixedClock = fixedClock
        self.ambient = ambient
        self.cooling = cooling
        self.initialPower = initialPower
    }

    /// Checks the conditions against the chip's allowed ranges; the message says what is allowed.
    public func validate(for spec: ChipSpec) throws {
        if let limit = powerLimit, !(spec.power.limitMin.value...spec.power.limitMax.value).contains(limit) {
            throw ConditionError(
                condition: .powerLimit,
                message:
                    "\(formatNumber(limit)) W is outside \(spec.id)'s range "
                        + "\(Int(spec.power.limitMin.value))-\(Int(spec.power.limitMax.value)) W"
            )
        }
        if let clock = fixedClock, !(spec.clocks.min.value...spec.clocks.boost.value * 1.0001).contains(clock) {
            throw ConditionError(
                condition: .fixedClock,
                message: String(
                    format: "%.3f GHz is outside %@'s range %.3f-%.3f GHz", clock / 1e9, spec.id, spec.clocks.min.value / 1e9,
                    spec.clocks.boost.value / 1e9))
        }
        if let ambient, !(-20...80).contains(ambient) {
            throw ConditionError(condition: .ambient, message: "\(formatNumber(ambient)) C is outside -20..80 C")
        }
    }
}

/// Operating conditions a chip does not allow: which condition, and the range that is allowed.
///
/// ```
/// power limit 900 W is outside h100-sxm's range 200-700 W
/// ```
public struct ConditionError: Error, CustomStringConvertible, Sendable {
    public enum Condition: String, Sendable {
        case powerLimit = "power limit"
        case fixedClock = "clock"
        case ambient
    }
    public var condition: Condition
    public var message: String
    public var description: String { "\(condition.rawValue) \(message)" }
}
