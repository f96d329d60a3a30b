import Config
import Foundation

/// A vendor's kernel libraries as the simulator needs them: which GEMM tiles and schedulers they
/// offer, and which attention kernels, with their tiles and pipelines.
///
/// How a kernel is scheduled depends on the library as much as on the chip: FlashAttention-2 on an
/// H100 runs Ampere's synchronous matrix instructions with the softmax between the matrix
/// products, FlashAttention-3 runs Hopper's asynchronous ones in warp-specialised pipelines. One
/// YAML file per library under `chips/libraries/`; a chip file names its default with
/// `runtime.library`. Every figure carries a source, or says how it was derived or estimated.
///
/// ```yaml
/// schema: 1
/// id: cuda-sm90
/// name: NVIDIA CUDA libraries for Hopper
/// sources:
///   fa2: {url: "Dao-AILab/flash-attention @ 418d677 csrc/flash_attn/src/flash_fwd_launch_template.h", kind: vendor}
/// gemm:
///   tile_m: {value: [64, 128, 256], source: cutlass}
///   ...
/// attention:
///   default: fa2
///   kernels:
///     fa2:
///       name: FlashAttention-2
///       pipeline: synchronous
///       tiles: {value: [[64, 128, 128], [128, 128, 64], [256, 64, 64]], source: fa2}
/// ```
public struct KernelLibrary: Sendable {
    public static let schemaVersion = 1

    public var id: String
    public var name: String
    public var file: String
    public var gemm: Gemm
    public var attention: [AttentionKernel]
    public var defaultAttention: String
    /// Elements one unit takes per chunk in the library's element-wise and copy kernels.
    public var chunkElements: Double
    /// The collective library of the same software stack (NCCL, HCCL, ...), where the file has one.
    public var collectives: CollectiveLibrary?
    /// Serving engines that run on this stack, with the time they spend per step outside the
    /// traced kernels (`xpusim serve --engine ID`).
    public var servingEngines: [ServingEngine] = []

    public func servingEngine(_ id: String) -> ServingEngine? { servingEngines.first { $0.id == id } }
    public mutating func setServingEngine(_ id: String, _ change: (inout ServingEngine) -> Void) {
        if let i = servingEngines.firstIndex(where: { $0.id == id }) { change(&servingEngines[i]) }
    }

    /// A serving engine's time per step outside the traced kernels, serial with them: a fixed part
    /// (the host's scheduler, the inputs' preparation, the graph launch, sampling's synchronise, the
    /// outputs' bookkeeping; the device idles through it) and a part per sequence in the step (work
    /// per request, on the host or the device, that the traces do not hold). An engine may also have a
    /// least time per kernel issued (the framework's dispatch of each operator, or the device's task
    /// launch), which the device cannot run ahead of (``hostBoundTime(_:)``).
    public struct ServingEngine: Sendable {
        public var id: String
        public var name: String
        public var perStep: Double
        public var perSequence: Double
        /// Least time between the issue of one kernel and the next (host dispatch or device task launch); zero where
        /// the step's kernels go out as one graph launch at the device's pace.
        public var perKernel: Double = 0
        /// The attention kernel (one of the library's) the engine runs where a trace names none; nil: the library's default.
        public var attention: String?
        public init(id: String, name: String, perStep: Double, perSequence: Double, perKernel: Double = 0, attention: String? = nil) {
            self.id = id
            self.name = name
            self.perStep = perStep
            self.perSequence = perSequence
            self.perKernel = perKernel
            self.attention = attention
        }
        public func overhead(sequences: Int) -> Double { perStep + perSequence * Double(sequences) }

        /// How much longer a step whose kernels take `durations` (in issue order) runs when the host issues kernel
        /// i no earlier than i x `perKernel` and each starts when both the host has issued it and the device has
        /// finished the one before: the device's idle wait for the host (0 when the device is the slower).
        public func hostBoundTime(_ durations: [Double]) -> Double {
            guard perKernel > 0 else { return 0 }
            var end = 0.0
            for (i, d) in durations.enumerated() { end = max(end, Double(i) * perKernel) + d }
            return max(0, end - durations.reduce(0, +))
        }
    }

