import Experiments
import Foundation
import Reports
import Store
import TestSupport
import Workloads
import XCTest

/// A Swift caller goes through what `xpusim run` goes through: the same target, the same engine,
/// the same stored run and the same JSON.
final class ExperimentTests: XCTestCase {
    func testLibraryRunIsTheCommandsRun() throws {
        let workload = packageRoot + "/workloads/llama2-70b-layer-tp8-prefill2048.yaml"
        let outcome = try Experiment.run(
            RunTarget(system: "dgx-h100", chips: packageRoot + "/chips"), trace: try Trace.load(file: workload))
        XCTAssertEqual(outcome.system?.id, "dgx-h100")
        let mine = RunJSON.object(outcome.result, repeat: 1)
        let cli = try xpusim(["run", "--system", "dgx-h100", "--workload", workload, "--no-store", "--format", "json"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        let theirs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        // The CLI prints the shortest round-trip text of each double; Foundation's JSON parser on
        // Linux can read that back one ulp away, so the printed figures compare to 1e-12.
        func same(_ a: Any?, _ b: Any?, _ what: String) throws {
            let x = try XCTUnwrap(a as? Double, what)
            let y = try XCTUnwrap(b as? Double, what)
            XCTAssertEqual(x, y, accuracy: abs(x) * 1e-12, what)
        }
        try same(mine["total_s"], theirs["total_s"], "total_s")
        XCTAssertEqual(mine["energy_j"] as? Double, outcome.result.power.energy)
        var withSystem = mine
        RunJSON.add(outcome.systemRun!, to: &withSystem)
        try same(withSystem["avg_power_w"], theirs["avg_power_w"], "avg_power_w")
        XCTAssertEqual((withSystem["links"] as? [Any])?.count, (theirs["links"] as? [Any])?.count)

        // Stored: the run, its system's power and its links, as `run` stores them.
        let store = try RunStore(path: try temporaryDirectory().appendingPathComponent("r.sqlite").path)
        let id = try Experiment.store(outcome, workload: workload, options: ["system": "dgx-h100"], in: store, toolVersion: "t")
        let run = try XCTUnwrap(try store.run(id))
        XCTAssertEqual(run.systemID, "dgx-h100")
        XCTAssertEqual(run.systemAveragePower!, outcome.systemRun!.averagePower, accuracy: 1e-9)
        XCTAssertEqual(try store.links(id).map(\.name), outcome.result.linkTotals.map(\.name))
        XCTAssertFalse(try store.links(id).isEmpty)
    }

    /// On a system every replica of a generated trace produces its tokens: a TP-8 decode step on
    /// two DGX H100 nodes is two replicas.
    func testSystemTokensCountEveryReplica() throws {
        let request = GenerationRequest(phase: .decode, batch: 16, seq: 512, parallelism: Parallelism(tp: 8))
        let trace = try TraceGenerator(model: .llama31_8B, request: request).trace()
        XCTAssertEqual(trace.replicaRanks, 8)
        let chips = packageRoot + "/chips"
        let one = try Experiment.run(RunTarget(system: "dgx-h100", chips: chips), trace: trace)
        let two = try Experiment.run(RunTarget(system: "dgx-h100", nodes: 2, chips: chips), trace: trace)
        XCTAssertEqual(one.result.tokens, 16)
        XCTAssertEqual(two.result.tokens, 32)
        XCTAssertEqual(try Experiment.run(RunTarget(system: "dgx-h100", chips: chips), trace: trace, repeat: 3).result.tokens, 48)
    }

    func testUnknownTargetsAreClearErrors() {
        XCTAssertThrowsError(try RunTarget(chip: "h101", chips: packageRoot + "/chips").resolve()) {
            XCTAssertTrue("\($0)".contains("no chip with id \"h101\""), "\($0)")
        }
        XCTAssertThrowsError(try RunTarget(system: "dgx-h101", chips: packageRoot + "/chips").resolve()) {
            XCTAssertTrue("\($0)".contains("no system with id \"dgx-h101\""), "\($0)")
        }
    }
}
