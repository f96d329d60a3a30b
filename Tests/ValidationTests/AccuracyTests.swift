import Chips
import Foundation
import Simulator
import Systems
import TestSupport
import Workloads
import XCTest

@testable import Validation

/// The measured digest ships under chips/measured/ (scripts/make-digest.py writes it from
/// ../shared/validation), so these tests run on a fresh clone.
func validationDirectory() throws -> String { packageRoot + "/chips/measured" }

func machine(_ id: String) throws -> Machine { Machine(try ChipCatalog.resolve(id, directory: packageRoot + "/chips")) }

/// Every data set against the model, computed once for all the tests here (a debug build is slow):
/// the table `xpusim validate --all` prints.
let accuracyLines = Result {
    try AccuracyReport.compute(
        directory: try validationDirectory(), machine: machine,
        system: { id, nodes in try SystemCatalog.resolve(id, nodes: nodes, chips: packageRoot + "/chips") })
}

/// Check-split MAPE per regime, for a data set on the chip it was measured on.
func checkErrors(_ setID: String) throws -> [String: Double] {
    var result: [String: Double] = [:]
    for line in try accuracyLines.get() where line.set == setID { result[line.regime] = line.check?.mape }
    XCTAssertFalse(result.isEmpty, "no lines for \(setID)")
    return result
}

/// The tables between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a file of the package.
func generatedBlock(_ file: String, _ name: String) throws -> String {
    let text = try String(contentsOfFile: packageRoot + "/" + file, encoding: .utf8)
    guard let begin = text.range(of: "<!-- \(name):begin -->\n"), let end = text.range(of: "\n<!-- \(name):end -->") else {
        XCTFail("no \(name) block in \(file): the generated table must stay there")
        return ""
    }
    return String(text[begin.upperBound..<end.lowerBound])
}

/// The accuracy figures people read are what the code computes today.
final class AccuracyDocumentTests: XCTestCase {
    func testREADMEAndDocsCarryTheComputedTables() throws {
        let lines = try accuracyLines.get()
        XCTAssertEqual(
            try generatedBlock("docs/validation.md", "accuracy-table"), AccuracyReport.markdown(lines),
            "docs/validation.md's accuracy table differs from what the code computes: run scripts/update-accuracy.sh and review the diff")
        XCTAssertEqual(
            try generatedBlock("README.md", "accuracy-summary"), AccuracyReport.summary(lines),
            "README.md's accuracy table differs from what the code computes: run scripts/update-accuracy.sh and review the diff")
    }

    func testNoFittedFigureIsStale() throws {
        let stale = try FitProvenance.stale(chipsDirectory: packageRoot + "/chips", measured: try validationDirectory())
        XCTAssertTrue(stale.isEmpty, stale.map(\.description).joined(separator: "\n"))
        XCTAssertGreaterThan(try FitProvenance.fittedFigures(chipsDirectory: packageRoot + "/chips").count, 15)
    }
}

/// Thresholds are the errors reached when the figures were committed plus a small margin, so a
/// regression fails; where a figure misses the issue's target, the target is named beside it.
final class AccuracyTests: XCTestCase {
    func assertMAPE(_ errors: [String: Double], _ regime: String, below limit: Double, file: StaticString = #filePath, line: UInt = #line) {
        guard let mape = errors[regime] else { return XCTFail("no \(regime) rows; have \(errors.keys.sorted())", file: file, line: line) }
        XCTAssertLessThanOrEqual(mape, limit, "\(regime): MAPE \(String(format: "%.1f%%", mape * 100))", file: file, line: line)
    }

    // The limits are the issues' targets (GEMMs 10% compute-bound and 15% memory-bound, element-wise
    // and norms 15%, attention 10%) or, where there is none, the level reached with a margin; where a
    // figure misses its target the limit says so. The exact figures are pinned by the accuracy table
    // in docs/validation.md (AccuracyDocumentTests).
    func testVidurH100() throws {
        let e = try checkErrors("vidur-h100")
        assertMAPE(e, "gemm compute-bound", below: 0.10)
        assertMAPE(e, "gemm memory-bound", below: 0.15)
        assertMAPE(e, "elementwise", below: 0.15)
        assertMAPE(e, "norm", below: 0.15)
        assertMAPE(e, "embedding", below: 0.10)  // no target
    }

