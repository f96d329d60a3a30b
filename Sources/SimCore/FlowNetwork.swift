/// Flows over shared resources with max-min fair rates, recomputed whenever a flow starts or ends.
///
/// A resource (an HBM stack, an L2, a chip's compute units, a link, a switch port) has a capacity,
/// in its own unit per second (bytes/s, operations/s, units), and a latency a flow pays once before
/// it moves. A flow has an amount left, a path (each resource it crosses, with how much of that
/// resource one unit of the flow uses), an optional rate cap and a weight. Rates follow weighted
/// progressive filling: every unfrozen flow runs at `weight x level`; the level rises until a flow
/// reaches its cap or a resource fills, which freezes the flows concerned; repeat until every flow is
/// frozen. The result is the max-min fair allocation (Bertsekas and Gallager, Data Networks, 6.5.2).
///
/// ```swift
/// var network = FlowNetwork()
/// let link = network.addResource("nvlink", capacity: 100e9)
/// let a = network.startFlow(amount: 1e9, path: [link])
/// let b = network.startFlow(amount: 1e9, path: [link])
/// network.rate(of: a)              // 50e9: two flows share the link equally
/// network.advance(to: network.nextEventTime!)   // both finish at 0.02 s
/// ```
///
/// Rates change only at events, so time jumps from one to the next. In debug and test builds every
/// allocation checks that no resource carries more than its capacity, no flow exceeds its cap, time
/// never goes back and every flow's delivered plus remaining amount equals what it started with.
public struct FlowNetwork: Sendable {
    public struct ResourceID: Hashable, Sendable { public let index: Int }
    public struct FlowID: Hashable, Sendable { public let index: Int }

    public struct Resource: Sendable {
        public var name: String
        public var capacity: Double
        public var latency: Double
    }

    /// One resource a flow crosses and how much of it a unit of the flow uses (1 for a byte on a link).
    public struct Hop: Sendable {
        public var resource: ResourceID
        public var usage: Double
        public init(_ resource: ResourceID, usage: Double = 1) {
            self.resource = resource
            self.usage = usage
        }
    }

    struct Flow: Sendable {
        var path: [Hop]
        var amount: Double
        var remaining: Double
        var delivered = 0.0
        var cap: Double?
        var weight: Double
        var rate = 0.0
        /// When it starts moving (after the latency of its path).
        var startsAt: Double
        var live = true
        var frozen = false
    }

    public private(set) var resources: [Resource] = []
    var flows: [Flow] = []
    var free: [Int] = []
    /// Live flow slots, in the order they started (deterministic iteration).
    var live: [Int] = []
    public private(set) var now = 0.0
    /// Per-resource scratch for the allocation, kept to avoid allocating on every event.
    var used: [Double] = []
    var slope: [Double] = []

    public init() {}

    @discardableResult
    public mutating func addResource(_ name: String, capacity: Double, latency: Double = 0) -> ResourceID {
        precondition(capacity > 0 && capacity.isFinite, "resource \(name): capacity must be positive, got \(capacity)")
        precondition(latency >= 0, "resource \(name): latency must not be negative")
        resources.append(Resource(name: name, capacity: capacity, latency: latency))
        used.append(0)
        slope.append(0)
        return ResourceID(index: resources.count - 1)
    }

    public func resource(_ id: ResourceID) -> Resource { resources[id.index] }

    /// Starts a flow now; it moves once its path's latency has passed.
    public mutating func startFlow(amount: Double, path: [Hop], cap: Double? = nil, weight: Double = 1) -> FlowID {
        precondition(amount >= 0 && amount.isFinite, "flow amount must be finite and not negative, got \(amount)")
        precondition(weight > 0, "flow weight must be positive")
        precondition(cap.map { $0 > 0 } ?? true, "flow cap must be positive")
        precondition(cap != nil || path.contains { $0.usage > 0 }, "a flow needs a cap or a resource on its path")
        precondition(path.allSatisfy { $0.usage >= 0 }, "a hop's usage must not be negative")
        let latency = path.reduce(0) { $0 + resources[$1.resource.index].latency }
        let flow = Flow(path: path, amount: amount, remaining: amount, cap: cap, weight: weight, startsAt: now + latency)
        let index: Int
        if let reused = free.popLast() {
            flows[reused] = flow
            index = reused
        } else {
            flows.append(flow)
            index = flows.count - 1
        }
        live.append(index)
        allocate()
        return FlowID(index: index)
    }

    public mutating func startFlow(amount: Double, path: [ResourceID], cap: Double? = nil, weight: Double = 1) -> FlowID {
        startFlow(amount: amount, path: path.map { Hop($0) }, cap: cap, weight: weight)
    }

    /// Changes a running flow's cap, weight and usage (a clock change alters a kernel's speed alone).
    public mutating func reshape(_ id: FlowID, path: [Hop]? = nil, cap: Double?, weight: Double? = nil) {
        precondition(flows[id.index].live, "flow \(id.index) has finished")
        precondition(cap.map { $0 > 0 && $0.isFinite } ?? true, "flow cap must be positive")
        precondition(weight.map { $0 > 0 && $0.isFinite } ?? true, "flow weight must be positive")
        precondition((path ?? flows[id.index].path).allSatisfy { $0.usage >= 0 }, "a hop's usage must not be negative")
        precondition(cap != nil || (path ?? flows[id.index].path).contains { $0.usage > 0 }, "a flow needs a cap or a resource on its path")
        if let path { flows[id.index].path = path }
        flows[id.index].cap = cap
        if let weight { flows[id.index].weight = weight }
        allocate()
    }

    public func rate(of id: FlowID) -> Double { flows[id.index].live ? flows[id.index].rate : 0 }
    public func remaining(of id: FlowID) -> Double { flows[id.index].live ? flows[id.index].remaining : 0 }
    public func isLive(_ id: FlowID) -> Bool { flows[id.index].live }
    public var liveFlows: Int { live.count }

