import Foundation
import XCTest

@testable import Reports

/// The chart layer's SVG, pinned by golden files (XPUSIM_RECORD_GOLDEN=1 rewrites them and fails,
/// so a recording run is never taken for a pass; review the diff, then commit).
final class ChartTests: XCTestCase {
    func assertGolden(_ text: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
        let expected = try? String(contentsOf: url, encoding: .utf8)
        if ProcessInfo.processInfo.environment["XPUSIM_RECORD_GOLDEN"] == "1" {
            guard expected != text else { return }
            try? text.write(to: url, atomically: true, encoding: .utf8)
            XCTFail("recorded Golden/\(name); review the diff and commit it", file: file, line: line)
            return
        }
        XCTAssertEqual(expected, text, "Golden/\(name) differs (XPUSIM_RECORD_GOLDEN=1 to record on purpose)", file: file, line: line)
    }

    func testRooflineScatterOnLogAxes() {
        let x = Axis("FLOP per byte", values: [0.5, 3, 300], log: true)
        let y = Axis("FLOP/s", values: [1e11, 5e14, 9.9e14], log: true)
        XCTAssertEqual(x.lower, 0.1)
        XCTAssertEqual(x.upper, 1000)
        XCTAssertEqual(x.ticks, [0.1, 1, 10, 100, 1000])
        let roof = Chart.Series(name: "bf16 peak", points: [(x: 0.1, y: 3.35e11), (x: 295, y: 9.9e14), (x: 1000, y: 9.9e14)], color: "#444444", line: true)
        let dots = Chart.Series(name: "gemm <1>", points: [(x: 300, y: 8e14), (x: 3, y: 9e12), (x: 0.5, y: 1.5e12)], color: palette[0], labels: ["a", "", "c&d"])
        assertGolden(Chart.plot("Roofline <h100>", x: x, y: y, series: [roof, dots], height: 300), "roofline.svg")
    }

    func testLineAndBars() {
        let ts = (0..<6).map { Double($0) * 0.02 }
        let line = Chart.Series(name: "", points: ts.map { (x: $0, y: 300 + 4000 * $0) }, color: palette[1], line: true)
        assertGolden(Chart.plot("Power over time", x: Axis("time (s)", values: ts), y: Axis("W", values: [0, 700]), series: [line], height: 200), "line.svg")
        assertGolden(
            Chart.bars("Elasticity", unit: "", items: [(label: "hbm → time", value: -0.62, color: palette[0]), (label: "l2 → time", value: 0.05, color: palette[1]), (label: "n/a", value: .nan, color: palette[2])]),
            "bars.svg")
    }

    func testLabelsAndEscaping() {
        XCTAssertEqual(siLabel(1.234e12), "1.23T")
        XCTAssertEqual(siLabel(456e6), "456M")
        XCTAssertEqual(siLabel(0.0005), "500µ")
        XCTAssertEqual(siLabel(1000), "1k")
        XCTAssertEqual(escapeHTML("<script>\"a\" & 'b'</script>"), "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;")
        let page = Page(title: "<b>x</b>", subtitle: "s", sections: [.init("t<", table: .init(["<h>"], rows: [["<td>"]]))]).html
        XCTAssertFalse(page.contains("<b>x</b>"))
        XCTAssertFalse(page.contains("<td><td>"))
        XCTAssertTrue(page.contains("Content-Security-Policy"))
        XCTAssertFalse(page.contains("<script"))
    }
}
