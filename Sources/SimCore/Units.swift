import Foundation

/// The physical quantities that chip and trace files carry.
///
/// Every figure is parsed once, from a string such as `"3.35 TB/s"`, into a value in SI base units
/// (bytes, seconds, hertz, watts, joules, ...) together with its kind. Nothing downstream
/// guesses a unit.
public enum QuantityKind: String, Sendable, CaseIterable {
    case count
    case ratio
    case bytes
    case bandwidth
    case time
    case frequency
    case power
    case energy
    case energyPerByte
    case voltage
    case temperature
    case thermalResistance
    case heatCapacity
    case flopRate
    case temperatureCoefficient
    /// A price in US dollars (hardware's, from vendors' and dealers' figures).
    case money
    /// A mean time between failures, in hours as reliability figures are given.
    case lifetime
    /// An Arrhenius activation energy (eV), as reliability physics gives it.
    case activationEnergy

    /// The unit symbols accepted for this kind and their factor to the SI base unit.
    public var units: [(symbol: String, factor: Double)] {
        switch self {
        case .count: return [("", 1)]
        case .ratio: return [("", 1), ("%", 0.01)]
        case .bytes:
            return [
                ("B", 1), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
                ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ]
        case .bandwidth:
            return [
                ("B/s", 1), ("KB/s", 1e3), ("MB/s", 1e6), ("GB/s", 1e9), ("TB/s", 1e12),
                ("GiB/s", 1_073_741_824), ("Gb/s", 1e9 / 8), ("Tb/s", 1e12 / 8), ("Mb/s", 1e6 / 8),
            ]
        case .time: return [("s", 1), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("min", 60), ("h", 3600)]
        case .frequency: return [("Hz", 1), ("kHz", 1e3), ("MHz", 1e6), ("GHz", 1e9)]
        case .power: return [("W", 1), ("mW", 1e-3), ("kW", 1e3)]
        case .energy: return [("J", 1), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12), ("fJ", 1e-15)]
        case .energyPerByte:
            return [("J/B", 1), ("pJ/B", 1e-12), ("pJ/bit", 8e-12), ("fJ/bit", 8e-15), ("nJ/B", 1e-9)]
        case .voltage: return [("V", 1), ("mV", 1e-3)]
        case .temperature: return [("C", 1), ("°C", 1)]
        case .thermalResistance: return [("K/W", 1), ("C/W", 1), ("°C/W", 1)]
        case .heatCapacity: return [("J/K", 1), ("J/C", 1)]
        case .flopRate: return [("FLOPS", 1), ("GFLOPS", 1e9), ("TFLOPS", 1e12), ("PFLOPS", 1e15), ("TOPS", 1e12)]
        case .temperatureCoefficient: return [("/K", 1), ("%/K", 0.01), ("%/C", 0.01)]
        case .money: return [("USD", 1), ("kUSD", 1e3), ("MUSD", 1e6)]
        case .lifetime: return [("h", 3600), ("s", 1), ("days", 86400)]
        case .activationEnergy: return [("eV", 1)]
        }
    }

    /// The unit used when printing a value of this kind.
    public var displayUnit: (symbol: String, factor: Double) {
        switch self {
        case .count, .ratio: return ("", 1)
        case .bytes: return ("B", 1)
        case .bandwidth: return ("GB/s", 1e9)
        case .time: return ("s", 1)
        case .frequency: return ("GHz", 1e9)
        case .power: return ("W", 1)
        case .energy: return ("pJ", 1e-12)
        case .energyPerByte: return ("pJ/bit", 8e-12)
        case .voltage: return ("V", 1)
        case .temperature: return ("°C", 1)
        case .thermalResistance: return ("K/W", 1)
        case .heatCapacity: return ("J/K", 1)
        case .flopRate: return ("TFLOPS", 1e12)
        case .temperatureCoefficient: return ("%/K", 0.01)
        case .money: return ("USD", 1)
        case .lifetime: return ("h", 3600)
        case .activationEnergy: return ("eV", 1)
        }
    }

    /// Example text for error messages.
    public var example: String {
        switch self {
        case .count: return "an integer such as 132"
        case .ratio: return "a fraction such as 0.85 or a percentage such as 85%"
        case .bytes: return "a size such as \"64 KiB\" or \"80 GB\""
        case .bandwidth: return "a bandwidth such as \"3.35 TB/s\""
        case .time: return "a time such as \"5 us\""
        case .frequency: return "a frequency such as \"1.98 GHz\""
        case .power: return "a power such as \"700 W\""
        case .energy: return "an energy such as \"0.5 pJ\""
        case .energyPerByte: return "an energy per bit such as \"4 pJ/bit\""
        case .voltage: return "a voltage such as \"0.9 V\""
        case .temperature: return "a temperature such as \"87 C\""
        case .thermalResistance: return "a thermal resistance such as \"0.05 K/W\""
        case .heatCapacity: return "a heat capacity such as \"20 J/K\""
        case .flopRate: return "a rate such as \"989.4 TFLOPS\""
        case .temperatureCoefficient: return "a coefficient such as \"1.5 %/K\""
        case .money: return "a price such as \"25000 USD\" or \"199 kUSD\""
        case .lifetime: return "a mean time between failures such as \"100000 h\""
        case .activationEnergy: return "an activation energy such as \"0.55 eV\""
        }
    }
}

