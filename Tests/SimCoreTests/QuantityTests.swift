import SimCore
import XCTest

final class QuantityTests: XCTestCase {
    func testParsesUnitsIntoSIBaseUnits() {
        XCTAssertEqual(Quantity.parse("3.35 TB/s", as: .bandwidth)?.value, 3.35e12)
        XCTAssertEqual(Quantity.parse("400 Gb/s", as: .bandwidth)?.value, 50e9)
        XCTAssertEqual(Quantity.parse("1.98 GHz", as: .frequency)?.value, 1.98e9)
        XCTAssertEqual(Quantity.parse("64 KiB", as: .bytes)?.value, 65536)
        XCTAssertEqual(Quantity.parse("64KiB", as: .bytes)?.value, 65536)
        XCTAssertEqual(Quantity.parse("700 W", as: .power)?.value, 700)
        XCTAssertEqual(Quantity.parse("5 us", as: .time)?.value ?? 0, 5e-6, accuracy: 1e-18)
        XCTAssertEqual(Quantity.parse("4 pJ/bit", as: .energyPerByte)?.value ?? 0, 32e-12, accuracy: 1e-24)
        XCTAssertEqual(Quantity.parse("1.5 %/K", as: .temperatureCoefficient)?.value ?? 0, 0.015, accuracy: 1e-12)
        XCTAssertEqual(Quantity.parse("989.4 TFLOPS", as: .flopRate)?.value, 989.4e12)
        XCTAssertEqual(Quantity.parse("1e3 W", as: .power)?.value, 1000)
    }

    func testRejectsWrongOrMissingUnits() {
        XCTAssertNil(Quantity.parse("3.35 TB", as: .bandwidth))
        XCTAssertNil(Quantity.parse("3.35", as: .bandwidth))
        XCTAssertNil(Quantity.parse("fast", as: .frequency))
        XCTAssertNil(Quantity.parse("700 V", as: .power))
        XCTAssertNil(Quantity.parse("", as: .bytes))
        XCTAssertNil(Quantity.parse("inf W", as: .power))
        XCTAssertEqual(Quantity.parse("132", as: .count)?.value, 132)
    }

    func testFormatsForPeople() {
        XCTAssertEqual(Quantity.format(80e9, .bytes), "80 GB")
        XCTAssertEqual(Quantity.format(64 * 1_073_741_824, .bytes), "64 GiB")
        XCTAssertEqual(Quantity.format(228 * 1024, .bytes), "228 KiB")
        XCTAssertEqual(Quantity.format(1.98e9, .frequency), "1.98 GHz")
        XCTAssertEqual(Quantity.format(4e-6, .time), "4 us")
        XCTAssertEqual(Quantity.format(3.35e12, .bandwidth), "3350 GB/s")
    }

    /// formatNumber formats with C's printf directly; it must print exactly what String(format:) does.
    func testFormatNumberMatchesFoundationFormatting() {
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let mantissa = Double(state >> 11) / Double(1 << 53)
            let exponent = Int(state % 40) - 20
            let value = (state & 1 == 0 ? 1 : -1) * mantissa * pow(10, Double(exponent))
            let magnitude = abs(value)
            let expected: String
            if value == value.rounded(), magnitude < 1e15 {
                expected = String(Int64(value))
            } else if magnitude < 0.01 {
                expected = String(format: "%.3e", value)
            } else {
                let decimals = magnitude >= 1000 ? 1 : magnitude >= 10 ? 2 : magnitude >= 1 ? 3 : 4
                var text = String(format: "%.\(decimals)f", value)
                if text.contains(".") {
                    while text.hasSuffix("0") { text.removeLast() }
                    if text.hasSuffix(".") { text.removeLast() }
                }
                expected = text
            }
            XCTAssertEqual(formatNumber(value), expected, "\(value)")
        }
        XCTAssertEqual(formatNumber(1e300), String(format: "%.1f", 1e300).replacingOccurrences(of: ".0", with: ""))
    }

    func testUnitsParseWithSpacesAsBefore() {
        for text in [" 3.35 TB/s ", "\t1.98\tGHz", "\u{00A0}700 W\u{3000}", "64  KiB", "1_000 MHz", " \n5 W", "5 W\n"] {
            let kind: QuantityKind = text.contains("B/s") ? .bandwidth : text.contains("Hz") ? .frequency : text.contains("W") ? .power : .bytes
            let foundation = text.trimmingCharacters(in: .whitespaces)
            XCTAssertEqual(
                Quantity.parse(text, as: kind)?.value, Quantity.parse(foundation, as: kind)?.value, "\(text.debugDescription)")
        }
        XCTAssertEqual(Quantity.parse("\u{00A0}700 W\u{3000}", as: .power)?.value, 700)
        XCTAssertNil(Quantity.parse(" \n5 W", as: .power))
    }
}
