import Chips
import SimCore
import Simulator

/// Fits a chip's efficiency parameters to the calibration rows of measured data sets.
///
/// The procedure, repeatable and documented so a fitted value in a chip file can be re-derived:
/// 1. Start every fitted parameter from the same fixed point, whatever the chip file holds
///    (efficiencies 0.8, launch overhead 2 us, L2/HBM latencies 200/600 ns, harness overheads 0), so the result never depends on
///    an earlier fit; parameters not being fitted keep the chip file's values.
/// 2. For each parameter in turn, evaluate the objective — the mean over regimes (compute-bound
///    GEMM, memory-bound GEMM, element-wise, norm, ...) of each regime's MAPE on the calibration
///    rows, so that a regime with many rows cannot drown one with few — on a grid of 25 points
///    over the parameter's range, keep the best, then on a grid of 21 points over +-1 coarse step
///    around it (the objective is piecewise: tile choices switch).
/// 3. Repeat step 2 over all parameters three times (coordinate descent).
/// Only calibration rows are used; check rows are never seen.
public enum Calibrator {
    /// The value the fit minimises: the mean of per-regime MAPEs.
    public static func objective(_ predictions: [Validator.Prediction]) -> Double { Validator.balancedMAPE(predictions) }

    public enum Parameter: String, Sendable, CaseIterable {
        case matrix = "efficiency.matrix"
        case matrixFP8 = "efficiency.matrix_dtype.fp8"
        case vector = "efficiency.vector"
        case hbm = "efficiency.hbm"
        case rowwise = "efficiency.rowwise"
        case blockwise = "efficiency.blockwise"
        case gather = "efficiency.gather"
        case l2 = "efficiency.l2"
        case launchOverhead = "runtime.launch_overhead"
        /// The kernel library's fixed GEMM set-up time.
        case gemmSetup = "gemm.setup_time"
        /// Effective latencies a dependent load waits for (loaded, averaged over both L2 partitions).
        case l2Latency = "memory.l2.latency"
        case hbmLatency = "memory.hbm.latency"
        case clockPower = "power.clock_power"
        /// A common factor on every energy_per_mac entry (the dtype ratios are kept).
        case macEnergyScale = "power.energy_per_mac"
        /// The FP8 MAC energy alone (J): where FP8 GEMMs run under the power cap, it sets their clock.
        case macEnergyFP8 = "power.energy_per_mac.fp8"

        /// Figures of the chip's kernel library.
        case fa2MatrixRate = "attention.fa2.matrix_rate"
        case fa3SoftmaxOverlap = "attention.fa3.softmax_overlap"
        case fa2BackwardRate = "attention.fa2.backward_rate"

        /// vLLM's time per step outside the kernels on this stack (the library's `serving_engines.vllm`).
        case vllmPerStep = "serving.vllm.per_step"
        case vllmPerSequence = "serving.vllm.per_sequence"
        /// vLLM-Ascend's least time per kernel issued (host dispatch or NPU task launch; `serving_engines.vllm-ascend`).
        case vllmAscendPerKernel = "serving.vllm-ascend.per_kernel"

        /// The data set's harness overheads, eager and `torch.compile`d calls (not chip figures; see ``Harness``).
        case harness
        case harnessCompiled = "harness.compiled"
        /// The data set's host time of a BLAS call on top of an eager op's (``Harness/library``).
        case harnessLibrary = "harness.library"

        /// Where every fit of this parameter starts.
        var start: Double {
            switch self {
            case .launchOverhead: return 2e-6
            case .gemmSetup: return 0
            case .l2Latency: return 200e-9
            case .hbmLatency: return 600e-9
            case .clockPower: return 0
            case .macEnergyScale: return 1
            case .macEnergyFP8: return 0.5e-12
            case .harness, .harnessCompiled, .harnessLibrary: return 0
            case .vllmPerStep, .vllmPerSequence, .vllmAscendPerKernel: return 0
            default: return 0.8
            }
        }

        /// Whether the parameter is a serving engine's (fitted on the serving sets' latency, not their power).
        public var isServingEngine: Bool { self == .vllmPerStep || self == .vllmPerSequence || self == .vllmAscendPerKernel }

        var range: ClosedRange<Double> {
            switch self {
            case .launchOverhead: return 0.5e-6...20e-6
            case .gemmSetup: return 0...10e-6
            case .l2Latency: return 50e-9...650e-9
            case .hbmLatency: return 200e-9...1400e-9
            case .clockPower: return 0...1200
            case .macEnergyScale: return 0.2...2
            case .macEnergyFP8: return 0.2e-12...2e-12
            case .harness, .harnessCompiled, .harnessLibrary: return 0...100e-6
            case .vllmPerStep: return 0...5e-3
            case .vllmPerSequence: return 0...200e-6
            case .vllmAscendPerKernel: return 0...300e-6
            case .fa3SoftmaxOverlap: return 0...1
            default: return 0.1...1.0
            }
        }