/// A number with its kind, in SI base units.
public struct Quantity: Sendable, Equatable {
    public var value: Double
    public var kind: QuantityKind

    public init(_ value: Double, _ kind: QuantityKind) {
        self.value = value
        self.kind = kind
    }

    /// Parses `"3.35 TB/s"`, `"64KiB"`, `"1.98 GHz"` or a bare number (only for count and ratio).
    ///
    /// Returns nil when the text is not a number followed by a unit of `kind`.
    public static func parse(_ text: String, as kind: QuantityKind) -> Quantity? {
        let trimmed = trimmingHorizontalSpace(text)
        var numberEnd = trimmed.startIndex
        for index in trimmed.indices {
            let c = trimmed[index]
            if c.isNumber || c == "." || c == "-" || c == "+" || c == "_"
                || ((c == "e" || c == "E") && index != trimmed.startIndex
                    && trimmed.index(after: index) < trimmed.endIndex
                    && (trimmed[trimmed.index(after: index)].isNumber || "+-".contains(trimmed[trimmed.index(after: index)])))
            {
                numberEnd = trimmed.index(after: index)
            } else {
                break
            }
        }
        let numberPart = trimmed[..<numberEnd]
        let numberText = numberPart.utf8.contains(UInt8(ascii: "_")) ? String(numberPart.filter { $0 != "_" }) : String(numberPart)
        guard let number = Double(numberText), number.isFinite else { return nil }
        let unitText = trimmingHorizontalSpace(trimmed[numberEnd...])
        for unit in kind.units where unit.symbol == unitText {
            return Quantity(number * unit.factor, kind)
        }
        return nil
    }

    /// Prints the value in the kind's display unit with a sensible number of digits.
    public var formatted: String {
        Quantity.format(value, kind)
    }

    public static func format(_ value: Double, _ kind: QuantityKind) -> String {
        if kind == .bytes { return formatBytes(value) }
        if kind == .time {
            let magnitude = abs(value)
            if magnitude == 0 { return "0 s" }
            if magnitude < 1e-6 { return "\(formatNumber(value * 1e9)) ns" }
            if magnitude < 1e-3 { return "\(formatNumber(value * 1e6)) us" }
            if magnitude < 1 { return "\(formatNumber(value * 1e3)) ms" }
        }
        let unit = kind.displayUnit
        let scaled = value / unit.factor
        let number = formatNumber(scaled)
        return unit.symbol.isEmpty ? number : "\(number) \(unit.symbol)"
    }

