import Chips
import Config
import SimCore

/// Reads a trace file into a ``Trace``, checking every field.
///
/// Errors name the file, the line and the kernel: unknown op or field (with the nearest known
/// name), missing parameter, non-positive size, sizes whose products overflow, dependencies on
/// unknown or later kernels, and dependency cycles.
enum TraceReader {
    /// The largest tensor (in elements) a kernel may name: 2^48, far past any real accelerator memory.
    static let maxElements = 1 << 48

    static let opNames =
        ["gemm", "grouped_gemm", "attention", "elementwise", "norm", "softmax", "reduction", "embedding", "memcpy", "measured"]
        + Op.CollectiveKind.allCases.map(\.rawValue)
    static let opExpected = "one of: \(opNames.joined(separator: ", "))"

    static func read(_ root: ConfigNode) throws -> Trace {
        var reader = try MappingReader(root)
        let schemaNode = try reader.required("schema", "the trace schema version, \(Trace.schemaVersion)")
        let schema = try schemaNode.int()
        guard schema == Trace.schemaVersion else {
            throw schemaNode.error("unsupported trace schema version \(schema); this xpusim reads version \(Trace.schemaVersion)")
        }
        let name = try reader.optional("name")?.string() ?? root.file
        let tokens = try reader.optional("tokens").map { try positive($0) }
        let replicaRanks = try reader.optional("replica_ranks").map { node -> Int in
            let n = try positive(node)
            guard n <= 1 << 20 else { throw node.error("\(n) devices in one replica is absurd (limit \(1 << 20))") }
            return n
        }
        let kernelNodes = try reader.required("kernels", "a list of kernels").sequence()
        try reader.finish()
        guard !kernelNodes.isEmpty else { throw root.error("kernels: the trace has no kernels") }

        var kernels: [Kernel] = []
        var indexByID: [String: Int] = [:]
        var depNames: [[(String, ConfigNode)]] = []
        kernels.reserveCapacity(kernelNodes.count)
        indexByID.reserveCapacity(kernelNodes.count)
        depNames.reserveCapacity(kernelNodes.count)
        for node in kernelNodes {
            var k = try MappingReader(node)
            let idNode = try k.required("id")
            let id = try idNode.string()
            if indexByID.updateValue(kernels.count, forKey: id) != nil { throw idNode.error("kernel id \"\(id)\" is used twice") }
            let opNode = try k.required("op", opExpected)
            let opName = try opNode.string()
            // Byte-sized ops (copies, collectives) need no data type; everything else does.
            let bytesOnly = opName == "memcpy" || opName == "measured" || Op.CollectiveKind(rawValue: opName) != nil
            let dtype = bytesOnly ? try k.optional("dtype").map(dataType) ?? .bf16 : try dataType(try k.required("dtype"))
            let stream = try k.optional("stream").map { try nonNegative($0) } ?? 0
            let inputsInL2 = try k.optional("inputs_in_l2")?.bool()
            let units = try k.optional("units").map { node -> Int in
                let value = try positive(node)
                guard value <= 65536 else { throw node.error("units: expected 1 to 65536 compute units, found \(value)") }
                return value
            }
            let activityNode = k.optional("activity")
            let activity = try activityNode?.double() ?? 1
            if let activityNode, !(0...1).contains(activity) {
                throw activityNode.error("activity must be between 0.0 and 1.0, found \(activity)")
            }
            var deps: [(String, ConfigNode)] = []
            if let depsNode = k.optional("deps") {
                for item in try depsNode.sequence() { deps.append((try item.string(), item)) }
            }
            let op = try readOp(opName, opNode, &k)
            try k.finish()
            kernels.append(
                Kernel(id: id, op: op, dtype: dtype, stream: stream, deps: [], activity: activity, inputsInL2: inputsInL2, units: units))
            depNames.append(deps)
        }
        try resolveDependencies(&kernels, depNames, indexByID)
        return Trace(name: name, file: root.file, tokens: tokens, replicaRanks: replicaRanks, kernels: kernels)
    }

