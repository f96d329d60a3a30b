import Foundation
import Store
import TestSupport
import XCTest

@testable import Sweeps

final class SweepTests: XCTestCase {
    let chips = packageRoot + "/chips"

    func spec(_ body: String) throws -> SweepSpec {
        let file = NSTemporaryDirectory() + "sweep-\(UUID().uuidString).yaml"
        try body.write(toFile: file, atomically: true, encoding: .utf8)
        return try SweepSpec.load(file: file)
    }

    let header = """
        schema: 1
        name: test
        chip: h100-sxm
        workload: \(packageRoot)/workloads/llama-3.1-8b-decode-b64-ctx2048.yaml
        objectives: [time, energy]

        """

    func testGridExpandsInOrderWithStableDistinctIds() throws {
        let s = try spec(
            header + """
                parameters:
                  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s]}
                  - {path: memory.l2.size, range: {from: 32 MiB, to: 64 MiB, steps: 3}}
                """)
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        XCTAssertEqual(plan.points.count, 6)
        XCTAssertEqual(plan.points[1].assignments, ["memory.hbm.bandwidth=2 TB/s", "memory.l2.size=48 MiB"])
        XCTAssertEqual(Set(plan.points.map(\.id)).count, 6)
        let again = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        XCTAssertEqual(again.points, plan.points)
        XCTAssertEqual(again.id, plan.id)
        // The id is the point's chip, workload and tool version: another tool version, other ids.
        XCTAssertNotEqual(try SweepPlan.expand(s, toolVersion: "u", chips: chips).points[0].id, plan.points[0].id)
    }

    /// A Latin hypercube puts one sample in each of its n strata per parameter; the seed fixes it.
    func testLatinHypercubeStratifies() throws {
        let s = try spec(
            header + """
                parameters:
                  - {path: memory.hbm.bandwidth, range: {from: 1 TB/s, to: 5 TB/s}}
                  - {path: compute.units_per_die, range: {from: 66, to: 132}}
                sampling: {latin_hypercube: 20, seed: 4}
                """)
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        XCTAssertEqual(plan.points.count, 20)
        let bandwidths = plan.points.map { Double($0.assignments[0].split(separator: "=")[1].split(separator: " ")[0])! }
        let strata = Set(bandwidths.map { Int(($0 / 1000 - 1) / 4 * 20) })
        XCTAssertEqual(strata.count, 20, "\(bandwidths)")
        XCTAssertEqual(try SweepPlan.expand(s, toolVersion: "t", chips: chips).points, plan.points)
        var other = s
        other.sampling = .latinHypercube(count: 20, seed: 5)
        XCTAssertNotEqual(try SweepPlan.expand(other, toolVersion: "t", chips: chips).points, plan.points)
    }

    func testParetoFrontAndSensitivity() {
        func run(_ i: Int, _ time: Double, _ energy: Double, bandwidth: Double) -> SweepRun {
            SweepRun(
                runID: Int64(i), point: "p\(i)", index: i, chip: "c", assignments: ["memory.hbm.bandwidth=\(bandwidth) TB/s"],
                baseline: false, values: [.time: time, .energy: energy])
        }
        // Time falls as bandwidth^-0.5; energy does not move; point 3 is beaten on both by point 2.
        let runs =
            [1.0, 2, 4, 8].enumerated().map { run($0.offset, 1 / $0.element.squareRoot(), 1, bandwidth: $0.element) } + [
                run(9, 0.9, 1.5, bandwidth: 1)
            ]
        let front = SweepRuns.paretoFront(runs, objectives: [.time, .energy])
        XCTAssertEqual(front.map(\.index), [3])
        XCTAssertEqual(Set(SweepRuns.paretoFront(runs, objectives: [.energy]).map(\.index)), [0, 1, 2, 3])
        let s = SweepSpec(
            file: "f", name: "n", chip: "c", baseline: nil, workload: "w",
            parameters: [.init(path: "memory.hbm.bandwidth", type: .quantity(.bandwidth), domain: .values([]))], sampling: .grid,
            objectives: [.time])
        let e = SweepRuns.sensitivity(Array(runs.prefix(4)), spec: s)
        XCTAssertEqual(e.count, 1)
        XCTAssertEqual(e[0].elasticity!, -0.5, accuracy: 1e-9)
    }

    /// Run twice: the second run finds every point stored and runs none.
    func testRunStoresEveryPointOnceAndResumes() throws {
        let s = try spec(
            header + """
                baseline: h20
                parameters:
                  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s, 4 TB/s]}
                """)
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        let db = NSTemporaryDirectory() + "sweep-\(UUID().uuidString).sqlite"
        let store = try RunStore(path: db)
        let first = try SweepRunner.run(plan, chips: chips, store: store, toolVersion: "t", jobs: 2)
        XCTAssertEqual(first.ran, 4)
        let second = try SweepRunner.run(plan, chips: chips, store: store, toolVersion: "t", jobs: 2)
        XCTAssertEqual(second.ran, 0)
        XCTAssertEqual(second.skipped, 4)
        let runs = try SweepRuns.load(store, sweep: plan.id)
        XCTAssertEqual(runs.count, 4)
        XCTAssertEqual(runs.filter(\.baseline).map(\.chip), ["h20"])
        // More bandwidth, less time on a decode step.
        let times = runs.filter { !$0.baseline }.map { $0.values[.time]! }
        XCTAssertEqual(times, times.sorted(by: >))
    }

    func testBadSpecsNameTheirPlace() throws {
        XCTAssertThrowsError(try spec(header + "parameters:\n  - {path: memory.hbm.bandwith, values: [1 TB/s]}\n")) {
            XCTAssertTrue("\($0)".contains("no chip figure \"memory.hbm.bandwith\""), "\($0)")
        }
        XCTAssertThrowsError(try spec(header + "parameters:\n  - {path: memory.hbm.bandwidth, range: {from: 3 TB/s, to: 1 TB/s}}\n")) {
            XCTAssertTrue("\($0)".contains("expected from below to"), "\($0)")
        }
        XCTAssertThrowsError(
            try spec(
                header.replacingOccurrences(of: "[time, energy]", with: "[speed]")
                    + "parameters:\n  - {path: memory.hbm.bandwidth, values: [1 TB/s]}\n")
        ) { XCTAssertTrue("\($0)".contains("expected one of: time"), "\($0)") }
    }
}