    /// GEMM tiles and schedulers (cuBLAS/CUTLASS, CANN's matmul, ...).
    public struct Gemm: Sendable {
        /// Output tile rows and columns the library's kernels offer.
        public var tileM: [Int], tileN: [Int]
        /// Bytes of K one pipeline stage stages per operand row (a k-slice).
        public var kSliceBytes: Double
        /// The most pipeline stages a kernel keeps in flight.
        public var maxStages: Int
        /// Schedulers offered; the first is the one the library's heuristic runs unless a kernel names another.
        public var schedulers: [GemmScheduler]
        /// Tile rows a raster group covers before moving along N (CUTLASS's swizzle), so that
        /// consecutive tiles share their A panels through L2.
        public var rasterGroup: Int
        /// Fixed time a GEMM kernel of the library spends before its first tile's main loop and
        /// after its last (argument and descriptor set-up, the pipeline's first fill and the last
        /// drain beyond what the tile model costs); on top of the launch overhead. Zero when the
        /// file gives none.
        public var setupTime: Double = 0
        /// GEMM kernels of their own the library also ships (DeepGEMM beside cuBLAS), named by a
        /// kernel's `impl:`; the figures above are the default kernels'.
        public var kernels: [GemmKernel] = []

        public func kernel(_ id: String) -> GemmKernel? { kernels.first { $0.id == id } }
    }

    /// A GEMM kernel family with its own schedule: the tiles and schedulers of the library, its
    /// own set-up time, and whether a unit's next tile runs its main loop while the last tile's
    /// epilogue writes C (CUTLASS's ping-pong kernels) or after it (cooperative warp groups that
    /// wait for their TMA store).
    public struct GemmKernel: Sendable {
        public var id: String
        public var name: String
        public var setupTime: Double
        public var epilogueOverlap: Bool
    }

    public enum GemmScheduler: String, Sendable, CaseIterable {
        /// One tile per unit per wave; the last wave runs partial.
        case dataParallel = "data_parallel"
        /// Persistent kernel: the k-iterations of all tiles are split evenly across the units, and
        /// tiles split between two units are fixed up through a workspace (Osama et al., Stream-K, PPoPP 2023).
        case streamK = "stream_k"
    }

    /// How an attention kernel overlaps its matrix products with its softmax.
    public enum Pipeline: String, Sendable, CaseIterable {
        /// The warps of a tile compute S = QK^T, its softmax, then PV, one after the other
        /// (FlashAttention-2's mma.sync kernels).
        case synchronous
        /// Producer and consumer warp groups with asynchronous matrix instructions; the softmax of
        /// one warp group can overlap the other's matrix products (FlashAttention-3 on Hopper).
        case warpSpecialized = "warp_specialized"
        /// Matrix products on one kind of core and the softmax on another (Ascend's cube and vector
        /// cores), overlapping across blocks.
        case splitUnits = "split_units"
    }

    /// The order in which an attention kernel's query tiles are handed to the units.
    public enum TileOrder: String, Sendable, CaseIterable {
        /// Grid (query block, batch, head): the query blocks of one head run together.
        case queryBlockFirst = "query_block_first"
        /// Longest tile first (causal tiles near the diagonal's far end first), heads grouped so
        /// their K/V fit in L2 (FlashAttention-3's dynamic persistent scheduler).
        case longestFirst = "longest_first"
    }

    public struct AttentionKernel: Sendable {
        public var id: String
        public var name: String
        public var pipeline: Pipeline
        public var order: TileOrder
        /// A persistent kernel: each unit loops over tiles, loading the next tile's queries while it
        /// finishes the current one, so a tile's prologue and epilogue overlap its neighbours'.
        public var persistent: Bool
        /// Tiles offered: (largest head dim they serve, query rows Br, KV rows Bc per step).
        public var tiles: [(headDim: Int, blockM: Int, blockN: Int)]
        /// Backward-pass tiles, when the library has a backward kernel: (largest head dim, query rows
        /// per step, KV rows a tile owns). Empty: no backward kernel.
        public var backwardTiles: [(headDim: Int, blockM: Int, blockN: Int)] = []
        /// Fraction of the forward's matrix rate the backward's steps reach (its P and dS round trips
        /// through shared memory and its dQ atomics, which the model does not cost one by one).
        public var backwardRate: Double = 1
        /// K/V pipeline stages in the unit's buffer.
        public var stages: Int
        /// Fraction of the chip's matrix rate (as GEMMs reach it) this kernel's matrix instructions reach.
        public var matrixRate: Double
        /// Fraction of the softmax time hidden behind matrix work.
        public var softmaxOverlap: Double
        /// Decode (flash-decoding): the KV length is split while units are idle and each split keeps
        /// at least this many KV rows.
        public var decodeSplitMinimum: Int
        /// Where the kernel is declared in its file, for messages.
        public var path: String

