import Foundation
import TestSupport
import XCTest

final class RunsCommandTests: XCTestCase {
    var dir: URL!
    var db: String { dir.appendingPathComponent("runs.sqlite").path }

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ chip: String, _ workload: String = "workloads/llama2-7b-layer-decode-b1.yaml") throws -> Int {
        let result = try xpusim(["run", "--chip", chip, "--workload", workload, "--db", db, "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(object["run_id"] as? Int)
    }

    func testRunStoresAndRunsCommandsReadBack() throws {
        let a = try run("h100-sxm"), b = try run("ascend-910b2"), c = try run("h20", "workloads/gemm-sweep.yaml")
        XCTAssertEqual([a, b, c], [1, 2, 3])
        let table = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--db", db])
        XCTAssertTrue(table.stdout.contains("stored as run 4 in \(db)"), table.stdout)

        let list = try xpusim(["runs", "list", "--db", db, "--format", "json"])
        let listed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(listed["schema"] as? Int, 1)
        let runs = try XCTUnwrap(listed["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["id"] as? Int }, [4, 3, 2, 1])
        let filtered = try xpusim(["runs", "list", "--db", db, "--chip", "h20"])
        XCTAssertTrue(filtered.stdout.contains("gemm-sweep") && !filtered.stdout.contains("ascend"), filtered.stdout)
        XCTAssertTrue(try xpusim(["runs", "list", "--db", db, "--workload", "example"]).stdout.contains("example"))
        XCTAssertTrue(try xpusim(["runs", "list", "--db", db, "--since", "2999-01-01"]).stdout.contains("no runs"))

        let show = try xpusim(["runs", "show", "2", "--db", db, "--format", "json"])
        let shown = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(shown["schema"] as? Int, 1)
        XCTAssertEqual(shown["chip_id"] as? String, "ascend-910b2")
        XCTAssertEqual((shown["kernels"] as? [[String: Any]])?.count, 11)

        let compare = try xpusim(["runs", "compare", "1", "2", "--db", db])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        XCTAssertTrue(compare.stdout.contains("run 1") && compare.stdout.contains("run 2") && compare.stdout.contains("max change"))
        let compareJSON = try xpusim(["runs", "compare", "1", "2", "--db", db, "--format", "json"])
        let compared = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(compareJSON.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(compared["schema"] as? Int, 1)
        let deltas = try XCTUnwrap(compared["kernels"] as? [[String: Any]])
        let changes = deltas.compactMap { $0["max_relative_change"] as? Double }
        XCTAssertEqual(changes, changes.sorted(by: >), "kernels that moved most come first")

        let csv = try xpusim(["runs", "export", "1", "--db", db, "--format", "csv"])
        let lines = csv.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 12)
        XCTAssertTrue(lines[0].hasPrefix("seq,kernel_id,op,dtype"))
        let json = try xpusim(["runs", "export", "1", "--db", db, "--format", "json"])
        let exported = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(exported["schema"] as? Int, 1)
        XCTAssertNotNil((exported["chip"] as? [String: Any])?["figures"], "the full chip description travels with the run")

        XCTAssertEqual(try xpusim(["runs", "delete", "1", "--db", db]).status, 0)
        let gone = try xpusim(["runs", "show", "1", "--db", db])
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.stderr.contains("no run with id 1"), gone.stderr)
    }

    func testNoStoreAndEnvironmentDatabase() throws {
        let other = dir.appendingPathComponent("env.sqlite").path
        let stored = try xpusim(["run", "--chip", "h20", "--workload", "workloads/example.yaml"], environment: ["XPUSIM_DB": other])
        XCTAssertTrue(stored.stdout.contains("stored as run 1 in \(other)"), stored.stdout)
        let skipped = try xpusim(["run", "--chip", "h20", "--workload", "workloads/example.yaml", "--no-store"], environment: ["XPUSIM_DB": other])
        XCTAssertFalse(skipped.stdout.contains("stored as run"))
        XCTAssertTrue(try xpusim(["runs", "list"], environment: ["XPUSIM_DB": other]).stdout.contains(" 1 "))
    }

    func testBadDatabaseIsOneClearErrorAndNoRunIsLost() throws {
        try Data("not a database at all".utf8).write(to: URL(fileURLWithPath: db))
        let result = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--db", db])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("\(db): is not an SQLite database"), result.stderr)
        XCTAssertEqual(try String(contentsOfFile: db, encoding: .utf8), "not a database at all")
        let bad = try xpusim(["runs", "list", "--db", db, "--since", "yesterday"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("expected a date"), bad.stderr)
    }

    func testAFailedRunStoresNothing() throws {
        let result = try xpusim(["run", "--chip", "ascend-910b2", "--workload", "workloads/example.yaml", "--db", db])
        XCTAssertEqual(result.status, 1, "fp8 on a 910B fails")
        let list = try xpusim(["runs", "list", "--db", db])
        XCTAssertTrue(list.stdout.contains("no runs") || list.status == 0, list.stdout)
        XCTAssertFalse(list.stdout.contains("ascend-910b2"))
    }
}
