import Chips
import SimCore
import Systems
import Workloads

/// One figure of a claim: what the claim (or its source) says, what the simulation or the files
/// give, and whether they agree.
public struct ClaimMetric: Sendable {
    public enum Verdict: String, Sendable {
        /// Within the claim's tolerance of what it says.
        case supported
        /// Outside it; `deviation` says by how much.
        case contradicted
        /// The figure rests on an estimate (no published number), so it cannot confirm or refute.
        case untested
        /// No number is claimed: shown for context.
        case context
    }
    public var name: String
    /// The ratio the claim states (nil: none).
    public var claimed: Double?
    public var simulated: Double
    /// Relative tolerance around `claimed` that still supports the claim.
    public var tolerance: Double
    /// Why the figure is untested, or how it was obtained.
    public var note: String
    public var untested: Bool

    public init(_ name: String, claimed: Double?, simulated: Double, tolerance: Double = 0.15, note: String, untested: Bool = false) {
        self.name = name
        self.claimed = claimed
        self.simulated = simulated
        self.tolerance = tolerance
        self.note = note
        self.untested = untested
    }

    /// simulated / claimed - 1.
    public var deviation: Double? { claimed.map { simulated / $0 - 1 } }
    public var verdict: Verdict {
        if untested { return .untested }
        guard let deviation else { return .context }
        return abs(deviation) <= tolerance ? .supported : .contradicted
    }
}

/// A claim from the news, with where it comes from, how it is tested and what the test gives.
public struct ClaimResult: Sendable {
    public enum Verdict: String, Sendable { case supported, contradicted, partly, untested }
    public var id: String
    public var claim: String
    public var source: String
    public var test: String
    public var metrics: [ClaimMetric]

    public init(id: String, claim: String, source: String, test: String, metrics: [ClaimMetric]) {
        self.id = id
        self.claim = claim
        self.source = source
        self.test = test
        self.metrics = metrics
    }

    /// Supported when every tested figure is, contradicted when none is, partly otherwise;
    /// untested when no figure could be tested.
    public var verdict: Verdict {
        let tested = metrics.filter { $0.verdict == .supported || $0.verdict == .contradicted }
        if tested.isEmpty { return .untested }
        let supported = tested.filter { $0.verdict == .supported }.count
        return supported == tested.count ? .supported : supported == 0 ? .contradicted : .partly
    }
}

/// The public claims about these chips (../shared/reference/chips.md section 8), each tested on
/// the shipped chip, system and model files with the serving and training estimators.
public enum Claims {
    public struct Claim: Sendable {
        public var id: String
        public var evaluate: @Sendable (_ chips: String, _ models: String) throws -> ClaimResult
    }

    public static let all: [Claim] = [ascend910BTraining, ascend910CInference, cloudMatrixVsNVL72, metaXC600, tHeadPPU]

    static func model(_ id: String, _ directory: String) throws -> ModelDescription {
        try ModelCatalog.resolve(id, directory: directory).model
    }

    static func train(
        _ model: ModelDescription, system id: String, nodes: Int, _ p: Parallelism, globalBatch: Int, seq: Int, chips: String,
        overlap: Bool = false
    ) throws -> TrainingEstimate {
        let system = try SystemCatalog.resolve(id, nodes: nodes, chips: chips)
        return try TrainingEstimator.estimate(
            TrainingRequest(model: model, globalBatch: globalBatch, seq: seq, parallelism: p, overlapGradientReduce: overlap),
            device: system.chip.device, system: system)
    }

