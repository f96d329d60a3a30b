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
}
