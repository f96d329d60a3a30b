import Chips
import Config
import Foundation
import XCTest

/// Each kind of bad chip file gives one clear error naming the file, the line and the field.
final class BadChipFileTests: XCTestCase {
    var h100Text: String { try! String(contentsOfFile: chipsDirectory + "/nvidia-h100.yaml", encoding: .utf8) }

    func errors(_ text: String, file: String = "bad.yaml") -> [ConfigError] {
        do {
            let document = try ChipDocument.read(try ConfigNode.parse(text: text, file: file))
            _ = try ChipSpec(document)
            return []
        } catch let error as ConfigErrors {
            return error.errors
        } catch let error as ConfigError {
            return [error]
        } catch {
            XCTFail("unexpected \(error)")
            return []
        }
    }

    func mutated(_ old: String, _ new: String) -> String {
        XCTAssertTrue(h100Text.contains(old), old)
        return h100Text.replacingOccurrences(of: old, with: new)
    }

    func assertError(
        _ text: String, path: String, contains message: String, line: Int? = nil, file: StaticString = #filePath, lineNo: UInt = #line
    ) {
        let found = errors(text)
        XCTAssertFalse(found.isEmpty, "expected an error at \(path)", file: file, line: lineNo)
        guard let error = found.first(where: { $0.path == path }) else {
            return XCTFail("no error at \(path); got \(found.map(\.description))", file: file, line: lineNo)
        }
        XCTAssertTrue(error.message.contains(message), error.description, file: file, line: lineNo)
        XCTAssertEqual(error.file, "bad.yaml", file: file, line: lineNo)
        if let line { XCTAssertEqual(error.line, line, error.description, file: file, line: lineNo) }
    }

    func lineOf(_ needle: String) -> Int {
        let lines = h100Text.components(separatedBy: "\n")
        return lines.firstIndex { $0.contains(needle) }! + 1
    }

    func testTheUnmodifiedFileIsValid() {
        XCTAssertEqual(errors(h100Text).map(\.description), [])
    }

    func testMissingField() {
        let text = mutated("    bandwidth: {value: 3.35 TB/s, source: exxact}\n", "")
        assertError(text, path: "memory.hbm.bandwidth", contains: "missing required field")
    }

    func testDevicesMustSplitThePackageEvenly() {
        let text = mutated(
            "  dies_per_package: {value: 1, source: exxact}\n",
            "  dies_per_package: {value: 1, source: exxact}\n  devices_per_package: {value: 2, source: exxact}\n")
        assertError(text, path: "identity.devices_per_package", contains: "2 devices cannot split a package of 1 dies evenly")
    }

    func testNegativeValue() {
        assertError(
            mutated("units_per_die: {value: 132,", "units_per_die: {value: -132,"), path: "compute.units_per_die",
            contains: "negative", line: lineOf("units_per_die"))
    }

    func testImplausibleValue() {
        assertError(mutated("tdp: {value: 700 W,", "tdp: {value: 70000 W,"), path: "power.tdp", contains: "not plausible")
    }

    func testWrongUnit() {
        assertError(
            mutated("bandwidth: {value: 3.35 TB/s, source: exxact}", "bandwidth: {value: 3.35 GHz, source: exxact}"),
            path: "memory.hbm.bandwidth", contains: "expected a bandwidth", line: lineOf("3.35 TB/s"))
    }

    func testMissingUnit() {
        assertError(mutated("boost: {value: 1.98 GHz,", "boost: {value: 1.98,"), path: "clocks.boost", contains: "expected a frequency")
    }

    func testUnknownDataType() {
        assertError(
            mutated("      fp8: {value: 4096, source: scaling-book}", "      fp7: {value: 4096, source: scaling-book}"),
            path: "compute.matrix.macs_per_cycle.fp7", contains: "unknown field \"fp7\"; did you mean")
    }

    func testMisspeltKeySuggestsTheNearest() {
        assertError(
            mutated("    bandwidth: {value: 3.35 TB/s", "    bandwith: {value: 3.35 TB/s"), path: "memory.hbm.bandwith",
            contains: "did you mean \"bandwidth\"", line: lineOf("3.35 TB/s"))
        assertError(mutated("power:\n", "powr:\n"), path: "powr", contains: "did you mean \"power\"")
    }