    func testLLMCompassA100() throws {
        let e = try checkErrors("llmcompass-a100")
        // LLMCompass itself: 7.15%. About 2% while the A100's matrix efficiency was fitted here (pinned at 1.0); since
        // FlagPerf's sustained GEMMs fit it and the MAC energy (flagperf-a100), these rows run throttled and come out
        // about 9% slow: LLMCompass times 50 calls after a second of idle, a burst the model does not tell apart from a
        // sustained loop (docs/validation.md, A100).
        assertMAPE(e, "matmul", below: 0.10)
        assertMAPE(e, "softmax", below: 0.17)  // no target; reached about 15%
        assertMAPE(e, "norm", below: 0.15)
        assertMAPE(e, "gelu", below: 0.15)
    }

    func testDeepGEMMH800() throws {
        let e = try checkErrors("deepgemm-h800")
        // Both targets met again since DeepGEMM runs as a kernel family of its own (its epilogues are
        // not hidden behind the next tile, and cuBLAS's set-up time is not its own): about 8.2% and 10.4%.
        assertMAPE(e, "gemm compute-bound", below: 0.10)
        assertMAPE(e, "gemm memory-bound", below: 0.15)
    }

    /// Collectives (issue 11's targets on the check parts: plateau bus bandwidth within 10%, MAPE
    /// across sizes at most 15%). Met on Vidur's 8-GPU all-reduce since NVLS runs in NCCL's loops
    /// (about 7.7% and 8.6%) and on the two-node A3 Mega sweep; Azure's curve meets the plateau
    /// target and misses the MAPE one on its four check rows from 64 to 512 KiB, where nccl-tests
    /// reads 42 us against the model's 28-33: the benchmark forced NCCL_ALGO=NVLS at every size, and
    /// the model, choosing for itself, runs ring/LL there (NVLS below one block per channel is not
    /// modelled; docs/validation.md).
    func testCollectives() throws {
        let vidur = try checkErrors("vidur-dgx-h100-collectives")
        assertMAPE(vidur, "all sizes", below: 0.09)
        assertMAPE(vidur, "plateau bus bandwidth", below: 0.10)  // one row
        let azure = try checkErrors("azure-h100-nccl")
        assertMAPE(azure, "all sizes", below: 0.18)  // target 15%: MISSED
        assertMAPE(azure, "plateau bus bandwidth", below: 0.10)
        let a3 = try checkErrors("nccl-tests-a3mega")
        assertMAPE(a3, "plateau bus bandwidth", below: 0.10)
        assertMAPE(a3, "all sizes", below: 0.15)
        // DeepEP's own kernels through the model's all-to-all (no target of their own; the 15% above MISSED).
        // The 2026 README's low-latency rows reach peers in the node over NVLink (README news line of 2025-06-05).
        assertMAPE(try checkErrors("deepep-h800"), "all sizes", below: 0.21)
        assertMAPE(try checkErrors("deepep-h800"), "low-latency time (README 2026-02)", below: 0.20)
        assertMAPE(try checkErrors("deepep-ascend-a3"), "all sizes", below: 0.60)
    }

    func testAzureH100() throws {
        let e = try checkErrors("azure-h100")
        assertMAPE(e, "gemm compute-bound", below: 0.04)  // target 10%; 7.0% before the FP8 MAC energy was fitted
        assertMAPE(e, "hbm bandwidth", below: 0.10)  // one check row, STREAM's Dot
    }

    func testFlagPerf910BHasNoCheckPartAndFitsItsCalibration() throws {
        let lines = try accuracyLines.get().filter { $0.set == "flagperf-910b" }
        XCTAssertFalse(lines.isEmpty)
        XCTAssertTrue(lines.allSatisfy { $0.check == nil })
        XCTAssertLessThan(try XCTUnwrap(lines.first?.calibration?.mape), 0.05)
    }

    func testFlashAttention() throws {
        let h100 = try checkErrors("flashattention-h100")
        assertMAPE(h100, "attention fa2", below: 0.10)
        assertMAPE(h100, "attention fa3", below: 0.10)
        assertMAPE(h100, "attention fa2 fwd+bwd", below: 0.10)
        assertMAPE(try checkErrors("flashattention-a100"), "attention fa2 fwd+bwd", below: 0.10)
        assertMAPE(try checkErrors("flashattention-h200"), "attention fa2 fwd+bwd", below: 0.10)
    }

