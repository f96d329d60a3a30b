import Chips
import Config
import Foundation
import SimCore
import Systems
import TestSupport
import XCTest

let chipsDirectory = packageRoot + "/chips"
let systemsDirectory = packageRoot + "/chips/systems"

final class ShippedSystemsTests: XCTestCase {
    func system(_ id: String, overrides: [String] = [], nodes: Int? = nil) throws -> SystemSpec {
        try SystemCatalog.resolve(id, overrides: overrides, nodes: nodes, directory: systemsDirectory, chips: chipsDirectory)
    }

    func testEveryShippedSystemLoadsAndValidates() throws {
        let catalog = try SystemCatalog.load(directory: systemsDirectory, chips: chipsDirectory)
        XCTAssertEqual(
            Set(catalog.ids),
            [
                "dgx-h100", "dgx-a100", "dgx-a800", "hgx-h800", "hgx-h20", "atlas-800t-a2", "atlas-800t-a3", "cloudmatrix-384",
                "gb200-nvl72", "mlu590-8card",
                "metax-c500-8card", "gcp-a3-mega",
            ])
        for system in catalog.systems {
            XCTAssertGreaterThan(system.totalChips, 0, system.id)
            XCTAssertGreaterThan(system.peakFLOPS(.bf16, .system) ?? system.peakFLOPS(.fp16, .system) ?? 0, 1e15, system.id)
            XCTAssertGreaterThan(system.nodePower, Watts(Double(system.chipsPerNode)) * system.chip.power.tdp.value, system.id)
            XCTAssertLessThanOrEqual(system.scaleUp.linksPerChip, system.chip.interconnect.scaleUpLinks, system.id)
        }
    }

    func testEveryFigureHasASourceOrSaysHowItWasObtained() throws {
        for system in try SystemCatalog.load(directory: systemsDirectory, chips: chipsDirectory).systems {
            for (path, figure) in system.document.figures {
                let declaration = try XCTUnwrap(SystemParameterCatalog.declaration(for: path), path)
                switch declaration.type {
                case .label, .count, .choice: continue
                default: break
                }
                let sourced = figure.source.map { !$0.url.isEmpty && ($0.kind == .vendor || $0.kind == .measured) } ?? false
                XCTAssertTrue(sourced || figure.how != nil, "\(system.id) \(path)")
                if figure.kind == .estimated || figure.kind == .derived { XCTAssertNotNil(figure.how, "\(system.id) \(path)") }
            }
        }
    }

    /// Hand-checked: 8 x H100 (132 SMs x 2048 bf16 MACs x 2 x 1.83 GHz = 989.4 TFLOPS each), 18 links
    /// x 25 GB/s, 8 x 400 Gb/s NICs, 8 x 700 W + 4,600 W of host = the rated 10.2 kW.
    func testDerivedFiguresOfDGXH100() throws {
        let dgx = try system("dgx-h100")
        XCTAssertEqual(dgx.totalChips, 8)
        XCTAssertEqual(dgx.totalDevices, 8)
        XCTAssertEqual(dgx.devicesPerPackage, 1)
        XCTAssertEqual(dgx.domains, 1)
        XCTAssertEqual(dgx.scaleUp.topology, .switch)
        XCTAssertTrue(dgx.scaleUp.inSwitchReduction)
        XCTAssertEqual(dgx.scaleUp.switches?.count, 4)
        XCTAssertEqual(try XCTUnwrap(dgx.peakFLOPS(.bf16, .node)), 8 * 132 * 2048 * 2 * 1.83e9, accuracy: 1e9)
        XCTAssertEqual(try XCTUnwrap(dgx.peakFLOPS(.fp8, .system)) / 1e15, 15.83, accuracy: 0.01)
        XCTAssertEqual(dgx.hbmCapacity(.node), Bytes(640e9))
        XCTAssertEqual(dgx.scaleUpBandwidth(.package), BytesPerSecond(450e9))
        XCTAssertEqual(dgx.scaleUpBandwidth(.system), BytesPerSecond(3.6e12))
        XCTAssertEqual(dgx.scaleOutBandwidth(.node), BytesPerSecond(400e9))
        XCTAssertEqual(dgx.scaleOutBandwidth(.package), BytesPerSecond(50e9))
        XCTAssertEqual(dgx.nodePower.value, 10_200, accuracy: 1e-6)
        XCTAssertEqual(dgx.systemPower.value, 10_200, accuracy: 1e-6)
        XCTAssertEqual(dgx.power.ratedMax, Watts(10_200))
    }