        public func get(_ m: Machine) -> Double {
            switch self {
            case .matrix: return m.efficiency.matrix
            case .matrixFP8: return m.efficiency.matrix(.fp8)
            case .vector: return m.efficiency.vector
            case .hbm: return m.efficiency.hbm
            case .rowwise: return m.efficiency.rowwise
            case .blockwise: return m.efficiency.blockwise
            case .gather: return m.efficiency.gather
            case .l2: return m.efficiency.l2
            case .launchOverhead: return m.launchOverhead
            case .gemmSetup: return m.library.gemm.setupTime
            case .l2Latency: return m.l2Latency
            case .hbmLatency: return m.hbmLatency
            case .clockPower: return m.spec.power.clockPower.value
            case .macEnergyScale: return m.macEnergyScale
            case .macEnergyFP8: return m.spec.power.energyPerMAC[.fp8] ?? 0
            case .harness, .harnessCompiled, .harnessLibrary: return 0
            case .fa2MatrixRate: return m.library.attentionKernel("fa2")?.matrixRate ?? 0
            case .fa3SoftmaxOverlap: return m.library.attentionKernel("fa3")?.softmaxOverlap ?? 0
            case .fa2BackwardRate: return m.library.attentionKernel("fa2")?.backwardRate ?? 0
            case .vllmPerStep: return m.library.servingEngine("vllm")?.perStep ?? 0
            case .vllmPerSequence: return m.library.servingEngine("vllm")?.perSequence ?? 0
            case .vllmAscendPerKernel: return m.library.servingEngine("vllm-ascend")?.perKernel ?? 0
            }
        }

        func set(_ m: inout Machine, _ value: Double) {
            switch self {
            case .matrix: m.efficiency.matrix = value
            case .matrixFP8: m.efficiency.matrixByType[.fp8] = value
            case .vector: m.efficiency.vector = value
            case .hbm: m.efficiency.hbm = value
            case .rowwise: m.efficiency.rowwise = value
            case .blockwise: m.efficiency.blockwise = value
            case .gather: m.efficiency.gather = value
            case .l2: m.efficiency.l2 = value
            case .launchOverhead: m.launchOverhead = value
            case .gemmSetup: m.library.gemm.setupTime = value
            case .l2Latency: m.l2Latency = value
            case .hbmLatency: m.hbmLatency = value
            case .clockPower: m.spec.power.clockPower = Watts(value)
            case .macEnergyScale:
                let factor = value / m.macEnergyScale
                for (dtype, energy) in m.spec.power.energyPerMAC { m.spec.power.energyPerMAC[dtype] = energy * factor }
                m.macEnergyScale = value
            case .macEnergyFP8: m.spec.power.energyPerMAC[.fp8] = value
            case .harness, .harnessCompiled, .harnessLibrary: break
            case .fa2MatrixRate: m.library.setAttention("fa2") { $0.matrixRate = value }
            case .fa3SoftmaxOverlap: m.library.setAttention("fa3") { $0.softmaxOverlap = value }
            case .fa2BackwardRate: m.library.setAttention("fa2") { $0.backwardRate = value }
            case .vllmPerStep: m.library.setServingEngine("vllm") { $0.perStep = value }
            case .vllmPerSequence: m.library.setServingEngine("vllm") { $0.perSequence = value }
            case .vllmAscendPerKernel: m.library.setServingEngine("vllm-ascend") { $0.perKernel = value }
            }
        }
    }

    public struct Result: Sendable {
        public var values: [(Parameter, Double)]
        public var before: Double
        public var after: Double
        public var machine: Machine
        public var harness: Harness
        public var diagnostics: FitDiagnostics?
    }

    /// Fits `parameters` to minimise an arbitrary objective (used for power data sets).
    public static func fit(_ machine: Machine, parameters: [Parameter], rounds: Int = 3, objective: (Machine) throws -> Double) throws
        -> Result
    {
        let (state, before, after) = try search(State(machine: machine, harness: Harness()), parameters: parameters, rounds: rounds) {
            try objective($0.machine)
        }
        let diagnostics = try diagnose(state, parameters: parameters) { trial in
            let value = try objective(trial.machine)
            return (value, [value])
        }
        return Result(
            values: parameters.map { ($0, state.get($0)) }, before: before, after: after, machine: state.machine, harness: Harness(),
            diagnostics: diagnostics)
    }

