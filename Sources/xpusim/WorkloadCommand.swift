import ArgumentParser
import Chips
import Config
import Foundation
import SimCore
import Store
import Systems
import Workloads

/// Bounds on sequences and tokens the commands take, so that what they multiply stays countable:
/// at most 2^24 tokens per sequence (16M, past any context window) and 2^40 tokens in all.
enum TokenLimits {
    static let perSequence = 1 << 24
    static let total = 1 << 40

    /// One sequence's tokens.
    static func check(tokens: Int, _ name: String) throws {
        guard (1...perSequence).contains(tokens) else {
            throw ValidationError("\(name) must be 1 to \(perSequence) tokens, found \(tokens)")
        }
    }

    static func check(sequences: Int, _ sequencesName: String, tokens: Int, _ tokensName: String, allowZero: Bool = false) throws {
        guard (1...total).contains(sequences) else { throw ValidationError("\(sequencesName) must be 1 to \(total), found \(sequences)") }
        guard ((allowZero ? 0 : 1)...perSequence).contains(tokens) else {
            throw ValidationError("\(tokensName) must be \(allowZero ? 0 : 1) to \(perSequence) tokens, found \(tokens)")
        }
        let (product, overflow) = sequences.multipliedReportingOverflow(by: max(tokens, 1))
        guard !overflow, product <= total else {
            throw ValidationError("\(sequencesName) x \(tokensName) must be at most \(total) tokens")
        }
    }
}

