import Chips
import HeapModule
import Workloads

/// Attention cost, as the chip library's fused attention kernel runs it.
///
/// Tiles: prefill runs one tile per (batch, head, block of Br query rows); a tile streams K/V in
/// blocks of Bc rows, each step doing QK^T and PV on the matrix unit (2 x Br x Bc x d MACs) and the
/// online softmax on the special-function and vector units (Br x Bc exponentials); a causal tile
/// stops at the diagonal. Decode packs the query rows of one KV head (heads / kv_heads x q_len)
/// into one tile that streams that head's cache, and splits the KV length (flash-decoding) until
/// every unit has work; a combine step merges the partial results. The (Br, Bc) candidates are the
/// library kernel's own tiles for the head dimension that fit the unit's buffer with its K/V
/// stages; the fastest wins, as the library's heuristic picks.
///
/// Pipeline (the library file says which): a synchronous kernel (FlashAttention-2) computes the
/// matrix products and the softmax one after the other; a warp-specialised one (FlashAttention-3)
/// hides part of the softmax behind the other warp group's matrix products; split units (Ascend's
/// cube and vector cores) overlap them wholly. A step costs max(m, s) + (1 - overlap) x min(m, s).
///
/// Schedule: tiles go to the units in the kernel's order (FlashAttention-2's grid puts the query
/// blocks of one head next to each other; FlashAttention-3's causal scheduler takes the longest
/// first), each unit taking the next tile when it is free, so causal imbalance and the last partial
/// wave fall out of the schedule. A non-persistent kernel pays each tile's prologue (the first K/V
/// block's latency, loading Q) and epilogue (writing O); a persistent one overlaps them with its
/// neighbours'.
///
/// Memory: the tiles running at once come from a few heads (launch order) and stream those heads'
/// K/V together; a head's K/V is read from HBM once per wave it appears in, and once in all while
/// the heads one wave touches keep theirs in the L2 that chip-wide shared data lives in.
enum AttentionModel {
    static func cost(_ a: Op.Attention, _ dtype: DataType, _ machine: Machine, kernel: String) throws -> KernelCost {
        guard let (macsPerCycle, onMatrix) = machine.macsPerCycle(dtype) else {
            throw SimulationError(
                kernel: kernel, message: "\(machine.spec.id) has no \(dtype.rawValue) support in its matrix or vector units")
        }
        let library = machine.library
        guard let family = library.attentionKernel(a.impl, headDim: a.headDim, backward: a.backward, sharedKV: a.sharedKV) else {
            throw SimulationError(
                kernel: kernel,
                message:
                    "unknown attention impl \"\(a.impl ?? "")\" for \(machine.spec.id), whose library \(library.id) offers: "
                    + "\(library.attention.map(\.id).joined(separator: ", "))"
            )
        }
        if a.backward {
            return try backward(a, dtype, machine, family, macsPerCycle: macsPerCycle, onMatrix: onMatrix, kernel: kernel)
        }
        let b = dtype.bytes
        let d = a.headDim
        let group = a.heads / a.kvHeads
        let kvTensors = a.sharedKV ? 1 : 2
        let offered = family.tiles(for: d)
        guard !offered.isEmpty else {
            throw SimulationError(
                kernel: kernel,
                message:
                    "head_dim \(d) is beyond every tile of \(family.id) in library \(library.id) (largest: "
                    + "\(family.tiles.map(\.headDim).max() ?? 0))"
            )
        }
        // Decode packs a KV head's query rows into tiles (one while they fit the block; latent
        // attention's 128 query heads per KV head fill two of FlashMLA's 64-row blocks); so does a
        // prefill of a few query rows.
        let packedDecode =
            a.phase == .decode || (a.qLen * group <= 64 && a.qLen * group <= (offered.map(\.blockM).max() ?? 0))
        var best: Evaluation?
        var tried: [String] = []
        for tile in offered {
            let rows = packedDecode ? min(a.qLen * group, tile.blockM) : tile.blockM
            let buffer = (Double(max(rows, machine.fragment.m)) + Double(family.stages * kvTensors * tile.blockN)) * Double(d) * b
            tried.append("\(tile.blockM)x\(tile.blockN)")
            guard buffer <= machine.stagingBytes else { continue }
            let e = evaluate(
                a, dtype, machine, family, rows: rows, blockN: tile.blockN, packed: packedDecode,
                macsPerCycle: macsPerCycle, onMatrix: onMatrix)
            if best == nil || e.cost.duration < best!.cost.duration { best = e }
        }
        guard let best else {
            throw SimulationError(
                kernel: kernel,
                message:
                    "no \(family.id) tile (\(tried.joined(separator: ", "))) for head_dim \(d) fits \(machine.spec.id)'s "
                    + "\(Int(machine.stagingBytes / 1024)) KiB unit buffer"
            )
        }
        return best.cost
    }

    struct Evaluation { var cost: KernelCost }

