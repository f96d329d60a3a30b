import Estimates
import TestSupport
import XCTest

final class ClaimsTests: XCTestCase {
    func testVerdicts() {
        XCTAssertEqual(ClaimMetric("a", claimed: 0.6, simulated: 0.66, note: "").verdict, .supported)
        let off = ClaimMetric("b", claimed: 0.6, simulated: 0.9, note: "")
        XCTAssertEqual(off.verdict, .contradicted)
        XCTAssertEqual(off.deviation!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(ClaimMetric("c", claimed: nil, simulated: 2, note: "").verdict, .context)
        XCTAssertEqual(ClaimMetric("d", claimed: 1, simulated: 1, note: "", untested: true).verdict, .untested)
        func result(_ metrics: [ClaimMetric]) -> ClaimResult.Verdict {
            ClaimResult(id: "x", claim: "", source: "", test: "", metrics: metrics).verdict
        }
        let yes = ClaimMetric("y", claimed: 1, simulated: 1, note: "")
        XCTAssertEqual(result([yes, off]), .partly)
        XCTAssertEqual(result([off]), .contradicted)
        XCTAssertEqual(result([yes, ClaimMetric("c", claimed: nil, simulated: 2, note: "")]), .supported)
        XCTAssertEqual(result([ClaimMetric("d", claimed: 1, simulated: 1, note: "", untested: true)]), .untested)
    }

    /// Every claim runs on the shipped files, names its source and its test, and tests at least one figure.
    func testEveryClaimRunsOnTheShippedFiles() throws {
        XCTAssertEqual(Claims.all.map(\.id), ["910b-80pct-a100", "910c-60pct-h100", "cm384-vs-nvl72", "c600-vs-h20", "ppu-h20-class"])
        for claim in Claims.all {
            let r = try claim.evaluate(packageRoot + "/chips", packageRoot + "/workloads/models")
            XCTAssertFalse(r.source.isEmpty || r.test.isEmpty, r.id)
            XCTAssertTrue(r.metrics.contains { $0.claimed != nil }, r.id)
            XCTAssertTrue(r.metrics.allSatisfy { $0.simulated.isFinite && $0.simulated > 0 }, r.id)
        }
    }
}