struct WorkloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload",
        abstract: "Generate kernel traces from model descriptions, and list the shipped models.",
        subcommands: [Generate.self, Import.self, Models.self])

    /// How a model step is split and in what precision (shared by generate, serve and train).
    struct Split: ParsableArguments {
        @Option(help: "Tensor-parallel ranks.") var tp = 1
        @Option(help: "Pipeline-parallel stages.") var pp = 1
        @Option(help: "Expert-parallel ranks (MoE models; a divisor of tp x dp).") var ep = 1
        @Option(help: "Data-parallel replicas (default 1; train: as many as the system's devices hold).") var dp: Int?
        @Option(help: "Context-parallel ranks (prefill and train: each sequence split over them; not decode, so not serve).") var cp = 1
        @Option(help: "Precision of the linear layers: bf16, fp8, int8 or w8a8.") var precision: Precision = .bf16
        @Flag(help: "Run bf16 where the chip has no unit for --precision, instead of refusing.") var precisionFallback = false
        @Option(help: "The most loaded expert's tokens over the mean (1: balanced routing).") var expertSkew = 1.0
        @Option(help: "The KV cache's format: bf16 or fp8.") var kvCache: KVCacheFormat = .bf16

        var parallelism: Parallelism { Parallelism(tp: tp, pp: pp, ep: ep, dp: dp ?? 1, cp: cp) }

        /// The most ranks a split may have (a million devices, past any cluster built).
        static let maxRanks = 1_000_000

        func validate() throws {
            for (name, value) in [("--tp", tp), ("--pp", pp), ("--ep", ep), ("--dp", dp ?? 1), ("--cp", cp)]
            where !(1...Split.maxRanks).contains(value) {
                throw ValidationError("\(name) must be 1 to \(Split.maxRanks) ranks, found \(value)")
            }
            var ranks = 1
            for value in [tp, pp, dp ?? 1, cp] {
                let (product, overflow) = ranks.multipliedReportingOverflow(by: value)
                guard !overflow, product <= Split.maxRanks else {
                    throw ValidationError("--tp x --pp x --dp x --cp must be at most \(Split.maxRanks) ranks")
                }
                ranks = product
            }
            if !(expertSkew >= 1 && expertSkew <= 1000) {
                throw ValidationError("--expert-skew is the most loaded expert's tokens over the mean: 1 to 1000, found \(expertSkew)")
            }
        }

        /// The precision the chip can run: the one asked for, or bf16 when the user allows the fallback.
        func precision(on chip: ChipSpec) throws -> (Precision, note: String?) {
            let type = precision.gemmType
            if chip.compute.macsPerCycle[type] != nil { return (precision, nil) }
            let units = chip.compute.macsPerCycle.keys.sorted().map(\.rawValue).joined(separator: ", ")
            guard precisionFallback else {
                throw ValidationError(
                    "--precision \(precision.rawValue): \(chip.name) has no \(type.rawValue) matrix unit (it has \(units)); "
                        + "use --precision bf16, or add --precision-fallback to run bf16 in its place")
            }
            return (.bf16, "\(chip.name) has no \(type.rawValue) matrix unit: running bf16 in its place (--precision-fallback)")
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Write one rank's kernel trace for a prefill, decode or training step of a model.",
            discussion: """
                The trace holds every kernel of the step on one representative rank (the last pipeline
                stage, and under expert parallelism the rank with the most loaded expert), as vLLM, SGLang
                and Megatron-LM launch them, with the collectives its split needs. --batch is sequences
                per model replica; --seq is the new tokens per sequence (prefill, train) or the KV-cache
                length (decode). Run the trace with `xpusim run --system ID` when it holds collectives,
                else with --chip.

                Examples:
                  xpusim workload generate --model llama-3.1-8b --phase decode --batch 64 --seq 1024 \\
                    -o decode.yaml
                  xpusim workload generate --model deepseek-v3 --phase decode --batch 32 --seq 4096 \\
                    --ep 8 --dp 8 --precision fp8 --system dgx-h100 -o ds-decode.yaml
                  xpusim workload generate --model ./config.json --phase prefill --batch 1 --seq 8192 \\
                    --tp 2 -o p.json
                """)

        @Option(help: "A model id from `xpusim workload models`, or the path of a model file or a Hugging Face config.json.")
        var model: String
        @Option(help: "prefill, decode or train.") var phase: GenerationRequest.Phase
        @Option(help: "Sequences per model replica.") var batch: Int
        @Option(help: "Tokens per sequence (decode: the KV-cache length unless --kv-len is given).") var seq: Int
        @Option(help: "Prefill: tokens already cached before the new ones; decode: the KV-cache length.") var kvLen: Int?
        @OptionGroup var split: Split
        @Option(help: "Train: micro-batches per step.") var microbatches = 1
        @Flag(help: "Train: recompute each layer's forward pass before its backward.") var recompute = false
        @Option(help: "A system id or file: checks the ranks and precision against it, and places the groups on its nodes.")
        var system: String?
        @Option(help: "Nodes of the system (with --system).") var nodes: Int?
        @Option(help: "A chip id or file: checks the precision against it (without --system).") var chip: String?
        @Option(name: .shortAndLong, help: "The trace file to write (.yaml or .json; - for standard output as YAML).")
        var output: String
        @Option(help: "Folder of chip files (default: $XPUSIM_CHIPS or ./chips).") var chipsDir: String?
        @Option(help: "Folder of model files (default: $XPUSIM_MODELS or ./workloads/models).") var modelsDir: String?

        func validate() throws {
            if system != nil && chip != nil { throw ValidationError("give --system or --chip, not both") }
            if nodes != nil && system == nil { throw ValidationError("--nodes goes with --system") }
            try TokenLimits.check(sequences: batch, "--batch", tokens: seq, "--seq")
            if let kvLen { try TokenLimits.check(sequences: batch, "--batch", tokens: kvLen, "--kv-len", allowZero: true) }
            if !(1...1_000_000).contains(microbatches) { throw ValidationError("--microbatches must be 1 to 1000000") }
        }

        func run() throws {
            let file = try ModelCatalog.resolve(model, directory: modelsDir ?? ModelCatalog.defaultDirectory())
            for warning in file.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            let directory = chipsDir ?? ChipCatalog.defaultDirectory()
            let systemSpec = try system.map { try SystemCatalog.resolve($0, nodes: nodes, chips: directory) }
            let chipSpec = try systemSpec?.chip.device ?? chip.map { try ChipCatalog.resolve($0, directory: directory) }
            var precision = split.precision
            if let chipSpec {
                let (resolved, note) = try split.precision(on: chipSpec)
                precision = resolved
                if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            }
            if let systemSpec, split.parallelism.ranks > systemSpec.totalDevices {
                throw ValidationError(
                    "\(split.parallelism) is \(split.parallelism.ranks) ranks; \(systemSpec.id) with \(systemSpec.nodes) node(s) has "
                        + "\(systemSpec.totalDevices) devices (add --nodes)")
            }
            let request = GenerationRequest(
                phase: phase, batch: batch, seq: seq, kvLen: kvLen, parallelism: split.parallelism, precision: precision,
                expertSkew: split.expertSkew, recompute: recompute, microbatches: microbatches, kvCache: split.kvCache.dataType,
                devicesPerNode: systemSpec?.devicesPerNode)
            let trace: Trace
            do {
                trace = try TraceGenerator(model: file.model, request: request).trace()
            } catch let error as GenerationError {
                throw ValidationError(error.message)
            }
            var command = "xpusim workload generate --model \(model) --phase \(phase.rawValue) --batch \(batch) --seq \(seq)"
            if let kvLen { command += " --kv-len \(kvLen)" }
            let p = split.parallelism
            for (name, value) in [("tp", p.tp), ("pp", p.pp), ("ep", p.ep), ("dp", p.dp), ("cp", p.cp)] where value > 1 {
                command += " --\(name) \(value)"
            }
            if precision != .bf16 { command += " --precision \(precision.rawValue)" }
            if split.kvCache != .bf16 { command += " --kv-cache \(split.kvCache.rawValue)" }
            if split.expertSkew != 1 { command += " --expert-skew \(formatNumber(split.expertSkew))" }
            if phase == .train && microbatches > 1 { command += " --microbatches \(microbatches)" }
            if recompute { command += " --recompute" }
            let header = [
                "\(file.model.name), \(phase.rawValue): one rank's kernels (\(p.ranks) rank\(p.ranks == 1 ? "" : "s")"
                    + "\(p.description.isEmpty ? "" : ", " + p.description)).",
                "Model: \(file.source)", "Generated by: \(command)",
            ]
            let json = output.hasSuffix(".json")
            let text = TraceWriter.text(trace, format: json ? .json : .yaml, header: header)
            if output == "-" {
                print(text, terminator: "")
                return
            }
            try writeAtomically(text, to: output)
            let collectives = trace.kernels.filter { if case .collective = $0.op { return true } else { return false } }.count
            FileHandle.standardError.write(
                Data(
                    ("wrote \(output): \(trace.kernels.count) kernels (\(collectives) collectives), \(trace.tokens ?? 0) tokens"
                        + (collectives > 0 ? "; run it with --system" : "") + "\n").utf8))
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Turn profiler output (Kineto JSON, Nsight Systems or msprof databases, a kernel CSV) into a trace.",
            discussion: """
                Device kernels keep their streams and order (each waits for the one before it on its stream).
                A kernel launched by a CPU op recorded with its input shapes (record_shapes=True: aten::mm,
                addmm, bmm, baddbmm, linear, matmul) becomes a GEMM of those shapes, and copies with a byte
                count become copies, so that they are simulated on the chip you run the trace on; every
                other kernel is kept as a measured kernel (op: measured) that takes its recorded time on any
                chip. The import says how many kernels and how much of their time it mapped. A profile
                recorded without a GPU gives the GEMMs of its CPU ops' shapes.

                A .et file is an MLCommons Chakra execution trace: compute nodes become measured kernels of
                their duration, collectives and sends become collectives over --ranks (run the trace with
                --system), memory loads and stores host copies; dependencies are kept.

                SQLite files are read as profiler databases: an Nsight Systems export (nsys export --type
                sqlite: its kernels and copies) or an Ascend msprof database (msprof_*.db: its tasks, and
                MatMul and BatchMatMul operators with their shapes as GEMMs). Their first device is read.

                Examples:
                  xpusim workload import trace.json -o replay.yaml
                  xpusim run --chip ascend-910b2 --workload replay.yaml
                """)

        @Argument(help: "A torch.profiler Chrome-trace JSON, an Nsight Systems SQLite export, an msprof .db, or a kernel CSV.")
        var file: String
        @Option(name: .shortAndLong, help: "The trace file to write (.yaml or .json; - for standard output as YAML).") var output: String
        @Option(help: "Tokens the profiled step processed, for tokens/s.") var tokens: Int?
        @Option(help: "Chakra traces: the ranks their collectives span.") var ranks: Int?

        func validate() throws {
            if let tokens, tokens < 1 { throw ValidationError("--tokens must be at least 1") }
            if let ranks, ranks < 2 || ranks > 1_000_000 { throw ValidationError("--ranks must be 2 to 1000000") }
        }

        func run() throws {
            let (trace, report): (Trace, ImportReport)
            var note = ""
            do {
                if file.hasSuffix(".et") {
                    (trace, report) = try ChakraReader.load(file: file, ranks: ranks, tokens: tokens)
                    note = " (Chakra execution trace)"
                } else if ProfileDatabase.isSQLite(file) {
                    let profile = try ProfileDatabase.read(file)
                    (trace, report) = try ProfileImporter.trace(
                        profile.kernels, name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, tokens: tokens,
                        file: file)
                    note = " (\(profile.format)" + (profile.devices > 1 ? ", device \(profile.device) of \(profile.devices)" : "") + ")"
                } else {
                    (trace, report) = try ProfileImporter.load(file: file, tokens: tokens)
                }
            } catch let error as ProfileImporter.ImportError {
                throw ConfigError(file: error.file, message: error.message)
            }
            let header = ["Imported from \(URL(fileURLWithPath: file).lastPathComponent) by xpusim workload import."]
            let text = TraceWriter.text(trace, format: output.hasSuffix(".json") ? .json : .yaml, header: header)
            if output == "-" {
                print(text, terminator: "")
            } else {
                try writeAtomically(text, to: output)
            }
            let share = report.totalSeconds > 0 ? report.mappedSeconds / report.totalSeconds * 100 : 0
            let streams = "\(report.streams) stream\(report.streams == 1 ? "" : "s")"
            let time = Quantity.format(report.totalSeconds, .time)
            let summary =
                report.fromCPUOps
                ? "\(report.kernels) GEMMs from the CPU ops' input shapes (the profile has no device kernels)"
                : "\(report.kernels) kernels on \(streams): \(report.mapped) mapped to GEMMs and \(report.copies) to copies"
                    + (report.collectives > 0 ? ", \(report.collectives) to collectives" : "")
                    + " (\(String(format: "%.1f", share))% of \(time) of kernel time); "
                    + "\(report.kernels - report.mapped - report.copies - report.collectives) kept as measured kernels"
            FileHandle.standardError.write(Data("\(output == "-" ? "imported" : "wrote \(output)")\(note): \(summary)\n".utf8))
        }
    }

    struct Models: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "models",
            abstract: "List the shipped model descriptions with their sizes.",
            discussion: "Parameters are the main model's (multi-token-prediction modules not counted); active: what one token reads.")

        @Option(help: "Output format: table or json.") var format: OutputFormat = .table
        @Option(help: "Folder of model files (default: $XPUSIM_MODELS or ./workloads/models).") var modelsDir: String?

        func run() throws {
            let models = try ModelCatalog.all(in: modelsDir ?? ModelCatalog.defaultDirectory())
            if format == .json {
                printJSON([
                    "models": models.map { f -> [String: Any] in
                        let m = f.model
                        var object: [String: Any] = [
                            "id": f.id, "name": m.name, "layers": m.layers, "hidden": m.hidden, "heads": m.heads, "kv_heads": m.kvHeads,
                            "parameters": m.parameters, "active_parameters": m.activeParameters, "vocab": m.vocab, "source": f.source,
                            "attention": m.mla == nil ? "gqa" : "mla",
                        ]
                        if let moe = m.moe {
                            object["experts"] = moe.experts
                            object["top_k"] = moe.topK
                            object["shared_experts"] = moe.sharedExperts
                        }
                        return object
                    }
                ])
                return
            }
            var table = TextTable(
                ["id", "name", "layers", "hidden", "heads/kv", "attention", "experts", "parameters", "active"], numeric: [2, 3, 7, 8])
            for f in models {
                let m = f.model
                table.add([
                    f.id, m.name, String(m.layers), String(m.hidden), "\(m.heads)/\(m.mla == nil ? String(m.kvHeads) : "latent")",
                    m.mla != nil ? "MLA" : m.kvHeads == m.heads ? "MHA" : m.kvHeads == 1 ? "MQA" : "GQA",
                    m.moe.map { "\($0.experts) top-\($0.topK)" + ($0.sharedExperts > 0 ? " +\($0.sharedExperts)" : "") } ?? "-",
                    "\(formatNumber(Double(m.parameters) / 1e9)) B", "\(formatNumber(Double(m.activeParameters) / 1e9)) B",
                ])
            }
            print(table.rendered)
        }
    }
}