    static func evaluate(
        _ a: Op.Attention, _ dtype: DataType, _ machine: Machine, _ family: KernelLibrary.AttentionKernel,
        rows rowsPerTile: Int, blockN: Int, packed: Bool, macsPerCycle: Double, onMatrix: Bool
    ) -> Evaluation {
        let eta = (onMatrix ? machine.efficiency.matrix(dtype) : machine.efficiency.vector) * (onMatrix ? family.matrixRate : 1)
        let b = dtype.bytes
        let d = Double(a.headDim)
        let clock = machine.clock
        let units = machine.units
        let group = a.heads / a.kvHeads
        let vectorRate = machine.vectorFlopsPerCycle(dtype) * machine.efficiency.vector * clock
        let sfuRate = machine.sfuOpsPerCycle * clock

        let tilesPerHead: Int
        let tileHeads: Int
        let splitKV: Int
        if packed {
            tilesPerHead = (a.qLen * group + rowsPerTile - 1) / rowsPerTile
            tileHeads = a.batch * a.kvHeads
            // Flash-decoding: split the KV length while units are idle and chunks stay long.
            var split = 1
            while tileHeads * tilesPerHead * split < units && a.kvLen / (split * 2) >= family.decodeSplitMinimum { split *= 2 }
            splitKV = split
        } else {
            tilesPerHead = (a.qLen + rowsPerTile - 1) / rowsPerTile
            tileHeads = a.batch * a.heads
            splitKV = 1
        }
        let bc = Double(blockN)
        let paddedRows = Double(max(rowsPerTile, machine.fragment.m))
        // One KV step: matrix work, softmax work (exponentials on the special-function unit, the
        // max, scale and sum on the vector unit, in parallel), and the K/V slice it loads.
        let stepMatrix = 2 * paddedRows * bc * d / macsPerCycle / eta / clock
        let softmax = max(Double(rowsPerTile) * bc / sfuRate, Double(rowsPerTile) * bc * 6 / vectorRate)
        let overlap = onMatrix ? family.softmaxOverlap : 0
        let stepCompute = max(stepMatrix, softmax) + (1 - overlap) * min(stepMatrix, softmax)
        let kvTensors = a.sharedKV ? 1.0 : 2.0
        let stepBytes = kvTensors * bc * d * b

        // KV steps of each tile of one head (causal tiles stop at the diagonal).
        let kvSteps = (Double(a.kvLen) / bc).rounded(.up)
        var stepsPerBlock: [Double]
        if !packed && tilesPerHead > 1 && a.causal {
            let offset = a.kvLen - a.qLen
            // Bottom-right aligned, as FlashAttention aligns q_len != kv_len: with more queries than
            // keys the first query rows see none.
            stepsPerBlock = (0..<tilesPerHead).map { block in
                max(0, (Double(min(a.qLen, (block + 1) * rowsPerTile) + offset) / bc).rounded(.up))
            }
        } else {
            stepsPerBlock = Array(repeating: (kvSteps / Double(splitKV)).rounded(.up), count: tilesPerHead)
        }
        let tiles = tileHeads * tilesPerHead * splitKV
        let active = min(units, tiles)
        let totalSteps = stepsPerBlock.reduce(0, +) * Double(tileHeads * splitKV)

        // HBM: Q and O once; K/V once while the heads in flight keep theirs in L2.
        let qBytes = Double(a.batch * a.heads * a.qLen) * d * b
        let kvBytes = Double(a.batch * a.kvHeads * a.kvLen) * kvTensors * d * b
        let kvPerHead = Double(a.kvLen) * kvTensors * d * b
        // The tiles of one wave stream their heads' K/V together (they start together and step at
        // the same pace), so a head's K/V is read once per wave it appears in. A later wave finds
        // them still in L2 when the K/V of the heads one wave touches fit in the shared L2.
        let kvReads: Double
        let fits: Bool
        if packed {
            fits = true
            kvReads = kvBytes
        } else {
            let tilesPerKVHead = tilesPerHead * group
            let kvHeadsPerWave: Double
            if family.order == .longestFirst {
                // The scheduler groups heads so that their K/V fit in L2 (FlashAttention-3: 32 MB sections).
                kvHeadsPerWave = 1
            } else {
                let straddle = active % tilesPerKVHead == 0 ? 0.0 : 1.0
                kvHeadsPerWave = min(Double(a.batch * a.kvHeads), (Double(active) / Double(tilesPerKVHead)).rounded(.up) + straddle)
            }
            fits = kvHeadsPerWave * kvPerHead <= machine.l2SharedBytes
            let appearances = fits ? 1 : max(1, (Double(tilesPerKVHead) / Double(active)).rounded(.up))
            kvReads = kvBytes * appearances
        }
        var hbm = 2 * qBytes + kvReads
        let l2Traffic = totalSteps * stepBytes + 2 * qBytes

        let hbmPerStep = kvReads / max(totalSteps, 1)
        let stepMemory = max(
            Double(active) * stepBytes / machine.achievableL2Bandwidth, Double(active) * hbmPerStep / machine.streamBandwidth)
        let latency = machine.hbmLatency
        let stepLittle = latency / Double(family.stages)
        let step = max(stepCompute, stepMemory, stepLittle)
        // A tile's prologue (the first K/V block's latency, loading Q) and epilogue (writing O), on
        // its share of HBM. A persistent kernel loads the next tile's Q while it computes, so only
        // the epilogue stays exposed (after the first tile's prologue).
        let tileBytes = Double(rowsPerTile) * d * b * Double(active) / machine.streamBandwidth
        let perTile = latency + 2 * tileBytes
        let exposed = family.persistent ? tileBytes : perTile
        let makespan = schedule(
            stepsPerBlock, copies: tileHeads * splitKV, units: units, step: step,
            perTile: exposed, longestFirst: family.order == .longestFirst)
        var time = makespan + (family.persistent ? latency + tileBytes : 0)
        var fixed = perTile
        if splitKV > 1 {
            // Combine partial outputs and their softmax statistics.
            let partials = Double(tiles * rowsPerTile) * (d + 2) * 4
            let combine = 2 * partials / machine.streamBandwidth + machine.hbmLatency
            time += combine
            fixed += combine
            hbm += 2 * partials
        }
        var cost = KernelCost()
        cost.flops = 4 * Double(a.batch * a.heads) * visiblePairs(a) * d
        cost.macs = onMatrix ? totalSteps * 2 * paddedRows * bc * d : 0
        cost.vectorFlops = totalSteps * Double(rowsPerTile) * bc * 7 + (onMatrix ? 0 : totalSteps * 2 * paddedRows * bc * d * 2)
        cost.duration = time + machine.launchOverhead
        cost.hbmBytes = hbm
        cost.l2Bytes = l2Traffic
        cost.bufferBytes = l2Traffic
        cost.unitsUsed = active
        cost.matrixBusy = onMatrix ? min(1, cost.macs / (macsPerCycle * clock * Double(units)) / cost.duration) : 0
        cost.vectorBusy = min(
            1, totalSteps * Double(rowsPerTile) * bc * 6 / (vectorRate / machine.efficiency.vector) / Double(units) / cost.duration)
        cost.hbmBusy = hbm / machine.hbmBandwidth / cost.duration
        let computePart = totalSteps / Double(units) * stepCompute
        let memoryPart = totalSteps / Double(units) * max(stepMemory, stepLittle)
        cost.classify(compute: computePart, memory: memoryPart, fixed: fixed + machine.launchOverhead)
        cost.decomposition =
            "\(family.id): \(tiles) tiles of \(rowsPerTile)x\(blockN)\(splitKV > 1 ? ", KV split \(splitKV)" : ""), "
            + "\(Int(totalSteps)) KV steps, "
            + (fits || packed ? "K/V read once" : "K/V read once per wave a head appears in")
        return Evaluation(cost: cost)
    }