    /// Decode tokens per second per package (a 910C package is two devices) and the estimate.
    static func serve(
        _ model: ModelDescription, system id: String? = nil, chip: String? = nil, nodes: Int? = nil, _ p: Parallelism = Parallelism(),
        precision: Precision, kvCache: DataType = .bf16, batch: Int? = nil, tpotSLO: Double? = nil, input: Int, output: Int,
        chips: String
    ) throws -> (perPackage: Double, estimate: ServingEstimate) {
        let system = try id.map { try SystemCatalog.resolve($0, nodes: nodes, chips: chips) }
        let device = try system?.chip.device ?? ChipCatalog.resolve(chip ?? "", directory: chips)
        let e = try ServingEstimator.estimate(
            ServingRequest(
                model: model, input: input, output: output, batch: batch, tpotSLO: tpotSLO, parallelism: p, precision: precision,
                kvCache: kvCache),
            device: device, system: system)
        let perPackage = Double(system?.chip.devicesPerPackage ?? 1)
        return (e.outputTokensPerSecondPerChip * perPackage, e)
    }

    static func percent(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }

    // MARK: The claims

    static let ascend910BTraining = Claim(id: "910b-80pct-a100") { chips, models in
        let llama7 = try model("llama-2-7b", models)
        let llama70 = try model("llama-2-70b", models)
        // MindSpeed-LLM's example scripts (examples/mcore/llama2/pretrain_llama2_7b_ptd.sh, examples/llama2/pretrain_llama2_70b_ptd.sh).
        let small = Parallelism(pp: 2, dp: 4)
        let a = try train(llama7, system: "atlas-800t-a2", nodes: 1, small, globalBatch: 256, seq: 4096, chips: chips, overlap: true)
        let b = try train(llama7, system: "dgx-a100", nodes: 1, small, globalBatch: 256, seq: 4096, chips: chips, overlap: true)
        let big = Parallelism(tp: 8, pp: 4)
        let c = try train(llama70, system: "atlas-800t-a2", nodes: 4, big, globalBatch: 1024, seq: 4096, chips: chips)
        let d = try train(llama70, system: "dgx-a100", nodes: 4, big, globalBatch: 1024, seq: 4096, chips: chips)
        return ClaimResult(
            id: "910b-80pct-a100", claim: "Ascend 910B reaches 80% of an equivalent NVIDIA chip (the A100) when training LLMs",
            source:
                "Wang Tao (Huawei), World Semiconductor Conference, Nanjing, June 2024 (https://yooqur.com/thread/557494-1.html); "
                + "iFlytek said its 910B work reaches A100 performance (chips.md 8a)",
            test:
                "Llama-2-7B and Llama-2-70B pretraining as MindSpeed-LLM's scripts run them (seq 4096; 7B: pp2-dp4, global batch "
                + "256; 70B: tp8-pp4 on 4 nodes, global batch 1024) on Atlas 800T A2 (910B2) against DGX A100 (A100 80GB), bf16, "
                + "tokens/s per chip",
            metrics: [
                ClaimMetric(
                    "Llama-2-7B training, 910B / A100 tokens/s per chip", claimed: 0.8,
                    simulated: a.tokensPerSecondPerChip / b.tokensPerSecondPerChip,
                    note: "\(Int(a.tokensPerSecondPerChip)) against \(Int(b.tokensPerSecondPerChip)); MindSpeed-LLM measured 4672 on "
                        + "the 910B against 3850 for its GPU baseline (1.21)"),
                ClaimMetric(
                    "Llama-2-70B training, 910B / A100 tokens/s per chip", claimed: 0.8,
                    simulated: c.tokensPerSecondPerChip / d.tokensPerSecondPerChip,
                    note: "\(Int(c.tokensPerSecondPerChip)) against \(Int(d.tokensPerSecondPerChip)); MindSpeed-LLM measured 420 against "
                        + "430 (0.98)"),
            ])
    }