extension Precision: ExpressibleByArgument {}

enum KVCacheFormat: String, ExpressibleByArgument, CaseIterable {
    case bf16, fp8
    var dataType: DataType { self == .fp8 ? .fp8 : .bf16 }
}
extension GenerationRequest.Phase: ExpressibleByArgument {}

/// Writes `text` to `path` through a temporary file in the same folder, so that a failed write
/// never leaves half a file.
func writeAtomically(_ text: String, to path: String) throws { try writeAtomically(Data(text.utf8), to: path) }

/// The operating system's words for why a file operation failed ("No such file or directory"),
/// where Foundation's own would only say that it could not be completed.
func systemReason(_ error: Error) -> String {
    let ns = error as NSError
    let posix = ns.domain == NSPOSIXErrorDomain ? ns : ns.userInfo[NSUnderlyingErrorKey] as? NSError
    if let posix, posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
    let text = ns.localizedDescription
    let prefix = "The operation could not be completed. "
    return text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
}

/// Writes an output file whole or not at all: into a temporary file beside it, then renamed over
/// it. A path that is not a plain file is written in place, never replaced (`/dev/stdout`; renaming
/// over `/dev/null` would put a file where the device was); a folder is refused.
func writeAtomically(_ data: Data, to path: String) throws {
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    if exists && isDirectory.boolValue { throw ConfigError(file: path, message: "is a folder; expected the path of a file to write") }
    let type = exists ? (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) : nil
    do {
        if exists, let type, type != .typeRegular, type != .typeSymbolicLink {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw ConfigError(file: path, message: "cannot open it for writing")
            }
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
        } else {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    } catch let error as ConfigError {
        throw error
    } catch {
        throw ConfigError(file: path, message: "cannot write the file: \(systemReason(error))")
    }
}