    static func readOp(_ name: String, _ opNode: ConfigNode, _ k: inout MappingReader) throws -> Op {
        switch name {
        case "gemm":
            let m = try positive(k.required("m"))
            let n = try positive(k.required("n"))
            let kk = try positive(k.required("k"))
            let batch = try k.optional("batch").map { try positive($0) } ?? 1
            try checkProduct([m, n, kk, batch], k.node, "m x n x k x batch")
            return .gemm(
                .init(
                    m: m, n: n, k: kk, batch: batch,
                    transA: try k.optional("trans_a")?.bool() ?? false, transB: try k.optional("trans_b")?.bool() ?? false,
                    impl: try k.optional("impl")?.string(), accumulate: try k.optional("accumulate").map(dataType)))
        case "grouped_gemm":
            let n = try positive(k.required("n"))
            let kk = try positive(k.required("k"))
            let groupsNode = k.optional("groups")
            let mNode = try k.required("m_per_group", "tokens per expert: one number, or a list with one entry per group")
            var mPerGroup: [Int]
            if case .sequence(let items) = mNode.content {
                mPerGroup = try items.map { try nonNegative($0) }
                if let groupsNode, try positive(groupsNode) != mPerGroup.count {
                    throw groupsNode.error("groups is \(try groupsNode.int()) but m_per_group lists \(mPerGroup.count) entries")
                }
            } else {
                guard let groupsNode else { throw k.node.error("missing required field \"groups\" (number of experts)") }
                mPerGroup = Array(repeating: try positive(mNode), count: try positive(groupsNode))
            }
            guard mPerGroup.contains(where: { $0 > 0 }) else { throw mNode.error("every group is empty") }
            try checkProduct([mPerGroup.reduce(0, +), n, kk], k.node, "total rows x n x k")
            return .groupedGemm(.init(mPerGroup: mPerGroup, n: n, k: kk, impl: try k.optional("impl")?.string()))
        case "attention":
            let phaseNode = try k.required("phase", "prefill or decode")
            guard let phase = Op.Phase(rawValue: try phaseNode.string()) else {
                throw phaseNode.error("expected prefill or decode, found \(phaseNode.found)")
            }
            let heads = try positive(k.required("heads"))
            let kvHeadsNode = k.optional("kv_heads")
            let kvHeads = try kvHeadsNode.map { try positive($0) } ?? heads
            if let kvHeadsNode, heads % kvHeads != 0 {
                throw kvHeadsNode.error("heads (\(heads)) must be a multiple of kv_heads (\(kvHeads))")
            }
            let batch = try positive(k.required("batch"))
            let qLenNode = k.optional("q_len")
            let qLen = try qLenNode.map { try positive($0) } ?? (phase == .decode ? 1 : try positive(k.required("q_len")))
            let kvLen = try positive(k.required("kv_len"))
            let headDim = try positive(k.required("head_dim"))
            let causal = try k.optional("causal")?.bool() ?? (phase == .prefill)
            try checkProduct([batch, heads, qLen, kvLen, headDim], k.node, "batch x heads x q_len x kv_len x head_dim")
            let backwardNode = k.optional("backward")
            let backward = try backwardNode?.bool() ?? false
            if let backwardNode, backward, phase == .decode {
                throw backwardNode.error("a backward pass needs phase: prefill (decode has no backward)")
            }
            return .attention(
                .init(
                    phase: phase, batch: batch, heads: heads, kvHeads: kvHeads, qLen: qLen, kvLen: kvLen, headDim: headDim, causal: causal,
                    impl: try k.optional("impl")?.string(), backward: backward, sharedKV: try k.optional("shared_kv")?.bool() ?? false))
        case "elementwise":
            let elements = try positive(k.required("elements"))
            let reads = try nonNegative(k.required("reads", "tensors read per element"))
            let writes = try nonNegative(k.required("writes", "tensors written per element"))
            if reads + writes == 0 { throw k.node.error("an elementwise kernel must read or write at least one tensor") }
            let flopsNode = k.optional("flops_per_element")
            let flops = try flopsNode?.double() ?? 1
            if let flopsNode, flops < 0 || flops > 1e6 {
                throw flopsNode.error("flops_per_element must be between 0 and 1e6, found \(flops)")
            }
            try checkProduct([elements, max(1, reads + writes)], k.node, "elements x tensors")
            let blocksNode = k.optional("blocks")
            let blocks = try blocksNode.map { try positive($0) }
            if let blocksNode, let blocks, blocks > elements {
                throw blocksNode.error("blocks (\(blocks)) cannot exceed elements (\(elements))")
            }
            let threads = try k.optional("threads").map { try positive($0) }
            if threads != nil && blocks == nil { throw k.node.error("threads needs blocks (the launch grid) as well") }
            return .elementwise(
                .init(elements: elements, reads: reads, writes: writes, flopsPerElement: flops, blocks: blocks, threads: threads))
        case "norm", "softmax", "reduction":
            let rows = try positive(k.required("rows"))
            let columns = try positive(k.required("columns"))
            try checkProduct([rows, columns], k.node, "rows x columns")
            let threads = try k.optional("threads").map { try positive($0) }
            let residualNode = k.optional("residual")
            let residual = try residualNode?.bool() ?? false
            if let residualNode, residual, name != "norm" {
                throw residualNode.error("residual (a fused residual add) applies to norm only")
            }
            return .rowwise(
                .init(kind: Op.RowwiseKind(rawValue: name)!, rows: rows, columns: columns, threads: threads, residual: residual))
        case "embedding":
            let tokens = try positive(k.required("tokens"))
            let hidden = try positive(k.required("hidden"))
            try checkProduct([tokens, hidden], k.node, "tokens x hidden")
            return .embedding(.init(tokens: tokens, hidden: hidden))
        case "memcpy":
            let bytes = try positive(k.required("bytes"))
            let kindNode = k.optional("kind")
            let kindName = try kindNode?.string() ?? "d2d"
            guard let kind = Op.CopyKind(rawValue: kindName) else {
                throw (kindNode ?? k.node).error("expected one of: d2d, h2d, d2h; found \"\(kindName)\"")
            }
            try checkProduct([bytes], k.node, "bytes")
            return .memcpy(.init(bytes: bytes, kind: kind))
        case "measured":
            let durationNode = try k.required("duration", "the kernel's measured time, e.g. \"12.5 us\"")
            let text = try durationNode.string()
            guard let seconds = Quantity.parse(text, as: .time)?.value, seconds >= 1e-12, seconds <= Trace.longestKernel else {
                throw durationNode.error("expected a time from 1 ps to 1 h such as \"12.5 us\", found \"\(text)\"")
            }
            return .measured(.init(seconds: seconds, kernel: try k.optional("kernel")?.string() ?? ""))
        default:
            if let kind = Op.CollectiveKind(rawValue: name) {
                let bytes = try positive(k.required("bytes", "the collective's size as nccl-tests gives it"))
                let ranks = try positive(k.required("ranks"))
                if ranks < 2, let node = k.optional("ranks") { throw node.error("a collective needs at least 2 ranks") }
                try checkProduct([bytes, ranks], k.node, "bytes x ranks")
                let perNode = try k.optional("ranks_per_node").map { node -> Int in
                    let value = try positive(node)
                    guard value <= ranks else { throw node.error("ranks_per_node \(value) is more than the collective's \(ranks) ranks") }
                    return value
                }
                let algorithm = try k.optional("algorithm")?.word(CollectiveLibrary.Algorithm.self, "algorithm")
                let proto = try k.optional("protocol")?.word(CollectiveLibrary.ProtocolKind.self, "protocol")
                return .collective(
                    .init(kind: kind, bytes: bytes, ranks: ranks, ranksPerNode: perNode, algorithm: algorithm, protocol: proto))
            }
            let hint = didYouMean(name, in: opNames)
            throw opNode.error("unknown op \"\(name)\"\(hint) (known ops: \(opNames.joined(separator: ", ")))")
        }
    }