    func testSplitsAreDisjointAndPopulatedAsDeclared() throws {
        let directory = try validationDirectory()
        for set in ValidationSet.all {
            let rows = try set.load(directory)
            XCTAssertEqual(rows.filter { $0.split == .calibration }.isEmpty, !set.fitted, set.id)
            // A set without a check part says why.
            XCTAssertEqual(rows.filter { $0.split == .check }.isEmpty, set.noCheck != nil, set.id)
            XCTAssertTrue(rows.allSatisfy { $0.measured > 0 && $0.measured < 10 }, set.id)
            // No kernel sits on both sides: the twin rule moved every check twin to calibration.
            let fitted = Set(rows.filter { $0.split == .calibration }.map(\.signature))
            XCTAssertFalse(rows.contains { $0.split == .check && fitted.contains($0.signature) }, set.id)
        }
    }

    func testTwinRuleMovesIdenticalKernels() {
        let kernel = Kernel(id: "a", op: .gemm(.init(m: 64, n: 64, k: 64)), dtype: .fp16)
        var renamed = kernel
        renamed.id = "b"
        let rows = [
            ValidationRow(label: "cal", kernel: kernel, measured: 1e-5, regime: "gemm", split: .calibration),
            ValidationRow(label: "twin", kernel: renamed, measured: 2e-5, regime: "gemm", split: .check),
            ValidationRow(
                label: "other", kernel: Kernel(id: "c", op: .gemm(.init(m: 64, n: 64, k: 128)), dtype: .fp16), measured: 1e-5,
                regime: "gemm", split: .check),
        ]
        let set = ValidationSet(id: "t", title: "t", chip: "h100-sxm", provenance: "", splitRule: "") { _ in rows }
        let loaded = try! set.load("")
        XCTAssertEqual(loaded.map(\.split), [.calibration, .calibration, .check])
        XCTAssertEqual(loaded.map(\.twin), [false, true, false])
    }
}

/// The fitted values in the chip files are what the documented procedure produces.
final class CalibrationTests: XCTestCase {
    /// The collective fit's simplex polish follows a narrow diagonal valley (two figures that trade
    /// against each other, as the NVLS bulk rate and loop latency do) to its floor, from a start
    /// where neither figure alone can improve much.
    func testNelderMeadFollowsADiagonalValley() {
        let f = { (p: [Double]) in pow(p[0] - 0.7, 2) + 200 * pow(p[1] - (0.6 * p[0] + 0.05), 2) }
        let (best, value) = NelderMead.minimise(start: [0.2, 0.17], step: 0.05, f)
        XCTAssertEqual(best[0], 0.7, accuracy: 2e-3)
        XCTAssertEqual(best[1], 0.47, accuracy: 2e-3)
        XCTAssertLessThan(value, 1e-5)
    }

    func testFlagPerfFitReproducesThe910BFile() throws {
        // The file holds the fitted MAC energies, so refitting their common scale from it gives 1
        // (to the three digits the file keeps).
        let set = try XCTUnwrap(ValidationSet.named("flagperf-910b"))
        let rows = try set.load(try validationDirectory())
        let chip = try machine("ascend-910b2")
        let result = try Calibrator.fit(chip, rows: rows, parameters: [.matrix, .macEnergyScale])
        XCTAssertEqual(result.values[0].1, chip.efficiency.matrix, accuracy: 0.002)
        XCTAssertEqual(result.values[1].1, 1, accuracy: 0.01)
        XCTAssertLessThan(result.after, 0.02)
    }

    /// The A100's matrix efficiency and MAC energies come from FlagPerf's 8192^3 GEMMs: zero operands at the boost clock,
    /// random ones at the 400 W cap; refitting from the file gives its efficiency and a MAC-energy scale of 1. TF32 checks.
    func testFlagPerfFitReproducesTheA100FileAndChecksTF32() throws {
        let set = try XCTUnwrap(ValidationSet.named("flagperf-a100"))
        let rows = try set.load(try validationDirectory())
        XCTAssertEqual(rows.filter { $0.split == .check }.map(\.kernel.dtype), [.tf32, .tf32])
        XCTAssertEqual(Set(rows.map(\.kernel.activity)), [0, 1])
        let chip = try machine("a100-sxm")
        let result = try Calibrator.fit(chip, rows: rows, parameters: [.matrix, .macEnergyScale])
        XCTAssertEqual(result.values[0].1, chip.efficiency.matrix, accuracy: 0.002)
        XCTAssertEqual(result.values[1].1, 1, accuracy: 0.01)
        let e = try checkErrors("flagperf-a100")
        XCTAssertLessThan(try XCTUnwrap(e["gemm zero data"]), 0.02)  // about 0.9%
        XCTAssertLessThan(try XCTUnwrap(e["gemm random data"]), 0.06)  // about 4.7%
    }