    /// Binary units when the size is a whole number of them (64 GiB, 512 KiB), decimal otherwise (80 GB).
    static func formatBytes(_ bytes: Double) -> String {
        let levels: [(binary: String, binaryFactor: Double, decimal: String, decimalFactor: Double)] = [
            ("TiB", 1_099_511_627_776, "TB", 1e12), ("GiB", 1_073_741_824, "GB", 1e9),
            ("MiB", 1_048_576, "MB", 1e6), ("KiB", 1024, "KB", 1e3),
        ]
        for level in levels where bytes >= level.decimalFactor {
            let binary = bytes / level.binaryFactor
            if binary >= 1, binary.rounded() == binary { return "\(formatNumber(binary)) \(level.binary)" }
            return "\(formatNumber(bytes / level.decimalFactor)) \(level.decimal)"
        }
        return "\(formatNumber(bytes)) B"
    }
}

/// `text` without the spaces and tabs at either end: what `trimmingCharacters(in: .whitespaces)`
/// does (tab and the Unicode space separators, not line ends), without Foundation's cost per call.
func trimmingHorizontalSpace<S: StringProtocol>(_ text: S) -> String {
    func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == "\t" || scalar.properties.generalCategory == .spaceSeparator }
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = scalars.lastIndex(where: { !isSpace($0) })!
    return String(String.UnicodeScalarView(scalars[first...last]))
}

/// C's `strfromd` (C23, glibc 2.25 on): printf's formatting of one double for formats of the form
/// `%.Nf` or `%.Ne`, without a variadic call. Looked up at run time (Swift's Glibc module does not
/// declare it); nil where the C library lacks it, and `vsnprintf` serves instead.
private typealias StringFromDouble = @convention(c) (UnsafeMutablePointer<CChar>?, Int, UnsafePointer<CChar>?, Double) -> Int32
nonisolated(unsafe) private let stringFromDouble: StringFromDouble? = dlsym(nil, "strfromd").map {
    unsafeBitCast($0, to: StringFromDouble.self)
}

/// C's formatting of one double (what `String(format:)` does underneath, without its cost per call:
/// a table of 20,000 kernels formats some 200,000 numbers, and boxing each in a `CVarArg` list for
/// `vsnprintf` was a sixth of a run). `format` is `%.Nf` or `%.Ne`. With `trimmingZeros`, a fraction
/// loses its trailing zeros, and its point when nothing is left.
func printfDouble(_ format: StaticString, _ value: Double, trimmingZeros: Bool = false) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buffer in
        let cFormat = UnsafeRawPointer(format.utf8Start).assumingMemoryBound(to: CChar.self)
        let written =
            stringFromDouble.map { $0(buffer.baseAddress!, 400, cFormat, value) }
            ?? withVaList([value]) { vsnprintf(buffer.baseAddress!, 400, cFormat, $0) }
        let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(max(0, min(written, 399))))
        var count = bytes.count
        if trimmingZeros, bytes.contains(UInt8(ascii: ".")) {
            while count > 0, bytes[count - 1] == UInt8(ascii: "0") { count -= 1 }
            if count > 0, bytes[count - 1] == UInt8(ascii: ".") { count -= 1 }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<count]), as: UTF8.self)
    }
}

/// Formats a number with up to four significant digits and no trailing zeros.
public func formatNumber(_ value: Double) -> String {
    if value == 0 { return "0" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    let magnitude = abs(value)
    let decimals: Int
    switch magnitude {
    case 1000...: decimals = 1
    case 100...: decimals = 2
    case 10...: decimals = 2
    case 1...: decimals = 3
    case 0.01...: decimals = 4
    default: return printfDouble("%.3e", value)
    }
    return printfDouble(decimals == 1 ? "%.1f" : decimals == 2 ? "%.2f" : decimals == 3 ? "%.3f" : "%.4f", value, trimmingZeros: true)
}
