import SimCore
import XCTest

final class MeasureTests: XCTestCase {
    func testTypedArithmeticKeepsUnitsApart() {
        let time: Seconds = Bytes(80e9) / BytesPerSecond(3.35e12)
        XCTAssertEqual(time.value, 80e9 / 3.35e12, accuracy: 1e-15)
        XCTAssertEqual(time.description, "23.88 ms")
        let energy: Joules = Watts(700) * Seconds(2)
        XCTAssertEqual(energy.value, 1400)
        XCTAssertEqual((energy / Seconds(4)).value, 350)
        XCTAssertEqual((BytesPerSecond(2e12) * Seconds(0.5)).value, 1e12)
        XCTAssertEqual(Celsius(30) + Watts(700) * KelvinPerWatt(0.07), Celsius(79))
        XCTAssertEqual(Hertz(2e9) * Seconds(1e-6), 2000)  // cycles
        XCTAssertEqual(Watts(600) / Watts(200), 3)
        XCTAssertLessThan(Seconds(1e-6), Seconds(2e-6))
        XCTAssertEqual(Bytes(1_073_741_824).description, "1 GiB")
        XCTAssertEqual(MemoryLayout<Seconds>.size, MemoryLayout<Double>.size, "zero-cost: a Double in memory")
    }
}
