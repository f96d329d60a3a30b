import Chips
import Estimates
import Foundation
import Simulator
import Systems
import TestSupport
import Workloads
import XCTest

final class ReliabilityTests: XCTestCase {
    let chips = packageRoot + "/chips"
    func model(_ id: String) throws -> ModelDescription { try ModelCatalog.resolve(id, directory: packageRoot + "/workloads/models").model }

    /// The interval that maximises the exact expected goodput under exponential faults (Daly's
    /// model) is Daly's higher-order interval within 1% and Young's within a few per cent, while
    /// the checkpoint is small against the MTTI; it does not depend on the restart time.
    func testOptimalIntervalMatchesYoungAndDaly() {
        for (stall, mtti) in [(60.0, 3.1 * 3600), (10.0, 24 * 3600.0), (300.0, 6 * 3600.0), (2.8, 3.1 * 3600)] {
            let best = Goodput.optimalInterval(rate: 1 / mtti, stall: stall, restart: 600)
            XCTAssertEqual(best, Goodput.daly(stall: stall, mtti: mtti), accuracy: 0.01 * best, "stall \(stall), MTTI \(mtti)")
            if stall / mtti < 0.005 {
                XCTAssertEqual(best, Goodput.young(stall: stall, mtti: mtti), accuracy: 0.05 * best, "stall \(stall), MTTI \(mtti)")
            }
            XCTAssertEqual(Goodput.optimalInterval(rate: 1 / mtti, stall: stall, restart: 3600), best, accuracy: 1e-3 * best)
        }
        // The reference's worked example: M = 3.1 h, delta = 60 s gives about 19 minutes.
        XCTAssertEqual(Goodput.young(stall: 60, mtti: 3.1 * 3600) / 60, 19.3, accuracy: 0.1)
        // The expected times per segment add up, and goodput is close to the first-order 1 - d/t - (t/2 + R)/M.
        let g = Goodput(rate: 1 / (3.1 * 3600), interval: 1200, stall: 60, restart: 600)
        XCTAssertEqual(g.interval + g.checkpointTime + g.reworkTime + g.restartTime, g.segmentTime, accuracy: 1e-6 * g.segmentTime)
        XCTAssertEqual(g.fraction, 1 - 60.0 / 1200 - (600 + 600) / (3.1 * 3600), accuracy: 0.015)
    }

