import Foundation
import TestSupport
import XCTest

/// A sweep submitted for real: as a Slurm job array on a live single-node cluster
/// (scripts/slurm-cluster.sh, which .ci/run installs and starts), and with GNU parallel; the
/// result files merged, every point exactly once. Without the cluster (or parallel) the test is
/// skipped, unless XPUSIM_REQUIRE_CLUSTER=1 (set by .ci/run once the cluster is up) makes that a failure.
final class ClusterSweepTests: XCTestCase {
    let small = "workloads/sweeps/h100-small.yaml"

    func shell(_ command: String) throws -> CommandResult { try runProgram("/bin/sh", ["-c", command]) }

    func require(_ available: Bool, _ what: String) throws {
        guard !available else { return }
        if ProcessInfo.processInfo.environment["XPUSIM_REQUIRE_CLUSTER"] == "1" {
            XCTFail("\(what) is not available, and XPUSIM_REQUIRE_CLUSTER=1")
        }
        throw XCTSkip("\(what) is not available (scripts/slurm-cluster.sh install && scripts/slurm-cluster.sh start, as root)")
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// Merges `out` into a fresh database and checks that all 9 points landed exactly once, and
    /// that merging again adds nothing.
    func checkMerged(_ out: String, database: String) throws {
        let env = ["XPUSIM_DB": database]
        let merge = try xpusim(["sweep", "merge", out, "--format", "json"], environment: env)
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let summary = try json(merge.stdout)
        XCTAssertEqual(summary["merged"] as? Int, 9, merge.stdout)
        XCTAssertEqual(summary["duplicates"] as? Int, 0, merge.stdout)
        XCTAssertEqual((summary["missing"] as? [Int])?.count, 0, merge.stdout)
        let again = try json(try xpusim(["sweep", "merge", out, "--format", "json"], environment: env).stdout)
        XCTAssertEqual(again["merged"] as? Int, 0)
        XCTAssertEqual(again["duplicates"] as? Int, 9)
        let runs = try xpusim(["runs", "list", "--format", "json"], environment: env)
        let list = try XCTUnwrap(try json(runs.stdout)["runs"] as? [Any], runs.stdout)
        XCTAssertEqual(list.count, 9, "each point stored exactly once")
        let show = try json(try xpusim(["sweep", "show", small, "--format", "json"], environment: env).stdout)
        XCTAssertEqual(show["points"] as? Int, 9)
        XCTAssertEqual(show["missing"] as? Int, 0)
    }

    func testSlurmJobArray() throws {
        try require((try? shell("sinfo -h -o %t"))?.stdout.contains("idle") == true, "a Slurm cluster with an idle node")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("results").path
        let submit = try xpusim(["sweep", "submit", small, "--engine", "slurm", "--out", out, "--chunk", "2", "--max-running", "2"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let job = try XCTUnwrap(
            submit.stdout.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) }, submit.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/submit.sbatch"))
        // The array is finished when squeue no longer lists it (no accounting database here).
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline, !(try shell("squeue -h -j \(job)")).stdout.isEmpty { Thread.sleep(forTimeInterval: 0.5) }
        let states = try shell("scontrol -o show job \(job)").stdout.split(separator: "\n")
        XCTAssertEqual(states.count, 5, "5 array tasks of 2, 2, 2, 2 and 1 points")
        for line in states { XCTAssertTrue(line.contains("JobState=COMPLETED"), String(line)) }
        let files = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".sqlite") }
        XCTAssertEqual(files.count, 5, "\(files)")
        try checkMerged(out, database: dir.appendingPathComponent("runs.sqlite").path)
    }

    func testGNUParallel() throws {
        try require((try? shell("command -v parallel"))?.status == 0, "GNU parallel")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("results").path
        let submit = try xpusim(["sweep", "submit", small, "--engine", "parallel", "--out", out, "--chunk", "3", "--max-running", "2"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".sqlite") }.count, 3)
        try checkMerged(out, database: dir.appendingPathComponent("runs.sqlite").path)
    }
}