    /// Hand-checked: 48 nodes x 8 x 910C = 384 packages, 768 devices (one per die); each package
    /// 2 dies x 24 AI Cores x 4096 MACs x 2 x 1.91 GHz = 751.0 TFLOPS bf16 (SemiAnalysis rounds to
    /// 780 and 300 PF); UB 14 x 28 GB/s = 392 GB/s per package; RDMA 8 x 400 Gb/s per node;
    /// 559 kW for the whole system (SemiAnalysis's estimate, which the file's figures add up to).
    func testDerivedFiguresOfCloudMatrix384() throws {
        let cm = try system("cloudmatrix-384")
        XCTAssertEqual(cm.nodes, 48)
        XCTAssertEqual(cm.totalChips, 384)
        XCTAssertEqual(cm.devicesPerPackage, 2)
        XCTAssertEqual(cm.totalDevices, 768)
        XCTAssertEqual(cm.devicesPerNode, 16)
        XCTAssertEqual(cm.domains, 1)
        XCTAssertEqual(cm.chipsPerDomain, 384)
        XCTAssertEqual(cm.scaleUp.switches?.tiers, 2)
        XCTAssertFalse(cm.scaleUp.inSwitchReduction)
        let package = 2.0 * 24 * 4096 * 2 * 1.91e9
        XCTAssertEqual(try XCTUnwrap(cm.peakFLOPS(.bf16, .package)), package, accuracy: 1e6)
        XCTAssertEqual(try XCTUnwrap(cm.peakFLOPS(.bf16, .device)), package / 2, accuracy: 1e6)
        XCTAssertEqual(try XCTUnwrap(cm.peakFLOPS(.bf16, .system)) / 1e15, 288.4, accuracy: 0.05)
        XCTAssertNil(cm.peakFLOPS(.fp8, .system), "the 910C has no fp8")
        XCTAssertEqual(cm.hbmCapacity(.system).value / 1e12, 49.152, accuracy: 1e-9)
        XCTAssertEqual(cm.hbmBandwidth(.system).value / 1e12, 1228.8, accuracy: 1e-6)
        XCTAssertEqual(cm.scaleUpBandwidth(.package), BytesPerSecond(392e9))
        XCTAssertEqual(cm.scaleUpBandwidth(.device), BytesPerSecond(196e9))
        XCTAssertEqual(cm.scaleUpBandwidth(.system).value, 384 * 392e9, accuracy: 1)
        XCTAssertEqual(try XCTUnwrap(cm.scaleOutBandwidth(.system)).value, 48 * 8 * 50e9, accuracy: 1)
        let extras: Double = 720 + 200 + 1050 + 600 + 592.5
        XCTAssertEqual(cm.nodePower.value, 8 * 800 + extras, accuracy: 1e-6)
        XCTAssertEqual(cm.systemPower.value, 559_000, accuracy: 1e-6)
    }

    func testMultiDiePackagesAsSoftwareSeesThem() throws {
        let a3 = try system("atlas-800t-a3")
        XCTAssertEqual(a3.chip.dies, 2)
        XCTAssertEqual(a3.devicesPerNode, 16, "an A3 server of 8 x 910C exposes 16 NPUs")
        XCTAssertEqual(a3.hbmCapacity(.device), Bytes(64e9))
        let nvl = try system("gb200-nvl72")
        XCTAssertEqual(nvl.chip.dies, 2)
        XCTAssertEqual(nvl.devicesPerPackage, 1, "a B200 is one CUDA device over both dies")
        XCTAssertEqual(nvl.totalDevices, 72)
        XCTAssertEqual(try XCTUnwrap(nvl.peakFLOPS(.bf16, .system)) / 1e15, 180, accuracy: 0.5)
        XCTAssertEqual(nvl.scaleUpBandwidth(.system).value / 1e12, 64.8, accuracy: 1e-6, "130 TB/s bidirectional")
        XCTAssertEqual(nvl.systemPower.value, 145_000, accuracy: 1)
    }