    /// What the flows now moving use of a resource per second.
    public func load(on id: ResourceID) -> Double {
        var total = 0.0
        for index in live { for hop in flows[index].path where hop.resource == id { total += flows[index].rate * hop.usage } }
        return total
    }

    /// The next time a flow finishes or starts moving; nil when nothing is live.
    public var nextEventTime: Double? {
        var soonest = Double.infinity
        for index in live {
            let flow = flows[index]
            if flow.startsAt > now {
                soonest = min(soonest, flow.startsAt)
                continue
            }
            if flow.remaining <= 0 {
                soonest = now
                continue
            }
            if flow.rate > 0 { soonest = min(soonest, now + flow.remaining / flow.rate) }
        }
        return soonest.isFinite ? soonest : nil
    }

    /// Moves time to `time` (not past ``nextEventTime``), moving every flow at its rate; returns the
    /// flows that finished, in the order they started.
    public mutating func advance(to time: Double, finished: inout [FlowID]) {
        checkInvariant(time >= now - 1e-12 * max(1, now), "flow network time went back from \(now) to \(time)")
        let step = max(0, time - now)
        now = max(now, time)
        var changed = false
        var position = 0
        while position < live.count {
            let index = live[position]
            // A flow still in its latency has rate 0 and moves nothing.
            let moved = min(flows[index].remaining, flows[index].rate * step)
            flows[index].remaining -= moved
            flows[index].delivered += moved
            // Finished: nothing left, or so little that its time to finish is below the resolution
            // of the clock (at late times `now + remaining / rate` would round back to `now`).
            let flow = flows[index]
            let negligible =
                flow.remaining <= Self.tolerance * max(1, flow.amount)
                || (flow.rate > 0 && flow.remaining / flow.rate <= 1e-12 * max(1, now))
            if flow.startsAt <= now, negligible {
                checkInvariant(
                    abs(flows[index].delivered + flows[index].remaining - flows[index].amount) <= 1e-9 * max(1, flows[index].amount),
                    "flow \(index) delivered \(flows[index].delivered) + \(flows[index].remaining) of \(flows[index].amount)")
                flows[index].delivered += flows[index].remaining
                flows[index].remaining = 0
                flows[index].live = false
                flows[index].rate = 0
                free.append(index)
                live.remove(at: position)
                finished.append(FlowID(index: index))
                changed = true
            } else {
                position += 1
            }
        }
        // Flows whose latency has just passed start moving.
        if !changed { changed = live.contains { flows[$0].startsAt <= now && flows[$0].startsAt > now - step && step > 0 } }
        if changed { allocate() }
    }

    /// Convenience for callers that do not keep a buffer.
    public mutating func advance(to time: Double) -> [FlowID] {
        var finished: [FlowID] = []
        advance(to: time, finished: &finished)
        return finished
    }

    /// Tolerance on a flow's remaining amount, relative to its size, below which it is finished.
    static var tolerance: Double { 1e-9 }

    /// Weighted progressive filling over the flows that are moving.
    mutating func allocate() {
        for index in live {
            flows[index].rate = 0
            flows[index].frozen = flows[index].startsAt > now
        }
        for j in used.indices { used[j] = 0 }
        var unfrozen = live.reduce(0) { $0 + (flows[$1].frozen ? 0 : 1) }
        while unfrozen > 0 {
            for j in slope.indices { slope[j] = 0 }
            for index in live where !flows[index].frozen {
                for hop in flows[index].path { slope[hop.resource.index] += flows[index].weight * hop.usage }
            }
            var level = Double.infinity
            for j in slope.indices where slope[j] > 0 {
                level = min(level, max(0, resources[j].capacity - used[j]) / slope[j])
            }
            for index in live where !flows[index].frozen {
                if let cap = flows[index].cap { level = min(level, cap / flows[index].weight) }
            }
            precondition(level.isFinite, "a moving flow crosses no resource and has no cap")
            let limit = level * (1 + 1e-12)
            for index in live where !flows[index].frozen {
                let flow = flows[index]
                let capped = flow.cap.map { $0 / flow.weight <= limit } ?? false
                let saturated = flow.path.contains { hop in
                    hop.usage > 0 && slope[hop.resource.index] > 0
                        && max(0, resources[hop.resource.index].capacity - used[hop.resource.index]) / slope[hop.resource.index] <= limit
                }
                guard capped || saturated else { continue }
                flows[index].rate = capped ? min(flow.cap!, flow.weight * level) : flow.weight * level
                flows[index].frozen = true
                unfrozen -= 1
            }
            // Usage of the flows frozen so far, for the next round's residual capacities.
            for j in used.indices { used[j] = 0 }
            for index in live where flows[index].frozen {
                for hop in flows[index].path { used[hop.resource.index] += flows[index].rate * hop.usage }
            }
        }
        checkAllocation()
    }

    func checkAllocation() {
        #if DEBUG
            var load = [Double](repeating: 0, count: resources.count)
            for index in live {
                let flow = flows[index]
                checkInvariant(flow.rate >= 0, "flow \(index) has a negative rate")
                if let cap = flow.cap {
                    checkInvariant(flow.rate <= cap * (1 + 1e-9), "flow \(index) runs at \(flow.rate), above its cap \(cap)")
                }
                for hop in flow.path { load[hop.resource.index] += flow.rate * hop.usage }
            }
            for (j, resource) in resources.enumerated() {
                checkInvariant(
                    load[j] <= resource.capacity * (1 + 1e-9),
                    "resource \(resource.name) carries \(load[j]), above its capacity \(resource.capacity)")
            }
        #endif
    }
}
