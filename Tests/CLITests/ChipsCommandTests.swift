import Foundation
import TestSupport
import XCTest

final class ChipsCommandTests: XCTestCase {
    func testListPrintsEveryChip() throws {
        let result = try xpusim(["chips", "list"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for id in ["h100-sxm", "h20", "ascend-910b2", "ascend-910c", "mlu590", "metax-c500"] {
            XCTAssertTrue(result.stdout.contains(id), id)
        }
        XCTAssertTrue(result.stdout.contains("989.43 TF"))
    }

    func testListAsJSON() throws {
        let result = try xpusim(["chips", "list", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document["schema"] as? Int, 1)
        let items = try XCTUnwrap(document["chips"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(items.count, 6)
        for item in items {
            XCTAssertNotNil(item["id"] as? String)
            XCTAssertNotNil(item["name"] as? String)
            XCTAssertNotNil(item["vendor"] as? String)
        }
        let h100 = try XCTUnwrap(items.first { $0["id"] as? String == "h100-sxm" })
        XCTAssertEqual(h100["tdp_w"] as? Double, 700)
    }

    func testShowPrintsEveryParameterWithSourceAndPeaks() throws {
        let result = try xpusim(["chips", "show", "h100-sxm"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("memory.hbm.bandwidth"))
        XCTAssertTrue(result.stdout.contains("https://www.exxactcorp.com/blog/HPC/NVIDIA-H100"))
        XCTAssertTrue(result.stdout.contains("estimated"))
        XCTAssertTrue(result.stdout.contains("Derived peaks"))
        XCTAssertTrue(result.stdout.contains("989.43 TFLOPS"))
    }

    func testShowByPathWithOverrideAsJSON() throws {
        let result = try xpusim(["chips", "show", "chips/nvidia-h100.yaml", "--set", "memory.hbm.bandwidth=4 TB/s", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["hbm_bandwidth_bytes_per_s"] as? Double, 4e12)
        let parameters = try XCTUnwrap(object["parameters"] as? [[String: Any]])
        let bandwidth = try XCTUnwrap(parameters.first { $0["path"] as? String == "memory.hbm.bandwidth" })
        XCTAssertEqual(bandwidth["kind"] as? String, "override")
    }

    func testValidateAcceptsShippedFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/chips").filter { $0.hasSuffix(".yaml") }.map { "chips/\($0)" }
        let result = try xpusim(["chips", "validate"] + files)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout.components(separatedBy: ": ok").count - 1, files.count)
    }

    func testValidateRejectsBadFilesWithPlaceAndNonZeroExit() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try String(contentsOfFile: packageRoot + "/chips/nvidia-h100.yaml", encoding: .utf8)
        let bad = dir.appendingPathComponent("typo.yaml")
        try misspellingHBMLatency(good).write(to: bad, atomically: true, encoding: .utf8)
        let garbage = dir.appendingPathComponent("garbage.yaml")
        try Data([0x00, 0x9f, 0x92, 0x96, 0xff]).write(to: garbage)
        let result = try xpusim(["chips", "validate", bad.path, garbage.path, "chips/nvidia-h20.yaml"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("typo.yaml:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("memory.hbm.latncy: unknown field \"latncy\"; did you mean \"latency\"?"), result.stderr)
        XCTAssertTrue(result.stderr.contains("garbage.yaml: the file is binary"), result.stderr)
        XCTAssertTrue(result.stdout.contains("nvidia-h20.yaml: ok"))
        XCTAssertFalse(result.stderr.contains("Fatal error"))
    }

    func testUnknownChipIsOneClearError() throws {
        let result = try xpusim(["chips", "show", "h100"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr)
        XCTAssertTrue(result.stderr.contains("no chip with id \"h100\""), result.stderr)
        let missing = try xpusim(["chips", "show", "nowhere/chip.yaml"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("nowhere/chip.yaml: no such file"), missing.stderr)
    }

    func testHelpEverywhere() throws {
        for command in [["--help"], ["chips", "--help"], ["chips", "list", "--help"], ["chips", "show", "--help"], ["chips", "validate", "--help"]] {
            let result = try xpusim(command)
            XCTAssertEqual(result.status, 0, command.joined(separator: " "))
            XCTAssertTrue(result.stdout.contains("USAGE"), command.joined(separator: " "))
        }
    }

    func testRunsFromAnotherDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try xpusim(["chips", "list"], environment: ["XPUSIM_CHIPS": packageRoot + "/chips"], directory: dir.path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("h100-sxm"))
    }
}

/// The chip file with its `memory.hbm.latency` key misspelt `latncy` (whatever its value).
func misspellingHBMLatency(_ file: String) -> String {
    guard let hbm = file.range(of: "\n  hbm:\n"), let key = file.range(of: "    latency:", range: hbm.upperBound..<file.endIndex) else {
        return file
    }
    return file.replacingCharacters(in: key, with: "    latncy:")
}