    static let ascend910CInference = Claim(id: "910c-60pct-h100") { chips, models in
        let r1 = try model("deepseek-r1", models)
        // H100: fp8 weights and KV cache, ep16-dp16 on two DGX H100 nodes. 910C (no fp8): w8a8, ep32-dp32 over 16 packages
        // of a CloudMatrix 384 (its attention weights, replicated on every rank, leave no room for KV cache at ep16). A 910C
        // rank is one die: at equal load a package carries the sequences of two ranks, 16 each to the H100's 32.
        let slo = 0.05
        func h100(batch: Int? = nil, tpotSLO: Double? = nil) throws -> (perPackage: Double, estimate: ServingEstimate) {
            try serve(
                r1, system: "dgx-h100", nodes: 2, Parallelism(ep: 16, dp: 16), precision: .fp8, kvCache: .fp8, batch: batch,
                tpotSLO: tpotSLO, input: 2048, output: 1024, chips: chips)
        }
        func ascend(batch: Int? = nil, tpotSLO: Double? = nil) throws -> (perPackage: Double, estimate: ServingEstimate) {
            try serve(
                r1, system: "cloudmatrix-384", Parallelism(ep: 32, dp: 32), precision: .w8a8, batch: batch, tpotSLO: tpotSLO,
                input: 2048, output: 1024, chips: chips)
        }
        let (h100SLO, ascendSLO) = (try h100(tpotSLO: slo), try ascend(tpotSLO: slo))
        let (h100Load, ascendLoad) = (try h100(batch: 32), try ascend(batch: 16))
        func tpot(_ e: ServingEstimate) -> String { Quantity.format(e.tpot, .time) }
        return ClaimResult(
            id: "910c-60pct-h100", claim: "Ascend 910C delivers 60% of the H100's inference performance (DeepSeek R1 serving)",
            source:
                "Tom's Hardware, February 2025, quoting a social-media post (no DeepSeek report with the figure was found; chips.md "
                + "8b, low confidence)",
            test:
                "DeepSeek-R1 serving (2048 tokens in, 1024 out): 16 H100s on two DGX H100 nodes in fp8 (ep16-dp16) against 16 "
                + "910C packages (32 devices, ep32-dp32) of a CloudMatrix 384 in w8a8, the 910C having no fp8 unit; output tokens/s "
                + "per package with prefill interleaved, each at the largest batch that meets a 50 ms TPOT, and at equal load (32 "
                + "sequences per package: 32 per H100 rank, 16 per 910C die)",
            metrics: [
                ClaimMetric(
                    "DeepSeek-R1 serving at a 50 ms TPOT, 910C / H100 output tokens/s per package", claimed: 0.6,
                    simulated: ascendSLO.perPackage / h100SLO.perPackage,
                    note: "\(Int(ascendSLO.perPackage)) per 910C package (batch \(ascendSLO.estimate.batch) per die, TPOT "
                        + "\(tpot(ascendSLO.estimate))) against \(Int(h100SLO.perPackage)) per H100 (batch \(h100SLO.estimate.batch), "
                        + "\(tpot(h100SLO.estimate)))"),
                ClaimMetric(
                    "the same at equal load, 32 sequences per package", claimed: 0.6,
                    simulated: ascendLoad.perPackage / h100Load.perPackage,
                    note: "\(Int(ascendLoad.perPackage)) against \(Int(h100Load.perPackage)); TPOT \(tpot(ascendLoad.estimate)) against "
                        + "\(tpot(h100Load.estimate))"),
            ])
    }

