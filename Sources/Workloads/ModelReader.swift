import Chips
import Config
import Foundation

/// A model read from a file, with where its figures come from and what the reader left aside.
public struct ModelFile: Sendable {
    public var id: String
    public var file: String
    public var model: ModelDescription
    /// Where the configuration was published (a model card's config.json, a paper), as the file says.
    public var source: String
    /// Fields of the configuration the reader does not use, each named with its place: printed as
    /// warnings, never dropped in silence.
    public var warnings: [String]
}

/// Reads a model: a model file (schema 1; `source:` and the published `config:` fields) or a
/// Hugging Face `config.json` as users have it for their model. Both go through one mapping from
/// the Transformers field names (Llama, Qwen2/2.5/3, Qwen3-MoE, Mixtral, DeepSeek-V2/V3, TeleChat).
///
/// ```yaml
/// schema: 1
/// name: Llama-3.1-8B
/// source: https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json
/// config:
///   model_type: llama
///   hidden_size: 4096
///   ...
/// ```
public enum ModelReader {
    public static let schemaVersion = 1

    public static func load(file: String) throws -> ModelFile {
        try read(try ConfigNode.load(file: file))
    }

    public static func read(_ root: ConfigNode) throws -> ModelFile {
        let keys = try root.mapping().map(\.key)
        let stem = ((root.file as NSString).lastPathComponent as NSString).deletingPathExtension
        guard keys.contains("schema") else {
            // A Hugging Face config.json: named after its checkpoint, or its folder.
            var warnings: [String] = []
            let folder = ((root.file as NSString).deletingLastPathComponent as NSString).lastPathComponent
            var reader = try MappingReader(root)
            let named = try reader.optional("_name_or_path")?.string()
            let name =
                named.flatMap { $0.isEmpty ? nil : ($0 as NSString).lastPathComponent }
                ?? (stem == "config" && !folder.isEmpty ? folder : stem)
            let model = try transformersConfig(root, name: name, warnings: &warnings)
            return ModelFile(
                id: name.lowercased(), file: root.file, model: model, source: "\(root.file) (a Transformers config.json)",
                warnings: warnings)
        }
        var reader = try MappingReader(root)
        let schema = try reader.required("schema", "the model file schema version, \(schemaVersion)")
        guard try schema.int() == schemaVersion else {
            throw schema.error("model file schema \(schema.found) is not supported; this xpusim reads schema \(schemaVersion)")
        }
        let id = try reader.optional("id")?.string() ?? stem
        let name = try reader.required("name", "the model's published name").string()
        let sourceNode = try reader.required("source", "where the configuration is published: the config.json's URL at a revision")
        let source = try sourceNode.string()
        guard source.hasPrefix("https://") else { throw sourceNode.error("a source is an https:// address, found \(sourceNode.found)") }
        let configNode = try reader.required("config", "the published config.json fields")
        _ = reader.optional("notes")
        try reader.finish()
        var warnings: [String] = []
        let model = try transformersConfig(configNode, name: name, warnings: &warnings)
        return ModelFile(id: id, file: root.file, model: model, source: source, warnings: warnings)
    }

    /// Fields that do not change a step's kernels or sizes (numerics, tokenizer ids, bookkeeping).
    static let inert: Set<String> = [
        "architectures", "model_type", "rope_theta", "rope_scaling", "rms_norm_eps", "layer_norm_epsilon", "bos_token_id",
        "eos_token_id", "pad_token_id", "torch_dtype", "dtype", "transformers_version", "use_cache", "max_position_embeddings",
        "initializer_range", "attention_dropout", "hidden_dropout", "_name_or_path", "auto_map", "norm_topk_prob",
        "routed_scaling_factor", "scoring_func", "topk_method", "n_group", "topk_group", "aux_loss_alpha", "seq_aux",
        "output_router_logits", "router_aux_loss_coef", "ep_size", "pretraining_tp", "mlp_bias", "use_sliding_window",
        "sliding_window", "max_window_layers", "rope_interleave", "moe_layer_freq", "bias", "apply_residual_connection_post_layernorm",
        "embed_layernorm", "training_seqlen", "base_seqlen", "logn", "tokenizer_class", "use_flash_attn", "flash_attn",
        "hidden_act", "attention_bias", "quantization_config", "num_nextn_predict_layers", "head_dim", "num_key_value_heads",
        "tie_word_embeddings", "router_jitter_noise", "max_sequence_length", "seq_length", "layer_types", "qk_layernorm",
    ]