    /// Over many runs the Monte Carlo's median goodput and fault count converge to the analytic
    /// expectation, synchronous and asynchronous, and a seed gives the same runs every time.
    func testMonteCarloConvergesToTheExpectation() {
        let rates = FailureRates(perSecond: [.accelerator: 1 / (4 * 3600.0), .software: 1 / (12 * 3600.0)])
        for asynchronous in [false, true] {
            let stall = asynchronous ? 5.0 : 60.0
            let write = 120.0
            let pending = asynchronous ? write : 0
            let interval = Goodput.optimalInterval(rate: rates.total, stall: stall, restart: 900, pendingWrite: pending, minimum: write)
            let g = Goodput(rate: rates.total, interval: interval, stall: stall, restart: 900, pendingWrite: pending)
            let wall = 60 * 86_400.0
            let runs = MonteCarlo.runs(
                trials: 400, seed: 7, rates: rates, interval: interval, stall: stall, writeTime: write, asynchronous: asynchronous,
                restart: 900, horizon: .wall(wall))
            let goodput = Spread(runs.map(\.fraction))
            XCTAssertEqual(goodput.median, g.fraction, accuracy: 0.002, "asynchronous \(asynchronous)")
            XCTAssertLessThan(goodput.p10, goodput.median)
            XCTAssertGreaterThan(goodput.p90, goodput.median)
            let expected = wall / g.segmentTime * g.faultsPerSegment
            XCTAssertEqual(Spread(runs.map { Double($0.faultCount) }).median, expected, accuracy: expected * 0.03)
            // Classes in proportion to their rates (three to one here).
            let accelerator = Double(runs.map { $0.faults[.accelerator] ?? 0 }.reduce(0, +))
            let software = Double(runs.map { $0.faults[.software] ?? 0 }.reduce(0, +))
            XCTAssertEqual(accelerator / software, 3, accuracy: 0.15)
            for run in runs.prefix(20) {
                XCTAssertEqual(run.usefulTime + run.checkpointTime + run.reworkTime + run.restartTime, run.wallTime, accuracy: 1e-6 * wall)
            }
        }
        let a = MonteCarlo.runs(
            trials: 8, seed: 3, rates: rates, interval: 600, stall: 10, writeTime: 10, asynchronous: false, restart: 300,
            horizon: .work(86_400))
        let b = MonteCarlo.runs(
            trials: 8, seed: 3, rates: rates, interval: 600, stall: 10, writeTime: 10, asynchronous: false, restart: 300,
            horizon: .work(86_400))
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.allSatisfy { abs($0.usefulTime - 86_400) < 1e-6 })
    }

    func longRun(
        _ system: SystemSpec, _ m: ModelDescription, tp: Int, pp: Int, globalBatch: Int, ambient: Double? = nil, swing: Double = 0
    ) throws -> LongRunEstimate {
        let conditions = RunConditions(ambient: ambient, cooling: .air)
        let request = TrainingRequest(
            model: m, globalBatch: globalBatch, seq: 4096, parallelism: Parallelism(tp: tp, pp: pp, dp: system.totalDevices / (tp * pp)),
            recompute: true, conditions: conditions)
        return try LongRunEstimator.estimate(request, LongRunRequest(length: .days(30), ambientSwing: swing), system: system)
    }

    /// The same job on a larger cluster sees more faults, so a smaller fraction of its time is useful.
    func testGoodputFallsAsTheClusterGrows() throws {
        let m = try model("llama-3-8b")
        var last = 1.0
        for nodes in [16, 128, 1024] {
            let system = try SystemCatalog.resolve("dgx-h100", nodes: nodes, chips: chips)
            let e = try longRun(system, m, tp: 1, pp: 1, globalBatch: nodes * 8 * 2)
            XCTAssertLessThan(e.goodput.fraction, last, "\(nodes) nodes")
            last = e.goodput.fraction
        }
        XCTAssertLessThan(last, 0.98)
    }

    /// A hotter ambient under air cooling lowers goodput twice: the clock (the power controller
    /// holds the junction under its limit) and the fault rate (Arrhenius on the hotter junction).
    func testHotterAmbientLowersGoodputThroughClockAndFailures() throws {
        let system = try SystemCatalog.resolve("dgx-h100", nodes: 128, chips: chips)
        let m = try model("llama-3-8b")
        let cool = try longRun(system, m, tp: 1, pp: 1, globalBatch: 1024, ambient: 25)
        let hot = try longRun(system, m, tp: 1, pp: 1, globalBatch: 1024, ambient: 40)
        XCTAssertGreaterThan(hot.temperature, cool.temperature + 10)
        XCTAssertLessThan(hot.step.clock, cool.step.clock)
        XCTAssertLessThan(hot.tokensPerSecond, cool.tokensPerSecond)
        XCTAssertGreaterThan(hot.rates.perSecond[.accelerator]!, cool.rates.perSecond[.accelerator]! * 1.5)
        XCTAssertEqual(hot.rates.perSecond[.host]!, cool.rates.perSecond[.host]!)
        XCTAssertLessThan(hot.goodput.fraction, cool.goodput.fraction)
        XCTAssertLessThan(hot.effectiveTokensPerDay, cool.effectiveTokensPerDay)
        // A daily swing of the ambient spreads the throughput around the mean day's.
        let swing = try longRun(system, m, tp: 1, pp: 1, globalBatch: 1024, ambient: 30, swing: 8)
        XCTAssertLessThan(swing.tokensPerSecondRange.lowerBound, swing.tokensPerSecondRange.upperBound)
        XCTAssertTrue(swing.tokensPerSecondRange.contains(swing.tokensPerSecond))
    }

    /// Rates follow the Arrhenius law from the chip's figures: a doubling per about 12.5 K at 0.6 eV near 75 C.
    func testArrheniusAndPerDeviceRates() throws {
        XCTAssertEqual(FailureModel.acceleration(temperature: 87.3, reference: 74.8, activationEnergy: 0.6), 2, accuracy: 0.05)
        XCTAssertEqual(FailureModel.acceleration(temperature: 50, reference: 50, activationEnergy: 0.6), 1)
        // A 910C package is two devices: each fails half as often as the package.
        let a3 = try SystemCatalog.resolve("atlas-800t-a3", chips: chips)
        let package = a3.chip.reliability.acceleratorMTBF!
        XCTAssertEqual(a3.chip.device.reliability.acceleratorMTBF!, 2 * package)
        let rates = try FailureModel.rates(ranks: 16, system: a3, temperature: a3.chip.reliability.referenceTemperature!)
        XCTAssertEqual(rates.perSecond[.accelerator]!, 8 / package, accuracy: 1e-12)
        XCTAssertEqual(rates.perSecond[.host]!, 1 / a3.reliability.hostMTBF!, accuracy: 1e-15)
    }

    /// Checkpoints are 14 bytes per parameter; asynchronous ones stall only for the copy to host.
    func testCheckpointPlan() throws {
        let system = try SystemCatalog.resolve("dgx-h100", nodes: 16, chips: chips)
        let m = try model("llama-3-70b")
        let p = Parallelism(tp: 8, pp: 4, dp: 4)
        let sync = try CheckpointPlan.plan(model: m, parallelism: p, system: system, asynchronous: false)
        XCTAssertEqual(sync.bytes, 14 * Double(m.parameters))
        XCTAssertEqual(sync.writeTime, sync.bytes / (16 * system.storage.writeBandwidth!), accuracy: 1e-9)
        XCTAssertEqual(sync.stall, sync.writeTime)
        let capped = try CheckpointPlan.plan(model: m, parallelism: p, system: system, asynchronous: false, aggregate: 1e11)
        XCTAssertEqual(capped.writeTime, sync.bytes / 1e11, accuracy: 1e-9)
        let async = try CheckpointPlan.plan(model: m, parallelism: p, system: system, asynchronous: true, aggregate: 1e11)
        XCTAssertLessThan(async.stall, capped.stall / 10)
        XCTAssertEqual(async.writeTime, capped.writeTime)
        XCTAssertEqual(async.restart, async.detection + async.reschedule + async.reloadTime + async.warmup)
    }
}
