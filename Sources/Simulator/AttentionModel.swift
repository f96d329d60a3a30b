import Chips
import Workloads

/// Attention cost, FlashAttention-style.
///
/// Prefill: one tile per (batch, head, query block of Br rows); a tile streams K/V blocks of Bc
/// rows, each step doing QK^T and PV on the matrix unit (2 x Br x Bc x d MACs) and the online
/// softmax on the vector and special-function units (Br x Bc exponentials); a causal tile stops at
/// the diagonal. The longest tiles are scheduled first, so the makespan is the larger of the
/// balanced share and the longest tile.
///
/// Decode: the query rows of one KV head (heads / kv_heads x q_len) form a tile that streams that
/// head's KV cache; the KV length is split (flash-decoding) until every unit has work, and a small
/// combine step merges the partial results. Decode is bound by reading the KV cache.
enum AttentionModel {
    static func cost(_ a: Op.Attention, _ dtype: DataType, _ machine: Machine, kernel: String) throws -> KernelCost {
        guard let (macsPerCycle, onMatrix) = machine.macsPerCycle(dtype) else {
            throw SimulationError(kernel: kernel, message: "\(machine.spec.id) has no \(dtype.rawValue) support in its matrix or vector units")
        }
        let eta = onMatrix ? machine.efficiency.matrix(dtype) : machine.efficiency.vector
        let b = dtype.bytes
        let d = Double(a.headDim)
        let clock = machine.clock
        let units = machine.units
        let group = a.heads / a.kvHeads
        let vectorRate = machine.vectorFlopsPerCycle(dtype) * machine.efficiency.vector * clock
        let sfuRate = machine.sfuOpsPerCycle * clock

        // Rows of the score matrix one tile owns, and the KV rows it visits.
        let rowsPerTile: Int, tilesPerHead: Int, tileHeads: Int
        let splitKV: Int
        if a.phase == .decode || a.qLen * group <= 64 {
            rowsPerTile = a.qLen * group
            tilesPerHead = 1
            tileHeads = a.batch * a.kvHeads
            let base = tileHeads
            var split = 1
            while base * split < units && a.kvLen / (split * 2) >= 256 { split *= 2 }
            splitKV = split
        } else {
            rowsPerTile = 128
            tilesPerHead = (a.qLen + 127) / 128
            tileHeads = a.batch * a.heads
            splitKV = 1
        }
        let bc = 128.0
        let paddedRows = Double(max(rowsPerTile, machine.fragment.m))
        // One KV step: matrix work, softmax work, and the K/V slice it loads.
        let stepMatrix = 2 * paddedRows * bc * d / macsPerCycle / eta / clock
        let stepExp = Double(rowsPerTile) * bc / sfuRate
        let stepVector = Double(rowsPerTile) * bc * 6 / vectorRate
        // Several warps (GPU) or the cube and vector cores (Ascend) overlap the matrix products of
        // one block with the softmax of another; without a matrix unit the vector unit does both.
        let stepCompute = onMatrix ? max(stepMatrix, stepExp, stepVector) : stepMatrix + max(stepExp, stepVector)
        let stepBytes = 2 * bc * d * b

        // KV steps per tile (causal tiles stop at the diagonal).
        var totalSteps = 0.0, longest = 0.0
        let kvSteps = (Double(a.kvLen) / bc).rounded(.up)
        if tilesPerHead > 1 && a.causal {
            let offset = a.kvLen - a.qLen
            for block in 0..<tilesPerHead {
                let lastRow = min(a.qLen, (block + 1) * 128) + offset
                let steps = (Double(lastRow) / bc).rounded(.up)
                totalSteps += steps
                longest = max(longest, steps)
            }
            totalSteps *= Double(tileHeads)
        } else {
            let steps = (kvSteps / Double(splitKV)).rounded(.up)
            totalSteps = steps * Double(tileHeads * tilesPerHead * splitKV)
            longest = steps
        }
        let tiles = tileHeads * tilesPerHead * splitKV
        let active = min(units, tiles)

        // HBM: Q, O once; K/V once per (batch, kv head) when a head's K/V fit in L2 alongside the
        // other heads in flight, else once per query block that visits them.
        let qBytes = Double(a.batch * a.heads * a.qLen) * d * b
        let kvBytes = Double(a.batch * a.kvHeads * a.kvLen) * 2 * d * b
        // A decode tile packs all query heads of its KV head, so each KV block is read once. Prefill
        // tiles are per query head: the heads of a group run together and share K/V through L2.
        let kvInFlight = Double(min(active, a.batch * a.kvHeads)) * Double(a.kvLen) * 2 * d * b
        let packed = tilesPerHead == 1 && rowsPerTile == a.qLen * group
        let kvReads = packed || kvInFlight <= machine.l2Bytes / 2 ? kvBytes : max(kvBytes, totalSteps * stepBytes / Double(group))
        var hbm = 2 * qBytes + kvReads
        let l2Traffic = totalSteps * stepBytes + 2 * qBytes

        let hbmPerStep = kvReads / totalSteps
        let stepMemory = max(Double(active) * stepBytes / machine.achievableL2Bandwidth, Double(active) * hbmPerStep / machine.streamBandwidth)
        let latency = machine.hbmLatency
        let stepLittle = latency / 2
        let step = max(stepCompute, stepMemory, stepLittle)
        let balanced = totalSteps / Double(units) * step
        var time = max(balanced, longest * step) + latency
        var fixed = latency
        if splitKV > 1 {
            // Combine partial outputs and their softmax statistics.
            let partials = Double(tiles * rowsPerTile) * (d + 2) * 4
            let combine = 2 * partials / machine.streamBandwidth + machine.hbmLatency
            time += combine; fixed += combine
            hbm += 2 * partials
        }
        var cost = KernelCost()
        let causalFraction = a.causal && a.phase == .prefill ? 0.5 : 1.0
        cost.flops = 4 * Double(a.batch * a.heads) * Double(a.qLen) * Double(a.kvLen) * d * causalFraction
        cost.macs = onMatrix ? totalSteps * 2 * paddedRows * bc * d : 0
        cost.vectorFlops = totalSteps * Double(rowsPerTile) * bc * 7 + (onMatrix ? 0 : totalSteps * 2 * paddedRows * bc * d * 2)
        cost.duration = time + machine.launchOverhead
        cost.hbmBytes = hbm
        cost.l2Bytes = l2Traffic
        cost.bufferBytes = l2Traffic
        cost.unitsUsed = active
        cost.matrixBusy = onMatrix ? min(1, cost.macs / (macsPerCycle * clock * Double(units)) / cost.duration) : 0
        cost.vectorBusy = min(1, totalSteps * Double(rowsPerTile) * bc * 6 / (vectorRate / machine.efficiency.vector) / Double(units) / cost.duration)
        cost.hbmBusy = hbm / machine.hbmBandwidth / cost.duration
        let computePart = totalSteps / Double(units) * stepCompute
        let memoryPart = totalSteps / Double(units) * max(stepMemory, stepLittle)
        cost.classify(compute: computePart, memory: memoryPart, fixed: fixed + machine.launchOverhead)
        cost.decomposition = "\(tiles) tiles of \(rowsPerTile) query rows\(splitKV > 1 ? ", KV split \(splitKV)" : ""), \(Int(totalSteps)) KV steps of \(Int(bc))"
        return cost
    }
}