        /// The tiles for a head dimension: those whose head-dim bound covers it, smallest bound first.
        public func tiles(for headDim: Int, backward: Bool = false) -> [(blockM: Int, blockN: Int)] {
            let offered = backward ? backwardTiles : tiles
            guard let bound = offered.map(\.headDim).filter({ $0 >= headDim }).min() else { return [] }
            return offered.filter { $0.headDim == bound }.map { ($0.blockM, $0.blockN) }
        }
    }

    /// Changes one attention kernel's figures (calibration fits them in place).
    public mutating func setAttention(_ id: String, _ change: (inout AttentionKernel) -> Void) {
        if let index = attention.firstIndex(where: { $0.id == id }) { change(&attention[index]) }
    }

    /// The kernel named `id`; without one, the library's default, or for latent attention (values
    /// a slice of the keys) whose head size the default has no tiles for, the first kernel that has:
    /// SGLang and vLLM dispatch DeepSeek's MLA decode (576 dims) to FlashMLA so.
    public func attentionKernel(_ id: String?, headDim: Int? = nil, backward: Bool = false, sharedKV: Bool = false) -> AttentionKernel? {
        if let id { return attention.first { $0.id == id } }
        let fallback = attention.first { $0.id == defaultAttention }
        guard sharedKV, let headDim, let fallback, fallback.tiles(for: headDim, backward: backward).isEmpty else { return fallback }
        return attention.first { !$0.tiles(for: headDim, backward: backward).isEmpty } ?? fallback
    }
}

extension KernelLibrary {
    /// Reads one library file; errors name the file, the line and the field.
    public static func load(file: String) throws -> KernelLibrary {
        try read(try ConfigNode.load(file: file))
    }

