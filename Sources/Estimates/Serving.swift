import Chips
import Foundation
import Simulator
import Systems
import Workloads

/// What to serve, and how: a model on a system (or one chip), its request shape, its split and
/// precision, and either a batch or a time-per-output-token target.
public struct ServingRequest: Sendable {
    public var model: ModelDescription
    public var input: Int
    public var output: Int
    /// Sequences decoding together on one model replica; nil: the largest that meets `tpotSLO`
    /// (or, without one, the largest that fits, up to `maxBatch`).
    public var batch: Int?
    public var tpotSLO: Double?
    public var maxBatch: Int
    public var parallelism: Parallelism
    public var precision: Precision
    public var expertSkew: Double
    /// Share of each device's HBM the engine may use (vLLM's gpu_memory_utilization, 0.9 by default).
    public var memoryUtilization: Double
    /// Tokens one prefill step takes in (vLLM's and TensorRT-LLM's max_num_batched_tokens /
    /// max_num_tokens, 8192): requests are prefilled together up to this many tokens.
    public var prefillTokens: Int
    /// The KV cache's format (bf16 or fp8).
    public var kvCache: DataType
    /// Whether an asked batch must fit with every sequence's KV cache at its full length. False for
    /// a batch a measurement ran (its sequences sit at every length between, as a server holds them).
    public var checksMemory = true
    /// The serving engine whose time per step outside the kernels is added (an id of the chip
    /// library's `serving_engines`); nil: the kernels' time alone.
    public var engine: String?
    public var conditions: RunConditions

    public init(
        model: ModelDescription, input: Int, output: Int, batch: Int? = nil, tpotSLO: Double? = nil, maxBatch: Int = 2048,
        parallelism: Parallelism = Parallelism(), precision: Precision = .bf16, expertSkew: Double = 1, memoryUtilization: Double = 0.9,
        prefillTokens: Int = 8192, kvCache: DataType = .bf16, conditions: RunConditions = RunConditions()
    ) {
        self.kvCache = kvCache
        self.model = model
        self.input = input
        self.output = output
        self.batch = batch
        self.tpotSLO = tpotSLO
        self.maxBatch = maxBatch
        self.parallelism = parallelism
        self.precision = precision
        self.expertSkew = expertSkew
        self.memoryUtilization = memoryUtilization
        self.prefillTokens = prefillTokens
        self.conditions = conditions
    }
}

/// Memory of one rank: weights, the KV cache a sequence needs, and what is left for it.
public struct ServingMemory: Sendable {
    public var capacity: Double
    public var usable: Double
    public var weights: Double
    /// Activations and workspace of the largest prefill step (estimate: see ``ServingEstimator``).
    public var workspace: Double
    /// KV cache of one sequence at its full length (input + output), on this rank.
    public var kvPerSequence: Double
    public var kvBudget: Double { usable - weights - workspace }
    public var maxBatch: Int { kvPerSequence > 0 ? max(0, Int((kvBudget / kvPerSequence).rounded(.down))) : 0 }
}

/// One simulated step: its time, the device's average power, the peak junction temperature.
public struct ServingStep: Sendable {
    public var time: Double
    public var devicePower: Double
    public var peakTemperature: Double
    public var kernels: Int
}

public struct ServingEstimate: Sendable {
    public var request: ServingRequest
    public var batch: Int
    public var memory: ServingMemory
    /// One prefill step: `prefillRequests` prompts of `input` tokens.
    public var prefill: ServingStep
    public var prefillRequests: Int
    /// One decode step of `batch` sequences at the mean KV length (input + output / 2).
    public var decode: ServingStep
    /// Ranks one model replica spans (tp x pp x cp, times dp under expert parallelism, whose
    /// expert group spans the data-parallel ranks).
    public var ranks: Int
    /// Power of the whole system share these ranks use: devices, and their nodes' hosts, NICs,
    /// switches and fans in proportion (W).
    public var systemPowerPrefill: Double
    public var systemPowerDecode: Double
    /// Why the batch is what it is (memory, the SLO, the cap, the user).
    public var batchReason: String
    /// Disaggregated serving: prefill runs on its own pool (`prefill` on the prefill system), and
    /// each request's KV cache moves to the decode pool in `kvTransfer` seconds.
    public var disaggregated = false
    public var kvTransfer = 0.0
    /// The serving engine whose time outside the kernels the steps include (the request's `engine`).
    public var hostEngine: KernelLibrary.ServingEngine?