    static func dataType(_ node: ConfigNode) throws -> DataType {
        try node.word(DataType.self, "data type")
    }

    static func positive(_ node: ConfigNode) throws -> Int {
        let value = try node.int()
        guard value > 0 else { throw node.error("must be a positive size, found \(value)") }
        guard value <= maxElements else { throw node.error("\(value) is absurdly large (limit \(maxElements))") }
        return value
    }

    static func nonNegative(_ node: ConfigNode) throws -> Int {
        let value = try node.int()
        guard value >= 0 else { throw node.error("must not be negative, found \(value)") }
        guard value <= maxElements else { throw node.error("\(value) is absurdly large (limit \(maxElements))") }
        return value
    }

    /// Sizes whose product overflows (or passes 2^62 elements of work) are rejected, so cost models never wrap.
    static func checkProduct(_ factors: [Int], _ node: ConfigNode, _ what: String) throws {
        var product = 1
        for factor in factors {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow || next > 1 << 62 { throw node.error("\(what) overflows: the sizes are too large to simulate") }
            product = next
        }
    }

    static func resolveDependencies(_ kernels: inout [Kernel], _ depNames: [[(String, ConfigNode)]], _ indexByID: [String: Int]) throws {
        // Cycles first (they are the clearer message), then references to unknown or later kernels.
        var graph: [[Int]] = Array(repeating: [], count: kernels.count)
        for (index, deps) in depNames.enumerated() {
            for (name, node) in deps {
                // Most kernels depend on the one before: no hashing for that (ids are unique).
                if index > 0, kernels[index - 1].id == name {
                    graph[index].append(index - 1)
                    continue
                }
                guard let target = indexByID[name] else {
                    let hint = didYouMean(name, in: Array(indexByID.keys).sorted())
                    throw node.error("kernel \"\(kernels[index].id)\" depends on unknown kernel \"\(name)\"\(hint)")
                }
                graph[index].append(target)
            }
        }
        if let cycle = findCycle(graph) {
            let names = cycle.map { kernels[$0].id }
            let node = depNames[cycle[0]].first!.1
            // A long cycle is named by its ends, not kernel by kernel.
            // (The path ends where it started: its kernels are one fewer than its names.)
            guard names.count > 12 else { throw node.error("dependency cycle: \(names.joined(separator: " -> "))") }
            let shown = Array(names.prefix(6)) + ["... \(names.count - 12) more ..."] + names.suffix(6)
            throw node.error("dependency cycle of \(names.count - 1) kernels: \(shown.joined(separator: " -> "))")
        }
        for (index, deps) in depNames.enumerated() {
            for (offset, (name, node)) in deps.enumerated() {
                let target = graph[index][offset]
                if target >= index {
                    throw node.error(
                        "kernel \"\(kernels[index].id)\" depends on \"\(name)\", which comes later in the trace; list kernels in an "
                            + "order that respects their dependencies"
                    )
                }
            }
            if graph[index].count < 2 {
                kernels[index].deps = graph[index]
            } else {
                var seen = Set<Int>()
                kernels[index].deps = graph[index].filter { seen.insert($0).inserted }
            }
        }
    }

    /// A dependency cycle as a list of kernel indices (first repeated at the end), if any.
    static func findCycle(_ graph: [[Int]]) -> [Int]? {
        var state = [UInt8](repeating: 0, count: graph.count)  // 0 new, 1 on stack, 2 done
        var stack: [(node: Int, next: Int)] = []
        var path: [Int] = []
        for start in graph.indices where state[start] == 0 {
            stack.append((start, 0))
            state[start] = 1
            path.append(start)
            while let top = stack.last {
                if top.next < graph[top.node].count {
                    stack[stack.count - 1].next += 1
                    let child = graph[top.node][top.next]
                    if state[child] == 1 {
                        let from = path.firstIndex(of: child)!
                        return Array(path[from...]) + [child]
                    }
                    if state[child] == 0 {
                        state[child] = 1
                        stack.append((child, 0))
                        path.append(child)
                    }
                } else {
                    state[top.node] = 2
                    stack.removeLast()
                    path.removeLast()
                }
            }
        }
        return nil
    }
}