    /// Maps a Transformers configuration onto the model: the shapes it needs, with each unknown
    /// field named in a warning.
    static func transformersConfig(_ node: ConfigNode, name: String, warnings: inout [String]) throws -> ModelDescription {
        var r = try MappingReader(node)
        func int(_ keys: String..., required: Bool = true, what: String = "") throws -> Int? {
            for key in keys {
                guard let value = r.optional(key) else { continue }
                let v = try value.int()
                guard v > 0, v <= 1 << 24 else { throw value.error("\(key) must be a positive size up to 2^24, found \(value.found)") }
                return v
            }
            r.allow(keys)
            if required { throw node.error("missing required field \"\(keys[0])\"\(what.isEmpty ? "" : " (\(what))")") }
            return nil
        }
        let modelType = try r.optional("model_type")?.string() ?? ""
        let architectures = try r.optional("architectures")?.sequence().map { try $0.string() } ?? []
        let hidden = try int("hidden_size", what: "the model width")!
        let layers = try int("num_hidden_layers", "n_layer", what: "the decoder layers")!
        let heads = try int("num_attention_heads", "n_head", what: "the attention heads")!
        let kvHeads = try int("num_key_value_heads", "num_kv_heads", "n_kv_heads", required: false) ?? heads
        let vocab = try int("vocab_size", what: "the vocabulary")!
        let givenHeadDim = try int("head_dim", "kv_channels", required: false)
        // Without head_dim, the heads split the width: it must divide evenly.
        if givenHeadDim == nil, hidden % heads != 0 {
            throw node.error(
                "hidden_size \(hidden) is not a multiple of num_attention_heads \(heads); give head_dim, or heads that divide the width")
        }
        let headDim = givenHeadDim ?? hidden / heads
        let experts = try int("num_experts", "n_routed_experts", "num_local_experts", required: false)
        let denseFFN = try int("intermediate_size", "ffn_hidden_size", required: experts == nil, what: "the MLP's intermediate size")
        guard heads % kvHeads == 0 else {
            throw node.error("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(kvHeads)")
        }
        let tie = try r.optional("tie_word_embeddings")?.bool() ?? false
        let attentionBias = try r.optional("attention_bias")?.bool()
        let family = (modelType + " " + architectures.joined(separator: " ")).lowercased()
        // The decoder families the reader knows; another reads as a Llama-style decoder, which is said.
        let known = ["llama", "mistral", "mixtral", "qwen2", "qwen3", "deepseek", "telechat", "internlm", "yi", "baichuan", "gemma"]
        if !family.trimmingCharacters(in: .whitespaces).isEmpty, !known.contains(where: family.contains) {
            warnings.append(
                "\(node.file): model_type \"\(modelType)\" / architectures \(architectures): not a family xpusim knows; read as a "
                    + "Llama-style decoder (RMSNorm, rotary, gated SiLU MLP) from the fields above")
        }
        let qwen3 = family.contains("qwen3")
        let qwen2 = family.contains("qwen2") && !qwen3
        var dtype = DataType.bf16
        if let d = try (r.optional("torch_dtype") ?? r.optional("dtype"))?.string() {
            dtype = d == "float16" ? .fp16 : d == "float32" ? .fp32 : .bf16
            if !["float16", "float32", "bfloat16"].contains(d) {
                warnings.append("\(node.file): torch_dtype \"\(d)\": not float16, float32 or bfloat16; the weights are taken as bf16")
            }
        }
        if let q = r.optional("quantization_config") {
            var quantization = try MappingReader(q)
            if try quantization.optional("quant_method")?.string() == "fp8" { dtype = .fp8 }
        }
        var moe: ModelDescription.MoE?
        if let experts {
            let topK = try int("num_experts_per_tok", "moe_topk", what: "experts each token is routed to")!
            guard topK <= experts else { throw node.error("num_experts_per_tok \(topK) is more than the \(experts) experts") }
            // Mixtral's experts are intermediate_size wide; the others name their experts' width.
            guard let expertFFN = try int("moe_intermediate_size", required: false) ?? denseFFN else {
                throw node.error("missing required field \"moe_intermediate_size\" (each expert's intermediate size)")
            }
            let shared = try int("n_shared_experts", required: false) ?? 0
            let sharedFFN = try int("shared_expert_intermediate_size", required: false) ?? shared * expertFFN
            let dense = try r.optional("first_k_dense_replace")?.int() ?? 0
            let step = try int("decoder_sparse_step", required: false) ?? 1
            if let only = r.optional("mlp_only_layers"), !(try only.sequence().isEmpty) {
                throw only.error("mlp_only_layers (dense layers among the routed ones) is not supported; give an empty list or remove it")
            }
            guard dense >= 0, dense <= layers else { throw node.error("first_k_dense_replace \(dense) is outside 0...\(layers)") }
            moe = .init(
                experts: experts, topK: topK, expertFFN: expertFFN, sharedExperts: shared, sharedFFN: sharedFFN, denseLayers: dense,
                step: step)
        }
        var mla: ModelDescription.MLA?
        if r.optional("kv_lora_rank") != nil {
            let qLora = try int("q_lora_rank", required: false) ?? 0
            mla = .init(
                qLoraRank: qLora, kvLoraRank: try int("kv_lora_rank")!, qkNopeHeadDim: try int("qk_nope_head_dim")!,
                qkRopeHeadDim: try int("qk_rope_head_dim")!, vHeadDim: try int("v_head_dim")!)
        }
        let mtp = try r.optional("num_nextn_predict_layers")?.int() ?? 0
        if let act = try r.optional("hidden_act")?.string(), act != "silu", act != "swiglu" {
            warnings.append("\(node.file): hidden_act \"\(act)\": the generator runs a gated SiLU MLP (SwiGLU) for every model")
        }
        // Everything else is named, never dropped in silence.
        let used = Set([
            "hidden_size", "num_hidden_layers", "n_layer", "num_attention_heads", "n_head", "num_kv_heads", "n_kv_heads", "vocab_size",
            "kv_channels", "num_experts", "n_routed_experts", "num_local_experts", "intermediate_size", "ffn_hidden_size",
            "num_experts_per_tok", "moe_topk", "moe_intermediate_size", "n_shared_experts", "shared_expert_intermediate_size",
            "first_k_dense_replace", "decoder_sparse_step", "mlp_only_layers", "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim",
            "qk_rope_head_dim", "v_head_dim",
        ])
        for (key, value) in try node.mapping() where !used.contains(key) && !inert.contains(key) {
            let place = value.line.map { "\(value.file):\($0)" } ?? value.file
            warnings.append("\(place): field \"\(key)\" is not used by xpusim's model reader (ignored)")
        }
        return ModelDescription(
            name: name, layers: layers, hidden: hidden, heads: heads, kvHeads: kvHeads, headDim: headDim, ffn: denseFFN ?? 0, vocab: vocab,
            qkNorm: qwen3, qkvBias: attentionBias ?? qwen2, tieEmbeddings: tie, dtype: dtype, moe: moe, mla: mla, mtpLayers: mtp)
    }
}