    /// vLLM-Ascend's time per kernel, fitted on GPUStack's Qwen3-8B row (one parameter, one row), reproduces the file.
    func testGPUStackFitReproducesVLLMAscendsTimePerKernel() throws {
        let set = try XCTUnwrap(PowerValidationSet.named("gpustack-910b-serving"))
        let chip = try machine("ascend-910b2")
        let directory = try validationDirectory()
        let rows = try set.evaluate(directory, chip)
        XCTAssertEqual(rows.filter { $0.split == .calibration }.map(\.label), ["qwen3-8b vllm concurrency 4"])
        let result = try Calibrator.fit(chip, parameters: [.vllmAscendPerKernel], rounds: 1) { m in
            PowerValidationSet.objective(try set.evaluate(directory, m), metric: "output_tokens_per_s")
        }
        let file = try XCTUnwrap(chip.library.servingEngine("vllm-ascend")).perKernel
        XCTAssertEqual(result.values[0].1, file, accuracy: 1e-7)
        XCTAssertLessThan(result.after, 0.01)
    }

    /// LLMCompass's matrix products pay the eager op's host time and their BLAS call's on top; other ops only their path's.
    func testHarnessChargesTheBLASCallToMatrixProductsOnly() throws {
        let set = try XCTUnwrap(ValidationSet.named("llmcompass-a100"))
        let rows = try set.load(try validationDirectory())
        let matmul = try XCTUnwrap(rows.first { $0.regime == "matmul" })
        let softmax = try XCTUnwrap(rows.first { $0.regime == "softmax" })
        let gelu = try XCTUnwrap(rows.first { $0.regime == "gelu" })
        XCTAssertGreaterThan(set.harness.library, 0)
        XCTAssertEqual(set.harness.overhead(matmul), set.harness.eager + set.harness.library)
        XCTAssertEqual(set.harness.overhead(softmax), set.harness.eager)
        XCTAssertEqual(set.harness.overhead(gelu), set.harness.compiled)
    }

    /// DeepEP's first README timed low-latency kernels over RDMA to every peer; the 2026 one after
    /// its kernels began to use NVLink inside the node (README news, 2025-06-05).
    func testDeepEPLowLatencyPlacementFollowsTheREADMEVersion() throws {
        let rows = try CollectiveValidationSet.deepEPH800.load(try validationDirectory())
        let first = try XCTUnwrap(rows.first { $0.label == "dispatch EP16 low-latency (README 2025-02)" })
        let later = try XCTUnwrap(rows.first { $0.label == "dispatch EP16 low-latency (README 2026-02)" })
        XCTAssertEqual(first.nodes, 16)
        XCTAssertEqual(first.collective.ranksPerNode, 1)
        XCTAssertEqual(later.nodes, 2)
        XCTAssertNil(later.collective.ranksPerNode)
    }

    /// The A3 Mega's transport figures come from its calibration rows (up to 64 B, from 2 GiB):
    /// refitting them gives the file's values and its data hash, and no check row sits between.
    func testA3MegaTransportFitReproducesTheSystemFile() throws {
        let set = CollectiveValidationSet.a3MegaTwoNode
        let rows = try set.load(try validationDirectory())
        let resolve = { (nodes: Int) in try SystemCatalog.resolve(set.system, nodes: nodes, chips: packageRoot + "/chips") }
        let file = try resolve(1)
        let library = try XCTUnwrap(file.chip.library.collectives)
        let fit = try CollectiveCalibrator.fit(
            [.init(rows: rows, system: resolve)], start: .init(library: library), figures: CollectiveCalibrator.systemFigures)
        XCTAssertEqual(try XCTUnwrap(fit.state.scaleOutEfficiency), try XCTUnwrap(file.scaleOut?.efficiency), accuracy: 0.002)
        XCTAssertEqual(fit.state.stepLatency, try XCTUnwrap(file.scaleOut?.stepLatency), accuracy: 0.05e-6)
        XCTAssertEqual(
            CollectiveValidator.dataHash(rows.filter { $0.split == .calibration }),
            file.document.figures["scale_out.efficiency"]?.data)
        let calibration = rows.filter { $0.split == .calibration }.map(\.collective.bytes)
        XCTAssertEqual(calibration, [8, 16, 32, 64, 1 << 31, 1 << 32, 1 << 33])
    }