    func testNodesOverride() throws {
        let four = try system("dgx-h100", nodes: 4)
        XCTAssertEqual(four.totalChips, 32)
        XCTAssertEqual(four.domains, 4)
        XCTAssertEqual(four.systemPower.value, 40_800, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(four.scaleOutBandwidth(.system)), BytesPerSecond(1.6e12))
        XCTAssertEqual(four.document.figures["nodes"]?.kind, .override)
        let two = try system("cloudmatrix-384", nodes: 96)
        XCTAssertEqual(two.domains, 2)
        XCTAssertEqual(two.totalDevices, 1536)
        XCTAssertEqual(two.systemPower.value, 2 * 559_000, accuracy: 1e-6)
        let half = try system("cloudmatrix-384", nodes: 24)
        XCTAssertEqual(half.chipsPerDomain, 192, "fewer nodes than a domain make one smaller domain")
        // What the 48 nodes share (optics, L2 switches) is borne in proportion: half of it for 24 nodes.
        XCTAssertEqual(half.domainShare, 0.5)
        XCTAssertEqual(half.systemPower.value, 24 * half.nodePower.value + 0.5 * half.power.domain.value, accuracy: 1e-6)
        XCTAssertEqual(two.domainShare, 2)
        XCTAssertThrowsError(try system("cloudmatrix-384", nodes: 50)) { error in
            XCTAssertTrue(
                "\(error)".contains("--nodes: 50 nodes is not a whole number of cloudmatrix-384's scale-up domains of 48"), "\(error)")
        }
        XCTAssertThrowsError(try system("dgx-h100", nodes: 0)) { error in XCTAssertTrue("\(error)".contains("--nodes"), "\(error)") }
    }

    func testASingleDomainSystemWithoutScaleOutCannotGrow() throws {
        let text = try String(contentsOfFile: systemsDirectory + "/nvidia-gb200-nvl72.yaml", encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "scale_out:\n"))
        let end = try XCTUnwrap(text.range(of: "power:\n"))
        let withoutScaleOut = text.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        let document = try SystemDocument.read(try ConfigNode.parse(text: withoutScaleOut, file: "nvl72.yaml"))
        let nvl = try SystemCatalog.build(document, chips: try ChipCatalog.load(directory: chipsDirectory))
        XCTAssertNil(nvl.scaleOutBandwidth(.system))
        XCTAssertEqual(try nvl.with(nodes: 18).totalChips, 72)
        XCTAssertThrowsError(try nvl.with(nodes: 36)) { error in
            XCTAssertTrue("\(error)".hasPrefix("--nodes: gb200-nvl72 has no scale_out section"), "\(error)")
        }
    }

    func testSetOverridesOneFigure() throws {
        let dgx = try system("dgx-h100", overrides: ["scale_out.bandwidth_per_nic=800 Gb/s", "power.fans=600 W"])
        XCTAssertEqual(try XCTUnwrap(dgx.scaleOutBandwidth(.node)), BytesPerSecond(800e9))
        XCTAssertEqual(dgx.nodePower.value, 9_600, accuracy: 1e-6)
        XCTAssertEqual(dgx.document.figures["scale_out.bandwidth_per_nic"]?.kind, .override)
        XCTAssertEqual(dgx.document.figures["power.cpus"]?.kind, .estimated)
        XCTAssertThrowsError(try system("dgx-h100", overrides: ["scale_out.bandwith_per_nic=800 Gb/s"])) { error in
            XCTAssertTrue("\(error)".contains("did you mean \"scale_out.bandwidth_per_nic\""), "\(error)")
        }
        XCTAssertThrowsError(try system("dgx-h100", overrides: ["scale_out.bandwidth_per_nic=800 Gb"])) { error in
            XCTAssertTrue("\(error)".contains("--set: scale_out.bandwidth_per_nic: expected a bandwidth"), "\(error)")
        }
        XCTAssertThrowsError(try system("dgx-h100", overrides: ["scale_up.links_per_chip=19"])) { error in
            XCTAssertTrue("\(error)".contains("h100-sxm has 18"), "\(error)")
        }
    }

    func testUnknownSystemIdSuggestsNearest() {
        XCTAssertThrowsError(try system("dgx-h10")) { error in
            XCTAssertTrue("\(error)".contains("did you mean \"dgx-h100\""), "\(error)")
        }
    }
}