    /// `harness`: the starting measurement overhead of the rows' data set (fitted too when listed).
    public static func fit(
        _ machine: Machine, rows: [ValidationRow], parameters: [Parameter], harness: Harness = Harness(), rounds: Int = 3
    ) throws -> Result {
        let calibration = rows.filter { $0.split == .calibration }
        func objective(_ state: State) throws -> Double {
            Validator.balancedMAPE(try Validator.predict(calibration, on: state.machine, harness: state.harness))
        }
        let (state, before, after) = try search(
            State(machine: machine, harness: harness), parameters: parameters, rounds: rounds, objective: objective)
        let diagnostics = try diagnose(state, parameters: parameters) { trial in
            let predictions = try Validator.predict(calibration, on: trial.machine, harness: trial.harness)
            return (Validator.balancedMAPE(predictions), weightedResiduals(predictions))
        }
        return Result(
            values: parameters.map { ($0, state.get($0)) }, before: before, after: after, machine: state.machine, harness: state.harness,
            diagnostics: diagnostics)
    }

    /// Diagnoses the values a machine holds now (a chip file's fitted values) without fitting.
    public static func diagnose(_ machine: Machine, rows: [ValidationRow], parameters: [Parameter], harness: Harness = Harness()) throws
        -> FitDiagnostics
    {
        let calibration = rows.filter { $0.split == .calibration }
        return try diagnose(State(machine: machine, harness: harness), parameters: parameters) { trial in
            let predictions = try Validator.predict(calibration, on: trial.machine, harness: trial.harness)
            return (Validator.balancedMAPE(predictions), weightedResiduals(predictions))
        }
    }

    /// A short hash of the calibration rows a fit sees (label, regime and measured value of each, in
    /// order): a fitted figure's `data:` in a chip file, so a change of data or split shows as stale.
    public static func dataHash(_ rows: [ValidationRow]) -> String {
        let text = rows.filter { $0.split == .calibration }.map { "\($0.label)|\($0.regime)|\($0.measured)" }.joined(separator: "\n")
        return "sha256:" + ContentHash.sha256(text).prefix(16)
    }

    /// The same for a power set: its calibration predictions' labels and measured values.
    public static func dataHash(_ predictions: [PowerPrediction]) -> String {
        let text = predictions.filter { $0.split == .calibration }.map { p in
            p.label + "|" + p.measured.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }.joined(separator: "\n")
        return "sha256:" + ContentHash.sha256(text).prefix(16)
    }

    /// What a fit adjusts: the machine's figures and the data set's harness overhead.
    struct State {
        var machine: Machine
        var harness: Harness
        func get(_ p: Parameter) -> Double {
            switch p {
            case .harness: return harness.eager
            case .harnessCompiled: return harness.compiled
            case .harnessLibrary: return harness.library
            default: return p.get(machine)
            }
        }
        mutating func set(_ p: Parameter, _ value: Double) {
            switch p {
            case .harness: harness.eager = value
            case .harnessCompiled: harness.compiled = value
            case .harnessLibrary: harness.library = value
            default: p.set(&machine, value)
            }
        }
    }

    /// The procedure itself: fixed start, coarse then fine grid per parameter, coordinate descent.
    /// Returns the fitted state and the objective before (the file's values) and after.
    static func search(_ initial: State, parameters: [Parameter], rounds: Int, objective: (State) throws -> Double) throws -> (
        State, Double, Double
    ) {
        let before = try objective(initial)
        var current = initial
        for parameter in parameters { current.set(parameter, parameter.start) }
        var best = try objective(current)
        for _ in 0..<rounds {
            for parameter in parameters {
                let range = parameter.range
                let coarseStep = (range.upperBound - range.lowerBound) / 24
                var bestValue = current.get(parameter)
                func evaluate(_ value: Double) throws {
                    var trial = current
                    trial.set(parameter, value)
                    let error = try objective(trial)
                    if error < best - 1e-12 {
                        best = error
                        bestValue = value
                    }
                }
                for i in 0...24 { try evaluate(range.lowerBound + Double(i) * coarseStep) }
                let low = max(range.lowerBound, bestValue - coarseStep)
                for i in 0...20 {
                    let value = low + Double(i) * coarseStep / 10
                    guard value <= range.upperBound else { break }
                    try evaluate(value)
                }
                current.set(parameter, bestValue)
            }
        }
        return (current, before, best)
    }
}