    func testLLMCompassFitReproducesTheA100FileAndHarness() throws {
        let set = try XCTUnwrap(ValidationSet.named("llmcompass-a100"))
        let rows = try set.load(try validationDirectory())
        let chip = try machine("a100-sxm")
        let result = try Calibrator.fit(
            chip, rows: rows, parameters: [.hbm, .rowwise, .l2, .harness, .harnessCompiled, .harnessLibrary])
        let fitted = Dictionary(uniqueKeysWithValues: result.values.map { ($0.0.rawValue, $0.1) })
        XCTAssertEqual(fitted["efficiency.hbm"]!, chip.efficiency.hbm, accuracy: 0.002)
        XCTAssertEqual(fitted["efficiency.rowwise"]!, chip.efficiency.rowwise, accuracy: 0.002)
        XCTAssertEqual(fitted["efficiency.l2"]!, chip.efficiency.l2, accuracy: 0.002)
        XCTAssertEqual(result.harness.eager, set.harness.eager, accuracy: 0.05e-6)
        XCTAssertEqual(result.harness.compiled, set.harness.compiled, accuracy: 0.05e-6)
        XCTAssertEqual(result.harness.library, set.harness.library, accuracy: 0.05e-6)
    }

    func testMLEnergyPower() throws {
        let set = try XCTUnwrap(PowerValidationSet.named("mlenergy-h100"))
        let predictions = try set.evaluate(try validationDirectory(), try machine("h100-sxm"))
        XCTAssertGreaterThanOrEqual(predictions.count, 25)
        let summary = Dictionary(uniqueKeysWithValues: PowerValidationSet.summarise(predictions).map { ($0.group, $0.mape) })
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["check power_w"]), 0.08, "reached about 6% (Wattchmen: 12%)")
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["check itl_s"]), 0.30, "reached about 28%: decode-only traces")
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["check energy_per_token_j"]), 0.38, "reached about 35%")
        // Power rises with batch and saturates at the 700 W cap, as measured.
        let llama = predictions.filter { $0.label.hasPrefix("Llama-3.1-8B") }.map { $0.predicted["power_w"]! }
        XCTAssertLessThan(llama.first!, llama.last!)
        XCTAssertLessThanOrEqual(llama.max()!, 701)
    }

    /// Training throughput against FlagPerf and MindSpeed-LLM (all check rows). The issue's target is
    /// 15%; the NVIDIA sets miss it, every row optimistic by 14-34% (docs/validation.md, Training).
    func testTrainingThroughput() throws {
        func assertMAPE(_ errors: [String: Double], _ regime: String, below limit: Double, line: UInt = #line) {
            guard let mape = errors[regime] else { return XCTFail("no \(regime) rows", line: line) }
            XCTAssertLessThanOrEqual(mape, limit, "\(regime): MAPE \(String(format: "%.1f%%", mape * 100))", line: line)
        }
        // Meets 15% (about 12%) since the A800's GEMMs run at the clock FlagPerf's sustained 8-card GEMMs show (21% before).
        assertMAPE(try checkErrors("flagperf-a800-training"), "tokens_per_s_per_chip", below: 0.13)
        assertMAPE(try checkErrors("flagperf-h100-training"), "tokens_per_s_per_chip", below: 0.26)  // misses 15%
        assertMAPE(try checkErrors("flagperf-h800-training"), "tokens_per_s_per_chip", below: 0.20)  // misses 15%
        assertMAPE(try checkErrors("flagperf-c500-training"), "mfu", below: 0.25)  // misses 15%; the C500's peak is an estimate
        assertMAPE(try checkErrors("mindspeed-910b-training"), "tokens_per_s_per_chip", below: 0.19)  // misses 15%
        // GPUStack at fixed concurrency: the H100 misses 15% (vLLM's host overheads grow with batch); on the 910B the
        // engines' host overheads, not modelled, put vLLM-Ascend far off (docs/validation.md, Serving).
        assertMAPE(try checkErrors("gpustack-h100-serving"), "output_tokens_per_s", below: 0.20)
        // vLLM-Ascend's Qwen3-30B-A3B at tp 2 (its time per kernel fitted on Qwen3-8B) +25%, MindIE (no engine figures) +38%.
        assertMAPE(try checkErrors("gpustack-910b-serving"), "output_tokens_per_s", below: 0.33)
        // DeepSeek's profile per kernel class: grouped GEMMs close, the classes the trace lacks far off (docs/validation.md).
        assertMAPE(try checkErrors("deepseek-h800-training"), "time_s", below: 0.5)
    }

    /// FlagPerf's table states splits as "PP2DP4TP1" or "TP8PP4DP1".
    func testFlagPerfSplitsParse() {
        XCTAssertEqual(TrainingSets.parallelism("PP2DP4TP1"), Parallelism(tp: 1, pp: 2, dp: 4))
        XCTAssertEqual(TrainingSets.parallelism("TP8PP4DP1"), Parallelism(tp: 8, pp: 4, dp: 1))
        XCTAssertEqual(TrainingSets.parallelism("PP2DP4EP4TP2"), Parallelism(tp: 2, pp: 2, ep: 4, dp: 4))
        XCTAssertNil(TrainingSets.parallelism("/"))
        XCTAssertNil(TrainingSets.parallelism("TP0PP1DP8"))
        XCTAssertEqual(TrainingSets.nodes("H100二机16卡（2x8）"), 2)
    }

    func testFlashAttentionFitReproducesTheHopperLibrary() throws {
        let set = try XCTUnwrap(ValidationSet.named("flashattention-h100"))
        let rows = try set.load(try validationDirectory())
        let chip = try machine("h100-sxm")
        // One parameter, one round (a debug build is slow); the matrix rate keeps the file's value.
        // The file holds the joint three-round fit; one round's fine grid steps by 0.00375.
        let result = try Calibrator.fit(chip, rows: rows, parameters: [.fa2BackwardRate], rounds: 1)
        XCTAssertEqual(result.values[0].1, try XCTUnwrap(chip.library.attentionKernel("fa2")).backwardRate, accuracy: 0.005)
    }

    func testFitNeverSeesCheckRows() throws {
        let set = try XCTUnwrap(ValidationSet.named("azure-h100"))
        var rows = try set.load(try validationDirectory())
        let chip = try machine("h100-sxm")
        let before = try Calibrator.fit(chip, rows: rows, parameters: [.matrixFP8], rounds: 1).values[0].1
        for i in rows.indices where rows[i].split == .check { rows[i].measured *= 3 }
        XCTAssertEqual(try Calibrator.fit(chip, rows: rows, parameters: [.matrixFP8], rounds: 1).values[0].1, before)
    }
}