    public static func read(_ root: ConfigNode) throws -> KernelLibrary {
        var top = try MappingReader(root)
        let schemaNode = try top.required("schema", "the library schema version, \(schemaVersion)")
        guard try schemaNode.int() == schemaVersion else {
            throw schemaNode.error("unsupported library schema version \(try schemaNode.int()); this xpusim reads version \(schemaVersion)")
        }
        let id = try top.required("id").string()
        let name = try top.required("name").string()
        var sources: [String: Source] = [:]
        if let node = top.optional("sources") {
            for (key, value) in try node.mapping() {
                var s = try MappingReader(value)
                let url = try s.required("url").string()
                let kindNode = try s.required("kind", "vendor or measured")
                guard let kind = FigureKind(rawValue: try kindNode.string()), kind == .vendor || kind == .measured else {
                    throw kindNode.error("a source's kind is vendor or measured, found \(kindNode.found)")
                }
                let note = try s.optional("note")?.string()
                try s.finish()
                sources[key] = Source(key: key, url: url, kind: kind, note: note)
            }
        }
        var figures = FigureReader(sources: sources)

        var g = try MappingReader(try top.required("gemm", "GEMM tiles and schedulers"))
        let tileM = try figures.integers(try g.required("tile_m"), plausible: 1...1024)
        let tileN = try figures.integers(try g.required("tile_n"), plausible: 1...1024)
        let kSlice = try figures.value(try g.required("k_slice")).quantity(.bytes).value
        let stages = try figures.integer(try g.required("max_stages"), plausible: 2...16)
        let schedulerNode = try g.required("schedulers")
        let schedulers = try figures.words(schedulerNode).map { _, node in try node.word(GemmScheduler.self, "GEMM scheduler") }
        let raster = try figures.integer(try g.required("raster_group"), plausible: 1...64)
        let setup = try g.optional("setup_time").map { try figures.value($0).quantity(.time).value } ?? 0
        guard (0...100e-6).contains(setup) else { throw root.error("gemm.setup_time: expected 0 to 100 us, found \(setup) s") }
        var gemmKernels: [GemmKernel] = []
        for (kid, node) in try g.optional("kernels")?.mapping() ?? [] {
            guard GemmScheduler(rawValue: kid) == nil else {
                throw node.error("a GEMM kernel may not be named like a scheduler (\(kid))")
            }
            var k = try MappingReader(node)
            let kname = try k.required("name").string()
            let kSetupNode = try k.required("setup_time")
            let kSetup = try figures.value(kSetupNode).quantity(.time).value
            guard (0...100e-6).contains(kSetup) else { throw kSetupNode.error("setup_time: expected 0 to 100 us, found \(kSetup) s") }
            let overlap = try figures.value(try k.required("epilogue_overlap", "yes or no")).bool()
            try k.finish()
            gemmKernels.append(GemmKernel(id: kid, name: kname, setupTime: kSetup, epilogueOverlap: overlap))
        }
        try g.finish()
        guard kSlice >= 16 && kSlice <= 4096 else { throw root.error("gemm.k_slice: expected 16 B to 4 KiB, found \(kSlice) B") }

        var streaming = try MappingReader(try top.required("streaming", "element-wise and copy kernels"))
        let chunk = try figures.integer(try streaming.required("chunk_elements"), plausible: 64...1_048_576)
        try streaming.finish()

        var a = try MappingReader(try top.required("attention", "the attention kernels"))
        let defaultNode = try a.required("default", "the id of the attention kernel used when a trace names none")
        let defaultID = try defaultNode.string()
        var kernels: [AttentionKernel] = []
        for (kid, node) in try a.required("kernels").mapping() {
            var k = try MappingReader(node)
            let kname = try k.required("name").string()
            let pipeline = try k.required("pipeline").word(Pipeline.self, "pipeline")
            let order = try k.required("order").word(TileOrder.self, "order")
            let persistent = try k.required("persistent").bool()
            func triples(_ node: ConfigNode) throws -> [(headDim: Int, blockM: Int, blockN: Int)] {
                let list = try figures.value(node).sequence().map { item -> (headDim: Int, blockM: Int, blockN: Int) in
                    let parts = try item.sequence().map { try $0.int() }
                    guard parts.count == 3, parts.allSatisfy({ $0 > 0 && $0 <= 1024 }) else {
                        throw item.error("expected [head_dim_max, block_m, block_n] with positive entries up to 1024")
                    }
                    return (parts[0], parts[1], parts[2])
                }
                guard !list.isEmpty else { throw node.error("expected at least one tile") }
                return list
            }
            let forward = try triples(try k.required("tiles", "[head_dim_max, block_m, block_n] triples"))
            let backwardTiles = try k.optional("backward_tiles").map(triples) ?? []
            let backwardRate = try k.optional("backward_rate").map { try figures.ratio($0) } ?? 1
            if !backwardTiles.isEmpty, k.keys.contains("backward_rate") == false {
                throw node.error("backward_tiles needs backward_rate (the fraction of the forward's matrix rate the backward reaches)")
            }
            let kStages = try figures.integer(try k.required("stages"), plausible: 1...8)
            let rate = try figures.ratio(try k.required("matrix_rate"))
            let overlap = try figures.ratio(try k.required("softmax_overlap"), allowZero: true)
            let splitMinimum = try figures.integer(try k.required("decode_split_min_kv"), plausible: 16...65_536)
            try k.finish()
            kernels.append(
                AttentionKernel(
                    id: kid, name: kname, pipeline: pipeline, order: order, persistent: persistent,
                    tiles: forward, backwardTiles: backwardTiles, backwardRate: backwardRate, stages: kStages,
                    matrixRate: rate, softmaxOverlap: overlap, decodeSplitMinimum: splitMinimum, path: node.path))
        }
        try a.finish()
        let collectives = try top.optional("collectives").map { try CollectiveLibrary.read($0, figures: &figures) }
        var engines: [ServingEngine] = []
        for (eid, node) in try top.optional("serving_engines")?.mapping() ?? [] {
            var e = try MappingReader(node)
            let ename = try e.required("name").string()
            func time(_ key: String, _ what: String, _ limit: Double) throws -> Double {
                let n = try e.required(key, what)
                let v = try figures.value(n).quantity(.time).value
                guard (0...limit).contains(v) else {
                    throw n.error("\(key): expected 0 to \(limit * 1e3) ms, found \(v * 1e3) ms")
                }
                return v
            }
            let perStep = try time("per_step", "time per step outside the kernels", 0.1)
            let perSequence = try time("per_sequence", "time per sequence in a step outside the kernels", 0.01)
            let perKernel = try e.optional("per_kernel").map { n -> Double in
                let v = try figures.value(n).quantity(.time).value
                guard (0...1e-3).contains(v) else { throw n.error("per_kernel: expected 0 to 1 ms, found \(v * 1e3) ms") }
                return v
            }
            var attention: String?
            if let n = e.optional("attention") {
                let kernel = try figures.value(n).string()
                guard kernels.contains(where: { $0.id == kernel }) else {
                    throw n.error(
                        "attention: \"\(kernel)\" is not among the library's kernels: \(kernels.map(\.id).joined(separator: ", "))")
                }
                attention = kernel
            }
            try e.finish()
            engines.append(
                ServingEngine(
                    id: eid, name: ename, perStep: perStep, perSequence: perSequence, perKernel: perKernel ?? 0, attention: attention))
        }
        try top.finish()
        guard kernels.contains(where: { $0.id == defaultID }) else {
            throw defaultNode.error(
                "default attention kernel \"\(defaultID)\" is not among the kernels: \(kernels.map(\.id).joined(separator: ", "))")
        }
        return KernelLibrary(
            id: id, name: name, file: root.file,
            gemm: Gemm(
                tileM: tileM, tileN: tileN, kSliceBytes: kSlice, maxStages: stages, schedulers: schedulers, rasterGroup: raster,
                setupTime: setup, kernels: gemmKernels),
            attention: kernels, defaultAttention: defaultID, chunkElements: Double(chunk), collectives: collectives,
            servingEngines: engines)
    }
}