/// How well a fit pins its parameters down: what `xpusim calibrate` prints after the values.
public struct FitDiagnostics: Sendable {
    public struct Entry: Sendable {
        public var parameter: Calibrator.Parameter
        public var value: Double
        /// The rise of the objective when the parameter moves one coarse step (1/24 of its range)
        /// away from the fitted value, the worse of both directions (absolute, 0.01 = 1 point).
        public var sensitivity: Double
        /// The fitted value sits within one fine step of a bound of its range.
        public var atBound: Bool
    }
    public var entries: [Entry]
    /// Correlations between fitted parameters from the residuals' Jacobian, (JᵀJ)⁻¹ normalised;
    /// nil where JᵀJ is singular (some parameter has no effect on any row).
    public var correlation: [[Double]]?

    /// Pairs whose correlation exceeds `limit` in magnitude: a ridge the data cannot resolve.
    public func ridges(limit: Double = 0.95) -> [(Calibrator.Parameter, Calibrator.Parameter, Double)] {
        guard let correlation else { return [] }
        var result: [(Calibrator.Parameter, Calibrator.Parameter, Double)] = []
        for i in entries.indices {
            for j in entries.indices where j > i && abs(correlation[i][j]) > limit {
                result.append((entries[i].parameter, entries[j].parameter, correlation[i][j]))
            }
        }
        return result
    }
}

extension Calibrator {
    /// Diagnoses a fitted state: per-parameter sensitivity and bound, and the correlation matrix.
    /// `residuals` gives one signed error per calibration row, weighted as the objective weighs it.
    /// `evaluate` gives a trial's objective and its weighted residuals from one prediction.
    static func diagnose(
        _ state: State, parameters: [Parameter], evaluate: (State) throws -> (objective: Double, residuals: [Double])
    ) throws -> FitDiagnostics {
        let (base, r0) = try evaluate(state)
        var entries: [FitDiagnostics.Entry] = []
        var jacobian: [[Double]] = []
        for parameter in parameters {
            let range = parameter.range
            let step = (range.upperBound - range.lowerBound) / 24
            let value = state.get(parameter)
            let up = min(range.upperBound, value + step)
            let down = max(range.lowerBound, value - step)
            var trialUp = state
            trialUp.set(parameter, up)
            var trialDown = state
            trialDown.set(parameter, down)
            let (upObjective, rUp) = up > value ? try evaluate(trialUp) : (base, r0)
            let (downObjective, rDown) = down < value ? try evaluate(trialDown) : (base, r0)
            let rise = max(0, upObjective - base, downObjective - base)
            var column = Array(repeating: 0.0, count: r0.count)
            if up > down { for k in column.indices { column[k] = (rUp[k] - rDown[k]) / (up - down) * step } }
            jacobian.append(column)
            let fine = step / 10
            entries.append(
                .init(
                    parameter: parameter, value: value, sensitivity: rise,
                    atBound: value - range.lowerBound < fine * 0.999 || range.upperBound - value < fine * 0.999))
        }
        return FitDiagnostics(entries: entries, correlation: correlations(jacobian))
    }

    /// (JᵀJ)⁻¹ normalised to unit diagonal; `columns[i]` is ∂r/∂θᵢ. Gauss-Jordan with pivoting.
    static func correlations(_ columns: [[Double]]) -> [[Double]]? {
        let n = columns.count
        guard n > 0 else { return nil }
        var a = Array(repeating: Array(repeating: 0.0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in columns[i].indices { sum += columns[i][k] * columns[j][k] }
                a[i][j] = sum
            }
        }
        let scale = a.indices.map { a[$0][$0] }.max() ?? 0
        guard scale > 0 else { return nil }
        var inverse = (0..<n).map { i in (0..<n).map { j in i == j ? 1.0 : 0.0 } }
        for col in 0..<n {
            guard let pivot = (col..<n).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 1e-12 * scale else {
                return nil
            }
            a.swapAt(col, pivot)
            inverse.swapAt(col, pivot)
            let p = a[col][col]
            for j in 0..<n {
                a[col][j] /= p
                inverse[col][j] /= p
            }
            for i in 0..<n where i != col {
                let f = a[i][col]
                guard f != 0 else { continue }
                for j in 0..<n {
                    a[i][j] -= f * a[col][j]
                    inverse[i][j] -= f * inverse[col][j]
                }
            }
        }
        var result = inverse
        for i in 0..<n {
            for j in 0..<n {
                let norm: Double = (inverse[i][i] * inverse[j][j]).squareRoot()
                result[i][j] = inverse[i][j] / norm
            }
        }
        return result
    }

    /// One residual per calibration row, weighted so that each regime counts equally (as in the objective).
    static func weightedResiduals(_ predictions: [Validator.Prediction]) -> [Double] {
        var counts: [String: Int] = [:]
        for p in predictions { counts[p.row.regime, default: 0] += 1 }
        return predictions.map { $0.error / Double(counts[$0.row.regime]!).squareRoot() }
    }
}
