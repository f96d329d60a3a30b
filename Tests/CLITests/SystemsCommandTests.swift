import Foundation
import TestSupport
import XCTest

/// `xpusim systems` read back: the JSON documents hold the fields docs/json.md promises, with the
/// hand-checked values, and the table and JSON agree with `--nodes`.
final class SystemsCommandTests: XCTestCase {
    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try xpusim(arguments + ["--format", "json"], environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func testListAsJSONHoldsTheDocumentedFields() throws {
        let document = try json(["systems", "list"])
        XCTAssertEqual(document["schema"] as? Int, 1)
        let systems = try XCTUnwrap(document["systems"] as? [[String: Any]])
        XCTAssertEqual(systems.count, 12)
        let documented = [
            "id", "name", "vendor", "file", "chip", "chips", "chips_per_node", "devices", "devices_per_package", "nodes",
            "nodes_per_domain", "topology", "in_switch_reduction", "peak_flops", "hbm_capacity_bytes", "hbm_bandwidth_bytes_per_s",
            "scale_up_bandwidth_bytes_per_s", "scale_out_bandwidth_bytes_per_s", "node_power_w", "power_w",
        ]
        for system in systems {
            for key in documented { XCTAssertNotNil(system[key], "\(system["id"] ?? "?") lacks \(key)") }
        }
        let cm = try XCTUnwrap(systems.first { $0["id"] as? String == "cloudmatrix-384" })
        XCTAssertEqual(cm["chips"] as? Int, 384)
        XCTAssertEqual(cm["devices"] as? Int, 768)
        XCTAssertEqual(cm["power_w"] as? Double, 559_000)
        let dgx = try XCTUnwrap(systems.first { $0["id"] as? String == "dgx-h100" })
        XCTAssertEqual(dgx["in_switch_reduction"] as? Bool, true)
        XCTAssertEqual(dgx["scale_out_bandwidth_bytes_per_s"] as? Double, 400e9)
    }

    func testShowWithNodesScalesTheSystemButNotTheNode() throws {
        let one = try json(["systems", "show", "dgx-h100"])
        let four = try json(["systems", "show", "dgx-h100", "--nodes", "4"])
        XCTAssertEqual(four["nodes"] as? Int, 4)
        XCTAssertEqual(four["chips"] as? Int, 32)
        XCTAssertEqual(four["node_power_w"] as? Double, one["node_power_w"] as? Double)
        XCTAssertEqual(four["power_w"] as? Double, 4 * 10_200)
        let derived = try XCTUnwrap(four["derived"] as? [String: [String: Any]])
        XCTAssertEqual(derived["package"]?["scale_up_bandwidth_bytes_per_s"] as? Double, 450e9)
        XCTAssertEqual(derived["system"]?["scale_out_bandwidth_bytes_per_s"] as? Double, 1.6e12)
        let parameters = try XCTUnwrap(four["parameters"] as? [[String: Any]])
        let nodes = try XCTUnwrap(parameters.first { $0["path"] as? String == "nodes" })
        XCTAssertEqual(nodes["kind"] as? String, "override")
        let nics = try XCTUnwrap(parameters.first { $0["path"] as? String == "scale_out.bandwidth_per_nic" })
        XCTAssertEqual(nics["value"] as? Double, 50e9)
        XCTAssertEqual(nics["si_unit"] as? String, "B/s")
        XCTAssertEqual(
            nics["source"] as? String,
            "https://docs.nvidia.com/dgx-basepod/reference-architecture-infrastructure-foundation-enterprise-ai/latest/core-components.html"
        )
    }

    func testShowNamesTheDevicesOfAMultiDiePackage() throws {
        let result = try xpusim(["systems", "show", "atlas-800t-a3"], environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("software sees each package as 2 devices (one per die)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 node of 8 packages (16 devices)"), result.stdout)
        let nvl = try xpusim(["systems", "show", "gb200-nvl72"], environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertTrue(nvl.stdout.contains("2 dies per package; software sees each package as 1 device"), nvl.stdout)
    }
}
