import Chips
import Simulator
import Systems
import Workloads

/// What to train, and how: a model, its global batch and sequence length, the split, the
/// micro-batch, the precision, activation recomputation, and the operating conditions.
public struct TrainingRequest: Sendable {
    public var model: ModelDescription
    /// Sequences per optimizer step, over all data-parallel replicas.
    public var globalBatch: Int
    public var seq: Int
    /// Sequences per micro-batch (Megatron's --micro-batch-size).
    public var microBatch: Int
    public var parallelism: Parallelism
    public var precision: Precision
    /// Full activation recomputation (Megatron's --recompute-granularity full).
    public var recompute: Bool
    public var expertSkew: Double
    /// The gradients' format: fp32 (Megatron-LM's main_grad buffers) or bf16 (DeepSpeed with
    /// grad_accum_dtype bf16, which keeps fp32 gradients only for its optimizer shard).
    public var gradientType: DataType
    /// Reduce gradients during the last backward pass (Megatron's --overlap-grad-reduce) or after it.
    public var overlapGradientReduce: Bool
    /// Megatron's sequence parallelism under tensor parallelism (norms on 1/tp of the tokens,
    /// all-gathers and reduce-scatters in place of the all-reduces).
    public var sequenceParallel: Bool
    public var conditions: RunConditions

    public init(
        model: ModelDescription, globalBatch: Int, seq: Int, microBatch: Int = 1, parallelism: Parallelism = Parallelism(),
        precision: Precision = .bf16, recompute: Bool = false, expertSkew: Double = 1, gradientType: DataType = .fp32,
        overlapGradientReduce: Bool = true, sequenceParallel: Bool = true, conditions: RunConditions = RunConditions()
    ) {
        self.sequenceParallel = sequenceParallel
        self.overlapGradientReduce = overlapGradientReduce
        self.gradientType = gradientType
        self.model = model
        self.globalBatch = globalBatch
        self.seq = seq
        self.microBatch = microBatch
        self.parallelism = parallelism
        self.precision = precision
        self.recompute = recompute
        self.expertSkew = expertSkew
        self.conditions = conditions
    }

    /// Micro-batches each data-parallel replica runs per step.
    public var microbatches: Int { globalBatch / (parallelism.dp * microBatch) }
    public var tokensPerStep: Int { globalBatch * seq }
}

/// Memory of the busiest rank (bytes): weights, gradients and the sharded optimizer state of its
/// stage, and the activations its in-flight micro-batches keep for their backward passes.
public struct TrainingMemory: Sendable {
    public var capacity: Double
    /// Weights of the rank's stage (bf16, or the precision's format for linear layers).
    public var weights: Double
    /// Gradients of the whole stage, in the request's gradient format.
    public var gradients: Double
    /// fp32 master weights and Adam's two moments, sharded over the data-parallel ranks
    /// (Megatron's distributed optimizer, ZeRO-1), with the shard's fp32 gradients when the
    /// gradients accumulate in bf16 (DeepSpeed).
    public var optimizer: Double
    /// Activations kept for backward: one micro-batch's, times the micro-batches in flight.
    public var activations: Double
    public var activationsPerMicrobatch: Double
    public var inFlight: Int
    /// The last stage's fp32 logits for the loss.
    public var logits: Double
    public var total: Double { weights + gradients + optimizer + activations + logits }
}

public struct TrainingEstimate: Sendable {
    public var request: TrainingRequest
    public var ranks: Int
    public var memory: TrainingMemory
    /// One micro-batch's forward and backward pass on the representative stage, at thermal steady state.
    public var microbatch: ServingStep
    /// The last micro-batch with the overlapped gradient reduce-scatter, the optimizer and the
    /// parameter all-gather (what a step adds after its last backward pass).
    public var lastMicrobatch: ServingStep
    /// Idle time of the stage while the pipeline fills and drains: (pp - 1) micro-batches (1F1B).
    public var bubble: Double
    public var stepTime: Double
    /// Device power while idle in the bubble (W).
    public var idlePower: Double
    /// The step's average power per device (W), bubble included.
    public var devicePower: Double
    /// The system's power for all ranks: devices, and their nodes' hosts, NICs, switches and fans (W).
    public var systemPower: Double
    public var peakTemperature: Double
    public var clock: Double
    /// Peak dense matrix rate of one device in the training precision (FLOP/s): the vendor's figure
    /// where the chip file has one (what published MFUs divide by).
    public var peakFLOPS: Double

