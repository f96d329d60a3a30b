import Foundation
import Store
import Workloads
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
        // Not where the chips are read from: a cluster node may see the checkout by another path.
        let elsewhere = try temporaryDirectory().appendingPathComponent("chips").path
        try FileManager.default.createSymbolicLink(atPath: elsewhere, withDestinationPath: chips)
        XCTAssertEqual(try SweepPlan.expand(s, toolVersion: "t", chips: elsewhere).id, plan.id)
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

    /// Parameters that move together (as a constraint makes them) are told apart: time follows
    /// bandwidth^-0.7 alone, and the stack count, correlated with bandwidth here, gets none of it.
    func testSensitivityHoldsTheOtherParameters() {
        let design: [(stacks: Double, bandwidth: Double)] = [(8, 2), (8, 4), (12, 4), (12, 8), (12, 6), (8, 3)]
        let runs = design.enumerated().map { i, d in
            SweepRun(
                runID: Int64(i), point: "p\(i)", index: i, chip: "c",
                assignments: ["memory.hbm.stacks=\(Int(d.stacks))", "memory.hbm.bandwidth=\(d.bandwidth) TB/s"], baseline: false,
                values: [.time: pow(d.bandwidth, -0.7)])
        }
        let s = SweepSpec(
            file: "f", name: "n", chip: "c", baseline: nil, workload: "w",
            parameters: [
                .init(path: "memory.hbm.stacks", type: .integer, domain: .values([])),
                .init(path: "memory.hbm.bandwidth", type: .quantity(.bandwidth), domain: .values([])),
            ], sampling: .grid, objectives: [.time])
        let e = SweepRuns.sensitivity(runs, spec: s)
        XCTAssertEqual(e[0].elasticity!, 0, accuracy: 1e-9)
        XCTAssertEqual(e[1].elasticity!, -0.7, accuracy: 1e-9)
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

    /// Shards partition the tasks (points, then the baseline): every task in exactly one shard.
    func testShardsPartitionTheTasks() throws {
        let s = try spec(header + "baseline: h20\nparameters:\n  - {path: memory.hbm.bandwidth, range: {from: 1 TB/s, to: 4 TB/s, steps: 10}}\n")
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        XCTAssertEqual(plan.taskCount, 11)
        XCTAssertEqual(plan.task(10).index, -1)
        for n in [1, 2, 3, 7, 11, 15] {
            let shards = (1...n).map { plan.shard($0, of: n) }
            XCTAssertEqual(shards.flatMap { Array($0) }, Array(0..<11), "n = \(n)")
            XCTAssertLessThanOrEqual(shards.map(\.count).max()! - shards.map(\.count).min()!, 1)
        }
    }

    /// Result files from shards (one task run twice, as a requeued array task would) merge into
    /// the database each point once; merging again adds nothing; a file of another plan is
    /// refused and leaves the database as it was.
    func testResultFilesMergeEachPointOnce() throws {
        let s = try spec(header + "baseline: h20\nparameters:\n  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s, 4 TB/s]}\n")
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        let dir = try temporaryDirectory().path
        for k in 1...2 { _ = try SweepResults.run(plan, chips: chips, toolVersion: "t", tasks: plan.shard(k, of: 2), into: dir, jobs: 1) }
        _ = try SweepResults.run(plan, chips: chips, toolVersion: "t", tasks: 3..<4, into: dir, jobs: 1)
        let store = try RunStore(path: dir + "/../merged-\(UUID().uuidString).sqlite")
        let first = try SweepResults.merge(dir, into: store)
        XCTAssertEqual(first.files, 3)
        XCTAssertEqual(first.merged, 4)
        XCTAssertEqual(first.duplicates, 1)
        XCTAssertEqual(first.missing, [])
        let runs = try SweepRuns.load(store, sweep: plan.id)
        XCTAssertEqual(Set(runs.map(\.point)), Set((0..<4).map { plan.task($0).id }))
        XCTAssertEqual(try store.list().count, 4)
        // The kernels came along with their runs.
        XCTAssertEqual(try store.kernels(runs[1].runID).count, try Trace.load(file: s.workload).kernels.count)
        XCTAssertEqual(try SweepResults.merge(dir, into: store).merged, 0)

        // Another plan's result file in the folder: refused, nothing merged.
        let other = try SweepPlan.expand(
            try spec(header + "parameters:\n  - {path: memory.hbm.bandwidth, values: [5 TB/s]}\n"), toolVersion: "t", chips: chips)
        let otherDir = try temporaryDirectory().path
        let file = try SweepResults.run(other, chips: chips, toolVersion: "t", tasks: 0..<1, into: otherDir, jobs: 1).file
        try FileManager.default.copyItem(atPath: file, toPath: dir + "/" + plan.id + "-tasks-9-9.sqlite")
        let fresh = try RunStore(path: dir + "/../fresh-\(UUID().uuidString).sqlite")
        XCTAssertThrowsError(try SweepResults.merge(dir, into: fresh)) {
            XCTAssertTrue("\($0)".contains("not one of sweep \(plan.id)'s points; nothing was merged"), "\($0)")
        }
        XCTAssertEqual(try fresh.list().count, 0)
        // A result folder holds one plan: running another plan into it is refused.
        XCTAssertThrowsError(try SweepResults.run(other, chips: chips, toolVersion: "t", tasks: 0..<1, into: dir, jobs: 1)) {
            XCTAssertTrue("\($0)".contains("holds the results of sweep \(plan.id)"), "\($0)")
        }
    }

    /// A truncated result file is refused by name, and nothing is merged.
    func testCorruptResultFileIsRefused() throws {
        let s = try spec(header + "parameters:\n  - {path: memory.hbm.bandwidth, values: [2 TB/s]}\n")
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        let dir = try temporaryDirectory().path
        let file = try SweepResults.run(plan, chips: chips, toolVersion: "t", tasks: 0..<1, into: dir, jobs: 1).file
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(100).write(to: URL(fileURLWithPath: file))
        let store = try RunStore(path: dir + "/../m-\(UUID().uuidString).sqlite")
        XCTAssertThrowsError(try SweepResults.merge(dir, into: store)) { XCTAssertTrue("\($0)".contains(file), "\($0)") }
        XCTAssertEqual(try store.list().count, 0)
    }

    func testSlurmScriptQuotesAndChunks() throws {
        let s = try spec(header + "parameters:\n  - {path: memory.hbm.bandwidth, range: {from: 1 TB/s, to: 4 TB/s, steps: 10}}\n")
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        let sub = SweepSubmission(
            executable: "/opt/x p/xpusim", spec: "/s/it's.yaml", chips: "/c", out: "/o", workingDirectory: "/w", plan: plan, chunk: 3,
            maxRunning: 2, toolVersion: "t")
        XCTAssertEqual(sub.shards, 4)
        XCTAssertTrue(sub.slurmScript.contains("#SBATCH --array=1-4%2\n"))
        XCTAssertTrue(sub.slurmScript.contains("exec '/opt/x p/xpusim' sweep run '/s/it'\\''s.yaml' --chips-dir /c --shard ${SLURM_ARRAY_TASK_ID}/4 --out /o"))
        XCTAssertTrue(sub.parallelCommand.hasPrefix("mkdir -p /o/logs && seq 1 4 | parallel -q --jobs 2 "), sub.parallelCommand)
    }

    /// Constraints between figures leave out the points that break them, reading varied figures at
    /// the point's value and the others at the base chip's.
    func testConstraintsLeaveOutPoints() throws {
        let s = try spec(
            header + """
                parameters:
                  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s, 4 TB/s]}
                  - {path: memory.l2.size, values: [25 MiB, 50 MiB, 100 MiB]}
                constraints:
                  - memory.hbm.bandwidth / (memory.l2.size / 1 MiB) <= 100 GB/s
                  - memory.hbm.capacity >= 80 GB
                """)
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        // 2 TB/s / 25 = 80 GB/s holds; 3 TB/s / 25 = 120 and 4 TB/s / 25 = 160 do not; 4 TB/s / 50 = 80 holds.
        XCTAssertEqual(plan.points.count, 7)
        XCTAssertEqual(plan.excluded, 2)
        XCTAssertFalse(plan.points.contains { $0.assignments == ["memory.hbm.bandwidth=3 TB/s", "memory.l2.size=25 MiB"] })
        XCTAssertEqual(plan.points.map(\.index), Array(0..<7))

        let c = try SweepConstraint("2 * (compute.units_per_die + 1) - 3 > -1e1")
        XCTAssertEqual(c.paths, ["compute.units_per_die"])
        XCTAssertTrue(try c.holds { _ in 0 })
        XCTAssertFalse(try c.holds { _ in -20 })
        for (text, message) in [
            ("memory.hbm.bandwith <= 1", "no figure \"memory.hbm.bandwith\""), ("memory.l2.size", "expected a comparison"),
            ("memory.l2.size <= 3 furlongs", "\"3 furlongs\" is not a quantity"), ("(memory.l2.size <= 1", "expected )"),
            ("memory.l2.size <= 1 1", "unexpected \"1\""),
        ] {
            XCTAssertThrowsError(try SweepConstraint(text), text) { XCTAssertTrue("\($0)".contains(message), "\(text): \($0)") }
        }
        let none = try spec(header + "parameters:\n  - {path: memory.l2.size, values: [25 MiB]}\nconstraints: [memory.l2.size < 1 MiB]\n")
        XCTAssertThrowsError(try SweepPlan.expand(none, toolVersion: "t", chips: chips)) {
            XCTAssertTrue("\($0)".contains("no point of the 1 meets them all"), "\($0)")
        }
    }

    /// A system as the base: system figures varied and constrained, one rank run per point over
    /// the system's links, the objectives the whole system's.
    func testSystemSweep() throws {
        let file = NSTemporaryDirectory() + "sweep-\(UUID().uuidString).yaml"
        try """
            schema: 1
            name: sys
            system: dgx-h100
            workload: \(packageRoot)/workloads/llama2-70b-layer-tp8-prefill2048.yaml
            parameters:
              - {path: scale_up.links_per_chip, values: [8, 18]}
              - {path: scale_up.switches.count, values: [2, 4]}
            constraints: [scale_up.switches.count * scale_up.switches.ports >= node.chips * scale_up.links_per_chip]
            objectives: [time, power]
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let s = try SweepSpec.load(file: file)
        XCTAssertTrue(s.isSystem)
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        // 2 switches x 64 ports cannot take 8 x 18 links.
        XCTAssertEqual(plan.points.count, 3)
        XCTAssertEqual(plan.excluded, 1)
        let store = try RunStore(path: NSTemporaryDirectory() + "sweep-\(UUID().uuidString).sqlite")
        XCTAssertEqual(try SweepRunner.run(plan, chips: chips, store: store, toolVersion: "t", jobs: 2).ran, 3)
        let runs = try SweepRuns.load(store, sweep: plan.id)
        let stored = try store.list()
        XCTAssertEqual(Set(stored.map(\.systemID)), ["dgx-h100"])
        // The power objective is the whole system's, not one chip's.
        for r in runs {
            let run = stored.first { $0.id == r.runID }!
            XCTAssertEqual(r.values[.power]!, run.systemAveragePower!, accuracy: 1e-9)
            XCTAssertGreaterThan(r.values[.power]!, 8 * run.averagePower!)
        }
        // Fewer links, a slower all-reduce.
        let time = { (links: String) in runs.first { $0.assignments[0].hasSuffix("=\(links)") }!.values[.time]! }
        XCTAssertGreaterThan(time("8"), time("18"))
        try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "scale_up.links_per_chip, values", with: "memory.l2.size, values")
            .write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SweepSpec.load(file: file)) { XCTAssertTrue("\($0)".contains("no system figure \"memory.l2.size\""), "\($0)") }
    }

    /// Found in review: the baseline is part of the plan; values equal as written are one point;
    /// a value a constraint cannot read is an error, not the base chip's value; a sweep with only
    /// its baseline stored has no sensitivities (and does not crash).
    func testPlanEdgeCases() throws {
        let body = "parameters:\n  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s]}\n"
        let a = try SweepPlan.expand(try spec(header + "baseline: h20\n" + body), toolVersion: "t", chips: chips)
        let b = try SweepPlan.expand(try spec(header + "baseline: a100-sxm\n" + body), toolVersion: "t", chips: chips)
        XCTAssertEqual(a.points, b.points)
        XCTAssertNotEqual(a.id, b.id)

        let narrow = try SweepPlan.expand(
            try spec(header + "parameters:\n  - {path: memory.l2.size, range: {from: 50 MiB, to: 50.001 MiB, steps: 5}}\n"), toolVersion: "t",
            chips: chips)
        XCTAssertEqual(narrow.points.count, 1)
        XCTAssertEqual(narrow.duplicates, 4)
        XCTAssertEqual(Set(narrow.points.map(\.id)).count, narrow.points.count)

        let unreadable = try spec(
            header + "parameters:\n  - {path: memory.hbm.bandwidth, values: [\"4.8 tb/s\"]}\nconstraints: [\"memory.hbm.bandwidth >= 4 TB/s\"]\n")
        XCTAssertThrowsError(try SweepPlan.expand(unreadable, toolVersion: "t", chips: chips)) {
            XCTAssertTrue("\($0)".contains("not a value a constraint can read"), "\($0)")
        }
        let baselineOnly = SweepRun(runID: 1, point: "b", index: -1, chip: "h20", assignments: [], baseline: true, values: [.time: 1])
        XCTAssertTrue(SweepRuns.sensitivity([baselineOnly], spec: a.spec).allSatisfy { $0.elasticity == nil })
    }

    /// Two merges of one folder at once store each point once (the stored points are read inside
    /// the write transaction).
    func testConcurrentMergesStoreEachPointOnce() throws {
        let s = try spec(header + "parameters:\n  - {path: memory.hbm.bandwidth, values: [2 TB/s, 3 TB/s, 4 TB/s]}\n")
        let plan = try SweepPlan.expand(s, toolVersion: "t", chips: chips)
        let dir = try temporaryDirectory().path
        for k in 1...3 { _ = try SweepResults.run(plan, chips: chips, toolVersion: "t", tasks: plan.shard(k, of: 3), into: dir, jobs: 1) }
        let db = dir + "/../merged-\(UUID().uuidString).sqlite"
        _ = try RunStore(path: db)
        let merged = ManagedAtomicCounter()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            if let store = try? RunStore(path: db), let summary = try? SweepResults.merge(dir, into: store) { merged.add(summary.merged) }
        }
        XCTAssertEqual(merged.value, 3)
        XCTAssertEqual(try RunStore(path: db).list().count, 3)
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

/// A counter several threads add to.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.withLock { total += n } }
    var value: Int { lock.withLock { total } }
}
