import Chips
import Workloads

/// Attention backward, as FlashAttention-2's backward kernel runs it (csrc/flash_attn/src/flash_bwd_kernel.h).
///
/// Three launches, as the library makes them: a pre-pass computes D = rowsum(dO o O) per query row
/// (and zeroes the fp32 dQ accumulator), the main kernel runs one tile per (batch, head, block of Bc
/// KV rows), and a post-pass converts dQ from fp32. A main-kernel tile keeps its K and V block on
/// chip and loops over the query blocks of Br rows that see it (causal: from the diagonal on);
/// each step recomputes S = QK^T and P = exp(S - LSE), then dV += P^T dO, dP = dO V^T,
/// dS = P o (dP - D), dK += dS^T Q and dQ += dS K: five matrix products (2.5x the forward's FLOPs),
/// the exponentials, and dQ added to the fp32 accumulator in L2 with atomics. Steps, pipeline and
/// the list schedule of tiles are those of the forward model; the matrix instructions run at the
/// library kernel's matrix rate times its `backward_rate`, a fitted figure that stands for what the
/// model does not cost one by one: P and dS written to shared memory and read back as operands of
/// three of the five products, the extra barriers between them, and the dQ atomics' issue.
extension AttentionModel {
    static func backward(
        _ a: Op.Attention, _ dtype: DataType, _ machine: Machine, _ family: KernelLibrary.AttentionKernel,
        macsPerCycle: Double, onMatrix: Bool, kernel: String
    ) throws -> KernelCost {
        let d = a.headDim
        let b = dtype.bytes
        var best: KernelCost?
        var tried: [String] = []
        for tile in family.tiles(for: d, backward: true) {
            // On chip: the K and V block, dK and dV accumulators (fp32, registers), Q and dO blocks (2 stages).
            let buffer = Double(2 * tile.blockN * d) * b + Double(2 * 2 * tile.blockM * d) * b
            tried.append("\(tile.blockM)x\(tile.blockN)")
            guard buffer <= machine.stagingBytes else { continue }
            let cost = backwardTile(
                a, dtype, machine, family, blockM: tile.blockM, blockN: tile.blockN, macsPerCycle: macsPerCycle, onMatrix: onMatrix)
            if best == nil || cost.duration < best!.duration { best = cost }
        }
        if family.backwardTiles.isEmpty {
            throw SimulationError(
                kernel: kernel,
                message:
                    "attention kernel \(family.id) of library \(machine.library.id) has no backward kernel described (no backward_tiles)")
        }
        guard let best else {
            throw SimulationError(
                kernel: kernel,
                message:
                    "no \(family.id) backward tile (\(tried.joined(separator: ", "))) for head_dim \(d) fits \(machine.spec.id)'s "
                        + "\(Int(machine.stagingBytes / 1024)) KiB unit buffer"
            )
        }
        return best
    }

