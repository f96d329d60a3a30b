import Foundation
import TestSupport
import XCTest

final class RunCommandTests: XCTestCase {
    func testRunPrintsKernelsAndTotals() throws {
        let result = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-prefill2048.yaml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for id in ["qkv_proj", "attention", "silu_mul", "down_proj"] { XCTAssertTrue(result.stdout.contains(id), id) }
        XCTAssertTrue(result.stdout.contains("total time"))
        XCTAssertTrue(result.stdout.contains("tokens/s"))
    }

    func testRunJSONHasTheContractFields() throws {
        let result = try xpusim(["run", "--chip", "ascend-910b2", "--workload", "workloads/example.yaml", "--format", "json"])
        XCTAssertEqual(result.status, 1, "the example's fp8 experts kernel has no 910B support")
        XCTAssertTrue(result.stderr.contains("no fp8 support"), result.stderr)
        let ok = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--format", "json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["chip"] as? String, "h100-sxm")
        XCTAssertGreaterThan(try XCTUnwrap(object["total_s"] as? Double), 0)
        let kernels = try XCTUnwrap(object["kernels"] as? [[String: Any]])
        XCTAssertEqual(kernels.count, 5)
        for k in kernels {
            XCTAssertNotNil(k["id"] as? String)
            XCTAssertNotNil(k["op"] as? String)
            XCTAssertNotNil(k["duration_s"] as? Double)
            XCTAssertNotNil(k["tflops"] as? Double)
            XCTAssertTrue(["compute", "memory", "latency"].contains(k["bound"] as? String ?? ""))
        }
    }

    func testTopLimitsTheTable() throws {
        let result = try xpusim(["run", "--chip", "h20", "--workload", "workloads/gemm-sweep.yaml", "--top", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("(3 longest of"), result.stdout)
        XCTAssertEqual(try xpusim(["run", "--chip", "h20", "--workload", "workloads/gemm-sweep.yaml", "--top", "0"]).status, 64)
    }

    func testBadTracesFailWithOneClearMessage() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String)] = [
            (
                "schema: 1\nkernels:\n  - {id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [b]}\n  - {id: b, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [a]}\n",
                "dependency cycle"
            ),
            ("schema: 1\nkernels:\n  - {id: a, op: conv, dtype: bf16}\n", "unknown op \"conv\""),
            ("schema: 1\nkernels:\n  - {id: a, op: gemm, m: -4, n: 1, k: 1, dtype: bf16}\n", "positive size"),
            ("schema: 1\nkernels:\n  - {id: a, op: all_reduce, bytes: 1024, ranks: 8, dtype: bf16}\n", "needs a system"),
            (
                "{\"schema\": 1, \"kernels\": [{\"id\": \"a\", \"op\": \"gemm\", \"m\": 1, \"n\": 1, \"dtype\": \"bf16\"}]}",
                "missing required field \"k\""
            ),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let file = dir.appendingPathComponent("t\(index).\(text.hasPrefix("{") ? "json" : "yaml")")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let result = try xpusim(["run", "--chip", "h100-sxm", "--workload", file.path])
            XCTAssertEqual(result.status, 1, expected)
            XCTAssertTrue(result.stderr.contains(expected), "\(expected): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(file.lastPathComponent), result.stderr)
            XCTAssertFalse(result.stderr.contains("Fatal"))
        }
    }

    func testRepeatCountsTokensInJSONAsInTheTable() throws {
        let arguments = [
            "run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-decode-b1.yaml", "--no-store", "--repeat", "3",
        ]
        let json = try xpusim(arguments + ["--format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["schema"] as? Int, 1)
        XCTAssertEqual(object["repeat"] as? Int, 3)
        XCTAssertEqual(object["tokens"] as? Int, 3, "one token per pass, three passes")
        let total = try XCTUnwrap(object["total_s"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object["tokens_per_s"] as? Double), 3 / total, accuracy: 1e-9 * 3 / total)
        let table = try xpusim(arguments)
        XCTAssertTrue(table.stdout.contains("tokens          3, "), table.stdout)
    }

    func testBadConditionsNameTheOption() throws {
        let base = ["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store"]
        let cases: [([String], Int32, String)] = [
            (["--power-limit", "abc"], 64, "error: --power-limit: expected a power such as \"700 W\", found \"abc\""),
            (["--power-limit", "-5W"], 64, "error: --power-limit: must be positive, found \"-5W\""),
            (["--power-limit", "900W"], 1, "error: --power-limit: 900 W is outside h100-sxm's range 200-700 W"),
            (["--clock", "3GHz"], 1, "error: --clock: 3.000 GHz is outside h100-sxm's range"),
            (["--ambient", "90C"], 1, "error: --ambient: 90 C is outside -20..80 C"),
            (["--cooling", "liqid"], 64, "did you mean \"liquid\"?"),
        ]
        for (options, status, expected) in cases {
            let result = try xpusim(base + options)
            XCTAssertEqual(result.status, status, options.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains(expected), "\(options): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("kernel"), "an option error names the option, not a kernel: \(result.stderr)")
        }
        let cold = try xpusim(base + ["--ambient", "-10C"])
        XCTAssertEqual(cold.status, 0, "a negative ambient is a value, not an option: \(cold.stderr)")
    }

    func testOverridesReachTheEngine() throws {
        let base = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-decode-b1.yaml", "--format", "json"])
        let fast = try xpusim([
            "run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-decode-b1.yaml", "--format", "json",
            "--set", "memory.hbm.bandwidth=6.7 TB/s",
        ])
        let t0 = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(base.stdout.utf8)) as? [String: Any])?["total_s"] as? Double)
        let t1 = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(fast.stdout.utf8)) as? [String: Any])?["total_s"] as? Double)
        XCTAssertLessThan(t1, 0.75 * t0, "decode is memory-bound: doubling HBM bandwidth must show")
    }
}

final class ValidateCommandTests: XCTestCase {
    func testValidatePrintsRowsAndSummary() throws {
        let result = try xpusim(["validate", "--data", "flagperf-910b"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("computation-BF16"))
        XCTAssertTrue(result.stdout.contains("calibration gemm compute-bound"))
        XCTAssertTrue(result.stdout.contains("no check part: every row set a figure"), result.stdout)
        let json = try xpusim(["validate", "--data", "azure-h100", "--format", "json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let summary = try XCTUnwrap(object["summary"] as? [[String: Any]])
        XCTAssertTrue(summary.contains { ($0["group"] as? String) == "check all" && ($0["mape"] as? Double ?? 1) < 0.10 })
    }

    func testCalibratePrintsFittedValues() throws {
        let result = try xpusim(["calibrate", "--chip", "ascend-910b2", "--data", "flagperf-910b", "--fit", "efficiency.matrix"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("efficiency.matrix: 0.981"), result.stdout)  // the value in chips/huawei-ascend-910b.yaml
    }

    func testUnknownDataSetAndMissingDirectory() throws {
        let unknown = try xpusim(["validate", "--data", "vidur-h10"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("did you mean \"vidur-h100\""), unknown.stderr)
        let missing = try xpusim(["validate", "--data", "azure-h100", "--data-dir", "/nonexistent"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent"), missing.stderr)
    }
}