/// The models that ship under workloads/models/, and the loading of one by id or by path.
public enum ModelCatalog {
    /// `$XPUSIM_MODELS`, else workloads/models in the current directory or beside the package.
    public static func defaultDirectory() -> String {
        if let env = ProcessInfo.processInfo.environment["XPUSIM_MODELS"], !env.isEmpty { return env }
        return ResourceLocator.find("workloads/models")
    }

    public static func files(in directory: String = defaultDirectory()) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }

    public static func all(in directory: String = defaultDirectory()) throws -> [ModelFile] {
        try files(in: directory).map { try ModelReader.load(file: $0) }
    }

    /// A shipped model by id (its file's name), or the path of a model file or config.json.
    public static func resolve(_ reference: String, directory: String = defaultDirectory()) throws -> ModelFile {
        if reference.contains("/") || reference.hasSuffix(".json") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") {
            return try ModelReader.load(file: reference)
        }
        let models = try all(in: directory)
        if let found = models.first(where: { $0.id == reference }) { return found }
        guard !models.isEmpty else {
            throw ConfigError(
                file: directory, path: reference,
                message: "no model \"\(reference)\": the folder holds no model files (*.yaml; give --models-dir or $XPUSIM_MODELS)")
        }
        throw ConfigError(
            file: directory, path: reference,
            message: "no model \"\(reference)\"\(didYouMean(reference, in: models.map(\.id))); shipped models: "
                + models.map(\.id).joined(separator: ", "))
    }
}
