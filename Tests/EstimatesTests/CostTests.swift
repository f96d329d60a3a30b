import Chips
import Estimates
import Systems
import TestSupport
import XCTest

final class CostTests: XCTestCase {
    let chips = packageRoot + "/chips"

    /// Capital over its years plus energy at the wall, per million tokens, by hand.
    func testCostPerMillionTokens() {
        let capital = Capital(price: 35_064, basis: "chip price")
        let cost = CostEstimate(
            capital: capital, power: 1000, tokensPerSecond: 1000, assumptions: CostAssumptions(electricityPrice: 0.1, pue: 1.5, years: 4))
        XCTAssertEqual(cost.capitalPerHour, 35_064 / (4 * 8766), accuracy: 1e-9)
        XCTAssertEqual(cost.energyPerHour, 0.15, accuracy: 1e-12)
        XCTAssertEqual(cost.perMillionTokens, (1.0 + 0.15) / 3.6, accuracy: 1e-9)
        XCTAssertEqual(CostEstimate(capital: capital, power: 0, tokensPerSecond: 0, assumptions: .init()).perMillionTokens, .infinity)
    }

    /// A system's share is its nodes' price in proportion to the devices used; without a node price
    /// the chips alone are priced; without either there is no cost.
    func testCapitalShares() throws {
        let dgx = try SystemCatalog.resolve("dgx-h100", chips: chips)
        XCTAssertEqual(Capital.of(ranks: 2, system: dgx, device: dgx.chip.device), Capital(price: 199_000 / 4, basis: "node price"))
        XCTAssertEqual(
            Capital.of(ranks: 16, system: try SystemCatalog.resolve("dgx-h100", nodes: 2, chips: chips), device: dgx.chip)?.price, 398_000)
        let a3 = try SystemCatalog.resolve("atlas-800t-a3", chips: chips)
        // 16 devices of 8 packages at $28k: one device is half a package.
        XCTAssertEqual(Capital.of(ranks: 16, system: a3, device: a3.chip.device), Capital(price: 8 * 28_000, basis: "chip prices only"))
        XCTAssertEqual(a3.chip.device.price, 14_000)
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        XCTAssertEqual(Capital.of(ranks: 1, system: nil, device: h100)?.price, 27_500)
        XCTAssertNil(Capital.of(ranks: 1, system: nil, device: try ChipCatalog.resolve("h800-sxm", directory: chips)))
        XCTAssertNil(Capital.of(ranks: 8, system: try SystemCatalog.resolve("atlas-800t-a2", chips: chips), device: h100))
    }
}