    /// Sequences a replica decodes (the request's batch, times dp when the replica spans the dp ranks).
    /// With experts parallel over the data-parallel ranks (ep > 1) each of those ranks decodes
    /// `batch` sequences of its own: the replica they make decodes `batch` x dp.
    public var sequences: Int { batch * replicasInGroup }
    public var replicasInGroup: Int { request.parallelism.ep > 1 ? request.parallelism.dp : 1 }
    /// One request's share of a prefill step: what its prompt adds to the step it is prefilled in.
    public var prefillPerRequest: Double { prefill.time / Double(prefillRequests) }
    /// Requests that finish, and are replaced, per decode step: each sequence ends after `output`.
    public var arrivalsPerStep: Double { Double(batch) / Double(request.output) }
    /// The median time between two tokens of a request under continuous batching with chunked
    /// prefill (vLLM V1): a step decodes the batch and prefills the prompts that arrived since the
    /// last (a Poisson number of mean ``arrivalsPerStep``), so the median step carries the median
    /// of that count. Disaggregated, the decode step alone.
    public var medianInterTokenLatency: Double {
        disaggregated ? decode.time : decode.time + Double(Self.poissonMedian(arrivalsPerStep)) * prefillPerRequest
    }

    /// The smallest k with P(N <= k) >= 1/2 for N ~ Poisson(mean).
    static func poissonMedian(_ mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        var term = exp(-mean)
        var cdf = term
        var k = 0
        while cdf < 0.5 && k < 1_000_000 {
            k += 1
            term *= mean / Double(k)
            cdf += term
        }
        return k
    }

    /// Time to first token of a request, unloaded: its prefill step (which ends with its first
    /// token), and when disaggregated the move of its KV cache to the decode pool.
    public var ttft: Double { prefill.time + kvTransfer }
    /// Time per output token under continuous batching: a decode step, plus (interleaved) the
    /// prefill steps of the requests that replace the finished ones, spread over each request's
    /// output tokens; disaggregated, the decode step alone.
    public var tpot: Double { disaggregated ? decode.time : decode.time + Double(batch) * prefillPerRequest / Double(request.output) }
    /// Chip-seconds one request takes: its share of a prefill step and of its decode steps.
    var prefillChipSeconds: Double { Double(ranks) * prefill.time / Double(prefillRequests * replicasInGroup) }
    var decodeChipSeconds: Double { Double(ranks) * Double(request.output) * decode.time / Double(sequences) }
    /// The prefill pool's share of the chips a disaggregated deployment needs (0 when interleaved).
    public var prefillShare: Double { disaggregated ? prefillChipSeconds / (prefillChipSeconds + decodeChipSeconds) : 0 }
    /// The time one batch of requests takes to go through, prefill and decode interleaved.
    var cycle: Double { Double(request.output) * decode.time + Double(batch) * prefillPerRequest }
    public var prefillTokensPerSecondPerChip: Double {
        Double(request.input * prefillRequests * replicasInGroup) / prefill.time / Double(ranks)
    }
    public var decodeTokensPerSecondPerChip: Double { Double(sequences) / decode.time / Double(ranks) }
    /// Output tokens per second per chip with prefill interleaved (what a throughput benchmark reports).
    /// Disaggregated: over the chips of both pools, in the proportion the request stream needs.
    public var outputTokensPerSecondPerChip: Double {
        disaggregated
            ? Double(request.output) / (prefillChipSeconds + decodeChipSeconds)
            : Double(sequences * request.output) / cycle / Double(ranks)
    }
    public var outputTokensPerSecond: Double { outputTokensPerSecondPerChip * Double(ranks) }
    public var averagePower: Double {
        if disaggregated { return joulesPerToken * outputTokensPerSecond }
        return (Double(request.output) * decode.time * systemPowerDecode + Double(batch) * prefillPerRequest * systemPowerPrefill) / cycle
    }
    /// Energy per output token (prefill included), of the system share.
    public var joulesPerToken: Double {
        if disaggregated {
            let perChip = (prefillChipSeconds * systemPowerPrefill + decodeChipSeconds * systemPowerDecode) / Double(ranks)
            return perChip / Double(request.output)
        }
        return averagePower * cycle / Double(sequences * request.output)
    }
}