    static let cloudMatrixVsNVL72 = Claim(id: "cm384-vs-nvl72") { chips, models in
        let cm = try SystemCatalog.resolve("cloudmatrix-384", chips: chips)
        let nvl = try SystemCatalog.resolve("gb200-nvl72", chips: chips)
        func compute(_ s: SystemSpec) -> Double { Double(s.totalDevices) * (s.chip.device.peakMatrixFLOPS(.bf16) ?? 0) }
        func capacity(_ s: SystemSpec) -> Double { Double(s.totalDevices) * s.chip.device.memory.hbmCapacity.value }
        func bandwidth(_ s: SystemSpec) -> Double { Double(s.totalDevices) * s.chip.device.memory.hbmBandwidth.value }
        let r1 = try model("deepseek-r1", models)
        // Each at the scale it is served at: 64 of the NVL72's 72 GPUs as one expert-parallel group (ep64: R1's
        // 256 experts split evenly, 4 per GPU; 72 do not divide them), and on CloudMatrix 384 groups of 256 dies,
        // one routed expert each (the supernode's point: experts spread over hundreds of dies in one scale-up
        // domain), three of them filling its 768 dies; each at the largest batch that meets a 50 ms TPOT (a 910C
        // rank is one die, a B200 rank a whole package).
        let a = try serve(
            r1, system: "cloudmatrix-384", Parallelism(ep: 256, dp: 256), precision: .w8a8, tpotSLO: 0.05, input: 2048, output: 1024,
            chips: chips)
        let b = try serve(
            r1, system: "gb200-nvl72", Parallelism(ep: 64, dp: 64), precision: .fp8, kvCache: .fp8, tpotSLO: 0.05, input: 2048,
            output: 1024, chips: chips)
        let throughput = a.perPackage * Double(cm.totalChips) / (b.perPackage * Double(nvl.totalChips))
        let watts = a.estimate.averagePower / Double(a.estimate.ranks) * Double(cm.totalDevices)
        let nvlWatts = b.estimate.averagePower / Double(b.estimate.ranks) * Double(nvl.totalDevices)
        let fromFiles = "from the system files"
        return ClaimResult(
            id: "cm384-vs-nvl72", claim: "CloudMatrix 384 beats the GB200 NVL72 on some metrics, at a far higher power",
            source:
                "SemiAnalysis, 16 April 2025 "
                + "(https://semianalysis.com/2025/04/16/huawei-ai-cloudmatrix-384-chinas-answer-to-nvidia-gb200-nvl72/"
                + "; chips.md 7a and 8c): "
                + "1.7x dense BF16, 3.6x HBM capacity, 2.1x HBM bandwidth, 3.9x power",
            test:
                "the system files' figures (every device's peak, HBM, and the system's power with every chip at TDP), and DeepSeek-R1 "
                + "serving (2048 in, 1024 out; w8a8 on the 910C, fp8 on the B200) at the scale each is served at, ep256-dp256 "
                + "groups of 910C dies (one routed expert each) against 64 of the NVL72's GPUs as one ep64 group, each at the "
                + "largest batch that meets a 50 ms TPOT, scaled to each whole system",
            metrics: [
                ClaimMetric("dense BF16 compute, CM384 / NVL72", claimed: 1.7, simulated: compute(cm) / compute(nvl), note: fromFiles),
                ClaimMetric("HBM capacity", claimed: 3.6, simulated: capacity(cm) / capacity(nvl), note: fromFiles),
                ClaimMetric("HBM bandwidth", claimed: 2.1, simulated: bandwidth(cm) / bandwidth(nvl), note: fromFiles),
                ClaimMetric(
                    "power at TDP", claimed: 3.9, simulated: cm.systemPower.value / nvl.systemPower.value,
                    note: "\(Int(cm.systemPower.value / 1000)) kW against \(Int(nvl.systemPower.value / 1000)) kW"),
                ClaimMetric(
                    "DeepSeek-R1 serving throughput of the whole system", claimed: nil, simulated: throughput,
                    note: "\(Int(a.perPackage)) output tokens/s per 910C package (batch \(a.estimate.batch) per die) against "
                        + "\(Int(b.perPackage)) per B200 (batch \(b.estimate.batch))"),
                ClaimMetric(
                    "power while serving", claimed: nil, simulated: watts / nvlWatts,
                    note: "the simulated serving power of every device and its share of the nodes"),
            ])
    }

