import Chips
import Config
import Foundation
import SimCore
import TestSupport
import XCTest

let chipsDirectory = packageRoot + "/chips"

final class ShippedChipsTests: XCTestCase {
    func testEveryShippedChipLoadsAndValidates() throws {
        let catalog = try ChipCatalog.load(directory: chipsDirectory)
        XCTAssertEqual(Set(catalog.ids), ["h100-sxm", "h200-sxm", "h800-sxm", "h20", "a100-sxm", "ascend-910b2", "ascend-910b3", "ascend-910b4",
                                          "ascend-910c", "mlu590", "metax-c500", "metax-c600", "b200", "b200-gb200", "a800-sxm",
                                          "thead-ppu"])
        for document in catalog.documents {
            let spec = try ChipSpec(document)
            XCTAssertGreaterThan(spec.peakMatrixFLOPS(.bf16) ?? spec.peakMatrixFLOPS(.fp16) ?? 0, 1e14, spec.id)
            XCTAssertGreaterThan(spec.memory.hbmBandwidth.value, 5e11, spec.id)
        }
    }

    func testDerivedPeaksMatchVendorPeaks() throws {
        let catalog = try ChipCatalog.load(directory: chipsDirectory)
        var checked = 0
        for document in catalog.documents {
            let spec = try ChipSpec(document)
            for (dtype, vendor) in spec.compute.vendorPeak {
                let derived = try XCTUnwrap(spec.peakMatrixFLOPS(dtype))
                XCTAssertEqual(derived / vendor, 1, accuracy: ChipValidator.peakTolerance, "\(spec.id) \(dtype)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 15)
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chipsDirectory)
        XCTAssertEqual(h100.peakMatrixFLOPS(.bf16)! / 1e12, 989.4, accuracy: 0.5)
        XCTAssertEqual(h100.peakMatrixFLOPS(.fp8)! / 1e12, 1978.9, accuracy: 1)
        let c = try ChipCatalog.resolve("ascend-910c", directory: chipsDirectory)
        XCTAssertEqual(c.dies, 2)
        XCTAssertEqual(c.peakMatrixFLOPS(.bf16)! / 1e12, 752, accuracy: 8)
        XCTAssertNil(c.peakMatrixFLOPS(.fp8), "the 910C has no fp8")
        let b200 = try ChipCatalog.resolve("b200", directory: chipsDirectory)
        XCTAssertEqual(b200.dies, 2)
        XCTAssertEqual(b200.devicesPerPackage, 1, "both dies are one CUDA device")
        XCTAssertEqual(c.devicesPerPackage, 2, "each 910C die is an NPU of its own")
        XCTAssertEqual(b200.peakMatrixFLOPS(.bf16)! / 1e12, 2250, accuracy: 1)
        XCTAssertEqual(try ChipCatalog.resolve("b200-gb200", directory: chipsDirectory).peakMatrixFLOPS(.bf16)! / 1e12, 2500, accuracy: 1)
        let h20 = try ChipCatalog.resolve("h20", directory: chipsDirectory)
        XCTAssertEqual(h20.peakMatrixFLOPS(.bf16)! / 1e12, 148, accuracy: 4.4)
    }

    /// A 910C is two devices to its software: one device is one die with half the package's HBM,
    /// links and power, and the same per-unit figures; a one-device package is its own device.
    func testOneDeviceOfAMultiDevicePackage() throws {
        let package = try ChipCatalog.resolve("ascend-910c", directory: chipsDirectory)
        let die = package.device
        XCTAssertEqual(die.devicesPerPackage, 1)
        XCTAssertEqual(die.dies, 1)
        XCTAssertEqual(die.totalUnits * 2, package.totalUnits)
        XCTAssertEqual(die.memory.hbmBandwidth.value * 2, package.memory.hbmBandwidth.value, accuracy: 1)
        XCTAssertEqual(die.memory.hbmCapacity.value * 2, package.memory.hbmCapacity.value, accuracy: 1)
        XCTAssertEqual(die.power.tdp.value * 2, package.power.tdp.value, accuracy: 1e-9)
        XCTAssertEqual(die.interconnect.scaleUpLinks * 2, package.interconnect.scaleUpLinks)
        XCTAssertNil(die.interconnect.dieToDieBandwidth)
        XCTAssertEqual(die.compute.macsPerCycle, package.compute.macsPerCycle)
        XCTAssertEqual((die.peakMatrixFLOPS(.bf16) ?? 0) * 2, package.peakMatrixFLOPS(.bf16) ?? 0, accuracy: 1e6)
        // Same heat per unit of power: at half the power a die reaches the package's temperature rise.
        XCTAssertEqual(die.thermal.junctionResistance.value, package.thermal.junctionResistance.value * 2, accuracy: 1e-12)
        let b200 = try ChipCatalog.resolve("b200", directory: chipsDirectory)
        XCTAssertEqual(b200.device.totalUnits, b200.totalUnits, "a B200's two dies are one device")
    }

    func testVariantsOverrideTheBase() throws {
        let b3 = try ChipCatalog.resolve("ascend-910b3", directory: chipsDirectory)
        XCTAssertEqual(b3.compute.unitsPerDie, 20)
        XCTAssertEqual(b3.memory.hbmBandwidth, BytesPerSecond(1.6e12))
        let b4 = try ChipCatalog.resolve("ascend-910b4", directory: chipsDirectory)
        XCTAssertEqual(b4.memory.hbmCapacity, Bytes(32 * 1_073_741_824))
        XCTAssertNil(b4.compute.vendorPeak[.fp16])
        let h800 = try ChipCatalog.resolve("h800-sxm", directory: chipsDirectory)
        XCTAssertEqual(h800.interconnect.scaleUpBandwidth, BytesPerSecond(200e9))
        XCTAssertEqual(h800.compute.macsPerCycle[.fp8], 4096)
    }

    func testEveryFigureHasASourceOrSaysHowItWasObtained() throws {
        for document in try ChipCatalog.load(directory: chipsDirectory).documents {
            for (path, figure) in document.figures {
                guard let declaration = ParameterCatalog.declaration(for: path) else { return XCTFail(path) }
                if case .label = declaration.type { continue }
                if case .choice = declaration.type { continue }
                let sourced = figure.source.map { !$0.url.isEmpty } ?? false
                let fitted = figure.kind == .fitted && (figure.fit?.hasPrefix("xpusim calibrate ") == true || figure.fit == "xpusim reliability fit") && figure.dataHash?.hasPrefix("sha256:") == true
                XCTAssertTrue(sourced || figure.how != nil || fitted, "\(document.id) \(path)")
                if figure.kind == .estimated || figure.kind == .derived { XCTAssertNotNil(figure.how, "\(document.id) \(path)") }
                if figure.kind == .fitted { XCTAssertTrue(fitted, "\(document.id) \(path): a fitted figure names its fit and data") }
                // A copied figure is resolved, and says where it came from.
                if figure.sameAs != nil { XCTAssertNotNil(figure.origin, "\(document.id) \(path)") }
            }
        }
    }

    func testOverridesChangeOneField() throws {
        let spec = try ChipCatalog.resolve("h100-sxm", overrides: ["memory.hbm.bandwidth=4 TB/s", "compute.units_per_die=144"], directory: chipsDirectory)
        XCTAssertEqual(spec.memory.hbmBandwidth, BytesPerSecond(4e12))
        XCTAssertEqual(spec.totalUnits, 144)
        XCTAssertEqual(spec.document.figures["memory.hbm.bandwidth"]?.kind, .override)
        XCTAssertThrowsError(try ChipCatalog.resolve("h100-sxm", overrides: ["memory.hbm.bandwith=4 TB/s"], directory: chipsDirectory)) { error in
            XCTAssertTrue("\(error)".contains("did you mean \"memory.hbm.bandwidth\""), "\(error)")
        }
        XCTAssertThrowsError(try ChipCatalog.resolve("h100-sxm", overrides: ["memory.hbm.bandwidth=4 TB"], directory: chipsDirectory))
        XCTAssertThrowsError(try ChipCatalog.resolve("h100-sxm", overrides: ["clocks.boost=0.5 GHz"], directory: chipsDirectory)) { error in
            XCTAssertTrue("\(error)".contains("clocks.boost"), "\(error)")
        }
    }

    func testUnknownChipIdSuggestsNearest() {
        XCTAssertThrowsError(try ChipCatalog.resolve("h100-sx", directory: chipsDirectory)) { error in
            XCTAssertTrue("\(error)".contains("did you mean \"h100-sxm\""), "\(error)")
        }
    }
}

/// Figures copied from another chip (`same_as`, `scaled_by`).
final class CopiedFigureTests: XCTestCase {
    func testACopyFollowsItsOriginAndAScaledCopyItsBasis() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chipsDirectory)
        let h20 = try ChipCatalog.resolve("h20", directory: chipsDirectory)
        XCTAssertEqual(h20.document.figures["efficiency.l2"]?.value.number, h100.document.figures["efficiency.l2"]?.value.number)
        XCTAssertEqual(h20.document.figures["efficiency.l2"]?.origin?.hasPrefix("h100-sxm"), true)
        // The A100's clock power is the H100's share of TDP; overriding the A100's TDP rescales it.
        let a100 = try ChipCatalog.resolve("a100-sxm", directory: chipsDirectory)
        let lower = try ChipCatalog.resolve("a100-sxm", overrides: ["power.tdp=300 W"], directory: chipsDirectory)
        let share = h100.power.clockPower.value / h100.power.tdp.value
        XCTAssertEqual(a100.power.clockPower.value, share * 400, accuracy: 1e-6)
        XCTAssertEqual(lower.power.clockPower.value, share * 300, accuracy: 1e-6)
    }

