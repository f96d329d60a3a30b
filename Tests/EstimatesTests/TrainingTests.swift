import Chips
import Estimates
import Systems
import TestSupport
import Workloads
import XCTest

final class TrainingTests: XCTestCase {
    let chips = packageRoot + "/chips"
    func model(_ id: String) throws -> ModelDescription { try ModelCatalog.resolve(id, directory: packageRoot + "/workloads/models").model }

    /// Weights, gradients and the sharded optimizer counted from the shapes by hand; FlagPerf's
    /// out-of-memory split (Llama-3-8B, dp 8 on a DGX A800) does not fit, its PP2DP4 split does
    /// (measured at 76 of 80 GiB).
    func testMemoryOfTheBusiestRank() throws {
        let a800 = try SystemCatalog.resolve("dgx-a800", chips: chips)
        let m = try model("llama-3-8b")
        let dp8 = TrainingRequest(model: m, globalBatch: 512, seq: 8192, parallelism: Parallelism(dp: 8))
        let mem = TrainingEstimator.memory(dp8, device: a800.chip.device)
        let parameters = Double(m.parameters - m.hidden)  // the final norm is not counted per layer
        XCTAssertEqual(mem.weights, parameters * 2, accuracy: parameters * 0.001)
        XCTAssertEqual(mem.gradients, parameters * 4, accuracy: parameters * 0.002)
        XCTAssertEqual(mem.optimizer, parameters * 12 / 8, accuracy: parameters * 0.001)
        // One micro-batch of 8192 tokens: (4 x 4096 + 2 x (32 + 8) x 128 + 3 x 14336) x 2 bytes per token and layer.
        XCTAssertEqual(mem.activations, 8192 * Double(4 * 4096 + 2 * 40 * 128 + 3 * 14336) * 2 * 32, accuracy: 1)
        XCTAssertGreaterThan(mem.total, mem.capacity)
        XCTAssertThrowsError(try TrainingEstimator.estimate(dp8, device: a800.chip.device, system: a800)) {
            XCTAssertTrue("\($0)".contains("does not fit"), "\($0)")
        }
        var pp2 = dp8
        pp2.parallelism = Parallelism(pp: 2, dp: 4)
        let split = TrainingEstimator.memory(pp2, device: a800.chip.device)
        XCTAssertEqual(split.inFlight, 2)
        XCTAssertLessThan(split.total, split.capacity)
        XCTAssertEqual(split.total / 1e9, 76 * 1.0737, accuracy: 76 * 1.0737 * 0.1)  // FlagPerf's 76 GiB, within 10%
        // Full recomputation keeps one input per layer.
        var recompute = pp2
        recompute.recompute = true
        XCTAssertEqual(TrainingEstimator.memory(recompute, device: a800.chip.device).activationsPerMicrobatch, 8192 * 4096 * 2 * 16)
    }

    /// A step is (m + pp - 2) micro-batches plus the last one, whose gradient sync and optimizer
    /// come after it; its throughput and MFU follow from the step.
    func testStepComposesTheMicrobatchesAsOneF1B() throws {
        let dgx = try SystemCatalog.resolve("dgx-h100", chips: chips)
        let m = try model("llama-3-8b")
        let r = TrainingRequest(model: m, globalBatch: 16, seq: 2048, parallelism: Parallelism(tp: 2, pp: 2, dp: 2))
        let e = try TrainingEstimator.estimate(r, device: dgx.chip.device, system: dgx)
        XCTAssertEqual(r.microbatches, 8)
        XCTAssertEqual(e.bubble, e.microbatch.time, accuracy: 1e-12)
        XCTAssertEqual(e.stepTime, 7 * e.microbatch.time + e.bubble + e.lastMicrobatch.time, accuracy: 1e-9)
        XCTAssertGreaterThan(e.lastMicrobatch.time, e.microbatch.time)
        XCTAssertEqual(e.tokensPerSecondPerChip, 16 * 2048 / e.stepTime / 8, accuracy: 1e-6)
        let flops = 6 * Double(m.activeParameters - m.vocab * m.hidden) + 6 * Double(32 * 2048 * 32 * 128)
        XCTAssertEqual(e.modelFLOPsPerToken, flops, accuracy: flops * 0.001)
        XCTAssertEqual(e.mfu, e.tokensPerSecondPerChip * flops / 989.4e12, accuracy: 0.001)
        XCTAssertGreaterThan(e.mfu, 0.2)
        XCTAssertLessThan(e.mfu, 0.8)
        // More micro-batches per step: a smaller share of bubble, more tokens per second.
        var bigger = r
        bigger.globalBatch = 64
        let more = try TrainingEstimator.estimate(bigger, device: dgx.chip.device, system: dgx)
        XCTAssertLessThan(more.bubbleFraction, e.bubbleFraction)
        XCTAssertGreaterThan(more.tokensPerSecond, e.tokensPerSecond)
        // Gradients reduced after backward cost at least as much as overlapped ones.
        var serial = r
        serial.overlapGradientReduce = false
        XCTAssertGreaterThanOrEqual(try TrainingEstimator.estimate(serial, device: dgx.chip.device, system: dgx).stepTime, e.stepTime)
        // The bubble idles: the step's average device power is below the busy micro-batches'.
        XCTAssertLessThan(e.devicePower, e.microbatch.devicePower)
        XCTAssertGreaterThan(e.systemPower, e.devicePower * 8)
    }

    func testBatchesThatDoNotDivideAreRefused() throws {
        let dgx = try SystemCatalog.resolve("dgx-h100", chips: chips)
        let r = TrainingRequest(model: try model("llama-3-8b"), globalBatch: 6, seq: 1024, parallelism: Parallelism(tp: 2, dp: 4))
        XCTAssertThrowsError(try TrainingEstimator.estimate(r, device: dgx.chip.device, system: dgx)) {
            XCTAssertTrue("\($0)".contains("multiple of dp x micro-batch"), "\($0)")
        }
    }
}
