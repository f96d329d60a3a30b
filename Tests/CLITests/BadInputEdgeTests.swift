import Foundation
import TestSupport
import XCTest

/// Inputs a robustness review found taken in silence or ending badly: each now ends in one
/// message that names what was expected, with a non-zero exit, and leaves nothing half-written.
final class BadInputEdgeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testEmptyNamesInCommaListsAreRefused() throws {
        for arguments in [
            ["calibrate", "--data", ",,", "--chip", "h100-sxm"], ["calibrate", "--data", "vidur-h100", "--chip", "h100-sxm", "--fit", ","],
            ["compare", "--chips", "h100-sxm,,h20", "--workload", "workloads/example.yaml"],
        ] {
            let r = try xpusim(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("an empty name"), r.stderr)
        }
    }

    /// Output files are written whole or not at all, and never put in place of a device or a folder.
    func testOutputsThatCannotBeWrittenAreErrors() throws {
        let folder = try xpusim([
            "workload", "generate", "--model", "llama-3.1-8b", "--phase", "decode", "--batch", "1", "--seq", "8",
            "-o", dir.path,
        ])
        XCTAssertEqual(folder.status, 1)
        XCTAssertTrue(folder.stderr.contains("is a folder"), folder.stderr)
        if FileManager.default.fileExists(atPath: "/dev/full") {
            let full = try xpusim([
                "workload", "generate", "--model", "llama-3.1-8b", "--phase", "decode", "--batch", "1", "--seq", "8",
                "-o", "/dev/full",
            ])
            XCTAssertEqual(full.status, 1, full.stderr)
            let type = try FileManager.default.attributesOfItem(atPath: "/dev/full")[.type] as? FileAttributeType
            XCTAssertEqual(type, .typeCharacterSpecial, "the device must still be a device")
        }
        // A run whose database cannot be opened writes no timeline.
        let corrupt = try write("corrupt.sqlite", "not a database")
        let timeline = dir.appendingPathComponent("t.json").path
        let run = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--db", corrupt, "--timeline", timeline])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: timeline))
    }

    func testModelConfigsThatDoNotAddUpAreRefusedOrNamed() throws {
        let odd = try write(
            "odd.json",
            #"{"model_type": "llama", "hidden_size": 4097, "num_hidden_layers": 2, "num_attention_heads": 32, "vocab_size": 1000, "#
                + #""intermediate_size": 11008}"#)
        let r = try xpusim(["workload", "generate", "--model", odd, "--phase", "decode", "--batch", "1", "--seq", "8", "-o", "-"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("hidden_size 4097 is not a multiple of num_attention_heads 32"), r.stderr)
        let foreign = try write(
            "foo.json",
            #"{"model_type": "foo", "architectures": ["FooForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 2, "#
                + #""num_attention_heads": 32, "vocab_size": 1000, "intermediate_size": 11008, "torch_dtype": "float128"}"#)
        let g = try xpusim(["workload", "generate", "--model", foreign, "--phase", "decode", "--batch", "1", "--seq", "8", "-o", "-"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("not a family xpusim knows"), g.stderr)
        XCTAssertTrue(g.stderr.contains("torch_dtype \"float128\""), g.stderr)
    }

    func testASweptPathTwiceIsRefused() throws {
        let spec = try write(
            "s.yaml",
            """
            schema: 1
            name: twice
            chip: h100-sxm
            workload: \(packageRoot)/workloads/example.yaml
            parameters:
              - {path: memory.hbm.bandwidth, values: [1 TB/s]}
              - {path: memory.hbm.bandwidth, values: [2 TB/s]}
            """)
        let r = try xpusim(["sweep", "plan", spec])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is swept twice"), r.stderr)
    }

    /// Another program's SQLite database is refused, not given xpusim's tables.
    func testAnotherProgramsDatabaseIsLeftAlone() throws {
        let path = dir.appendingPathComponent("other.sqlite").path
        let made = try runProgram("/usr/bin/env", ["sqlite3", path, "CREATE TABLE foo (x); INSERT INTO foo VALUES (1);"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let r = try xpusim(["runs", "list", "--db", path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("an SQLite database of another program (tables foo)"), r.stderr)
        let tables = try runProgram("/usr/bin/env", ["sqlite3", path, "SELECT name FROM sqlite_master WHERE type = 'table';"])
        XCTAssertEqual(tables.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "foo")
    }

    func testOptionsThatWouldBeWrittenOrReadAsGivenAreChecked() throws {
        let set = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store", "--set", "=3"])
        XCTAssertEqual(set.status, 1)
        XCTAssertTrue(set.stderr.contains("expected path=value, found \"=3\" (no path)"), set.stderr)
        let slurm = try xpusim([
            "sweep", "submit", "workloads/sweeps/h100-small.yaml", "--engine", "slurm", "--out", dir.path + "/s", "--time-limit", "banana",
        ])
        XCTAssertEqual(slurm.status, 64)
        XCTAssertTrue(slurm.stderr.contains("--time-limit: expected a Slurm time"), slurm.stderr)
        // A long dependency cycle is named by its ends, not kernel by kernel.
        var lines = ["schema: 1", "name: ring", "kernels:"]
        for i in 0..<100 { lines.append("  - {id: k\(i), op: gemm, m: 8, n: 8, k: 8, dtype: bf16, deps: [k\((i + 1) % 100)]}") }
        let ring = try write("ring.yaml", lines.joined(separator: "\n") + "\n")
        let cycle = try xpusim(["run", "--chip", "h100-sxm", "--workload", ring, "--no-store"])
        XCTAssertEqual(cycle.status, 1)
        XCTAssertTrue(cycle.stderr.contains("dependency cycle of 100 kernels") && cycle.stderr.contains("89 more"), cycle.stderr)
        XCTAssertLessThan(cycle.stderr.count, 400)
    }

    /// A database whose header reads but one of whose pages is overwritten is refused as corrupt,
    /// by reads and by a run that would store beside the damage.
    func testADatabaseWithADamagedPageIsRefused() throws {
        let db = dir.appendingPathComponent("damaged.sqlite").path
        for _ in 0..<2 {
            let r = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--db", db])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let root = try runProgram("/usr/bin/env", ["sqlite3", db, "SELECT rootpage FROM sqlite_master WHERE name = 'runs';"])
        let page = try XCTUnwrap(Int(root.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let pageSize = try XCTUnwrap(
            Int(
                try runProgram("/usr/bin/env", ["sqlite3", db, "PRAGMA page_size;"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: db))
        try handle.seek(toOffset: UInt64((page - 1) * pageSize + 8))
        try handle.write(contentsOf: Data((0..<(pageSize - 16)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
        try handle.close()
        for arguments in [
            ["runs", "show", "1", "--db", db], ["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--db", db],
        ] {
            let r = try xpusim(arguments)
            XCTAssertEqual(r.status, 1, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("is corrupt (SQLite's quick_check"), r.stderr)
        }
    }
}
