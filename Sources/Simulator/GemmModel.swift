import Chips
import Workloads

/// GEMM cost: output tiles chosen the way a vendor library chooses them, dispatched in waves.
///
/// For each candidate tile (BM x BN, k-step BK, pipeline stages, split-K factor) that fits the
/// unit's staging buffer (A and B slices, multi-buffered) and accumulator buffer (as many output
/// tiles as the chip keeps in flight: two where the epilogue overlaps the next tile), the model runs the waves:
/// - a k-step takes the longest of its matrix-unit cycles, its share of L2 bandwidth, its share of
///   HBM bandwidth (only the bytes L2 reuse does not catch), and the Little's-law bound of one unit
///   (stages x slice bytes in flight against the memory latency);
/// - a wave costs a prologue (the first slice's latency), its k-steps, and the epilogue (writing C);
/// - full waves are identical and costed once; the last partial wave costs what it costs.
/// The fastest candidate wins, as a library heuristic or autotuner would pick it.
enum GemmModel {
    struct Shape {
        var m: Int, n: Int, k: Int, batch: Int
        /// The library scheduler the trace asks for, if any.
        var impl: String? = nil
        /// Grouped GEMM: the rows of each group (each group its own B); `m` is their sum.
        var groups: [Int]? = nil
        /// C's format where the epilogue adds into it (reads C, then writes it) instead of writing it.
        var accumulate: DataType? = nil
    }

    /// `inputsInL2`: the activation operand A was just written by its producer and is read from L2
    /// when it fits in the shared L2 (size / partitions); the weights B always come from HBM at least once.
    static func cost(_ shape: Shape, _ dtype: DataType, _ machine: Machine, kernel: String, inputsInL2: Bool = false) throws -> KernelCost {
        guard let (macsPerCycle, onMatrix) = machine.macsPerCycle(dtype) else {
            throw SimulationError(
                kernel: kernel, message: "\(machine.spec.id) has no \(dtype.rawValue) support in its matrix or vector units")
        }
        let eta = onMatrix ? machine.efficiency.matrix(dtype) : machine.efficiency.vector
        let b = dtype.bytes
        // Bytes per element of C the epilogue moves: written, or read and written back when it accumulates.
        let outBytes = shape.accumulate.map { 2 * $0.bytes } ?? outputBytes(dtype)
        let frag = machine.fragment
        let library = machine.library.gemm
        let bk = max(frag.k, Int(library.kSliceBytes / b))
        var best = Candidate.none
        let bms = library.tileM.filter { $0 % frag.m == 0 }
        let bns = library.tileN.filter { $0 % frag.n == 0 }
        // The library's heuristic runs its first scheduler; a trace may ask for another by name.
        // (Searching stream-K as an alternative raised the calibration objective on the Vidur,
        // DeepGEMM and Azure rows: their libraries ran data-parallel kernels for those shapes.)
        var schedulers = Array(library.schedulers.prefix(1))
        // A kernel family of its own (DeepGEMM) names its set-up time and epilogue behaviour.
        var family: KernelLibrary.GemmKernel?
        if let impl = shape.impl {
            if let named = library.kernel(impl) {
                family = named
            } else {
                guard let chosen = KernelLibrary.GemmScheduler(rawValue: impl), library.schedulers.contains(chosen) else {
                    throw SimulationError(
                        kernel: kernel,
                        message:
                            "unknown GEMM impl \"\(impl)\" for \(machine.spec.id), whose library \(machine.library.id) offers: "
                            + "\((library.schedulers.map(\.rawValue) + library.kernels.map(\.id)).joined(separator: ", "))"
                    )
                }
                schedulers = [chosen]
            }
        }
        let overlapEpilogue = family?.epilogueOverlap ?? true
        // Libraries compute C^T = B^T A^T when that maps the small dimension onto the matrix
        // instruction's narrow side (N can be as small as 8 where M cannot): both orientations are searched.
        // The activation (the operand a producer just wrote) is A as given, B once swapped.
        // A grouped GEMM keeps its layout: groups stacked along M, each with its own weights.
        let orientations =
            shape.m == shape.n || shape.groups != nil
            ? [(shape, true)]
            : [(shape, true), (Shape(m: shape.n, n: shape.m, k: shape.k, batch: shape.batch, impl: shape.impl), false)]
        for (shape, activationIsA) in orientations {
            for bm in bms {
                for bn in bns {
                    let accumulator = Double(bm * bn * 4)
                    if accumulator * Double(machine.accumulatorTiles) > machine.accumulatorBytes { continue }
                    let sliceBytes = Double((bm + bn) * bk) * b
                    let stages = min(library.maxStages, Int(machine.stagingBytes / sliceBytes))
                    if stages < 2 { continue }
                    for scheduler in schedulers {
                        for split in scheduler == .streamK || shape.groups != nil ? [1] : [1, 2, 4, 8, 16] {
                            if split > 1 && shape.k / split < 2 * bk { break }
                            let candidate = evaluate(
                                shape, bm: bm, bn: bn, bk: bk, stages: stages, split: split, scheduler: scheduler, b: b, outBytes: outBytes,
                                macsPerCycle: macsPerCycle, eta: eta, machine: machine,
                                aInL2: inputsInL2 && activationIsA, bInL2: inputsInL2 && !activationIsA, overlapEpilogue: overlapEpilogue)
                            if candidate.time < best.time { best = candidate }
                            // More splitting only helps while there are idle units to fill.
                            if candidate.tiles >= machine.units { break }
                        }
                    }
                }
            }
        }
        guard best.time.isFinite else {
            throw SimulationError(kernel: kernel, message: "no GEMM tile fits \(machine.spec.id)'s buffers for \(dtype.rawValue)")
        }
        var cost = best.cost
        cost.decomposition = best.decomposition
        if let family { cost.decomposition = family.id + ": " + cost.decomposition }
        cost.flops = 2 * Double(shape.m) * Double(shape.n) * Double(shape.k) * Double(shape.batch)
        let fixed = machine.launchOverhead + (family?.setupTime ?? machine.library.gemm.setupTime)
        cost.duration += fixed
        cost.matrixBusy = onMatrix ? cost.matrixBusy * (cost.duration - fixed) / cost.duration : 0
        if !onMatrix {
            // Run on the vector units (e.g. fp32 GEMM on CUDA cores): the MACs are vector FMAs.
            cost.vectorFlops = cost.macs * 2
            cost.macs = 0
        }
        cost.vectorBusy = onMatrix ? 0 : best.cost.matrixBusy
        cost.hbmBusy = cost.hbmBytes / machine.hbmBandwidth / cost.duration
        cost.classify(compute: best.computeTime, memory: best.memoryTime, fixed: fixed + best.fixedTime)
        cost.computeFraction = min(1, best.computeTime / cost.duration)
        return cost
    }

