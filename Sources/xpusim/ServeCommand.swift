import ArgumentParser
import Chips
import Estimates
import Experiments
import Foundation
import SimCore
import Simulator
import Systems
import Workloads

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Estimate serving a model: prefill and decode throughput per chip, TTFT, TPOT, the batch that fits, power.",
        discussion: """
            Simulates one prefill step (prompts batched up to --prefill-tokens) and one decode step of
            the batch at the mean KV length (input + output / 2), as a continuously batched server
            (vLLM, SGLang, TensorRT-LLM) runs them, at thermal steady state. The batch is the one
            given, or the largest that meets --tpot-slo, or without either the largest whose KV cache
            fits beside the weights in --memory-utilization of HBM. TPOT counts the prefills of the
            requests that replace finished ones; TTFT is one prefill step, unloaded (no queueing).
            --batch is sequences per model replica (per data-parallel rank under expert parallelism).

            Examples:
              xpusim serve --model llama-3.1-8b --chip h100-sxm --input 1024 --output 1024 \\
                --precision fp8 --kv-cache fp8
              xpusim serve --model llama-3.3-70b --system dgx-h100 --tp 2 --input 2048 --output 128 \\
                --tpot-slo 50ms
              xpusim serve --model deepseek-r1 --system cloudmatrix-384 --ep 32 --dp 32 \\
                --precision w8a8 --input 2048 --output 1024 --batch 64
            """)

    @OptionGroup var target: ModelTarget
    @Option(help: "Prompt tokens per request.") var input: Int
    @Option(help: "Output tokens per request.") var output: Int
    @Option(help: "Sequences decoding together per model replica.") var batch: Int?
    @Option(help: "Largest time per output token, e.g. 50ms: serve the largest batch that meets it.") var tpotSlo: String?
    @Option(help: "Largest batch considered (the server's max_num_seqs / max_batch_size).") var maxBatch = 2048
    @Option(help: "Tokens one prefill step takes in (max_num_batched_tokens).") var prefillTokens = 8192
    @Option(help: "Share of HBM the server may use (vLLM's gpu_memory_utilization).") var memoryUtilization = 0.9
    @Option(
        help:
            "A serving engine of the chip's library (e.g. vllm, vllm-ascend) whose time per step outside the kernels is added.")
    var engine: String?
    @Flag(help: "Prefill on --prefill-system and decode on --system, the KV cache sent between them (disaggregated serving).")
    var disaggregated = false
    @Option(help: "The system that prefills (with --disaggregated).") var prefillSystem: String?
    @Option(help: "Nodes of the prefill system.") var prefillNodes: Int?
    @OptionGroup var split: WorkloadCommand.Split
    @OptionGroup var operating: ConditionOptions
    @OptionGroup var money: CostOptions
    @Option(help: "Output format: table or json.") var format: OutputFormat = .table

    func validate() throws {
        if batch != nil && tpotSlo != nil { throw ValidationError("give --batch or --tpot-slo, not both") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1 sequence") }
        if input < 1 || output < 1 { throw ValidationError("--input and --output must be at least 1 token") }
        try TokenLimits.check(tokens: input, "--input")
        try TokenLimits.check(tokens: output, "--output")
        try TokenLimits.check(sequences: batch ?? 1, "--batch", tokens: input + output, "--input + --output")
        if maxBatch > TokenLimits.total { throw ValidationError("--max-batch must be at most \(TokenLimits.total)") }
        if prefillTokens > TokenLimits.total { throw ValidationError("--prefill-tokens must be at most \(TokenLimits.total)") }
        if maxBatch < 1 { throw ValidationError("--max-batch must be at least 1") }
        if prefillTokens < 1 { throw ValidationError("--prefill-tokens must be at least 1") }
        if !(memoryUtilization > 0 && memoryUtilization <= 1) { throw ValidationError("--memory-utilization is a share of HBM in (0, 1]") }
        if disaggregated != (prefillSystem != nil) { throw ValidationError("--disaggregated and --prefill-system go together") }
        if disaggregated && target.system == nil { throw ValidationError("--disaggregated decodes on a --system, not one chip") }
        if prefillNodes != nil && prefillSystem == nil { throw ValidationError("--prefill-nodes goes with --prefill-system") }
        // Checked here too so that the message names this option, not --nodes.
        if let prefillNodes, !(1...SystemSpec.maxNodes).contains(prefillNodes) {
            throw ValidationError("--prefill-nodes must be 1 to \(SystemSpec.maxNodes) nodes, found \(prefillNodes)")
        }
        _ = try slo()
    }

    func slo() throws -> Double? {
        guard let tpotSlo else { return nil }
        guard let q = Quantity.parse(tpotSlo, as: .time), q.value > 0 else {
            throw ValidationError("--tpot-slo: expected a time such as 50ms, found \"\(tpotSlo)\"")
        }
        return q.value
    }

    func run() throws {
        let file = try target.modelFile()
        let directory = target.chipsDirectory
        let (device, systemSpec) = try RunTarget(chip: target.chip, system: target.system, nodes: target.nodes, chips: directory).resolve()
        let (precision, note) = try split.precision(on: device)
        if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        var request = ServingRequest(
            model: file.model, input: input, output: output, batch: batch, tpotSLO: try slo(), maxBatch: maxBatch,
            parallelism: split.parallelism, precision: precision, expertSkew: split.expertSkew, memoryUtilization: memoryUtilization,
            prefillTokens: prefillTokens, kvCache: split.kvCache.dataType, conditions: try operating.conditions())
        request.engine = engine
        let prefillSpec = try prefillSystem.map { try SystemCatalog.resolve($0, nodes: prefillNodes, chips: directory) }
        let prefillPrecision = try prefillSpec.map { spec -> Precision in
            let (resolved, note) = try split.precision(on: spec.chip.device)
            if let note { FileHandle.standardError.write(Data("note: prefill pool: \(note)\n".utf8)) }
            return resolved
        }
        let e = try operating.estimating(file.model.name) {
            try ServingEstimator.estimate(
                request, device: device, system: systemSpec, prefillOn: prefillSpec, prefillPrecision: prefillPrecision)
        }
        let on = systemSpec.map { "\($0.name) (\($0.id))" } ?? device.name
        var cost = money.estimate(
            ranks: e.ranks, system: systemSpec, device: device, power: e.averagePower, tokensPerSecond: e.outputTokensPerSecond)
        if let prefillSpec, let decodeCapital = cost?.capital,
            let prefillCapital = Capital.of(ranks: e.ranks, system: prefillSpec, device: prefillSpec.chip.device)
        {
            // The chips of both pools in the proportion the request stream needs.
            let mixed = Capital(
                price: e.prefillShare * prefillCapital.price + (1 - e.prefillShare) * decodeCapital.price,
                basis: "\(prefillCapital.basis) (prefill), \(decodeCapital.basis) (decode)")
            cost = CostEstimate(
                capital: mixed, power: e.averagePower, tokensPerSecond: e.outputTokensPerSecond, assumptions: money.assumptions)
        } else if prefillSpec != nil {
            cost = nil
        }
        // A rank is one device: a whole package, or one die of a package software sees as several (910C).
        let perPackage = systemSpec?.devicesPerPackage ?? 1
        if format == .json {
            var object: [String: Any] = [
                "model": file.id, "model_name": file.model.name, "input": input, "output": output, "precision": precision.rawValue,
                "parallelism": split.parallelism.description.isEmpty ? "none" : split.parallelism.description, "ranks": e.ranks,
                "batch": e.batch, "batch_reason": e.batchReason, "sequences_per_replica": e.sequences,
                "devices_per_package": perPackage,
                "prefill_tokens_per_s_per_package": e.prefillTokensPerSecondPerChip * Double(perPackage),
                "decode_tokens_per_s_per_package": e.decodeTokensPerSecondPerChip * Double(perPackage),
                "output_tokens_per_s_per_package": e.outputTokensPerSecondPerChip * Double(perPackage),
                "prefill_tokens_per_s_per_chip": e.prefillTokensPerSecondPerChip,
                "decode_tokens_per_s_per_chip": e.decodeTokensPerSecondPerChip,
                "output_tokens_per_s_per_chip": e.outputTokensPerSecondPerChip, "ttft_s": e.ttft, "tpot_s": e.tpot,
                "decode_step_s": e.decode.time, "prefill_step_s": e.prefill.time, "prefill_requests_per_step": e.prefillRequests,
                "avg_power_w": e.averagePower, "joules_per_token": e.joulesPerToken,
                "peak_temperature_c": max(e.prefill.peakTemperature, e.decode.peakTemperature),
                "memory_per_rank_bytes": [
                    "capacity": e.memory.capacity, "usable": e.memory.usable, "weights": e.memory.weights, "workspace": e.memory.workspace,
                    "kv_per_sequence": e.memory.kvPerSequence, "max_batch": e.memory.maxBatch,
                ],
            ]
            if let systemSpec { object["system"] = systemSpec.id } else { object["chip"] = device.id }
            if let s = request.tpotSLO { object["tpot_slo_s"] = s }
            object["disaggregated"] = e.disaggregated
            if let engine {
                object["engine"] = engine
                object["median_itl_s"] = e.medianInterTokenLatency
            }
            if let prefillSpec {
                object["prefill_system"] = prefillSpec.id
                object["prefill_chip_share"] = e.prefillShare
                object["kv_transfer_s"] = e.kvTransfer
            }
            object["tokens_per_joule"] = 1 / e.joulesPerToken
            object.merge(CostOptions.json(cost)) { a, _ in a }
            printJSON(object)
            return
        }
        let p = split.parallelism
        let gb = { (x: Double) in "\(formatNumber(x / 1e9)) GB" }
        let splitText = p.description.isEmpty ? "" : ", " + p.description
        let slo = request.tpotSLO.map { ", target \(Quantity.format($0, .time))" } ?? ""
        let prompts = "\(e.prefillRequests) prompt\(e.prefillRequests == 1 ? "" : "s")"
        let sequences = { (n: Int) in "\(n) sequence\(n == 1 ? "" : "s")" }
        // Per device, with the package's figure beside it where a package is several devices.
        let unit = perPackage > 1 ? "device" : "chip"
        let perChip = { (x: Double) in
            perPackage > 1 ? "\(formatNumber(x)) (\(formatNumber(x * Double(perPackage))) per package)" : formatNumber(x)
        }
        var lines = [
            "\(file.model.name) on \(on), \(precision.rawValue)\(splitText) (\(e.ranks) rank\(e.ranks == 1 ? "" : "s") per replica): "
                + "\(input) tokens in, \(output) out",
            "",
            e.replicasInGroup > 1
                ? "batch           \(sequences(e.batch)) per data-parallel rank, \(e.sequences) per replica (\(e.batchReason))"
                : "batch           \(sequences(e.batch)) per replica (\(e.batchReason))",
            "memory / rank   \(gb(e.memory.weights)) weights, \(gb(e.memory.workspace)) prefill workspace, "
                + "\(gb(e.memory.kvPerSequence)) KV per sequence; \(gb(e.memory.usable)) usable of \(gb(e.memory.capacity)): "
                + "room for \(sequences(e.memory.maxBatch))",
            "prefill step    \(Quantity.format(e.prefill.time, .time)) for \(prompts) (\(e.prefill.kernels) kernels)",
            "decode step     \(Quantity.format(e.decode.time, .time)) at \(input + output / 2) tokens of KV (\(e.decode.kernels) kernels)",
            "TTFT            \(Quantity.format(e.ttft, .time)) (one prefill step\(e.disaggregated ? " and the KV cache's move" : ""), "
                + "no queueing)",
            "TPOT            \(Quantity.format(e.tpot, .time)) "
                + (e.disaggregated ? "(decode steps alone)" : "(decode step plus the replacing requests' prefills)") + slo,
            "prefill         \(perChip(e.prefillTokensPerSecondPerChip)) tokens/s per \(unit)",
            "decode          \(perChip(e.decodeTokensPerSecondPerChip)) tokens/s per \(unit) (decode steps alone)",
            "output          \(perChip(e.outputTokensPerSecondPerChip)) tokens/s per \(unit) "
                + (e.disaggregated ? "of both pools, " : "with prefill interleaved, ")
                + "\(formatNumber(e.outputTokensPerSecond)) per replica",
            "power           \(formatNumber(e.averagePower)) W average for the replica's share of the "
                + "\(systemSpec == nil ? "chip" : "system") (devices \(formatNumber(e.decode.devicePower)) W each while decoding)",
            "energy          \(formatNumber(e.joulesPerToken)) J per output token, prefill included "
                + "(\(formatNumber(1 / e.joulesPerToken)) tokens/J)",
            "cost            \(CostOptions.line(cost)), output tokens at full load",
            "temperature     \(formatNumber(max(e.prefill.peakTemperature, e.decode.peakTemperature))) C peak",
        ]
        if let engine, let host = e.hostEngine {
            lines.insert(
                "engine          \(host.name) (\(engine)): \(Quantity.format(host.perStep, .time)) per step + "
                    + "\(Quantity.format(host.perSequence, .time)) per sequence outside the kernels"
                    + (host.perKernel > 0 ? ", at least \(Quantity.format(host.perKernel, .time)) per kernel issued" : "") + "; median ITL "
                    + "\(Quantity.format(e.medianInterTokenLatency, .time))", at: 2)
        }
        if let prefillSpec {
            lines.insert(
                "disaggregated   prefill on \(prefillSpec.name) (\(prefillSpec.id)): \(formatNumber(e.prefillShare * 100))% of the chips; "
                    + "KV cache moved in \(Quantity.format(e.kvTransfer, .time)) per request", at: 2)
        }
        print(lines.joined(separator: "\n"))
    }
}