    public var tokensPerSecond: Double { Double(request.tokensPerStep) / stepTime }
    public var tokensPerSecondPerChip: Double { tokensPerSecond / Double(ranks) }
    /// Model FLOPs per token: 6 x the weights a token passes through (non-embedding, the LM head
    /// counted), plus attention's 6 x 2 x layers x seq x (heads x head dim) / 2 (causal), PaLM's
    /// definition with the causal half.
    public var modelFLOPsPerToken: Double {
        let m = request.model
        let attentionWidth = m.mla.map { m.heads * ($0.qkHeadDim + $0.vHeadDim) / 2 } ?? m.heads * m.headDim
        return 3 * m.forwardFLOPsPerToken + 6 * Double(m.layers * request.seq * attentionWidth)
    }
    /// Model FLOPs utilisation: the model FLOPs per second per device over its peak.
    public var mfu: Double { tokensPerSecondPerChip * modelFLOPsPerToken / peakFLOPS }
    public var joulesPerToken: Double { systemPower * stepTime / Double(request.tokensPerStep) }
    public var bubbleFraction: Double { bubble / stepTime }
}

/// Training estimates from simulated micro-batches: the generator's training trace of one
/// micro-batch (forward, backward, the split's collectives) run on the engine at thermal steady
/// state, composed into a step as Megatron-LM's 1F1B pipeline schedule runs it.
///
/// - Step: m micro-batches per data-parallel replica (global batch / (dp x micro-batch)); the
///   pipeline adds (pp - 1) micro-batch times of fill and drain (Narayanan et al. 2021), so a step
///   is (m + pp - 2) micro-batches plus the last one, which carries the gradient reduce-scatter
///   (overlapped with its backward pass), the sharded Adam step and the parameter all-gather. The
///   representative stage is the last one (it holds the LM head); every stage is taken to run as
///   long.
/// - Memory: weights (2 bytes, plus fp8 copies of the linear layers' when training in fp8),
///   gradients (4 in fp32, 2 in bf16) and fp32 master weights and moments (12, sharded over dp,
///   the routed experts' over their expert-data-parallel group, plus the shard's fp32 gradients
///   when they accumulate in bf16);
///   activations per micro-batch and layer as Korthikanti et al. 2022 count them
///   with sequence parallelism and FlashAttention (each GEMM's and norm's input, the attention's
///   queries, keys, values and output, the MLP's gate/up output; full recomputation keeps each
///   layer's input only), times the micro-batches in flight on the first stage (min(m, pp)); the
///   last stage also holds fp32 logits.
/// - Power: the busy micro-batches at the sustained run's power, the bubble at the idle power of a
///   clocked, warm chip (uncore, clock tree, leakage at the run's peak temperature).
public enum TrainingEstimator {
    public static func memory(_ r: TrainingRequest, device: ChipSpec) -> TrainingMemory {
        let m = r.model
        let p = r.parallelism
        let perStage = (m.layers + p.pp - 1) / p.pp
        let stageLayers = (m.layers - perStage)..<m.layers
        let embedding = Double(m.vocab * m.hidden) / Double(p.tp)
        // The stage with the embedding (the first) or the LM head (the last); both when pp = 1 and untied.
        let tables = embedding * (p.pp == 1 && !m.tieEmbeddings ? 2 : 1)
        let params = stageLayers.reduce(tables) { $0 + m.rankParameters(layer: $1, p) }
        // Routed experts' weights are sharded over the expert-data-parallel group (tp x dp / ep).
        let experts = stageLayers.reduce(0.0) { $0 + m.rankExpertParameters(layer: $1, p) }
        let expertGroup = Double(p.ep > 1 ? max(1, p.tp * p.dp / p.ep) : p.dp)
        // bf16 weights; FP8 training keeps fp8 copies of the linear layers' beside them.
        let weightBytes = 2 * params + (r.precision == .bf16 ? 0 : (params - tables) * r.precision.gemmType.bytes)
        let tokens = Double(r.microBatch * r.seq / p.cp)
        let perLayer = activationsPerToken(m, p, recompute: r.recompute, sequenceParallel: r.sequenceParallel) * tokens
        let inFlight = min(r.microbatches, p.pp)
        return TrainingMemory(
            capacity: device.memory.hbmCapacity.value, weights: weightBytes, gradients: params * r.gradientType.bytes,
            optimizer: (r.gradientType == .fp32 ? 12 : 16) * ((params - experts) / Double(p.dp) + experts / expertGroup),
            activations: perLayer * Double(perStage * inFlight),
            activationsPerMicrobatch: perLayer * Double(perStage), inFlight: inFlight,
            logits: tokens * Double((m.vocab + p.tp - 1) / p.tp) * 4)
    }

