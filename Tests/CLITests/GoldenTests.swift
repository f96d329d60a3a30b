import Foundation
import TestSupport
import XCTest

/// The CLI's output contract as golden files (see ``GoldenFile``): help texts, `run`, `chips`,
/// `compare`, `validate` and `calibrate` summaries and the messages of bad input. (`validate --all`
/// is pinned by the accuracy tables of README.md and docs/validation.md instead: in a debug build
/// it takes a minute.)
///
/// Every command runs from the package root with the chips in `chips` (XPUSIM_CHIPS), help wrapped
/// at 100 columns (COLUMNS) and nothing stored (`--no-store`, or a database in a fresh folder), so
/// the text holds no run id, timestamp or absolute path. The two places that would (this
/// checkout's root, the temporary folder of a test) are masked as `<root>` and `<tmp>`.
final class GoldenTests: XCTestCase {
    var temporary: URL!

    override func setUpWithError() throws { temporary = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temporary) }

    /// Runs `xpusim arguments` and compares its transcript with Golden/`name`.txt.
    func check(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let environment = ["XPUSIM_CHIPS": "chips", "COLUMNS": "100", "XPUSIM_DB": temporary.appendingPathComponent("runs.sqlite").path]
        let result = try xpusim(arguments, environment: environment)
        let text = GoldenFile.transcript(arguments, result)
            .replacingOccurrences(of: temporary.path, with: "<tmp>")
            .replacingOccurrences(of: packageRoot, with: "<root>")
        assertGolden(text, name + ".txt", file: file, line: line)
    }

    func testHelpTexts() throws {
        let commands: [[String]] = [
            [], ["chips"], ["chips", "list"], ["chips", "show"], ["chips", "validate"],
            ["systems"], ["systems", "list"], ["systems", "show"], ["systems", "validate"], ["run"], ["compare"],
            ["runs"], ["runs", "list"], ["runs", "show"], ["runs", "compare"], ["runs", "export"], ["runs", "delete"],
            ["validate"], ["calibrate"], ["workload"], ["workload", "generate"], ["workload", "import"], ["workload", "models"], ["serve"],
            ["train"], ["claims"],
            ["reliability"], ["reliability", "fit"], ["reliability", "check"], ["reliability", "compare"],
            ["sweep"], ["sweep", "plan"], ["sweep", "run"], ["sweep", "show"], ["sweep", "merge"], ["sweep", "submit"], ["report"],
        ]
        for command in commands {
            try check((["help"] + command).joined(separator: "-"), command + ["--help"])
        }
    }

    func testRun() throws {
        let prefill = "workloads/llama2-7b-layer-prefill2048.yaml"
        try check("run-table", ["run", "--chip", "h100-sxm", "--workload", prefill, "--no-store"])
        try check("run-json", ["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store", "--format", "json"])
        try check(
            "run-repeat-top",
            [
                "run", "--chip", "ascend-910b2", "--workload", "workloads/llama2-7b-layer-decode-b1.yaml", "--no-store", "--repeat", "4",
                "--top", "3",
            ])
        try check(
            "run-conditions",
            [
                "run", "--chip", "h100-sxm", "--workload", "workloads/gemm-sweep.yaml", "--no-store", "--top", "2", "--power-limit", "400W",
                "--ambient", "-10C", "--cooling", "air",
            ])
    }

    func testValidateAndCalibrate() throws {
        try check("validate-azure", ["validate", "--data", "azure-h100"])
        try check("validate-azure-json", ["validate", "--data", "azure-h100", "--format", "json"])
        try check("validate-no-check-part", ["validate", "--data", "flagperf-910b", "--rows", "none"])
        try check("validate-power", ["validate", "--data", "flagperf-910b-power"])
        try check(
            "calibrate-diagnose",
            [
                "calibrate", "--diagnose", "--chip", "ascend-910b2", "--data", "flagperf-910b", "--fit",
                "efficiency.matrix,power.energy_per_mac",
            ])
        try check("validate-bad-options", ["validate", "--data", "azure-h100", "--all"])
        try check("validate-unknown-set", ["validate", "--data", "vidur-h10"])
        try check("calibrate-unknown-parameter", ["calibrate", "--chip", "h100-sxm", "--data", "azure-h100", "--fit", "efficiency.matrx"])
    }

    func testChips() throws {
        try check("chips-list", ["chips", "list"])
        try check("chips-list-json", ["chips", "list", "--format", "json"])
        try check("chips-show", ["chips", "show", "h100-sxm"])
        try check("chips-show-json", ["chips", "show", "h20", "--set", "memory.hbm.bandwidth=4.5 TB/s", "--format", "json"])
    }

    func testSystems() throws {
        try check("systems-list", ["systems", "list"])
        try check("systems-list-json", ["systems", "list", "--format", "json"])
        try check("systems-show", ["systems", "show", "dgx-h100"])
        try check("systems-show-json", ["systems", "show", "cloudmatrix-384", "--format", "json"])
        try check(
            "systems-show-nodes-set", ["systems", "show", "atlas-800t-a3", "--nodes", "4", "--set", "scale_out.bandwidth_per_nic=800 Gb/s"])
        try check(
            "systems-validate",
            ["systems", "validate"]
                + (try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/chips/systems")).sorted().map {
                    "chips/systems/" + $0
                })
    }

    func testErrorsOfBadSystems() throws {
        let fixtures = "Tests/CLITests/Fixtures/"
        try check(
            "error-systems-validate",
            [
                "systems", "validate", fixtures + "system-unknown-chip.yaml", fixtures + "system-bad.yaml",
                "chips/systems/nvidia-dgx-h100.yaml",
            ])
        try check("error-system-unknown", ["systems", "show", "dgx-h10"])
        try check("error-system-set-unknown", ["systems", "show", "dgx-h100", "--set", "scale_out.nic=2"])
        try check("error-system-set-unit", ["systems", "show", "dgx-h100", "--set", "scale_up.bandwidth_per_link=25 GB"])
        try check("error-system-nodes-domain", ["systems", "show", "cloudmatrix-384", "--nodes", "50"])
        try check("error-system-nodes-no-scale-out", ["systems", "show", fixtures + "system-no-scale-out.yaml", "--nodes", "36"])
        try check("error-system-nodes-zero", ["systems", "show", "dgx-h100", "--nodes", "0"])
    }

    /// A trace as one rank of a system: its collectives, its links and the whole system's power.
    func testRunOnSystems() throws {
        let tp8 = "workloads/llama2-70b-layer-tp8-prefill2048.yaml"
        try check("run-system-table", ["run", "--system", "dgx-h100", "--workload", tp8, "--no-store"])
        try check("run-system-json", ["run", "--system", "atlas-800t-a2", "--workload", tp8, "--no-store", "--format", "json"])
        try check("compare-systems", ["compare", "--systems", "dgx-h100,atlas-800t-a2,hgx-h20", "--workload", tp8])
        try check("validate-collectives", ["validate", "--data", "azure-h100-nccl"])
        try check("error-run-chip-and-system", ["run", "--chip", "h100-sxm", "--system", "dgx-h100", "--workload", tp8, "--no-store"])
        try check(
            "error-run-collective-too-many-ranks",
            ["run", "--system", "hgx-h20", "--workload", "Tests/CLITests/Fixtures/trace-allreduce-16.yaml", "--no-store"])
    }

    /// Models, generated traces and serving estimates.
    func testModelsAndServing() throws {
        try check("workload-models", ["workload", "models"])
        try check("workload-models-json", ["workload", "models", "--format", "json"])
        try check(
            "workload-generate-stdout",
            [
                "workload", "generate", "--model", "llama-2-7b", "--phase", "decode", "--batch", "8", "--seq", "512", "--tp", "2", "--pp",
                "8", "-o", "-",
            ])
        try check(
            "workload-generate-config-json",
            [
                "workload", "generate", "--model", "Tests/CLITests/Fixtures/hf-config.json", "--phase", "prefill", "--batch", "1", "--seq",
                "1024", "-o", temporary.appendingPathComponent("trace.yaml").path,
            ])
        try check(
            "serve-table",
            [
                "serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--input", "1000", "--output", "1000", "--precision", "fp8",
                "--kv-cache", "fp8",
            ])
        try check(
            "serve-engine",
            ["serve", "--model", "qwen3-8b", "--chip", "h100-sxm", "--input", "233", "--output", "221", "--batch", "8", "--engine", "vllm"])
        try check(
            "serve-engine-unknown",
            [
                "serve", "--model", "qwen3-8b", "--chip", "ascend-910b2", "--input", "233", "--output", "221", "--batch", "4", "--engine",
                "vllm",
            ])
        try check(
            "serve-engine-ascend",
            [
                "serve", "--model", "qwen3-8b", "--chip", "ascend-910b2", "--input", "233", "--output", "221", "--batch", "4", "--engine",
                "vllm-ascend",
            ])
        try check(
            "serve-json",
            [
                "serve", "--model", "llama-3.3-70b", "--system", "dgx-h100", "--tp", "2", "--input", "2048", "--output", "128",
                "--tpot-slo",
                "40ms", "--precision", "fp8", "--kv-cache", "fp8", "--format", "json",
            ])
        try check(
            "serve-disaggregated",
            [
                "serve", "--model", "llama-3.3-70b", "--system", "hgx-h20", "--tp", "2", "--input", "2048", "--output", "512", "--batch",
                "32",
                "--precision", "fp8", "--kv-cache", "fp8", "--disaggregated", "--prefill-system", "dgx-h100",
            ])
        try check(
            "error-serve-disaggregated-chip",
            [
                "serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--input", "8", "--output", "8", "--disaggregated",
                "--prefill-system", "dgx-h100",
            ])
        try check(
            "error-serve-does-not-fit", ["serve", "--model", "llama-3.1-405b", "--chip", "h100-sxm", "--input", "128", "--output", "128"])
        try check(
            "error-serve-batch-too-big",
            ["serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--input", "4096", "--output", "4096", "--batch", "4096"])
        try check(
            "error-workload-no-fp8",
            [
                "workload", "generate", "--model", "llama-3-8b", "--phase", "decode", "--batch", "1", "--seq", "128", "--chip",
                "ascend-910b2", "--precision", "fp8", "-o", "-",
            ])
        try check(
            "error-workload-tp-heads",
            ["workload", "generate", "--model", "llama-3-8b", "--phase", "decode", "--batch", "1", "--seq", "128", "--tp", "3", "-o", "-"])
        try check(
            "error-workload-bad-config",
            [
                "workload", "generate", "--model", "Tests/CLITests/Fixtures/hf-config-no-hidden.json", "--phase", "decode", "--batch", "1",
                "--seq", "128", "-o", "-",
            ])
        try check(
            "error-workload-unknown-model",
            ["workload", "generate", "--model", "llama-3-8", "--phase", "decode", "--batch", "1", "--seq", "128", "-o", "-"])
    }

    func testTraining() throws {
        try check(
            "train-table",
            ["train", "--model", "llama-3-8b", "--system", "dgx-h100", "--tp", "2", "--pp", "2", "--global-batch", "32", "--seq", "4096"])
        try check(
            "train-json",
            [
                "train", "--model", "llama-2-7b", "--system", "atlas-800t-a2", "--nodes", "2", "--tp", "4", "--global-batch", "16", "--seq",
                "2048", "--format", "json",
            ])
        // FlagPerf measured this split out of memory on a DGX A800 (training/nvidia/llama3_8B-megatron/README.md).
        try check(
            "error-train-does-not-fit",
            ["train", "--model", "llama-3-8b", "--system", "dgx-a800", "--global-batch", "512", "--seq", "8192"])
        try check(
            "error-train-global-batch",
            ["train", "--model", "llama-3-8b", "--system", "dgx-h100", "--tp", "2", "--global-batch", "6", "--seq", "1024"])
    }

    /// A sweep planned, run into a fresh database (and again: nothing left to run), and shown.
    func testSweeps() throws {
        let small = "workloads/sweeps/h100-small.yaml"
        try check("sweep-plan", ["sweep", "plan", small])
        try check("sweep-plan-json", ["sweep", "plan", "workloads/sweeps/910b-memory-vs-h20.yaml", "--format", "json"])
        try check("error-sweep-show-not-run", ["sweep", "show", small])
        try check("sweep-run", ["sweep", "run", small, "--no-progress"])
        try check("sweep-run-again", ["sweep", "run", small, "--no-progress"])
        try check("sweep-show", ["sweep", "show", small])
        try check("sweep-show-json", ["sweep", "show", small, "--format", "json"])
        try check("error-sweep-missing", ["sweep", "plan", "workloads/sweeps/none.yaml"])
        // A generated workload, a constraint that leaves points out, and the cost objective.
        let cost = "workloads/sweeps/910c-hbm3e-cost.yaml"
        try check("sweep-plan-constraints", ["sweep", "plan", cost])
        try check("sweep-run-cost", ["sweep", "run", cost, "--no-progress"])
        try check("sweep-show-cost", ["sweep", "show", cost])
        // A system as the base: its fabric varied, a constraint on its ports.
        try check("sweep-plan-system", ["sweep", "plan", "workloads/sweeps/dgx-h100-nvlink.yaml"])
    }

    /// What a report's maker says, and its errors (the pages themselves: ReportBrowserTests and ReportsTests).
    func testReportErrors() throws {
        let page = temporary.appendingPathComponent("r.html").path
        try check("error-report-no-run", ["report", "7", "-o", page])
        try check("error-report-not-an-id", ["report", "seven", "-o", page])
        try check("error-report-compare-one", ["report", "--compare", "1", "-o", page])
        try check("error-report-sweep-not-run", ["report", "workloads/sweeps/h100-small.yaml", "-o", page])
        try check("report-run", ["run", "--chip", "h100-sxm", "--workload", "workloads/llama2-7b-layer-decode-b1.yaml"])
        try check("report-written", ["report", "1", "-o", page])
    }

    /// Shards into a result folder, merged into the database each point once; the scripts a cluster gets.
    func testSweepShardsAndSubmission() throws {
        let small = "workloads/sweeps/h100-small.yaml"
        let results = temporary.appendingPathComponent("results").path
        try check("sweep-run-shard", ["sweep", "run", small, "--shard", "2/3", "--out", results, "--no-progress"])
        try check("sweep-run-index", ["sweep", "run", small, "--index", "0", "--out", results, "--no-progress"])
        try check("sweep-merge", ["sweep", "merge", results])
        try check("sweep-run-shard-rest", ["sweep", "run", small, "--shard", "1/1", "--out", results, "--no-progress"])
        try check("sweep-merge-json", ["sweep", "merge", results, "--format", "json"])
        try check("error-sweep-run-index", ["sweep", "run", small, "--index", "9", "--out", results])
        try check("error-sweep-run-shard", ["sweep", "run", small, "--shard", "4/3"])
        try check(
            "error-sweep-out-other-plan", ["sweep", "run", "workloads/sweeps/910b-memory-vs-h20.yaml", "--index", "0", "--out", results])
        try check("error-sweep-merge-not-results", ["sweep", "merge", temporary.path])
        let options = ["--out", results, "--executable", "/opt/xpusim/bin/xpusim", "--dry-run"]
        try check(
            "sweep-submit-slurm",
            ["sweep", "submit", small, "--engine", "slurm", "--chunk", "4", "--max-running", "2", "--partition", "main"] + options)
        try check("sweep-submit-parallel", ["sweep", "submit", small, "--engine", "parallel", "--chunk", "2"] + options)
    }

    /// A long run with its failures, checkpoints and restarts, the Monte Carlo's spread, and the fit and checks behind them.
    func testLongRuns() throws {
        let job = [
            "train", "--model", "llama-3-8b", "--system", "dgx-h100", "--nodes", "64", "--global-batch", "1024", "--seq", "4096",
            "--recompute",
        ]
        try check("train-long-run", job + ["--days", "30", "--storage-bandwidth", "200GB/s", "--trials", "50", "--seed", "3"])
        try check("train-long-run-json", job + ["--tokens", "1T", "--async-checkpoint", "--ambient-swing", "6C", "--format", "json"])
        try check("reliability-fit", ["reliability", "fit"])
        try check("reliability-check", ["reliability", "check"])
        try check("reliability-check-json", ["reliability", "check", "--format", "json"])
        try check(
            "reliability-compare-json",
            [
                "reliability", "compare", "--model", "llama-3-8b", "--systems", "dgx-h100,atlas-800t-a2", "--peak", "50PFLOPS",
                "--global-batch", "64",
                "--seq", "2048", "--cooling", "liquid", "--days", "10", "--format", "json",
            ])
        try check(
            "error-reliability-compare-cooling",
            [
                "reliability", "compare", "--model", "llama-3-8b", "--systems", "dgx-h100", "--peak", "50PFLOPS", "--global-batch", "64",
                "--seq", "2048",
                "--cooling", "water",
            ])
        try check(
            "error-train-long-run-chip",
            ["train", "--model", "llama-3-8b", "--chip", "h100-sxm", "--global-batch", "8", "--seq", "1024", "--days", "3"])
        try check("error-train-days-and-tokens", job + ["--days", "3", "--tokens", "1T"])
        try check("error-train-trials-alone", job + ["--trials", "10"])
        try check("error-train-tokens-bad", job + ["--tokens", "lots"])
        try check("error-train-interval-short", job + ["--days", "3", "--async-checkpoint", "--checkpoint-interval", "1ms"])
        try check("error-train-interval-long", job + ["--days", "3", "--checkpoint-interval", "1000h"])
        try check("error-train-trials-too-many", job + ["--days", "3650", "--checkpoint-interval", "1s", "--trials", "200"])
        try check(
            "error-reliability-compare-peak",
            [
                "reliability", "compare", "--model", "llama-3-8b", "--systems", "dgx-h100", "--peak", "1000000000000PFLOPS",
                "--global-batch", "64", "--seq", "2048",
            ])
    }

    /// The README's main job, and the shipped trace it runs is what the generator writes today.
    func testMainJob() throws {
        let file = "workloads/llama-3.1-8b-decode-b64-ctx2048.yaml"
        try check("main-compare", ["compare", "--chips", "all", "--baseline", "h100-sxm", "--workload", file])
        let generated = try xpusim([
            "workload", "generate", "--model", "llama-3.1-8b", "--phase", "decode", "--batch", "64", "--seq", "2048", "-o", "-",
        ])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertEqual(generated.stdout, try String(contentsOfFile: packageRoot + "/" + file, encoding: .utf8), "regenerate \(file)")
    }

    func testImport() throws {
        try check(
            "workload-import-cpu-profile", ["workload", "import", "Tests/WorkloadsTests/Fixtures/torch-cpu-block-bf16.json", "-o", "-"])
        try check(
            "workload-import-gpu-profile",
            [
                "workload", "import", "Tests/WorkloadsTests/Fixtures/kineto-alexnet-a100.json", "-o",
                temporary.appendingPathComponent("a.yaml").path,
            ])
        try check("error-workload-import-not-a-trace", ["workload", "import", "Tests/CLITests/Fixtures/hf-config.json", "-o", "-"])
    }

    func testClaims() throws {
        try check("claims-ppu", ["claims", "--id", "ppu-h20-class"])
        try check("claims-c600-json", ["claims", "--id", "c600-vs-h20", "--format", "json"])
        try check("error-claims-unknown", ["claims", "--id", "910b"])
    }

    func testCompare() throws {
        let arguments = ["compare", "--chips", "h100-sxm,h20,ascend-910b2", "--workload", "workloads/llama2-7b-layer-decode-b64.yaml"]
        try check("compare-table", arguments)
        try check("compare-json", arguments + ["--baseline", "h20", "--format", "json"])
        try check("compare-cannot-run", ["compare", "--chips", "h100-sxm,ascend-910b2", "--workload", "workloads/example.yaml"])
    }

    func testErrorsOfBadTraces() throws {
        for name in ["bad-yaml", "unknown-field", "unknown-op", "unknown-dep", "cycle"] {
            try check(
                "error-trace-\(name)", ["run", "--chip", "h100-sxm", "--workload", "Tests/CLITests/Fixtures/\(name).yaml", "--no-store"])
        }
        try check("error-trace-missing", ["run", "--chip", "h100-sxm", "--workload", "workloads/nowhere.yaml", "--no-store"])
        try check("error-trace-no-fp8", ["run", "--chip", "ascend-910b2", "--workload", "workloads/example.yaml", "--no-store"])
    }

    func testErrorsOfBadChips() throws {
        try check("error-chip-unknown", ["chips", "show", "h100"])
        try check("error-chip-unknown-variant", ["chips", "show", "chips/nvidia-h100.yaml#h900-sxm"])
        try check("error-chip-set-unknown", ["chips", "show", "h100-sxm", "--set", "memory.hbm.bandwidht=4 TB/s"])
        try check("error-chip-set-unit", ["chips", "show", "h100-sxm", "--set", "memory.hbm.bandwidth=4 TB"])
        // Two bad files given in reverse order: the report lists them sorted by file, then line.
        let good = try String(contentsOfFile: packageRoot + "/chips/nvidia-h100.yaml", encoding: .utf8)
        let typos = misspellingHBMLatency(good)
            .replacingOccurrences(of: "  tdp: {value: 700 W, source:", with: "  tdp: {value: 700 V, source:")
        XCTAssertNotEqual(typos, good)
        try typos.write(to: temporary.appendingPathComponent("b-typos.yaml"), atomically: true, encoding: .utf8)
        try Data([0x00, 0x9f, 0x92, 0x96, 0xff]).write(to: temporary.appendingPathComponent("a-binary.yaml"))
        try check(
            "error-chips-validate",
            [
                "chips", "validate", temporary.appendingPathComponent("b-typos.yaml").path, "chips/nvidia-h20.yaml",
                temporary.appendingPathComponent("a-binary.yaml").path,
            ])
    }

    func testErrorsOfBadOptions() throws {
        let run = ["run", "--chip", "h100-sxm", "--workload", "workloads/example.yaml", "--no-store"]
        let cases: [(String, [String])] = [
            ("power-limit-text", ["--power-limit", "abc"]), ("power-limit-negative", ["--power-limit", "-5W"]),
            ("power-limit-range", ["--power-limit", "900W"]), ("clock-range", ["--clock", "3GHz"]), ("clock-text", ["--clock", "fast"]),
            ("ambient-range", ["--ambient", "95C"]), ("cooling", ["--cooling", "liqid"]), ("repeat", ["--repeat", "0"]),
            ("top", ["--top", "0"]), ("format", ["--format", "yaml"]), ("unknown-option", ["--power", "500W"]),
        ]
        for (name, options) in cases { try check("error-option-\(name)", run + options) }
        try check("error-option-missing", ["run", "--chip", "h100-sxm"])
        try check(
            "error-option-baseline",
            ["compare", "--chips", "h100-sxm,h20", "--workload", "workloads/example.yaml", "--baseline", "a100-sxm"])
    }

    func testErrorsOfBadDatabases() throws {
        let corrupt = temporary.appendingPathComponent("corrupt.sqlite")
        try Data("not a database at all".utf8).write(to: corrupt)
        try check("error-db-corrupt", ["runs", "list", "--db", corrupt.path])
        try check("error-db-no-run", ["runs", "show", "7", "--db", temporary.appendingPathComponent("empty.sqlite").path])
    }
}