/// A request an estimator cannot honour (nothing fits, no batch meets the SLO, a batch that does not divide).
public struct EstimateError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Serving estimates from simulated steps: the prefill and decode traces the generator writes,
/// run on the engine at the batch and KV lengths a continuously batched server sees.
///
/// - Memory: weights of the rank (linear layers in the serving precision, embeddings in bf16),
///   plus the largest prefill step's activations (its tokens x (4 x hidden + 2 x the rank's MLP
///   width) x 2 bytes: the residual stream, the norm's output, the attention output and the MLP's
///   intermediate, an estimate), within `memoryUtilization` of HBM; the rest holds KV cache, each
///   sequence at its full length.
/// - Steady state: each of `batch` sequences emits one token per decode step, at the mean KV length
///   input + output / 2; every finished request is replaced, and its prefill (batched up to
///   `prefillTokens` tokens, and interleaved never more prompts than the batch holds: they are
///   its sequences) is run between decode steps. Power is at thermal steady state.
public enum ServingEstimator {
    public static func memory(_ r: ServingRequest, device: ChipSpec) -> ServingMemory {
        let m = r.model
        let p = r.parallelism
        let linear = r.precision.gemmType.bytes
        let layers = Double((m.layers + p.pp - 1) / p.pp)
        // One layer's weights on this rank.
        let perLayer = (0..<m.layers).reduce(0.0) { $0 + m.rankParameters(layer: $1, p) } / Double(m.layers)
        let embeddings = Double(m.embeddingParameters) / Double(p.tp) * 2
        let weights = perLayer * layers * linear + embeddings
        let kvElements = m.mla != nil ? Double(m.kvElementsPerTokenPerLayer) : Double(2 * max(1, m.kvHeads / p.tp) * m.headDim)
        let kv = kvElements * layers * r.kvCache.bytes * Double(r.input + r.output)
        let chunk = Double(max(r.prefillTokens, r.input) / p.cp)
        let width = m.moe.map { Double($0.expertFFN * $0.topK) } ?? Double(m.ffn) / Double(p.tp)
        let workspace = chunk * (4 * Double(m.hidden) + 2 * width) * 2
        let capacity = device.memory.hbmCapacity.value
        return ServingMemory(
            capacity: capacity, usable: capacity * r.memoryUtilization, weights: weights, workspace: workspace, kvPerSequence: kv)
    }

