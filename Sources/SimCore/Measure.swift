/// A physical quantity of one kind, in its SI base unit, as a zero-cost wrapper around a Double.
///
/// Figures cross module boundaries typed, so a bandwidth cannot be passed where a time is meant:
///
/// ```swift
/// let bytes = Bytes(80e9), bandwidth = BytesPerSecond(3.35e12)
/// let time: Seconds = bytes / bandwidth   // 23.9 ms
/// time.description                        // "23.88 ms"
/// ```
///
/// The hot paths of the cost models unwrap `value` once, where a machine is built.
public struct Measure<Unit: PhysicalUnit>: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value in the unit's SI base unit (seconds, bytes, hertz, watts, ...).
    public var value: Double

    @inlinable public init(_ value: Double) { self.value = value }

    public static var zero: Measure { Measure(0) }

    @inlinable public static func + (a: Measure, b: Measure) -> Measure { Measure(a.value + b.value) }
    @inlinable public static func - (a: Measure, b: Measure) -> Measure { Measure(a.value - b.value) }
    @inlinable public static func * (a: Measure, k: Double) -> Measure { Measure(a.value * k) }
    @inlinable public static func * (k: Double, a: Measure) -> Measure { Measure(a.value * k) }
    @inlinable public static func / (a: Measure, k: Double) -> Measure { Measure(a.value / k) }
    /// The ratio of two quantities of one kind.
    @inlinable public static func / (a: Measure, b: Measure) -> Double { a.value / b.value }
    @inlinable public static func < (a: Measure, b: Measure) -> Bool { a.value < b.value }
    @inlinable public static func += (a: inout Measure, b: Measure) { a.value += b.value }

    public var description: String { Quantity.format(value, Unit.kind) }
}

/// The kind of a ``Measure``.
public protocol PhysicalUnit: Sendable {
    static var kind: QuantityKind { get }
}

public enum TimeUnit: PhysicalUnit { public static var kind: QuantityKind { .time } }
public enum ByteUnit: PhysicalUnit { public static var kind: QuantityKind { .bytes } }
public enum BandwidthUnit: PhysicalUnit { public static var kind: QuantityKind { .bandwidth } }
public enum FrequencyUnit: PhysicalUnit { public static var kind: QuantityKind { .frequency } }
public enum PowerUnit: PhysicalUnit { public static var kind: QuantityKind { .power } }
public enum EnergyUnit: PhysicalUnit { public static var kind: QuantityKind { .energy } }
public enum TemperatureUnit: PhysicalUnit { public static var kind: QuantityKind { .temperature } }
public enum ThermalResistanceUnit: PhysicalUnit { public static var kind: QuantityKind { .thermalResistance } }
public enum HeatCapacityUnit: PhysicalUnit { public static var kind: QuantityKind { .heatCapacity } }

public typealias Seconds = Measure<TimeUnit>
public typealias Bytes = Measure<ByteUnit>
public typealias BytesPerSecond = Measure<BandwidthUnit>
public typealias Hertz = Measure<FrequencyUnit>
public typealias Watts = Measure<PowerUnit>
public typealias Joules = Measure<EnergyUnit>
/// A temperature in degrees Celsius (differences are kelvin, plain Doubles).
public typealias Celsius = Measure<TemperatureUnit>
public typealias KelvinPerWatt = Measure<ThermalResistanceUnit>
public typealias JoulesPerKelvin = Measure<HeatCapacityUnit>

// The products and quotients the models use.
@inlinable public func / (a: Bytes, b: BytesPerSecond) -> Seconds { Seconds(a.value / b.value) }
@inlinable public func / (a: Bytes, t: Seconds) -> BytesPerSecond { BytesPerSecond(a.value / t.value) }
@inlinable public func * (b: BytesPerSecond, t: Seconds) -> Bytes { Bytes(b.value * t.value) }
@inlinable public func * (p: Watts, t: Seconds) -> Joules { Joules(p.value * t.value) }
@inlinable public func / (e: Joules, t: Seconds) -> Watts { Watts(e.value / t.value) }
/// Cycles in a time at a clock.
@inlinable public func * (f: Hertz, t: Seconds) -> Double { f.value * t.value }
/// The temperature rise (K) of a power through a thermal resistance.
@inlinable public func * (p: Watts, r: KelvinPerWatt) -> Double { p.value * r.value }
/// A temperature raised by `kelvin`.
@inlinable public func + (t: Celsius, kelvin: Double) -> Celsius { Celsius(t.value + kelvin) }
