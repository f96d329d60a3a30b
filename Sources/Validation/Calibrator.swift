import Chips
import Simulator

/// Fits a chip's efficiency parameters to the calibration rows of measured data sets.
///
/// The procedure, repeatable and documented so a fitted value in a chip file can be re-derived:
/// 1. Start from the chip file's values.
/// 2. For each parameter in turn, evaluate the mean absolute percentage error (MAPE) of the
///    calibration rows on a grid of 25 points over the parameter's range, keep the best, then on a
///    grid of 21 points over +-1 coarse step around it (the objective is piecewise: tile choices switch).
/// 3. Repeat step 2 over all parameters three times (coordinate descent).
/// Only calibration rows are used; check rows are never seen.
public enum Calibrator {
    public enum Parameter: String, Sendable, CaseIterable {
        case matrix = "efficiency.matrix"
        case matrixFP8 = "efficiency.matrix_dtype.fp8"
        case vector = "efficiency.vector"
        case hbm = "efficiency.hbm"
        case l2 = "efficiency.l2"
        case launchOverhead = "runtime.launch_overhead"

        var range: ClosedRange<Double> {
            switch self {
            case .launchOverhead: return 0.5e-6...20e-6
            default: return 0.3...1.0
            }
        }

        func get(_ m: Machine) -> Double {
            switch self {
            case .matrix: return m.efficiency.matrix
            case .matrixFP8: return m.efficiency.matrix(.fp8)
            case .vector: return m.efficiency.vector
            case .hbm: return m.efficiency.hbm
            case .l2: return m.efficiency.l2
            case .launchOverhead: return m.launchOverhead
            }
        }

        func set(_ m: inout Machine, _ value: Double) {
            switch self {
            case .matrix: m.efficiency.matrix = value
            case .matrixFP8: m.efficiency.matrixByType[.fp8] = value
            case .vector: m.efficiency.vector = value
            case .hbm: m.efficiency.hbm = value
            case .l2: m.efficiency.l2 = value
            case .launchOverhead: m.launchOverhead = value
            }
        }
    }

    public struct Result: Sendable {
        public var values: [(Parameter, Double)]
        public var before: Double
        public var after: Double
        public var machine: Machine
    }

    public static func fit(_ machine: Machine, rows: [ValidationRow], parameters: [Parameter], rounds: Int = 3) throws -> Result {
        let calibration = rows.filter { $0.split == .calibration }
        var current = machine
        func objective(_ m: Machine) throws -> Double { Validator.mape(try Validator.predict(calibration, on: m)) }
        let before = try objective(current)
        var best = before
        for _ in 0..<rounds {
            for parameter in parameters {
                let range = parameter.range
                let coarseStep = (range.upperBound - range.lowerBound) / 24
                var bestValue = parameter.get(current)
                for i in 0...24 {
                    var trial = current
                    let value = range.lowerBound + Double(i) * coarseStep
                    parameter.set(&trial, value)
                    let error = try objective(trial)
                    if error < best - 1e-12 { best = error; bestValue = value }
                }
                let low = max(range.lowerBound, bestValue - coarseStep)
                for i in 0...20 {
                    var trial = current
                    let value = low + Double(i) * coarseStep / 10
                    guard value <= range.upperBound else { break }
                    parameter.set(&trial, value)
                    let error = try objective(trial)
                    if error < best - 1e-12 { best = error; bestValue = value }
                }
                parameter.set(&current, bestValue)
            }
        }
        return Result(values: parameters.map { ($0, $0.get(current)) }, before: before, after: best, machine: current)
    }
}