    /// Serving on `system` (or one `device`); with `prefillOn`, disaggregated: prompts are prefilled
    /// on that system's devices (the same split) and their KV caches sent over the scale-out
    /// network to the decode system, which decodes without prefill steps in between.
    /// `prefillPrecision`: the prefill pool's own precision, where its chip runs another (the
    /// fallback of a chip without the decode pool's format); default the request's.
    /// `machine`: the device's model with figures set beyond its chip file (a calibration's trial
    /// values); default the chip file's.
    public static func estimate(
        _ r: ServingRequest, device: ChipSpec, system: SystemSpec?, prefillOn: SystemSpec? = nil, prefillPrecision: Precision? = nil,
        machine: Machine? = nil
    ) throws -> ServingEstimate {
        guard r.input >= 1, r.output >= 1 else { throw EstimateError("--input and --output must be at least 1 token") }
        let p = r.parallelism
        let ranks = p.tp * p.pp * p.cp * (p.ep > 1 ? p.dp : 1)
        if let system, p.ranks > system.totalDevices {
            throw EstimateError(
                "\(p) is \(p.ranks) ranks; \(system.id) with \(system.nodes) node(s) has \(system.totalDevices) devices (add --nodes)")
        }
        if system == nil && p.ranks > 1 {
            throw EstimateError("\(p) is \(p.ranks) ranks: serve it on a system (--system ID), not one chip")
        }
        var mem = memory(r, device: device)
        // Interleaved, a prefill step holds no more prompts than the batch, so where memory leaves
        // room for fewer sequences than a step's token budget holds prompts, the step (and its
        // workspace) is that much smaller: the largest batch whose KV cache fits beside the
        // workspace of a step of as many prompts.
        // A prefill step takes as many prompts as its token budget holds; interleaved, the prompts
        // are sequences of the batch (their KV cache is in the same memory), so never more than it.
        let promptsPerStep = max(1, r.prefillTokens / r.input)
        if prefillOn == nil, mem.maxBatch < promptsPerStep {
            for prompts in stride(from: promptsPerStep - 1, through: 1, by: -1) {
                var smaller = r
                smaller.prefillTokens = prompts * r.input
                let candidate = memory(smaller, device: device)
                if candidate.maxBatch >= prompts || prompts == 1 {
                    mem = candidate
                    break
                }
            }
        }
        let gb = { (x: Double) in String(format: "%.1f GB", x / 1e9) }
        guard mem.kvBudget > mem.kvPerSequence else {
            throw EstimateError(
                "\(r.model.name) does not fit \(p.description.isEmpty ? "one" : p.description) \(device.name): "
                    + "per rank \(gb(mem.weights)) of weights "
                    + "and \(gb(mem.workspace)) of prefill workspace leave \(gb(max(0, mem.kvBudget))) of the \(gb(mem.usable)) usable "
                    + "(\(Int(r.memoryUtilization * 100))% of \(gb(mem.capacity))), less than one sequence's KV cache of "
                    + "\(gb(mem.kvPerSequence)); split it over more ranks (--tp, --pp, --ep) or use a smaller --precision")
        }
        let engine = Engine(machine: machine ?? Machine(device), system: system)
        if let prefillOn {
            guard let system else { throw EstimateError("disaggregated serving needs a decode --system beside the --prefill-system") }
            guard p.ranks <= prefillOn.totalDevices else {
                throw EstimateError("\(p) is \(p.ranks) ranks; the prefill system \(prefillOn.id) has \(prefillOn.totalDevices) devices")
            }
            guard prefillOn.scaleOut != nil, system.scaleOut != nil else {
                throw EstimateError("disaggregated serving moves KV caches over a scale-out network: both systems need one")
            }
            var prefillRequest = r
            prefillRequest.precision = prefillPrecision ?? r.precision
            let prefillMemory = memory(prefillRequest, device: prefillOn.chip.device)
            guard prefillMemory.kvBudget > 0 else {
                throw EstimateError("\(r.model.name)'s weights and prefill workspace do not fit \(prefillOn.chip.device.name) at \(p)")
            }
        }
        let prefillEngine = prefillOn.map { Engine(machine: Machine($0.chip.device), system: $0) } ?? engine
        let perNode = system?.devicesPerNode
        func trace(_ phase: GenerationRequest.Phase, batch: Int, seq: Int, kvLen: Int?) throws -> Trace {
            do {
                return try TraceGenerator(
                    model: r.model,
                    request: .init(
                        phase: phase, batch: batch, seq: seq, kvLen: kvLen, parallelism: p,
                        precision: phase == .prefill ? prefillPrecision ?? r.precision : r.precision, expertSkew: r.expertSkew,
                        kvCache: r.kvCache, devicesPerNode: phase == .prefill ? prefillOn?.devicesPerNode ?? perNode : perNode)
                ).trace()
            } catch let error as GenerationError {
                throw EstimateError(error.message)
            }
        }
        // The engine's time per step outside the traced kernels, serial with them.
        func host(_ on: Engine) throws -> KernelLibrary.ServingEngine? {
            guard let id = r.engine else { return nil }
            let library = on.machine.library
            guard let found = library.servingEngine(id) else {
                let known = library.servingEngines.map(\.id)
                throw EstimateError(
                    "unknown serving engine \"\(id)\" for \(on.machine.spec.id): its library \(library.id) offers "
                        + (known.isEmpty ? "none" : known.joined(separator: ", ")))
            }
            return found
        }
        let decodeHost = try host(engine)
        func step(_ trace: Trace, sequences: Int, sustained: Bool, on stepEngine: Engine? = nil) throws -> ServingStep {
            let engine = stepEngine ?? engine
            let hostEngine = stepEngine == nil ? decodeHost : try host(engine)
            // The engine's own attention kernel where it names one (vLLM runs FlashAttention-3 on Hopper);
            // latent attention keeps the kernel its library gives it.
            var t = trace
            if let kernel = hostEngine?.attention {
                for index in t.kernels.indices {
                    if case .attention(var a) = t.kernels[index].op, a.impl == nil, !a.sharedKV {
                        a.impl = kernel
                        t.kernels[index].op = .attention(a)
                    }
                }
            }
            let hostTime = hostEngine?.overhead(sequences: sequences) ?? 0
            if sustained {
                let s = try engine.sustained(t, duration: 0.05, conditions: r.conditions)
                // Through the fixed part (the host's) the device draws what it does between
                // kernels: static, uncore and clock power, no dynamic work. The part per sequence
                // is drawn at the step's own power: on ML.ENERGY's calibration rows that reads
                // their power at 5.8% MAPE, against 9.0% with the device idle through it too, so
                // it is mostly device work per sequence the traces lack (sampling over the
                // vocabulary, the inputs' and block tables' copies), not host time.
                // An engine with a least time per kernel issued: where the issue is the slower, the device waits
                // for it (idle, as through the fixed part). The last pass of the sustained run gives the durations.
                let waiting = hostEngine?.hostBoundTime(s.result.kernels.suffix(t.kernels.count).map(\.duration)) ?? 0
                let gap = PowerModel(engine.machine.spec).power(dynamic: DynamicEnergy(), clock: s.clock, temperature: s.peakTemperature)
                let time = s.stepTime + hostTime + waiting
                let perSequence = (hostEngine?.perSequence ?? 0) * Double(sequences)
                let idle = hostTime + waiting - perSequence
                return ServingStep(
                    time: time, devicePower: (s.power * (s.stepTime + perSequence) + gap * idle) / time,
                    peakTemperature: s.peakTemperature,
                    kernels: t.kernels.count)
            }
            let run = try engine.run(t, conditions: r.conditions)
            let waiting = hostEngine?.hostBoundTime(run.kernels.map(\.duration)) ?? 0
            return ServingStep(
                time: run.totalTime + hostTime + waiting, devicePower: run.power.averagePower, peakTemperature: run.power.peakTemperature,
                kernels: t.kernels.count)
        }
        let kvMean = r.input + r.output / 2
        var prefillSteps: [Int: ServingStep] = [:]
        func prefillStep(_ requests: Int) throws -> ServingStep {
            if let known = prefillSteps[requests] { return known }
            let s = try step(
                try trace(.prefill, batch: requests, seq: r.input, kvLen: nil), sequences: requests, sustained: true,
                on: prefillOn == nil ? nil : prefillEngine)
            prefillSteps[requests] = s
            return s
        }
        func prompts(batch: Int) -> Int { prefillOn == nil ? min(promptsPerStep, max(1, batch)) : promptsPerStep }
        // Interleaved, each decode step also carries the prefills of the requests that replace finished ones.
        func perRequest(batch: Int) throws -> Double {
            guard prefillOn == nil else { return 0 }
            let n = prompts(batch: batch)
            return try prefillStep(n).time / Double(n)
        }
        let fits = min(mem.maxBatch, r.maxBatch)
        var batch: Int
        var reason: String
        if let asked = r.batch {
            guard asked <= mem.maxBatch || !r.checksMemory else {
                throw EstimateError(
                    "batch \(asked) needs \(gb(Double(asked) * mem.kvPerSequence)) of KV cache per rank; \(gb(mem.kvBudget)) is free after "
                        + "\(gb(mem.weights)) of weights: the largest batch that fits is \(mem.maxBatch)")
            }
            batch = asked
            reason = "as asked"
        } else if let slo = r.tpotSLO {
            func tpot(_ b: Int) throws -> Double {
                try step(try trace(.decode, batch: b, seq: kvMean, kvLen: nil), sequences: b, sustained: false).time + Double(b)
                    * (try perRequest(batch: b))
                    / Double(r.output)
            }
            guard try tpot(1) <= slo else {
                throw EstimateError(
                    "no batch meets a TPOT of \(formatSeconds(slo)): batch 1 already takes \(formatSeconds(try tpot(1))) per output token")
            }
            var low = 1
            var high = fits
            if try tpot(high) <= slo {
                low = high
            } else {
                while high - low > 1 {
                    let mid = (low + high) / 2
                    if try tpot(mid) <= slo { low = mid } else { high = mid }
                }
            }
            batch = low
            reason =
                low == fits
                ? (fits == r.maxBatch ? "the batch cap (--max-batch)" : "memory (KV cache)") + ", within the TPOT target"
                : "the TPOT target"
        } else {
            batch = fits
            reason = fits == r.maxBatch ? "the batch cap (--max-batch)" : "memory: the largest batch whose KV cache fits"
        }
        let decode = try step(try trace(.decode, batch: batch, seq: kvMean, kvLen: nil), sequences: batch, sustained: true)
        let prefillRequests = prompts(batch: batch)
        let prefill = try prefillStep(prefillRequests)
        func systemPower(_ devicePower: Double, _ on: SystemSpec?) -> Double {
            on?.powerShare(devicePower: devicePower, ranks: ranks) ?? devicePower
        }
        var estimate = ServingEstimate(
            request: r, batch: batch, memory: mem, prefill: prefill, prefillRequests: prefillRequests, decode: decode, ranks: ranks,
            systemPowerPrefill: systemPower(prefill.devicePower, prefillOn ?? system),
            systemPowerDecode: systemPower(decode.devicePower, system), batchReason: reason)
        estimate.hostEngine = decodeHost
        if let prefillOn, let system {
            // Each rank sends its share of the prompt's KV cache over its share of its node's NICs;
            // the slower side sets the pace (the scale-out latency is small beside it and not added).
            func perDevice(_ s: SystemSpec) -> Double {
                guard let out = s.scaleOut else { return 0 }
                return out.bandwidthPerNIC.value * Double(out.nicsPerNode) / Double(s.devicesPerNode)
            }
            let bandwidth = min(perDevice(prefillOn), perDevice(system))
            estimate.disaggregated = true
            estimate.kvTransfer = mem.kvPerSequence * Double(r.input) / Double(r.input + r.output) / bandwidth
        }
        return estimate
    }

    static func formatSeconds(_ s: Double) -> String { s >= 1 ? String(format: "%.3g s", s) : String(format: "%.3g ms", s * 1e3) }
}