    /// Bytes one token keeps for backward in one layer on one rank (bf16 activations; the norms'
    /// and GEMM inputs' share split over tp under sequence parallelism; every layer taken at its
    /// MoE or dense average).
    static func activationsPerToken(_ m: ModelDescription, _ p: Parallelism, recompute: Bool, sequenceParallel: Bool) -> Double {
        let h = Double(m.hidden)
        let tp = Double(p.tp)
        let residual = sequenceParallel ? tp : 1
        if recompute { return 2 * h / residual }
        let attention: Double
        if let mla = m.mla {
            let heads = Double(m.heads)
            attention =
                Double(mla.qLoraRank + mla.kvLoraRank + mla.qkRopeHeadDim)
                + heads * Double(2 * mla.qkHeadDim + 2 * mla.vHeadDim) / tp
        } else {
            attention = Double((2 * m.heads + 2 * m.kvHeads) * m.headDim) / tp
        }
        let norms = 4 * h / residual
        let mlp: Double
        if let moe = m.moe {
            let moeLayers = Double((0..<m.layers).filter { m.isMoELayer($0) }.count) / Double(m.layers)
            // Under expert parallelism each rank routes 1/tp of the tokens, whole experts; without
            // it, the permuted copies keep the full hidden width and the experts are split over tp.
            let routedWidth =
                p.ep > 1
                ? Double(moe.topK) * (h + 3 * Double(moe.expertFFN)) / tp : Double(moe.topK) * (h + 3 * Double(moe.expertFFN) / tp)
            let moeMLP = routedWidth + 3 * Double(moe.sharedFFN) / tp
            mlp = moeLayers * moeMLP + (1 - moeLayers) * 3 * Double(m.ffn) / tp
        } else {
            mlp = 3 * Double(m.ffn) / tp
        }
        return 2 * (norms + attention + mlp)
    }

