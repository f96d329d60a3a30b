import SimCore
import XCTest

/// Hand-computed cases of max-min fair sharing (progressive filling).
final class FlowNetworkTests: XCTestCase {
    func testTwoFlowsOnOneLinkShareItAndFinishTogether() {
        var network = FlowNetwork()
        let link = network.addResource("link", capacity: 100e9)
        let a = network.startFlow(amount: 1e9, path: [link])
        let b = network.startFlow(amount: 1e9, path: [link])
        XCTAssertEqual(network.rate(of: a), 50e9, accuracy: 1)
        XCTAssertEqual(network.rate(of: b), 50e9, accuracy: 1)
        let t = try! XCTUnwrap(network.nextEventTime)
        XCTAssertEqual(t, 0.02, accuracy: 1e-12)
        XCTAssertEqual(network.advance(to: t), [a, b])
        XCTAssertEqual(network.liveFlows, 0)
    }

    func testAFlowCrossingTwoBottlenecksTakesTheSmallerShare() {
        // Links X (10) and Y (6). Flow 1 crosses both, flow 2 only X, flow 3 only Y.
        // Y fills first at level 3 (flows 1 and 3 get 3); flow 2 then takes what X has left: 7.
        var network = FlowNetwork()
        let x = network.addResource("x", capacity: 10), y = network.addResource("y", capacity: 6)
        let f1 = network.startFlow(amount: 100, path: [x, y])
        let f2 = network.startFlow(amount: 100, path: [x])
        let f3 = network.startFlow(amount: 100, path: [y])
        XCTAssertEqual(network.rate(of: f1), 3, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: f2), 7, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: f3), 3, accuracy: 1e-12)
        XCTAssertEqual(network.load(on: x), 10, accuracy: 1e-12)
        XCTAssertEqual(network.load(on: y), 6, accuracy: 1e-12)
    }

    func testACappedFlowLeavesTheRestToAnUncappedOne() {
        var network = FlowNetwork()
        let link = network.addResource("link", capacity: 100)
        let capped = network.startFlow(amount: 1000, path: [link], cap: 20)
        let free = network.startFlow(amount: 1000, path: [link])
        XCTAssertEqual(network.rate(of: capped), 20, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: free), 80, accuracy: 1e-12)
    }

    func testAFlowThatStartsWhileAnotherRunsSlowsItFromThenOn() {
        // A: 100 bytes on a 10 B/s link. At t = 4 (60 left) B starts with 20 bytes: both run at 5;
        // B ends at t = 8 (A has 40 left), then A runs alone at 10 and ends at t = 12.
        var network = FlowNetwork()
        let link = network.addResource("link", capacity: 10)
        let a = network.startFlow(amount: 100, path: [link])
        XCTAssertEqual(network.advance(to: 4), [])
        XCTAssertEqual(network.remaining(of: a), 60, accuracy: 1e-9)
        let b = network.startFlow(amount: 20, path: [link])
        XCTAssertEqual(network.rate(of: a), 5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(network.nextEventTime), 8, accuracy: 1e-9)
        XCTAssertEqual(network.advance(to: 8), [b])
        XCTAssertEqual(network.rate(of: a), 10, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(network.nextEventTime), 12, accuracy: 1e-9)
        XCTAssertEqual(network.advance(to: 12), [a])
    }

    func testWeightsAndUsageCoefficients() {
        // Two kernels on 100 units of HBM: one uses 2 bytes per unit of progress, one 1 byte.
        // Weighted by 1 and 2, their rates are level and 2 x level; 2 L + 2 L = 100 gives L = 25.
        var network = FlowNetwork()
        let hbm = network.addResource("hbm", capacity: 100)
        let a = network.startFlow(amount: 10, path: [FlowNetwork.Hop(hbm, usage: 2)], weight: 1)
        let b = network.startFlow(amount: 10, path: [FlowNetwork.Hop(hbm, usage: 1)], weight: 2)
        XCTAssertEqual(network.rate(of: a), 25, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: b), 50, accuracy: 1e-12)
        network.reshape(b, cap: 10)
        XCTAssertEqual(network.rate(of: b), 10, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: a), 45, accuracy: 1e-12)
    }

    func testLatencyDelaysTheStart() {
        var network = FlowNetwork()
        let link = network.addResource("link", capacity: 10, latency: 1)
        let a = network.startFlow(amount: 10, path: [link])
        XCTAssertEqual(network.rate(of: a), 0)
        XCTAssertEqual(try XCTUnwrap(network.nextEventTime), 1, accuracy: 1e-12)
        XCTAssertEqual(network.advance(to: 1), [])
        XCTAssertEqual(network.rate(of: a), 10)
        XCTAssertEqual(network.advance(to: 2), [a])
    }

    /// Late in a long run, a flow's last sliver can take less time than the clock resolves; it must
    /// still finish rather than stall time.
    func testTinyRemaindersFinishLateInALongRun() {
        var network = FlowNetwork()
        let link = network.addResource("link", capacity: 1e6)
        _ = network.advance(to: 1e4)
        var finished = 0
        for _ in 0..<1000 {
            _ = network.startFlow(amount: 1 + 1e-7, path: [link])
            var steps = 0
            while let t = network.nextEventTime, steps < 10 {
                finished += network.advance(to: t).count
                steps += 1
            }
        }
        XCTAssertEqual(finished, 1000)
        XCTAssertNil(network.nextEventTime)
    }

    /// A resource a flow uses nothing of does not freeze it when it fills.
    func testAHopOfZeroUsageDoesNotLimitAFlow() {
        var network = FlowNetwork()
        let units = network.addResource("units", capacity: 10), hbm = network.addResource("hbm", capacity: 100)
        let gemm = network.startFlow(amount: 1000, path: [FlowNetwork.Hop(units, usage: 1)])
        let copy = network.startFlow(amount: 1000, path: [FlowNetwork.Hop(units, usage: 0), FlowNetwork.Hop(hbm, usage: 1)])
        XCTAssertEqual(network.rate(of: gemm), 10, accuracy: 1e-12)
        XCTAssertEqual(network.rate(of: copy), 100, accuracy: 1e-12)
    }

    func testEventQueueKeepsSchedulingOrderAtEqualTimes() {
        var queue = EventQueue<Int>()
        queue.schedule(3, at: 1)
        queue.schedule(1, at: 0)
        queue.schedule(2, at: 1)
        XCTAssertEqual(queue.next()?.event, 1)
        XCTAssertEqual(queue.next()?.event, 3)
        XCTAssertEqual(queue.next()?.event, 2)
        XCTAssertEqual(queue.now, 1)
        XCTAssertNil(queue.next())
    }

    /// Random flows on random paths: rates never exceed a capacity or a cap, and every flow finishes
    /// with exactly its amount delivered (the invariants also run inside the network in debug builds).
    func testRandomNetworksConserveBytesAndRespectCapacities() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<50 {
            var network = FlowNetwork()
            let resources = (0..<4).map { network.addResource("r\($0)", capacity: 1 + rng.unit() * 9) }
            var total = 0.0
            var started = 0
            var done = 0
            for _ in 0..<12 {
                let path = resources.filter { _ in rng.unit() < 0.5 }
                let amount = rng.unit() * 10
                total += amount
                _ = network.startFlow(amount: amount, path: path.isEmpty ? [resources[0]] : path, cap: rng.unit() < 0.3 ? 0.5 + rng.unit() : nil)
                started += 1
                for r in resources { XCTAssertLessThanOrEqual(network.load(on: r), network.resource(r).capacity * (1 + 1e-9)) }
                if rng.unit() < 0.5, let t = network.nextEventTime { done += network.advance(to: t).count }
            }
            while let t = network.nextEventTime { done += network.advance(to: t).count }
            XCTAssertEqual(done, started)
            XCTAssertGreaterThan(total, 0)
        }
    }
}

/// A small repeatable generator for property tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
