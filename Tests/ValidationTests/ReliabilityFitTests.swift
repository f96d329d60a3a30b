import Chips
import Estimates
import Foundation
import Systems
import TestSupport
import XCTest

@testable import Validation

/// The reliability figures in the shipped files are what `xpusim reliability fit` computes from
/// the calibration record, and the check records are compared as `xpusim reliability check` does.
final class ReliabilityFitTests: XCTestCase {
    let chips = packageRoot + "/chips"

    func testShippedFiguresAreTheFitsAndEveryChipSharesItsReferenceTemperature() throws {
        let records = try FleetRecords.load(FleetRecords.defaultFile(chips: chips))
        XCTAssertEqual(Set(records.map(\.split)), [.calibration, .check])
        let fit = try FleetRecords.fit(records, chips: chips)
        let h100 = try ChipCatalog.resolve(fit.chip, directory: chips)
        let dgx = try SystemCatalog.resolve(fit.system, chips: chips)
        let shipped: [String: Double?] = [
            "chip reliability.mtbf.accelerator": h100.reliability.acceleratorMTBF, "chip reliability.mtbf.hbm": h100.reliability.hbmMTBF,
            "system reliability.mtbf.network": dgx.reliability.networkMTBF, "system reliability.mtbf.nic": dgx.reliability.nicMTBF,
            "system reliability.mtbf.host": dgx.reliability.hostMTBF, "system reliability.mtbf.software": dgx.reliability.softwareMTBF,
        ]
        XCTAssertEqual(fit.figures.count, shipped.count)
        for f in fit.figures {
            let value = try XCTUnwrap(shipped[f.path] ?? nil, f.path)
            XCTAssertEqual(value / 3600, (f.mtbf / 3600).rounded(), accuracy: 0.5, f.path)
        }
        XCTAssertEqual(h100.reliability.referenceTemperature!, (fit.referenceTemperature * 10).rounded() / 10, accuracy: 1e-9)
        // Every chip's MTBFs are the H100's, estimated: they hold at the same junction temperature.
        for id in try ChipCatalog.load(directory: chips).ids {
            let spec = try ChipCatalog.resolve(id, directory: chips)
            XCTAssertEqual(spec.reliability.referenceTemperature, h100.reliability.referenceTemperature, id)
            XCTAssertNotNil(spec.reliability.acceleratorMTBF, id)
            XCTAssertNotNil(spec.reliability.hbmMTBF, id)
        }
        for system in try SystemCatalog.load(chips: chips).systems {
            XCTAssertNotNil(system.reliability.hostMTBF, system.id)
            XCTAssertNotNil(system.reliability.warmup, system.id)
            XCTAssertNotNil(system.storage.writeBandwidth, system.id)
        }
    }

    /// The check records are compared and their errors are what they are: a record of its own fleet
    /// (OPT-175B's 2021-22 A100 cluster) is far more fault-prone than the model fitted on Llama 3's.
    func testComparisonsCoverEveryRecord() throws {
        let records = try FleetRecords.load(FleetRecords.defaultFile(chips: chips))
        let rows = try FleetRecords.compare(records, chips: chips)
        XCTAssertEqual(Set(rows.map(\.record)), Set(records.map(\.id)))
        let opt = try XCTUnwrap(rows.first { $0.record == "opt-175b" })
        XCTAssertEqual(opt.split, .check)
        XCTAssertEqual(opt.measured, 7.5)
        XCTAssertGreaterThan(try XCTUnwrap(opt.error), 1)  // predicted MTTI more than twice the measured
        let ett = try XCTUnwrap(rows.first { $0.quantity == "effective training time" })
        XCTAssertEqual(ett.boundHolds, true)
        XCTAssertLessThan(ett.predicted, 0.99)
    }

    func testBadRecordsNameTheirPlace() throws {
        let file = NSTemporaryDirectory() + "fleets-\(ProcessInfo.processInfo.processIdentifier).yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let text = try String(contentsOfFile: FleetRecords.defaultFile(chips: chips), encoding: .utf8)
        try text.replacingOccurrences(of: "class: hbm, count: 72", with: "class: memory, count: 72").write(
            toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FleetRecords.load(file)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(file) && message.contains("expected one of: accelerator, hbm"), message)
        }
        try text.replacingOccurrences(of: "devices: 992", with: "devices: -4").write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FleetRecords.load(file)) { XCTAssertTrue("\($0)".contains("at least 1 device"), "\($0)") }
    }
}