    /// GEMM outputs: 16-bit for 16- and 8-bit float inputs, 32-bit for fp32/tf32 and int8 (int32 accumulators).
    static func outputBytes(_ dtype: DataType) -> Double {
        switch dtype {
        case .fp64: return 8
        case .fp32, .tf32, .int8, .int4: return 4
        default: return 2
        }
    }

    struct Candidate {
        var time = Double.infinity
        var tiles = 0
        var cost = KernelCost()
        var computeTime = 0.0, memoryTime = 0.0, fixedTime = 0.0
        var tile = (m: 0, n: 0, k: 0)
        var stages = 0, split = 1, waves = 0
        var scheduler = KernelLibrary.GemmScheduler.dataParallel
        static let none = Candidate()

        /// Built once for the chosen candidate, never in the search loop.
        var decomposition: String {
            let schedule =
                scheduler == .streamK ? "stream-K over \(tiles) tiles" : "\(tiles) tiles in \(waves) wave\(waves == 1 ? "" : "s")"
            return "\(tile.m)x\(tile.n)x\(tile.k) tiles\(split > 1 ? ", split-k \(split)" : ""), \(schedule), \(stages) stages"
        }
    }

    static func evaluate(
        _ s: Shape, bm: Int, bn: Int, bk: Int, stages: Int, split: Int, scheduler: KernelLibrary.GemmScheduler, b: Double, outBytes: Double,
        macsPerCycle: Double, eta: Double, machine: Machine, aInL2: Bool, bInL2: Bool, overlapEpilogue: Bool = true
    ) -> Candidate {
        let units = machine.units
        // A grouped GEMM pads each group to whole row tiles (DeepGEMM's contiguous layout aligns
        // groups to the block; its masked layout skips the tiles past a group's rows).
        let tilesM = s.groups.map { $0.reduce(0) { $0 + ($1 + bm - 1) / bm } } ?? (s.m + bm - 1) / bm
        let tilesN = (s.n + bn - 1) / bn
        let tilesPerBatch = tilesM * tilesN
        let tiles = tilesPerBatch * s.batch * split
        let kPerSplit = (s.k + split - 1) / split
        let kSteps = max(1, (kPerSplit + bk - 1) / bk)
        let clock = machine.clock

        // L2 reuse decides HBM traffic. Tiles launch in raster groups of G tile rows sweeping
        // along N (the library's swizzle), so a wave covers r = G rows and c = W / G columns of
        // tiles. A wave reads the A panels of its rows and the B panels of its columns once (its
        // tiles share them). The next wave of the group reuses the A panels if one wave's panels
        // fit in the L2 that data shared chip-wide lives in; the next group reuses B if a whole
        // group's pass (its A panels and all of B) fits. Both raster directions are tried.
        let aTotal = Double(s.m) * Double(s.k) * b * Double(s.batch)
        let bTotal = Double(s.k) * Double(s.n) * b * Double(s.batch * (s.groups?.count ?? 1))
        let reuseCapacity = machine.l2SharedBytes
        let aFromHBM = aInL2 && aTotal <= reuseCapacity ? 0 : aTotal
        let bFromHBM = bInL2 && bTotal <= reuseCapacity ? 0 : bTotal
        var operandHBM = aFromHBM + bFromHBM
        if aTotal + bTotal > reuseCapacity {
            let wave = Double(min(units, tilesPerBatch))
            let group = Double(machine.library.gemm.rasterGroup)
            func traffic(rowsTotal: Int, colsTotal: Int, rowPanel: Double, colPanel: Double, rowBytes: Double, colBytes: Double) -> Double {
                let r = min(group, Double(rowsTotal))
                let c = min(Double(colsTotal), (wave / r).rounded(.up))
                let waveFootprint = r * rowPanel + c * colPanel
                let rowReads = waveFootprint <= reuseCapacity ? rowBytes : rowBytes * (Double(colsTotal) / c).rounded(.up)
                let groupFootprint = r * rowPanel + colBytes / Double(s.batch)
                let colReads = groupFootprint <= reuseCapacity ? colBytes : colBytes * (Double(rowsTotal) / r).rounded(.up)
                return rowReads + colReads
            }
            let aPanel = Double(bm) * Double(s.k) * b
            let bPanel = Double(bn) * Double(s.k) * b
            let alongN = traffic(
                rowsTotal: tilesM, colsTotal: tilesN, rowPanel: aPanel, colPanel: bPanel,
                rowBytes: aTotal <= reuseCapacity ? aFromHBM : aTotal, colBytes: bTotal <= reuseCapacity ? bFromHBM : bTotal)
            let alongM = traffic(
                rowsTotal: tilesN, colsTotal: tilesM, rowPanel: bPanel, colPanel: aPanel,
                rowBytes: bTotal <= reuseCapacity ? bFromHBM : bTotal, colBytes: aTotal <= reuseCapacity ? aFromHBM : aTotal)
            operandHBM = min(alongN, alongM)
            if let groups = s.groups {
                // Rasterised along N, a group's row tiles share its weights within a raster group;
                // a group taller than one re-reads them per raster group unless they stay in L2.
                let r = min(group, Double(tilesM))
                let c = min(Double(tilesN), (wave / r).rounded(.up))
                let aReads = r * aPanel + c * bPanel <= reuseCapacity ? aTotal : aTotal * (Double(tilesN) / c).rounded(.up)
                let weights = Double(s.k) * Double(s.n) * b
                var bReads = 0.0
                for rows in groups {
                    let rowTiles = Double((rows + bm - 1) / bm)
                    bReads += rowTiles <= r || r * aPanel + weights <= reuseCapacity ? weights : weights * (rowTiles / r).rounded(.up)
                }
                operandHBM = aReads + bReads
            }
        }
        let cBytes = Double(s.m) * Double(s.n) * outBytes * Double(s.batch)
        let sliceBytes = Double((bm + bn) * bk) * b
        // Units of a cluster working on neighbouring column tiles receive one A slice by multicast.
        let cluster = Double(min(machine.multicastUnits, tilesN))
        let l2SliceBytes = (Double(bm) / cluster + Double(bn)) * Double(bk) * b
        let totalSteps = Double(tiles) * Double(kSteps)
        let l2Traffic = totalSteps * l2SliceBytes
        let hbmPerSlice = max(operandHBM, 1) / totalSteps
        let missFraction = min(1, hbmPerSlice / l2SliceBytes)
        let latency = missFraction * machine.hbmLatency + (1 - missFraction) * machine.l2Latency
        let stepCompute = Double(bm * bn * bk) / macsPerCycle / eta / clock

        func waveTime(_ active: Int) -> (total: Double, compute: Double, memory: Double, fixed: Double, epilogue: Double) {
            let w = Double(active)
            let stepL2 = w * l2SliceBytes / machine.achievableL2Bandwidth
            let stepHBM = w * hbmPerSlice / machine.streamBandwidth
            let stepLittle = latency / Double(stages)
            let step = max(stepCompute, stepL2, stepHBM, stepLittle)
            let prologue = latency + max(stepL2, stepHBM)
            let epilogue = w * Double(bm * bn) * (split > 1 ? 4 : outBytes) / machine.streamBandwidth
            let compute = Double(kSteps) * stepCompute
            let memory = Double(kSteps) * max(stepL2, stepHBM, stepLittle)
            return (prologue + Double(kSteps) * step + epilogue, compute, memory, prologue + epilogue, epilogue)
        }
        let fullWaves = tiles / units
        let remainder = tiles % units
        var time = 0.0
        var compute = 0.0
        var memory = 0.0
        var fixed = 0.0
        var streamKFixup = 0.0
        // A full wave's cost, computed once where a schedule has one (and needed for stream-K).
        let fullWave = scheduler == .streamK || fullWaves > 0 ? Optional(waveTime(units)) : nil
        if scheduler == .streamK {
            // Persistent stream-K: every unit runs the same share of all tiles' k-iterations; a tile
            // split between units has its partial sums (fp32) passed through a workspace and added.
            let t = fullWave!
            let iterations = (Double(tiles) * Double(kSteps) / Double(units)).rounded(.up)
            let share = iterations / Double(kSteps)
            let splitTiles = remainder == 0 ? 0.0 : Double(min(units, tiles))
            streamKFixup = 2 * splitTiles * Double(bm * bn) * 4
            let fixup = remainder == 0 ? 0 : streamKFixup / machine.achievableL2Bandwidth + machine.l2Latency
            let tilesPerUnit = (Double(tiles) / Double(units)).rounded(.up)
            time = t.fixed * tilesPerUnit + (t.total - t.fixed) * share + fixup
            compute = t.compute * share
            memory = t.memory * share
            fixed = t.fixed * tilesPerUnit + fixup
        } else {
            if fullWaves > 0 {
                let t = fullWave!
                time += Double(fullWaves) * t.total
                compute += Double(fullWaves) * t.compute
                memory += Double(fullWaves) * t.memory
                fixed += Double(fullWaves) * t.fixed
            }
            if remainder > 0 {
                let t = waveTime(remainder)
                time += t.total
                compute += t.compute
                memory += t.memory
                fixed += t.fixed
            }
            // With two accumulator tiles (ping-pong), a unit's next tile runs its main loop while
            // the previous tile's epilogue writes C: every epilogue but the last hides behind the
            // next wave's k-steps.
            let waves = fullWaves + (remainder > 0 ? 1 : 0)
            if overlapEpilogue && machine.accumulatorTiles >= 2 && waves > 1 {
                let t = fullWave!
                let hidden = min(t.epilogue, t.total - t.fixed) * Double(waves - 1)
                time -= hidden
                fixed -= hidden
            }
        }
        var hbm = operandHBM + cBytes
        if split > 1 {
            // Partial sums in fp32 go through a workspace, then a second kernel (its own launch)
            // reduces them and writes C.
            let partials = Double(split) * Double(s.m) * Double(s.n) * 4 * Double(s.batch)
            let reduce = machine.launchOverhead + (partials + cBytes) / machine.streamBandwidth + machine.hbmLatency
            time += reduce
            fixed += reduce
            hbm += partials * 2
        }
        var cost = KernelCost()
        cost.duration = time
        cost.hbmBytes = hbm
        cost.l2Bytes = l2Traffic + cBytes + streamKFixup
        cost.bufferBytes = l2Traffic
        cost.unitsUsed = scheduler == .streamK ? units : min(units, tiles)
        cost.macs = Double(tiles) * Double(kSteps) * Double(bm * bn * bk)
        let wavesUsed = Double(fullWaves) + (remainder > 0 ? 1 : 0)
        cost.matrixBusy = min(1, cost.macs / (macsPerCycle * clock * Double(units)) / time)
        return Candidate(
            time: time, tiles: tiles, cost: cost, computeTime: compute, memoryTime: memory, fixedTime: fixed,
            tile: (bm, bn, bk), stages: stages, split: split, waves: Int(wavesUsed), scheduler: scheduler)
    }

    /// A grouped GEMM (mixture-of-experts) is one launch whose tiles of all groups share the
    /// waves: each group padded to whole row tiles, each with its own weights, costed by the same
    /// tile model as a GEMM.
    static func groupedCost(_ g: Op.GroupedGemm, _ dtype: DataType, _ machine: Machine, kernel: String) throws -> KernelCost {
        let active = g.mPerGroup.filter { $0 > 0 }
        guard !active.isEmpty else { throw SimulationError(kernel: kernel, message: "grouped_gemm: every group is empty") }
        let rows = active.reduce(0, +)
        var cost = try GemmModel.cost(
            .init(m: rows, n: g.n, k: g.k, batch: 1, impl: g.impl, groups: active), dtype, machine, kernel: kernel)
        cost.decomposition = "\(active.count) groups of \(rows / active.count) rows on average; " + cost.decomposition
        return cost
    }
}
