import Foundation
import TestSupport
import XCTest

final class CompareCommandTests: XCTestCase {
    func testCompareChipsAsJSONWithBaseline() throws {
        let result = try xpusim([
            "compare", "--chips", "h100-sxm,h20,ascend-910b2", "--workload", "workloads/llama2-7b-layer-decode-b64.yaml",
            "--baseline", "h20", "--format", "json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["baseline"] as? String, "h20")
        let chips = try XCTUnwrap(object["chips"] as? [[String: Any]])
        XCTAssertEqual(chips.count, 3)
        for chip in chips {
            for key in ["time_s", "avg_power_w", "energy_j", "tflops_per_w", "tokens_per_s", "tokens_per_j", "peak_temp_c"] {
                XCTAssertNotNil(chip[key] as? Double, "\(chip["chip"] ?? "?") \(key)")
            }
        }
        let h20 = try XCTUnwrap(chips.first { $0["chip"] as? String == "h20" })
        XCTAssertEqual((h20["relative_to_baseline"] as? [String: Double])?["time_s"], 1)
    }

    /// A run on a system counts every replica's tokens, so its tokens per joule are over the whole
    /// system's energy, as `compare --systems` gives them; its peak power is the system's too.
    func testSystemRunTokensPerJouleAreTheWholeSystems() throws {
        let trace = "workloads/llama2-70b-layer-tp8-prefill2048.yaml"
        let run = try xpusim(["run", "--system", "dgx-h100", "--workload", trace, "--no-store", "--format", "json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let tokens = try XCTUnwrap(object["tokens"] as? Double)
        let energy = try XCTUnwrap(object["energy_j"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object["tokens_per_j"] as? Double), tokens / energy, accuracy: 1e-9 * tokens / energy)
        XCTAssertGreaterThan(try XCTUnwrap(object["peak_power_w"] as? Double), try XCTUnwrap(object["avg_power_w"] as? Double))
        let compare = try xpusim(["compare", "--systems", "dgx-h100,atlas-800t-a2", "--workload", trace, "--format", "json"])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let rows = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(compare.stdout.utf8)) as? [String: Any])?["systems"] as? [[String: Any]])
        let dgx = try XCTUnwrap(rows.first { ($0["system"] as? String) == "dgx-h100" })
        XCTAssertEqual(try XCTUnwrap(dgx["tokens_per_j"] as? Double), tokens / energy, accuracy: 1e-6 * tokens / energy)
    }

    /// Counts whose products would overflow are refused as options, before anything multiplies them.
    func testHugeCountsAreRefusedAsOptions() throws {
        let cases: [([String], String)] = [
            (
                ["run", "--system", "dgx-h100", "--nodes", "1152921504606846976", "--workload", "workloads/example.yaml", "--no-store"],
                "expected 1 to 1000000 nodes"
            ),
            (["systems", "show", "dgx-h100", "--nodes", "9223372036854775807"], "expected 1 to 1000000 nodes"),
            (
                [
                    "train", "--model", "llama-3-8b", "--system", "dgx-h100", "--tp", "2", "--global-batch", "4611686018427387904", "--seq",
                    "2",
                ],
                "--global-batch must be 1 to"
            ),
            (
                [
                    "train", "--model", "llama-3-8b", "--system", "dgx-h100", "--global-batch", "8", "--seq", "8", "--tp",
                    "4611686018427387904",
                ],
                "--tp must be 1 to 1000000 ranks"
            ),
            (
                ["serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--input", "4611686018427387904", "--output", "8"],
                "--input must be 1 to 16777216 tokens"
            ),
            (
                [
                    "workload", "generate", "--model", "llama-3.1-8b", "--phase", "decode", "--batch", "64", "--seq", "99999999999999",
                    "-o",
                    "-",
                ], "--seq must be 1 to 16777216 tokens"
            ),
            (
                ["serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--input", "8", "--output", "8", "--expert-skew", "1e308"],
                "--expert-skew"
            ),
        ]
        for (arguments, message) in cases {
            let r = try xpusim(arguments)
            XCTAssertNotEqual(r.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), "\(arguments.joined(separator: " ")): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
    }

    func testCompareAllReportsChipsThatCannotRun() throws {
        let result = try xpusim(["compare", "--chips", "all", "--workload", "workloads/example.yaml", "--baseline", "h100-sxm"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("ascend-910b2") && result.stdout.contains("cannot run"), result.stdout)
        XCTAssertTrue(result.stdout.contains("TFLOPS/W"))
    }

    func testPowerOptionsAreCheckedAndReported() throws {
        let run = try xpusim([
            "run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-prefill2048.yaml", "--no-store",
            "--power-limit", "400W", "--ambient", "35C", "--cooling", "liquid", "--format", "json",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        for key in ["energy_j", "avg_power_w", "peak_power_w", "peak_temp_c"] { XCTAssertNotNil(object[key] as? Double, key) }
        XCTAssertEqual(object["power_limit_w"] as? Double, 400)
        let tooHigh = try xpusim([
            "run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store", "--power-limit", "900W",
        ])
        XCTAssertEqual(tooHigh.status, 1)
        XCTAssertTrue(tooHigh.stderr.contains("outside h100-sxm's range 200-700 W"), tooHigh.stderr)
        let badClock = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store", "--clock", "fast"])
        XCTAssertEqual(badClock.status, 64)
        XCTAssertTrue(badClock.stderr.contains("expected a frequency"), badClock.stderr)
        let huge = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/gemm-sweep.yaml", "--no-store", "--repeat", "1000000"])
        XCTAssertEqual(huge.status, 64)
        XCTAssertTrue(huge.stderr.contains("more than 10000000 kernels"), huge.stderr)
        let clockOut = try xpusim(["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store", "--clock", "3GHz"])
        XCTAssertEqual(clockOut.status, 1)
        XCTAssertTrue(clockOut.stderr.contains("outside h100-sxm's range"), clockOut.stderr)
    }

    func testStoredRunsCarryPowerAndSamples() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("p.sqlite").path
        let run = try xpusim([
            "run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-prefill2048.yaml", "--db", db, "--repeat", "3",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let show = try xpusim(["runs", "show", "1", "--db", db, "--format", "json"])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(object["energy_j"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(object["avg_power_w"] as? Double ?? 0, 100)
        XCTAssertNotNil(object["peak_temp_c"] as? Double)
    }
}