    func testAChipFileTakesItsCopiesFromTheChipsBesideIt() throws {
        let folder = NSTemporaryDirectory() + "xpusim-copies-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["nvidia-h100.yaml", "nvidia-h20.yaml"] {
            var text = try String(contentsOfFile: chipsDirectory + "/" + name, encoding: .utf8)
            if name == "nvidia-h100.yaml" {
                let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("  l2: {value: ") })
                text = text.replacingOccurrences(of: String(line), with: "  l2: {value: 0.5, kind: estimated, how: \"test\"}")
            }
            try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: folder + "/libraries", withIntermediateDirectories: true)
        for library in try FileManager.default.contentsOfDirectory(atPath: chipsDirectory + "/libraries") {
            try FileManager.default.copyItem(atPath: chipsDirectory + "/libraries/" + library, toPath: folder + "/libraries/" + library)
        }
        let h20 = try ChipCatalog.resolve(folder + "/nvidia-h20.yaml", directory: chipsDirectory)
        XCTAssertEqual(h20.document.figures["efficiency.l2"]?.value.number, 0.5)
    }

    func testACycleOfCopiesIsAnError() throws {
        var a = try ChipCatalog.resolve("h20", directory: chipsDirectory).document
        a.figures["efficiency.hbm"]?.origin = nil
        a.figures["efficiency.hbm"]?.sameAs = "h20"
        XCTAssertThrowsError(try a.resolvingCopies { _ in a }) { error in
            XCTAssertTrue("\(error)".contains("cycle"), "\(error)")
        }
    }
}
