import Foundation
import Reports
import TestSupport
import XCTest

/// README.md's Speed table is rendered from the committed benchmark record, not typed.
final class SpeedRecordTests: XCTestCase {
    func testREADMECarriesTheRecordedSpeedTable() throws {
        let record = try SpeedRecord.load(packageRoot + "/docs/speed.json")
        XCTAssertGreaterThan(record.measures.count, 10)
        let text = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        guard let begin = text.range(of: "<!-- speed:begin -->\n"), let end = text.range(of: "\n<!-- speed:end -->") else {
            return XCTFail("README.md has no speed block: the generated table must stay there")
        }
        XCTAssertEqual(
            String(text[begin.upperBound..<end.lowerBound]), record.markdown(),
            "README.md's Speed table differs from docs/speed.json: run scripts/update-speed.sh (or --render) and review the diff")
    }

    func testTargetsAndFormatting() throws {
        let rate = SpeedRecord.Measure(name: "r", value: 123_456.7, unit: "kernels/s", target: 100_000, higherIsBetter: true, how: "h")
        let slow = SpeedRecord.Measure(name: "t", value: 29.4, unit: "ms", target: 20, higherIsBetter: false, how: "h")
        let free = SpeedRecord.Measure(name: "m", value: 812, unit: "MiB", target: nil, higherIsBetter: false, how: "h")
        XCTAssertEqual(rate.met, true)
        XCTAssertEqual(slow.met, false)
        XCTAssertNil(free.met)
        XCTAssertEqual(SpeedRecord.format(rate.value, unit: rate.unit), "123,457 kernels/s")
        XCTAssertEqual(SpeedRecord.format(999, unit: "kernels/s"), "999 kernels/s")
        XCTAssertEqual(SpeedRecord.format(29.44, unit: "ms"), "29.4 ms")
        XCTAssertEqual(SpeedRecord.format(6.634, unit: "s"), "6.63 s")
        XCTAssertEqual(SpeedRecord.format(100_000, unit: "us"), "100,000 us")
        XCTAssertEqual(SpeedRecord.format(3.2, unit: "us"), "3.20 us")
        let table = SpeedRecord(machine: "2 cores", date: "2026-12-02", measures: [rate, slow, free]).markdown()
        XCTAssertTrue(table.contains("| t | 29.4 ms | < 20.0 ms | **no** | h |"), table)
        XCTAssertTrue(table.contains("| m | 812 MiB | - | - | h |"), table)
        XCTAssertTrue(table.hasSuffix("Missed in this run: t."), table)
        let edge = SpeedRecord.Measure(name: "e", value: 19.98, unit: "ms", target: 20, higherIsBetter: false, how: "h")
        XCTAssertTrue(SpeedRecord(machine: "m", date: "d", measures: [edge]).markdown().contains("| e | 19.980 ms | < 20.0 ms | yes |"))
        // A record survives its file.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("speed-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let record = SpeedRecord(machine: "2 cores", date: "2026-12-02", measures: [rate, slow, free])
        try record.write(path)
        XCTAssertEqual(try SpeedRecord.load(path), record)
    }
}