/// Reads `{value: ..., source: key}`, `{value: ..., kind: derived|estimated, how: ...}` or
/// `{value: ..., kind: fitted, fit: COMMAND, data: HASH}` figures.
struct FigureReader {
    var sources: [String: Source]

    /// The value node of a figure, after checking that it says where it came from.
    mutating func value(_ node: ConfigNode) throws -> ConfigNode {
        var f = try MappingReader(node)
        var value = try f.required("value")
        value.path = node.path
        let source = try f.optional("source")?.string()
        let kind = try f.optional("kind")?.string()
        let how = try f.optional("how")?.string()
        let fit = try f.optional("fit")?.string()
        let data = try f.optional("data")?.string()
        try f.finish()
        if kind == "fitted" {
            guard fit?.isEmpty == false, data?.isEmpty == false else {
                throw node.error("a fitted figure names the command that fitted it (fit: ...) and the hash of its data (data: ...)")
            }
        } else if fit != nil || data != nil {
            throw node.error("fit: and data: belong to a figure of kind: fitted")
        }
        if let source {
            guard sources[source] != nil else {
                throw node.error(
                    "source \"\(source)\" is not declared under sources: (declared: \(sources.keys.sorted().joined(separator: ", ")))")
            }
        } else {
            guard let kind, kind == "fitted" || ((kind == "derived" || kind == "estimated") && how?.isEmpty == false) else {
                throw node.error(
                    "a figure needs a source, kind: derived or estimated with how: saying from what, or kind: fitted with fit: and data:")
            }
        }
        return value
    }

    mutating func integer(_ node: ConfigNode, plausible: ClosedRange<Int>) throws -> Int {
        let v = try value(node)
        let n = try v.int()
        guard plausible.contains(n) else {
            throw v.error("expected an integer from \(plausible.lowerBound) to \(plausible.upperBound), found \(n)")
        }
        return n
    }