    func testWrongType() {
        assertError(
            mutated("units_per_die: {value: 132,", "units_per_die: {value: many,"), path: "compute.units_per_die",
            contains: "expected an integer")
        assertError(mutated("  l2:\n    size:", "  l2: [1, 2]\n  l2x:\n    size:"), path: "memory.l2", contains: "expected a mapping")
    }

    func testFigureWithoutSource() {
        assertError(mutated("tdp: {value: 700 W, source: nvidia-smi}", "tdp: 700 W"), path: "power.tdp", contains: "with its source")
    }

    func testEstimateWithoutHow() {
        assertError(
            mutated("static: {value: 105 W, kind: estimated, how:", "static: {value: 105 W, kind: estimated, note:"),
            path: "power.static.note", contains: "unknown field")
    }

    func testUnknownSource() {
        assertError(
            mutated("tdp: {value: 700 W, source: nvidia-smi}", "tdp: {value: 700 W, source: nvidia-sm}"), path: "power.tdp",
            contains: "did you mean \"nvidia-smi\"")
    }

    func testPeakCheckCatchesInconsistentCounts() {
        assertError(
            mutated("units_per_die: {value: 132,", "units_per_die: {value: 120,"), path: "compute.matrix.vendor_peak.bf16",
            contains: "disagrees with the vendor peak")
    }

    func testCrossFieldOrdering() {
        assertError(mutated("shutdown: {value: 92 C,", "shutdown: {value: 85 C,"), path: "thermal.shutdown", contains: "must be above")
        assertError(
            mutated("staging_buffer: shared", "staging_buffer: ub"), path: "compute.matrix.staging_buffer", contains: "does not declare")
    }

    func testUnsupportedSchemaVersion() {
        assertError(mutated("schema: 1", "schema: 7"), path: "schema", contains: "unsupported chip schema version 7")
    }

    func testEmptyFileAndBinaryGarbage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xpusim-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.yaml")
        try Data().write(to: empty)
        XCTAssertThrowsError(try ChipDocument.load(file: empty.path)) { error in
            XCTAssertTrue("\(error)".contains("empty.yaml: the file is empty"), "\(error)")
        }
        let garbage = dir.appendingPathComponent("garbage.yaml")
        var generator = SystemRandomNumberGenerator()
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0]).write(to: garbage)
        XCTAssertThrowsError(try ChipDocument.load(file: garbage.path)) { error in
            XCTAssertTrue("\(error)".contains("garbage.yaml"), "\(error)")
        }
        XCTAssertEqual(errors("- just\n- a list\n").first?.message.contains("expected a chip description"), true)
    }

    /// An id names one chip: a second file or a variant with it would silently stand in for it.
    func testDuplicateIdsAreRefused() throws {
        assertError(mutated("  h200-sxm:", "  h100-sxm:"), path: "variants.h100-sxm", contains: "has the base chip's id")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xpusim-dup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try h100Text.write(to: dir.appendingPathComponent("nvidia-h100.yaml"), atomically: true, encoding: .utf8)
        try h100Text.write(to: dir.appendingPathComponent("aa-copy.yaml"), atomically: true, encoding: .utf8)
        for attempt in [
            { _ = try ChipCatalog.load(directory: dir.path) }, { _ = try ChipCatalog.resolve("h100-sxm", directory: dir.path) },
        ] {
            XCTAssertThrowsError(try attempt()) { error in
                XCTAssertTrue("\(error)".contains("chip id \"h100-sxm\" is also declared by"), "\(error)")
            }
        }
    }

    /// Another kind of xpusim file given as a chip file is named as such, not as 80 missing fields.
    func testOtherKindsOfFileAreNamed() throws {
        for (file, kind) in [
            ("/libraries/cuda-sm90.yaml", "a kernel library file"), ("/systems/nvidia-dgx-h100.yaml", "a system file"),
        ] {
            XCTAssertThrowsError(try ChipDocument.load(file: chipsDirectory + file)) { error in
                let all = (error as? ConfigErrors)?.errors ?? []
                XCTAssertEqual(all.count, 1, "\(error)")
                XCTAssertTrue("\(error)".contains("this is \(kind), not a chip file"), "\(error)")
            }
        }
    }
}