    static let metaXC600 = Claim(id: "c600-vs-h20") { chips, models in
        let c600 = try ChipCatalog.resolve("metax-c600", directory: chips)
        let h20 = try ChipCatalog.resolve("h20", directory: chips)
        let llama = try model("llama-3.3-70b", models)
        let a = try serve(llama, chip: "metax-c600", precision: .fp8, kvCache: .fp8, input: 2048, output: 512, chips: chips)
        let b = try serve(llama, chip: "h20", precision: .fp8, kvCache: .fp8, input: 2048, output: 512, chips: chips)
        return ClaimResult(
            id: "c600-vs-h20", claim: "MetaX's new GPU (the C600) carries more memory than the H20, at a higher power",
            source:
                "internetor.net and world-economist.com reports of the C600 launch (July 2025): 144 GB HBM3e and FP8 (chips.md 6)",
            test:
                "the chip files' HBM capacity and TDP, and Llama-3.3-70B served in fp8 on one chip of each (2048 in, 512 out, the "
                + "largest batch whose KV cache fits)",
            metrics: [
                ClaimMetric(
                    "HBM capacity, C600 / H20", claimed: 1.5, simulated: c600.memory.hbmCapacity.value / h20.memory.hbmCapacity.value,
                    tolerance: 0.01, note: "144 GB against 96 GB; the claim says more, its source says 144 GB"),
                ClaimMetric(
                    "power (TDP)", claimed: nil, simulated: c600.power.tdp.value / h20.power.tdp.value,
                    note: "the C600's power is not published: its chip file's 550 W is an estimate", untested: true),
                ClaimMetric(
                    "Llama-3.3-70B fp8 serving, output tokens/s per chip", claimed: nil,
                    simulated: a.perPackage / b.perPackage,
                    note: "batch \(a.estimate.batch) against \(b.estimate.batch): the larger HBM holds more KV cache; the C600's rates "
                        + "are low-confidence estimates"),
            ])
    }

    static let tHeadPPU = Claim(id: "ppu-h20-class") { chips, models in
        let ppu = try ChipCatalog.resolve("thead-ppu", directory: chips)
        let h20 = try ChipCatalog.resolve("h20", directory: chips)
        let llama = try model("llama-3.1-8b", models)
        let a = try serve(llama, chip: "thead-ppu", precision: .bf16, batch: 64, input: 1024, output: 1024, chips: chips)
        let b = try serve(llama, chip: "h20", precision: .bf16, batch: 64, input: 1024, output: 1024, chips: chips)
        return ClaimResult(
            id: "ppu-h20-class",
            claim: "Alibaba's new inference processor (the T-Head PPU) is an H20-class part compatible with NVIDIA's software",
            source:
                "CCTV, 16 September 2025, via the South China Morning Post and Tom's Hardware: 96 GB HBM2e, 700 GB/s chip-to-chip, "
                + "400 W, shown on par with the H20 (chips/thead-ppu.yaml)",
            test:
                "the chip files' memory and power, and Llama-3.1-8B served in bf16 on one chip of each (64 sequences, 1024 in, 1024 "
                + "out); \"H20-class\" taken as within 25%; software compatibility is not something a simulation can test",
            metrics: [
                ClaimMetric(
                    "HBM capacity, PPU / H20", claimed: 1, simulated: ppu.memory.hbmCapacity.value / h20.memory.hbmCapacity.value,
                    tolerance: 0.01, note: "96 GB each"),
                ClaimMetric(
                    "Llama-3.1-8B serving, output tokens/s per chip", claimed: 1, simulated: a.perPackage / b.perPackage, tolerance: 0.25,
                    note: "\(Int(a.perPackage)) against \(Int(b.perPackage)); the PPU's HBM bandwidth (2.4 TB/s) and organisation are "
                        + "estimates, its 118.7 TFLOPS derived from a cluster total"),
                ClaimMetric(
                    "prefill tokens/s per chip", claimed: 1,
                    simulated: a.estimate.prefillTokensPerSecondPerChip
                        / b.estimate.prefillTokensPerSecondPerChip, tolerance: 0.25,
                    note: "compute-bound: 118.7 against 148 TFLOPS of dense bf16"),
                ClaimMetric(
                    "board power", claimed: 1, simulated: ppu.power.tdp.value / h20.power.tdp.value, tolerance: 0.01,
                    note: "400 W each in the files; the CCTV table put the H20 at 550 W"),
            ])
    }
}