    /// Makespan of `copies` x the tiles of `stepsPerBlock` (one head's query blocks) on `units`, each
    /// unit taking the next tile in launch order when it is free (list scheduling).
    static func schedule(_ stepsPerBlock: [Double], copies: Int, units: Int, step: Double, perTile: Double, longestFirst: Bool) -> Double {
        let tiles = stepsPerBlock.count * copies
        let uniform = stepsPerBlock.allSatisfy { $0 == stepsPerBlock[0] }
        if uniform {
            let waves = (Double(tiles) / Double(units)).rounded(.up)
            return waves * (stepsPerBlock[0] * step + perTile)
        }
        let durations = stepsPerBlock.map { $0 * step + perTile }
        let total = durations.reduce(0, +) * Double(copies)
        if tiles > 200_000 { return max(total / Double(units), durations.max()!) }
        let order = longestFirst ? durations.sorted(by: >) : durations
        var free = Heap<Double>(Array(repeating: 0, count: min(units, tiles)))
        var makespan = 0.0
        if longestFirst {
            // All tiles sorted longest first: each block length `copies` times in a row.
            for duration in order { for _ in 0..<copies { makespan = max(makespan, take(&free, duration)) } }
        } else {
            for _ in 0..<copies { for duration in order { makespan = max(makespan, take(&free, duration)) } }
        }
        return makespan
    }

    /// Query-key pairs that the mask leaves, per (batch, head): all of them, or under a causal mask
    /// aligned bottom-right (query i sees keys up to kv_len - q_len + i).
    static func visiblePairs(_ a: Op.Attention) -> Double {
        let q = Double(a.qLen)
        let kv = Double(a.kvLen)
        guard a.causal && a.phase == .prefill else { return q * kv }
        let blind = max(0, q - kv)
        let rows = q - blind
        let first = kv - q + blind + 1
        return rows * (first + kv) / 2
    }

    static func take(_ free: inout Heap<Double>, _ duration: Double) -> Double {
        let start = free.removeMin()
        let end = start + duration
        free.insert(end)
        return end
    }
}