    public static func estimate(_ r: TrainingRequest, device: ChipSpec, system: SystemSpec?) throws -> TrainingEstimate {
        let p = r.parallelism
        guard r.seq >= 1 else { throw EstimateError("--seq must be at least 1 token") }
        guard r.microBatch >= 1 else { throw EstimateError("--micro-batch must be at least 1 sequence") }
        guard r.globalBatch >= 1, r.globalBatch % (p.dp * r.microBatch) == 0 else {
            throw EstimateError(
                "--global-batch \(r.globalBatch) must be a multiple of dp x micro-batch (\(p.dp) x \(r.microBatch)): "
                    + "each data-parallel replica runs whole micro-batches")
        }
        if let system, p.ranks > system.totalDevices {
            throw EstimateError(
                "\(p) is \(p.ranks) ranks; \(system.id) with \(system.nodes) node(s) has \(system.totalDevices) devices (add --nodes)")
        }
        if system == nil && p.ranks > 1 {
            throw EstimateError("\(p) is \(p.ranks) ranks: train it on a system (--system ID), not one chip")
        }
        let mem = memory(r, device: device)
        guard mem.total <= mem.capacity else {
            let gb = { (x: Double) in String(format: "%.1f GB", x / 1e9) }
            throw EstimateError(
                "\(r.model.name) does not fit \(p.description.isEmpty ? "one" : p.description) \(device.name) for training: the busiest "
                    + "rank needs \(gb(mem.weights)) of weights, \(gb(mem.gradients)) of fp32 gradients, \(gb(mem.optimizer)) of "
                    + "optimizer state, \(gb(mem.activations)) of activations "
                    + "(\(mem.inFlight) micro-batch\(mem.inFlight == 1 ? "" : "es") in flight) and "
                    + "\(gb(mem.logits)) of logits: \(gb(mem.total)) of \(gb(mem.capacity)); use more --tp, --pp or --dp, "
                    + "--recompute, or a smaller --micro-batch")
        }
        let engine = Engine(machine: Machine(device), system: system)
        func trace(optimizer: Bool) throws -> Trace {
            do {
                return try TraceGenerator(
                    model: r.model,
                    request: .init(
                        phase: .train, batch: r.microBatch, seq: r.seq, parallelism: p, precision: r.precision, expertSkew: r.expertSkew,
                        recompute: r.recompute, microbatches: 1, devicesPerNode: system?.devicesPerNode, optimizerStep: optimizer,
                        gradientType: r.gradientType, overlapGradientReduce: r.overlapGradientReduce,
                        sequenceParallel: r.sequenceParallel)
                ).trace()
            } catch let error as GenerationError {
                throw EstimateError(error.message)
            }
        }
        let pass = try trace(optimizer: false)
        let sustained = try engine.sustained(pass, duration: 0.2, conditions: r.conditions)
        var warm = r.conditions
        warm.initialPower = sustained.power
        let lastTrace = try trace(optimizer: true)
        let last = try engine.run(lastTrace, conditions: warm)
        let microbatch = ServingStep(
            time: sustained.stepTime, devicePower: sustained.power, peakTemperature: sustained.peakTemperature, kernels: pass.kernels.count)
        let lastStep = ServingStep(
            time: last.totalTime, devicePower: last.power.averagePower, peakTemperature: last.power.peakTemperature,
            kernels: lastTrace.kernels.count)
        let m = r.microbatches
        let bubble = Double(p.pp - 1) * microbatch.time
        let stepTime = Double(m - 1) * microbatch.time + bubble + lastStep.time
        let model = PowerModel(device)
        let idle =
            model.uncorePower + model.clockPower(at: sustained.clock)
            + model.staticPower(temperature: sustained.peakTemperature, clock: sustained.clock)
        let energy = Double(m - 1) * microbatch.time * microbatch.devicePower + lastStep.time * lastStep.devicePower + bubble * idle
        let devicePower = energy / stepTime
        // The vendor's dense peak (bf16 and fp16 are one rate on every chip here), else the units' own.
        let type = r.precision.gemmType
        let peak =
            device.compute.vendorPeak[type] ?? (type == .bf16 ? device.compute.vendorPeak[.fp16] : nil)
            ?? device.peakMatrixFLOPS(type) ?? device.peakMatrixFLOPS(.bf16) ?? 0
        return TrainingEstimate(
            request: r, ranks: p.ranks, memory: mem, microbatch: microbatch, lastMicrobatch: lastStep, bubble: bubble,
            stepTime: stepTime, idlePower: idle, devicePower: devicePower,
            systemPower: system?.powerShare(devicePower: devicePower, ranks: p.ranks) ?? devicePower,
            peakTemperature: max(microbatch.peakTemperature, lastStep.peakTemperature), clock: sustained.clock, peakFLOPS: peak)
    }
}

extension SystemSpec {
    /// Power of `ranks` devices at `devicePower` each, with their nodes' hosts, NICs, switches and
    /// fans, and their scale-up domain's shared switches, in proportion to the devices they use (W):
    /// a share of the whole domain the file describes, however few of its nodes the system has.
    func powerShare(devicePower: Double, ranks: Int) -> Double {
        let share = Double(ranks) / Double(devicesPerNode)
        return devicePower * Double(ranks) + power.nodeExtras.value * share + power.domain.value * share / Double(scaleUp.domainNodes)
    }
}