    mutating func integers(_ node: ConfigNode, plausible: ClosedRange<Int>) throws -> [Int] {
        let v = try value(node)
        let items = try v.sequence()
        guard !items.isEmpty else { throw v.error("expected a non-empty list of integers") }
        return try items.map { item in
            let n = try item.int()
            guard plausible.contains(n) else {
                throw item.error("expected an integer from \(plausible.lowerBound) to \(plausible.upperBound), found \(n)")
            }
            return n
        }
    }

    mutating func ratio(_ node: ConfigNode, allowZero: Bool = false) throws -> Double {
        let v = try value(node)
        let x = try v.quantity(.ratio).value
        guard (allowZero ? x >= 0 : x > 0) && x <= 1 else {
            throw v.error("expected a fraction \(allowZero ? "from 0" : "above 0") up to 1, found \(x)")
        }
        return x
    }

    mutating func words(_ node: ConfigNode) throws -> [(String, ConfigNode)] {
        let v = try value(node)
        let items = try v.sequence()
        guard !items.isEmpty else { throw v.error("expected a non-empty list") }
        return try items.map { (try $0.string(), $0) }
    }
}

/// The libraries that ship in `chips/libraries/`, read once per directory.
public enum KernelLibraries {
    final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var loaded: [String: [String: KernelLibrary]] = [:]
        /// Libraries read alone (by `single`), by directory and id.
        var alone: [String: KernelLibrary] = [:]
    }
    static let cache = Cache()

    public static func defaultDirectory() -> String { ChipCatalog.defaultDirectory() + "/libraries" }

    /// The libraries that go with chips in `chipsDirectory`: its `libraries/` when it has one, else
    /// the shipped ones (a user's own chip file uses the shipped libraries).
    public static func directory(besideChipsIn chipsDirectory: String) -> String {
        let beside = (chipsDirectory as NSString).appendingPathComponent("libraries")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: beside, isDirectory: &isDirectory) && isDirectory.boolValue
            ? beside : defaultDirectory()
    }

    /// Every library in `directory` by id.
    public static func load(directory: String = defaultDirectory()) throws -> [String: KernelLibrary] {
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let known = cache.loaded[directory] { return known }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var libraries: [String: KernelLibrary] = [:]
        for name in files {
            let library = try KernelLibrary.load(file: (directory as NSString).appendingPathComponent(name))
            if let other = libraries[library.id] {
                throw ConfigError(file: library.file, path: "id", message: "library id \"\(library.id)\" is also used by \(other.file)")
            }
            libraries[library.id] = library
        }
        cache.loaded[directory] = libraries
        return libraries
    }

    /// The library `id` read from the one file whose text holds the id, when exactly one file
    /// declares it (a one-kernel run need not read every library); nil sends the caller to the
    /// whole directory, for its errors and the list of known ids.
    static func single(_ id: String, in directory: String) -> KernelLibrary? {
        let key = directory + "\u{0}" + id
        cache.lock.lock()
        let known = cache.loaded[directory]
        let alone = cache.alone[key]
        cache.lock.unlock()
        if let known { return known[id] }
        if let alone { return alone }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        var found: [KernelLibrary] = []
        for name in files {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), ChipCatalog.contains(data, Array(id.utf8)) else { continue }
            guard let root = try? ConfigNode.parse(data: data, file: path), let library = try? KernelLibrary.read(root) else { return nil }
            if library.id == id { found.append(library) }
        }
        guard found.count == 1 else { return nil }
        cache.lock.lock()
        cache.alone[key] = found[0]
        cache.lock.unlock()
        return found[0]
    }

    /// The library a chip names, or an error that lists the known ones.
    public static func named(_ id: String, for file: String, directory: String = defaultDirectory()) throws -> KernelLibrary {
        if let library = single(id, in: directory) { return library }
        let libraries = try load(directory: directory)
        guard let library = libraries[id] else {
            throw ConfigError(
                file: file, path: "runtime.library",
                message: "no kernel library \"\(id)\" in \(directory) (known: \(libraries.keys.sorted().joined(separator: ", ")))")
        }
        return library
    }
}
