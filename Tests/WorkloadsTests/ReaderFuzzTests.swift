import Config
import Foundation
import TestSupport
import XCTest

@testable import xpusim_fuzz

/// A short seeded round of the reader fuzzer (scripts/fuzz.sh runs a million inputs), and the
/// committed regression inputs in Fuzz/ replayed through the full readers.
final class ReaderFuzzTests: XCTestCase {
    let libraries = packageRoot + "/chips/libraries"

    func testASeededRoundFindsNothing() {
        let seeds = ReaderFuzzer.seeds(root: packageRoot)
        XCTAssertGreaterThan(seeds.filter { $0.kind == .chip }.count, 7)
        XCTAssertGreaterThan(seeds.filter { $0.kind == .library }.count, 4)
        XCTAssertGreaterThan(seeds.filter { $0.kind == .trace && $0.name.hasSuffix("as JSON") }.count, 7)
        var fuzzer = ReaderFuzzer(seeds: seeds, libraries: libraries, seed: 20_261_201)
        let summary = fuzzer.round(count: 2500, compareEvery: 16)
        XCTAssertEqual(summary.inputs, 2500)
        XCTAssertGreaterThan(summary.read, 0, "some mutations must still read")
        XCTAssertGreaterThan(summary.refused, 0, "most mutations must be refused")
        for (input, what) in summary.findings.prefix(5) {
            XCTFail("\(input.kind) input from \(input.name): \(what)\n\(String(decoding: input.bytes.prefix(2000), as: UTF8.self))")
        }
    }

    func testTheSameSeedGivesTheSameInputs() {
        let seeds = ReaderFuzzer.seeds(root: packageRoot)
        var a = ReaderFuzzer(seeds: seeds, libraries: libraries, seed: 5)
        var b = ReaderFuzzer(seeds: seeds, libraries: libraries, seed: 5)
        XCTAssertEqual(a.mutate(seeds[3]).bytes, b.mutate(seeds[3]).bytes)
        XCTAssertNotEqual(a.mutate(seeds[3]).bytes, seeds[3].bytes)
    }

    func testRegressionInputsEndInAClearError() throws {
        let directory = packageRoot + "/Tests/WorkloadsTests/Fuzz"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 6)
        for name in names {
            guard let kind = ReaderFuzzer.Kind(rawValue: String(name.prefix { $0 != "-" })) else {
                XCTFail("\(name): a regression input is named chip-*, library-* or trace-*")
                continue
            }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            let outcome = ReaderFuzzer.run(.init(kind: kind, name: name, bytes: bytes), libraries: libraries, compare: true)
            if case .finding(let what) = outcome { XCTFail("\(name): \(what)") }
        }
        // The deepest one is refused for its depth, with the file and line.
        do {
            _ = try ConfigNode.load(file: directory + "/trace-deep-nesting.json")
            XCTFail("read")
        } catch let error as ConfigError {
            XCTAssertTrue(error.description.contains("trace-deep-nesting.json:1:"), error.description)
            XCTAssertTrue(error.message.contains("nested more than"), error.description)
        }
    }
}