    static func backwardTile(
        _ a: Op.Attention, _ dtype: DataType, _ machine: Machine, _ family: KernelLibrary.AttentionKernel,
        blockM: Int, blockN: Int, macsPerCycle: Double, onMatrix: Bool
    ) -> KernelCost {
        let eta = (onMatrix ? machine.efficiency.matrix(dtype) * family.matrixRate * family.backwardRate : machine.efficiency.vector)
        let b = dtype.bytes
        let d = Double(a.headDim)
        let clock = machine.clock
        let units = machine.units
        let vectorRate = machine.vectorFlopsPerCycle(dtype) * machine.efficiency.vector * clock
        let sfuRate = machine.sfuOpsPerCycle * clock
        let br = Double(blockM)
        let bc = Double(blockN)
        let padded = Double(max(blockM, machine.fragment.m))

        let stepMatrix = 5 * padded * bc * d / macsPerCycle / eta / clock
        // exp of S, then P, dS = P (dP - D) and the scalings: about 8 vector operations per element.
        let softmax = max(br * bc / sfuRate, br * bc * 8 / vectorRate)
        let overlap = onMatrix ? family.softmaxOverlap : 0
        let stepCompute = max(stepMatrix, softmax) + (1 - overlap) * min(stepMatrix, softmax)

        // Tiles: (batch, head, KV block); a KV block sees the query blocks at or after it when causal.
        let kvBlocks = (a.kvLen + blockN - 1) / blockN
        let queryBlocks = (Double(a.qLen) / br).rounded(.up)
        let offset = a.kvLen - a.qLen
        let stepsPerBlock: [Double] = (0..<kvBlocks).map { j in
            guard a.causal else { return queryBlocks }
            let firstRow = max(0, j * blockN - offset)
            return max(0, (Double(a.qLen - firstRow) / br).rounded(.up))
        }
        let tileHeads = a.batch * a.heads
        let tiles = tileHeads * kvBlocks
        let active = min(units, tiles)
        let totalSteps = stepsPerBlock.reduce(0, +) * Double(tileHeads)

        // Each step loads a Q and a dO block with their LSE and D rows, and adds Br x d fp32 partial
        // dQ sums to the accumulator in L2 (read and write). The tiles of a wave stream the same
        // head's Q and dO together: read from HBM once per wave a head appears in, once in all when
        // the heads one wave touches keep theirs in the shared L2.
        let qBlockBytes = 2 * br * d * b + 2 * br * 4
        let atomicBytes = 2 * br * d * 4
        let perHeadQ = Double(a.qLen) * (2 * d * b + 8)
        let straddle = active % kvBlocks == 0 ? 0.0 : 1.0
        let headsPerWave = min(Double(tileHeads), (Double(active) / Double(kvBlocks)).rounded(.up) + straddle)
        let fits = headsPerWave * perHeadQ <= machine.l2SharedBytes
        let appearances = fits ? 1 : max(1, (Double(kvBlocks) / Double(active)).rounded(.up))
        let qReads = Double(tileHeads) * perHeadQ * appearances
        // K and V are read per KV head (grouped query heads share them); dK and dV are written per
        // query head's tile and reduced over the group.
        let kvBytes = Double(a.batch * a.kvHeads * a.kvLen) * 2 * d * b
        let dkvBytes = Double(a.batch * a.heads * a.kvLen) * 2 * d * b
        let rows = Double(a.batch * a.heads * a.qLen)
        let dqAccum = rows * d * 4
        let stepHBM = qReads / max(totalSteps, 1)
        let stepMemory = max(
            Double(active) * (qBlockBytes + atomicBytes) / machine.achievableL2Bandwidth,
            Double(active) * stepHBM / machine.streamBandwidth)
        let latency = machine.hbmLatency
        let step = max(stepCompute, stepMemory, latency / Double(family.stages))
        // Prologue: load the K and V block; epilogue: write dK and dV.
        let tileBytes = 2 * bc * d * b * Double(active) / machine.streamBandwidth
        let perTile = latency + 2 * tileBytes
        let main = schedule(stepsPerBlock, copies: tileHeads, units: units, step: step, perTile: perTile, longestFirst: false)

        // Pre-pass: read O and dO, write D, zero the dQ accumulator; post-pass: read the accumulator, write dQ.
        let prePass = (2 * rows * d * b + rows * 4 + dqAccum) / machine.streamBandwidth + latency
        let postPass = (dqAccum + rows * d * b) / machine.streamBandwidth + latency
        let launches = 3 * machine.launchOverhead

        var cost = KernelCost()
        cost.flops = 2.5 * 4 * Double(a.batch * a.heads) * visiblePairs(a) * d
        cost.macs = onMatrix ? totalSteps * 5 * padded * bc * d : 0
        cost.vectorFlops = totalSteps * br * bc * 9 + (onMatrix ? 0 : totalSteps * 5 * padded * bc * d * 2)
        cost.duration = main + prePass + postPass + launches
        cost.hbmBytes = qReads + kvBytes + dkvBytes + 2 * rows * d * b + rows * 4 + 3 * dqAccum + rows * d * b
        cost.l2Bytes = totalSteps * (qBlockBytes + atomicBytes) + kvBytes + dkvBytes
        cost.bufferBytes = cost.l2Bytes
        cost.unitsUsed = active
        cost.matrixBusy = onMatrix ? min(1, cost.macs / (macsPerCycle * clock * Double(units)) / cost.duration) : 0
        cost.vectorBusy = min(1, totalSteps * br * bc * 8 / (vectorRate / machine.efficiency.vector) / Double(units) / cost.duration)
        cost.hbmBusy = cost.hbmBytes / machine.hbmBandwidth / cost.duration
        let computePart = totalSteps / Double(units) * stepCompute
        let memoryPart = totalSteps / Double(units) * stepMemory
        cost.classify(compute: computePart, memory: memoryPart, fixed: perTile + prePass + postPass + launches)
        cost.decomposition =
            "\(family.id) backward: \(tiles) tiles of \(blockN) KV rows x \(blockM)-row query steps, \(Int(totalSteps)) steps, "
            + (fits ? "Q/dO read once" : "Q/dO read \(Int(appearances))x") + "; pre- and post-pass"
        return cost
    }
}
