import Chips
import Estimates
import Simulator
import Systems
import TestSupport
import Workloads
import XCTest

final class ServingTests: XCTestCase {
    let chips = packageRoot + "/chips"
    func model(_ id: String) throws -> ModelDescription { try ModelCatalog.resolve(id, directory: packageRoot + "/workloads/models").model }

    /// Weights and KV cache counted from the shapes, independently of the estimator's own loop.
    func testMemoryOfOneRank() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        let m = try model("llama-3.1-8b")
        let r = ServingRequest(model: m, input: 1000, output: 1000, precision: .fp8, kvCache: .fp8)
        let mem = ServingEstimator.memory(r, device: h100)
        let embeddings = Double(2 * 128_256 * 4096)
        XCTAssertEqual(mem.weights, (Double(m.parameters) - embeddings - 4096) * 1 + embeddings * 2, accuracy: 1e6)
        XCTAssertEqual(mem.kvPerSequence, Double(2 * 8 * 128 * 32 * 2000))
        XCTAssertEqual(mem.usable, 0.9 * h100.memory.hbmCapacity.value)
        XCTAssertEqual(mem.maxBatch, Int((mem.kvBudget / mem.kvPerSequence).rounded(.down)))
        // Tensor parallelism halves the weights and the KV heads of each rank.
        var tp2 = r
        tp2.parallelism = Parallelism(tp: 2)
        let half = ServingEstimator.memory(tp2, device: h100)
        XCTAssertEqual(half.kvPerSequence, mem.kvPerSequence / 2)
        XCTAssertEqual(half.weights, mem.weights / 2, accuracy: mem.weights * 0.001)
    }

    /// A serving engine's host time is serial with each step: the decode step grows by its fixed
    /// part and its part per sequence, the device draws less through it, and an engine the chip's
    /// library does not list is named in the error.
    func testAServingEnginesHostTimeIsAddedToEveryStep() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        let m = try model("llama-3.1-8b")
        var machine = Machine(h100)
        machine.library.setServingEngine("vllm") {
            $0.perStep = 1e-3
            $0.perSequence = 20e-6
            $0.attention = nil  // the host time alone (the engine's own attention kernel is tested below)
        }
        let plain = ServingRequest(model: m, input: 512, output: 256, batch: 32)
        var withEngine = plain
        withEngine.engine = "vllm"
        let a = try ServingEstimator.estimate(plain, device: h100, system: nil, machine: machine)
        let b = try ServingEstimator.estimate(withEngine, device: h100, system: nil, machine: machine)
        XCTAssertEqual(b.decode.time - a.decode.time, 1e-3 + 32 * 20e-6, accuracy: 2e-5)
        XCTAssertEqual(b.prefill.time - a.prefill.time, 1e-3 + Double(b.prefillRequests) * 20e-6, accuracy: 2e-5)
        XCTAssertLessThan(b.decode.devicePower, a.decode.devicePower)
        XCTAssertLessThan(b.outputTokensPerSecond, a.outputTokensPerSecond)
        var unknown = plain
        unknown.engine = "sglang"
        XCTAssertThrowsError(try ServingEstimator.estimate(unknown, device: h100, system: nil)) { error in
            XCTAssertTrue("\(error)".contains("unknown serving engine \"sglang\""), "\(error)")
            XCTAssertTrue("\(error)".contains("vllm"), "\(error)")
        }
    }

    /// vLLM runs FlashAttention-3 on Hopper: on the H20, whose tensor rate is about a seventh of the
    /// H100's, decode attention over 4 packed query rows is compute-bound, and FA3's steps save more
    /// than the engine's host time adds; the library's default without an engine stays FA2.
    func testVLLMsOwnAttentionKernelRunsInItsSteps() throws {
        let h20 = try ChipCatalog.resolve("h20", directory: chips)
        XCTAssertEqual(Machine(h20).library.servingEngine("vllm")?.attention, "fa3")
        XCTAssertEqual(Machine(h20).library.defaultAttention, "fa2")
        let plain = ServingRequest(model: try model("llama-3.1-8b"), input: 1024, output: 1024, batch: 64)
        var withEngine = plain
        withEngine.engine = "vllm"
        let a = try ServingEstimator.estimate(plain, device: h20, system: nil)
        let b = try ServingEstimator.estimate(withEngine, device: h20, system: nil)
        let host = try XCTUnwrap(b.hostEngine).overhead(sequences: 64)
        XCTAssertLessThan(b.decode.time, a.decode.time - 3e-3, "FA3 saves milliseconds a step on the H20")
        XCTAssertGreaterThan(a.decode.time - (b.decode.time - host), 5e-3)
    }

    /// An eager engine's floor per kernel: kernel i starts no earlier than i x perKernel, and after the one before.
    func testTheHostBoundTimeIsTheDevicesWaitForTheHost() {
        var engine = KernelLibrary.ServingEngine(id: "e", name: "e", perStep: 0, perSequence: 0)
        XCTAssertEqual(engine.hostBoundTime([1e-3, 1e-3]), 0)
        engine.perKernel = 100e-6
        // Short kernels: the host paces them, the last starts at 3 x 100 us and ends 10 us later.
        XCTAssertEqual(engine.hostBoundTime([10e-6, 10e-6, 10e-6, 10e-6]), 310e-6 - 40e-6, accuracy: 1e-12)
        // A long kernel lets the host run ahead: the ones after it wait for the device, not the host.
        XCTAssertEqual(engine.hostBoundTime([10e-6, 1e-3, 10e-6, 10e-6]), 100e-6 - 10e-6, accuracy: 1e-12)
        XCTAssertEqual(engine.hostBoundTime([1e-3, 1e-3]), 0)
    }

    /// vLLM-Ascend's figures slow a 910B decode step of small kernels by about kernels x perKernel, and less where
    /// the kernels are long.
    func testVLLMAscendsTimePerKernelPacesADecodeStep() throws {
        let b910 = try ChipCatalog.resolve("ascend-910b2", directory: chips)
        let m = try model("qwen3-8b")
        let plain = ServingRequest(model: m, input: 233, output: 221, batch: 4)
        var withEngine = plain
        withEngine.engine = "vllm-ascend"
        let a = try ServingEstimator.estimate(plain, device: b910, system: nil)
        let b = try ServingEstimator.estimate(withEngine, device: b910, system: nil)
        let host = try XCTUnwrap(b.hostEngine)
        XCTAssertGreaterThan(host.perKernel, 0)
        let floor = Double(b.decode.kernels - 1) * host.perKernel + host.overhead(sequences: 4)
        XCTAssertGreaterThan(b.decode.time, floor)
        XCTAssertLessThan(b.decode.time, a.decode.time + floor)
        XCTAssertLessThan(b.decode.devicePower, a.decode.devicePower)
    }

    /// The median inter-token latency: a step carries the median of a Poisson number of new prompts.
    func testTheMedianStepCarriesTheMedianNumberOfNewPrompts() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        let m = try model("llama-3.1-8b")
        // 32 sequences of 256 output tokens: 0.125 new prompts per step, the median step has none.
        let few = try ServingEstimator.estimate(ServingRequest(model: m, input: 512, output: 256, batch: 32), device: h100, system: nil)
        XCTAssertEqual(few.medianInterTokenLatency, few.decode.time)
        // 256 sequences of 128 tokens: 2 per step; P(N <= 1) = 3 e^-2 = 0.41, P(N <= 2) = 0.68, so 2.
        let many = try ServingEstimator.estimate(
            ServingRequest(model: m, input: 512, output: 128, batch: 256), device: h100, system: nil)
        XCTAssertEqual(many.medianInterTokenLatency, many.decode.time + 2 * many.prefillPerRequest, accuracy: 1e-9)
    }

    func testTheBatchMeetsTheTPOTTargetAndOneMoreDoesNot() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        let m = try model("llama-3.1-8b")
        let slo = 0.02
        let e = try ServingEstimator.estimate(ServingRequest(model: m, input: 512, output: 256, tpotSLO: slo), device: h100, system: nil)
        XCTAssertLessThanOrEqual(e.tpot, slo * 1.02)  // the final run is at steady state, the search's cold
        XCTAssertGreaterThan(e.batch, 1)
        let more = try ServingEstimator.estimate(
            ServingRequest(model: m, input: 512, output: 256, batch: e.batch + 1), device: h100, system: nil)
        XCTAssertGreaterThan(more.tpot, slo * 0.98)
        XCTAssertGreaterThan(e.decodeTokensPerSecondPerChip, e.outputTokensPerSecondPerChip)
        XCTAssertEqual(e.joulesPerToken, e.averagePower / e.outputTokensPerSecond, accuracy: e.joulesPerToken * 1e-9)
    }

    func testWhatDoesNotFitIsSaid() throws {
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        XCTAssertThrowsError(
            try ServingEstimator.estimate(
                ServingRequest(model: try model("llama-3.1-405b"), input: 128, output: 128), device: h100, system: nil)
        ) { XCTAssertTrue("\($0)".contains("does not fit"), "\($0)") }
        XCTAssertThrowsError(
            try ServingEstimator.estimate(
                ServingRequest(model: try model("llama-3-70b"), input: 128, output: 128, parallelism: Parallelism(tp: 2)), device: h100,
                system: nil)
        ) { XCTAssertTrue("\($0)".contains("on a system"), "\($0)") }
    }

    /// A tensor-parallel group on a system pays for its all-reduces, and counts its node's share of power.
    func testTensorParallelServingOnASystem() throws {
        let dgx = try SystemCatalog.resolve("dgx-h100", chips: chips)
        let r = ServingRequest(
            model: try model("llama-3-70b"), input: 1024, output: 256, batch: 32, parallelism: Parallelism(tp: 4), precision: .fp8)
        let e = try ServingEstimator.estimate(r, device: dgx.chip.device, system: dgx)
        XCTAssertEqual(e.ranks, 4)
        XCTAssertGreaterThan(e.systemPowerDecode, 4 * e.decode.devicePower)
        XCTAssertLessThan(e.systemPowerDecode, 4 * e.decode.devicePower + dgx.power.nodeExtras.value)
    }

    /// Disaggregated on the same hardware, a request takes the same chip-seconds as interleaved
    /// (its prefill and its share of the decode steps), but TPOT loses the prefills and TTFT gains
    /// the KV cache's move over the NICs.
    func testDisaggregatedServingSplitsTheWorkBetweenPools() throws {
        let dgx = try SystemCatalog.resolve("dgx-h100", chips: chips)
        let r = ServingRequest(model: try model("llama-3.1-8b"), input: 2048, output: 256, batch: 32, precision: .fp8, kvCache: .fp8)
        let together = try ServingEstimator.estimate(r, device: dgx.chip.device, system: dgx)
        let apart = try ServingEstimator.estimate(r, device: dgx.chip.device, system: dgx, prefillOn: dgx)
        XCTAssertTrue(apart.disaggregated)
        XCTAssertEqual(apart.tpot, apart.decode.time)
        XCTAssertGreaterThan(together.tpot, apart.tpot)
        XCTAssertEqual(
            apart.outputTokensPerSecondPerChip, together.outputTokensPerSecondPerChip,
            accuracy: together.outputTokensPerSecondPerChip * 1e-9)
        // 2048 of 2304 tokens of fp8 KV cache (32 layers x 8 heads x 128 x 2) over one 400 Gb/s NIC per GPU.
        let kv = Double(2 * 8 * 128 * 32 * 2048)
        XCTAssertEqual(apart.kvTransfer, kv / 50e9, accuracy: 1e-12)
        XCTAssertEqual(apart.ttft, apart.prefill.time + apart.kvTransfer)
        XCTAssertGreaterThan(apart.prefillShare, 0)
        XCTAssertLessThan(apart.prefillShare, 1)
        XCTAssertEqual(apart.joulesPerToken, apart.averagePower / apart.outputTokensPerSecond, accuracy: apart.joulesPerToken * 1e-9)
        let h100 = try ChipCatalog.resolve("h100-sxm", directory: chips)
        XCTAssertThrowsError(try ServingEstimator.estimate(r, device: h100, system: nil, prefillOn: dgx))
    }
}
