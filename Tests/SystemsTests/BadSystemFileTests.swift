import Chips
import Config
import Foundation
import Systems
import XCTest

/// Each kind of bad system file gives a clear error naming the file, the line and the field, and
/// a file with several problems reports them all at once.
final class BadSystemFileTests: XCTestCase {
    var dgxText: String { try! String(contentsOfFile: systemsDirectory + "/nvidia-dgx-h100.yaml", encoding: .utf8) }

    func errors(_ text: String) -> [ConfigError] {
        do {
            let document = try SystemDocument.read(try ConfigNode.parse(text: text, file: "bad.yaml"))
            _ = try SystemCatalog.build(document, chips: try ChipCatalog.load(directory: chipsDirectory))
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

    func mutated(_ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertTrue(dgxText.contains(old), old, file: file, line: line)
        return dgxText.replacingOccurrences(of: old, with: new)
    }

    func lineOf(_ needle: String) -> Int { dgxText.components(separatedBy: "\n").firstIndex { $0.contains(needle) }! + 1 }

    func assertError(
        _ text: String, path: String, contains message: String, line: Int? = nil, file: StaticString = #filePath, lineNo: UInt = #line
    ) {
        let found = errors(text)
        guard let error = found.first(where: { $0.path == path }) else {
            return XCTFail("no error at \(path); got \(found.map(\.description))", file: file, line: lineNo)
        }
        XCTAssertTrue(error.message.contains(message), error.description, file: file, line: lineNo)
        XCTAssertEqual(error.file, "bad.yaml", file: file, line: lineNo)
        if let line { XCTAssertEqual(error.line, line, error.description, file: file, line: lineNo) }
    }

    func testTheUnmodifiedFileIsValid() {
        XCTAssertEqual(errors(dgxText).map(\.description), [])
    }

    func testMalformedYAML() {
        let found = errors(mutated("node:\n  chip: h100-sxm\n", "node: [chip: h100-sxm\n"))
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertEqual(found.first?.file, "bad.yaml")
        XCTAssertNotNil(found.first?.line, "\(found)")
    }

    func testUnknownKeySuggestsTheNearest() {
        assertError(
            mutated("  chips: {value: 8,", "  chps: {value: 8,"), path: "node.chps",
            contains: "unknown field \"chps\"; did you mean \"chips\"?",
            line: lineOf("  chips: {value: 8,"))
        assertError(mutated("scale_out:\n", "scale_ot:\n"), path: "scale_ot", contains: "did you mean \"scale_out\"?")
    }

    func testWrongUnit() {
        assertError(
            mutated("bandwidth_per_link: {value: 25 GB/s", "bandwidth_per_link: {value: 25 GB"), path: "scale_up.bandwidth_per_link",
            contains: "expected a bandwidth such as \"3.35 TB/s\", found \"25 GB\"", line: lineOf("bandwidth_per_link: {value: 25 GB/s"))
    }

    func testMissingSource() {
        assertError(
            mutated("links_per_chip: {value: 18, source: nvlink}", "links_per_chip: {value: 18}"), path: "scale_up.links_per_chip",
            contains: "a figure needs a source", line: lineOf("links_per_chip:"))
        assertError(
            mutated("links_per_chip: {value: 18, source: nvlink}", "links_per_chip: {value: 18, source: nvlnk}"),
            path: "scale_up.links_per_chip", contains: "unknown source \"nvlnk\"; declare it under sources:; did you mean \"nvlink\"?")
        assertError(
            mutated("links_per_chip: {value: 18, source: nvlink}", "links_per_chip: {value: 18, kind: estimated}"),
            path: "scale_up.links_per_chip", contains: "must say how it was obtained")
    }

    func testUnknownChipId() {
        assertError(
            mutated("  chip: h100-sxm", "  chip: h100-sx"), path: "node.chip",
            contains: "no chip with id \"h100-sx\"; did you mean \"h100-sxm\"?",
            line: lineOf("  chip: h100-sxm"))
    }

    func testNegativeAndAbsurdValues() {
        assertError(
            mutated("  chips: {value: 8,", "  chips: {value: -8,"), path: "node.chips", contains: "must not be negative",
            line: lineOf("  chips: {value: 8,"))
        assertError(
            mutated("nics_per_node: {value: 8,", "nics_per_node: {value: 0,"), path: "scale_out.nics_per_node", contains: "must be positive"
        )
        assertError(
            mutated("bandwidth_per_nic: {value: 400 Gb/s", "bandwidth_per_nic: {value: 400 Tb/s"), path: "scale_out.bandwidth_per_nic",
            contains: "is not plausible here")
        assertError(mutated("\nnodes: 1\n", "\nnodes: 1.5\n"), path: "nodes", contains: "expected an integer")
    }

    func testEveryProblemIsReportedAtOnce() {
        let text = mutated("  chips: {value: 8,", "  chps: {value: 8,")
            .replacingOccurrences(of: "bandwidth_per_link: {value: 25 GB/s", with: "bandwidth_per_link: {value: 25 GB")
            .replacingOccurrences(of: "cpus: {value: 700 W, kind: estimated, ", with: "cpus: {value: -700 W, kind: estimated, ")
        let found = errors(text)
        XCTAssertEqual(
            Set(found.map(\.path)), ["node.chps", "node.chips", "scale_up.bandwidth_per_link", "power.cpus"], "\(found.map(\.description))")
        XCTAssertTrue(found.allSatisfy { $0.file == "bad.yaml" })
    }

    func testRulesBetweenFigures() {
        assertError(
            mutated("links_per_chip: {value: 18,", "links_per_chip: {value: 20,"), path: "scale_up.links_per_chip",
            contains: "20 links, but h100-sxm has 18")
        assertError(
            mutated("bandwidth_per_link: {value: 25 GB/s", "bandwidth_per_link: {value: 30 GB/s"), path: "scale_up.bandwidth_per_link",
            contains: "faster than h100-sxm's links")
        let start = dgxText.range(of: "  switches:\n")!
        let end = dgxText.range(of: "scale_out:\n")!
        let noSwitches = dgxText.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        assertError(noSwitches, path: "scale_up.topology", contains: "a switch topology needs its switches")
        assertError(noSwitches, path: "scale_up.in_switch_reduction", contains: "in-network reduction needs switches")
        assertError(
            mutated("  fans: {value: 1200 W", "  fans: {value: 2200 W"), path: "power.rated_max", contains: "more than its rated 10200 W")
        let start2 = dgxText.range(of: "scale_out:\n")!
        let end2 = dgxText.range(of: "power:\n")!
        let twoNodesNoNetwork = dgxText.replacingCharacters(in: start2.lowerBound..<end2.lowerBound, with: "")
            .replacingOccurrences(of: "\nnodes: 1\n", with: "\nnodes: 2\n")
        assertError(twoNodesNoNetwork, path: "nodes", contains: "describe the scale_out network")
    }

    func testASectionOnceGivenIsComplete() {
        assertError(
            mutated("  nics_per_node: {value: 8, source: basepod}\n", ""), path: "scale_out.nics_per_node",
            contains: "missing required field (scale-out NICs per node; a positive integer), needed once scale_out is given")
    }

    /// A collectives section: word lists from the library's algorithms and protocols, a buffer
    /// size, and tuner rules; each mistake is named with its line.
    func testCollectivesSection() {
        func with(_ section: String) -> String { mutated("power:\n", "collectives:\n" + section + "power:\n") }
        let good = """
              algorithms: {value: [ring, tree], source: basepod}
              protocols: {value: simple, source: basepod}
              buffer_size: {value: 8 MiB, source: basepod}
              tuner:
                value:
                  - {collective: all_reduce, nodes: 2-4, ranks_per_node: 8+, below: 2 MiB, algorithm: tree, protocol: simple}
                source: basepod

            """
        XCTAssertEqual(errors(with(good)).map(\.description), [])
        func assertMessage(_ section: String, _ message: String, line: UInt = #line) {
            let found = errors(with(section)).map(\.description)
            XCTAssertTrue(found.contains { $0.contains(message) && $0.contains("bad.yaml") }, "\(found)", line: line)
        }
        assertMessage("  algorithms: {value: [ring, trees], source: basepod}\n", "found \"trees\"; did you mean \"tree\"?")
        assertMessage("  algorithms: {value: [ring, ring], source: basepod}\n", "\"ring\" is listed twice")
        assertMessage("  algorithms: {value: [], source: basepod}\n", "found an empty list")
        assertMessage("  protocols: {value: [simple]}\n", "a figure needs a source")
        assertMessage("  buffer_size: {value: 1 KiB, source: basepod}\n", "is not plausible here")
        assertMessage(
            "  tuner: {value: [{collective: all_reduce, nodes: 3-2, algorithm: tree}], source: basepod}\n",
            "nodes: expected a count (2), a range (3-6) or a least count (8+)")
        assertMessage(
            "  tuner: {value: [{collective: all_reduse, algorithm: tree}], source: basepod}\n", "did you mean \"all_reduce\"?")
        assertMessage(
            "  tuner: {value: [{collective: all_reduce, algorithm: tree, from: 4 MiB, below: 2 MiB}], source: basepod}\n",
            "the rule covers no message size")
        assertMessage("  tuner: {value: [{collective: all_reduce, algo: tree}], source: basepod}\n", "algo")
        assertMessage("  tuner: {value: tree, source: basepod}\n", "expected a list of rules")
    }

    /// `--set` takes word lists and rules as YAML, as the file does.
    func testCollectivesOverride() throws {
        var document = try SystemDocument.read(try ConfigNode.parse(text: dgxText, file: "dgx.yaml"))
        try document.override("collectives.algorithms=[ring]")
        XCTAssertEqual(document.figures["collectives.algorithms"]?.value, .text("ring"))
        try document.override("collectives.tuner=[{collective: all_gather, algorithm: ring, protocol: ll}]")
        guard case .rules(let rules)? = document.figures["collectives.tuner"]?.value else { return XCTFail("no rules") }
        XCTAssertEqual(rules.map(\.text), ["all_gather on 1+ nodes, 1+ ranks per node: ring/ll"])
        XCTAssertThrowsError(try document.override("collectives.protocols=[ll256]")) { error in
            XCTAssertTrue("\(error)".contains("expected one of: ll, ll128, simple"), "\(error)")
        }
        let spec = try SystemCatalog.build(document, chips: try ChipCatalog.load(directory: chipsDirectory))
        XCTAssertEqual(spec.collectives.algorithms, [.ring])
        XCTAssertEqual(spec.collectives.rule(.all_gather, nodes: 1, ranksPerNode: 8, bytes: 1)?.protocol, .ll)
    }

    func testSwitchesMustHavePortsForEveryLink() {
        assertError(
            mutated("ports: {value: 64,", "ports: {value: 2,"), path: "scale_up.switches.ports",
            contains: "4 switches of 2 ports cannot take the 8 chips' 18 links each", line: lineOf("ports: {value: 64,"))
    }
}
