import ArgumentParser
import Chips
import Estimates
import Foundation
import SimCore
import Simulator
import Systems
import Workloads

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Estimate a training step: step time, tokens/s, MFU, memory, power, energy per token, temperature.",
        discussion: """
            Simulates one micro-batch's forward and backward pass on the last pipeline stage at thermal
            steady state, and the last micro-batch of a step with the overlapped gradient
            reduce-scatter, the sharded Adam step and the parameter all-gather, then composes the step
            as Megatron-LM's 1F1B schedule runs it: (micro-batches + pp - 1) micro-batch times, the
            pipeline's fill and drain idle. Without --dp the data-parallel replicas fill the system's
            devices; without --nodes the system has as many nodes as the ranks need. MFU is model
            FLOPs (6 x the weights a token passes through, plus causal attention) over the vendor's
            dense peak.

            Examples:
              xpusim train --model llama-3-8b --system dgx-h100 --tp 2 --global-batch 512 --seq 8192
              xpusim train --model llama-3-70b --system dgx-h100 --nodes 8 --tp 8 --pp 4 \\
                --global-batch 512 --seq 8192
              xpusim train --model telechat2-115b --system atlas-800t-a2 --nodes 512 --tp 8 --pp 8 \\
                --global-batch 4096 --seq 4096 --recompute
            """)

    @OptionGroup var target: ModelTarget
    @Option(help: "Sequences per optimizer step, over all data-parallel replicas.") var globalBatch: Int
    @Option(help: "Tokens per sequence.") var seq: Int
    @Option(help: "Sequences per micro-batch.") var microBatch = 1
    @Flag(help: "Recompute each layer's forward pass before its backward (full activation recomputation).") var recompute = false
    @Flag(help: "Run tensor parallelism without Megatron's sequence parallelism (all-reduces, norms over every token).")
    var noSequenceParallel = false
    @Flag(help: "Reduce the gradients after the last backward pass, not during it (Megatron without --overlap-grad-reduce).")
    var serialGradReduce = false
    @Option(help: "Gradient format: fp32 (Megatron-LM) or bf16 (DeepSpeed's grad_accum_dtype bf16).") var gradDtype: GradientFormat = .fp32
    @OptionGroup var split: WorkloadCommand.Split
    @OptionGroup var operating: ConditionOptions
    @OptionGroup var money: CostOptions
    @OptionGroup var longRun: LongRunOptions
    @Option(help: "Output format: table or json.") var format: OutputFormat = .table

    func validate() throws {
        if globalBatch < 1 { throw ValidationError("--global-batch must be at least 1 sequence") }
        if seq < 1 { throw ValidationError("--seq must be at least 1 token") }
        if microBatch < 1 { throw ValidationError("--micro-batch must be at least 1 sequence") }
        try TokenLimits.check(sequences: globalBatch, "--global-batch", tokens: seq, "--seq")
        if microBatch > globalBatch { throw ValidationError("--micro-batch \(microBatch) is more than --global-batch \(globalBatch)") }
        if let dp = split.dp, dp < 1 { throw ValidationError("--dp must be at least 1") }
    }

    /// The system with enough nodes for the ranks, and the split with dp filled in.
    func placement(directory: String) throws -> (SystemSpec?, Parallelism) {
        var p = split.parallelism
        guard let system = target.system else { return (nil, p) }
        var spec = try SystemCatalog.resolve(system, nodes: target.nodes, chips: directory)
        let modelRanks = p.tp * p.pp * p.cp
        if split.dp == nil {
            guard spec.totalDevices % modelRanks == 0 else {
                throw ValidationError(
                    "tp x pp x cp = \(modelRanks) does not divide \(spec.id)'s \(spec.totalDevices) devices: give --dp or --nodes")
            }
            p.dp = spec.totalDevices / modelRanks
        } else if target.nodes == nil && p.ranks > spec.totalDevices {
            let needed = (p.ranks + spec.devicesPerNode - 1) / spec.devicesPerNode
            spec = try SystemCatalog.resolve(system, nodes: needed, chips: directory)
        }
        return (spec, p)
    }

    func run() throws {
        let file = try target.modelFile()
        let directory = target.chipsDirectory
        let (systemSpec, p) = try placement(directory: directory)
        let device = try systemSpec?.chip.device ?? ChipCatalog.resolve(target.chip ?? "", directory: directory)
        let (precision, note) = try split.precision(on: device)
        if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        let request = TrainingRequest(
            model: file.model, globalBatch: globalBatch, seq: seq, microBatch: microBatch, parallelism: p, precision: precision,
            recompute: recompute, expertSkew: split.expertSkew, gradientType: gradDtype.dataType,
            overlapGradientReduce: !serialGradReduce, sequenceParallel: !noSequenceParallel, conditions: try operating.conditions())
        let run = try longRun.request()
        if run != nil && systemSpec == nil {
            throw ValidationError("--days and --tokens need a system (--system ID): failures, storage and restarts are per node")
        }
        let e = try operating.estimating(file.model.name) { try TrainingEstimator.estimate(request, device: device, system: systemSpec) }
        var long: LongRunEstimate?
        if let run, let systemSpec {
            long = try operating.estimating(file.model.name) { try LongRunEstimator.estimate(request, run, system: systemSpec, step: e) }
        }
        let mem = e.memory
        let cost = money.estimate(
            ranks: e.ranks, system: systemSpec, device: device, power: e.systemPower, tokensPerSecond: e.tokensPerSecond)
        if format == .json {
            var object: [String: Any] = [
                "model": file.id, "model_name": file.model.name, "precision": precision.rawValue,
                "parallelism": p.description.isEmpty ? "none" : p.description, "ranks": e.ranks, "global_batch": globalBatch, "seq": seq,
                "micro_batch": microBatch, "microbatches": request.microbatches, "recompute": recompute, "grad_dtype": gradDtype.rawValue,
                "overlap_grad_reduce": !serialGradReduce, "sequence_parallel": !noSequenceParallel && p.tp > 1,
                "step_time_s": e.stepTime, "microbatch_s": e.microbatch.time, "last_microbatch_s": e.lastMicrobatch.time,
                "bubble_s": e.bubble, "bubble_fraction": e.bubbleFraction,
                "tokens_per_s": e.tokensPerSecond, "tokens_per_s_per_chip": e.tokensPerSecondPerChip, "mfu": e.mfu,
                "model_flops_per_token": e.modelFLOPsPerToken, "peak_flops_per_chip": e.peakFLOPS,
                "avg_power_w": e.systemPower, "device_power_w": e.devicePower, "joules_per_token": e.joulesPerToken,
                "peak_temperature_c": e.peakTemperature, "clock_hz": e.clock,
                "memory_per_rank_bytes": [
                    "capacity": mem.capacity, "weights": mem.weights, "gradients": mem.gradients, "optimizer": mem.optimizer,
                    "activations": mem.activations, "logits": mem.logits, "total": mem.total, "microbatches_in_flight": mem.inFlight,
                ],
            ]
            object["tokens_per_joule"] = 1 / e.joulesPerToken
            object.merge(CostOptions.json(cost)) { a, _ in a }
            if let long { object.merge(LongRunOptions.json(long)) { a, _ in a } }
            if let systemSpec {
                object["system"] = systemSpec.id
                object["nodes"] = systemSpec.nodes
            } else {
                object["chip"] = device.id
            }
            printJSON(object)
            return
        }
        let on = systemSpec.map { "\($0.name) (\($0.id)), \($0.nodes) node\($0.nodes == 1 ? "" : "s")" } ?? device.name
        let gb = { (x: Double) in "\(formatNumber(x / 1e9)) GB" }
        let percent = { (x: Double) in "\(formatNumber(x * 100))%" }
        let lines = [
            "\(file.model.name) training on \(on), \(precision.rawValue), \(p.description.isEmpty ? "one device" : p.description) "
                + "(\(e.ranks) rank\(e.ranks == 1 ? "" : "s")): \(globalBatch) x \(seq) tokens per step"
                + (recompute ? ", full recomputation" : ""),
            "",
            "micro-batches   \(request.microbatches) of \(microBatch) sequence\(microBatch == 1 ? "" : "s") per replica, "
                + "\(Quantity.format(e.microbatch.time, .time)) each forward and backward (\(e.microbatch.kernels) kernels)",
            "last one        \(Quantity.format(e.lastMicrobatch.time, .time)) with gradient reduce-scatter, Adam and all-gather",
            "bubble          \(Quantity.format(e.bubble, .time)) (\(percent(e.bubbleFraction)) of the step, 1F1B over \(p.pp) "
                + "stage\(p.pp == 1 ? "" : "s"))",
            "step            \(Quantity.format(e.stepTime, .time))",
            "throughput      \(formatNumber(e.tokensPerSecond)) tokens/s, \(formatNumber(e.tokensPerSecondPerChip)) per chip",
            "MFU             \(percent(e.mfu)) (\(formatNumber(e.modelFLOPsPerToken / 1e9)) GFLOP per token over "
                + "\(formatNumber(e.peakFLOPS / 1e12)) TFLOPS)",
            "memory / rank   \(gb(mem.total)) of \(gb(mem.capacity)): \(gb(mem.weights)) weights, \(gb(mem.gradients)) gradients, "
                + "\(gb(mem.optimizer)) optimizer, \(gb(mem.activations)) activations (\(mem.inFlight) in flight), "
                + "\(gb(mem.logits)) logits",
            "power           \(formatNumber(e.systemPower)) W for the \(systemSpec == nil ? "chip" : "ranks' share of the system") "
                + "(devices \(formatNumber(e.devicePower)) W each, \(formatNumber(e.idlePower)) W idle in the bubble)",
            "energy          \(formatNumber(e.joulesPerToken)) J per token (\(formatNumber(1 / e.joulesPerToken)) tokens/J)",
            "cost            \(CostOptions.line(cost)), training tokens",
            "temperature     \(formatNumber(e.peakTemperature)) C peak, clock \(Quantity.format(e.clock, .frequency))",
        ]
        print((lines + (long.map(LongRunOptions.lines) ?? [])).joined(separator: "\n"))
    }
}

enum GradientFormat: String, ExpressibleByArgument, CaseIterable {
    case fp32, bf16
    var dataType: DataType { self == .fp32 ? .fp32 : .bf16 }
}