/// The shipped digest is what scripts/make-digest.py writes from ../shared/validation, and small.
final class DigestTests: XCTestCase {
    func testDigestIsSmallAndCarriesProvenancePerRow() throws {
        let root = packageRoot + "/chips/measured"
        var total = 0
        for case let name as String in FileManager.default.enumerator(atPath: root)! where name.hasSuffix(".csv") {
            let text = try String(contentsOfFile: root + "/" + name, encoding: .utf8)
            total += text.utf8.count
            guard name.contains("/") else { continue }  // the FlashAttention digests carry provenance per source column
            let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            let header = lines[0].split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(Array(header.suffix(3)), ["source_repo", "source_commit", "license"], name)
            XCTAssertGreaterThan(lines.count, 1, name)
        }
        XCTAssertLessThan(total, 5_000_000)
    }

    /// Where the raw files are at hand (this team's checkout), the committed digest must be what
    /// the script writes from them today.
    func testDigestMatchesTheRawFiles() throws {
        let raw = packageRoot + "/../shared/validation/raw"
        guard FileManager.default.fileExists(atPath: raw + "/MANIFEST.csv") else {
            throw XCTSkip("../shared/validation/raw is not beside the package: nothing to compare the digest with")
        }
        let out = NSTemporaryDirectory() + "xpusim-digest-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", packageRoot + "/scripts/make-digest.py", "--raw", raw, "--out", out]
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw XCTSkip("python3 is not available: \(error)") }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        for case let name as String in FileManager.default.enumerator(atPath: out)! where name.hasSuffix(".csv") {
            let fresh = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
            let committed = try String(contentsOfFile: packageRoot + "/chips/measured/" + name, encoding: .utf8)
            XCTAssertTrue(fresh == committed, "chips/measured/\(name) differs from what scripts/make-digest.py writes: rerun it")
        }
    }
}
