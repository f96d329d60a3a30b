import HeapModule

/// Scheduled events in time order: the only way simulated time moves.
///
/// Events at the same time come out in the order they were scheduled, so a run is the same run
/// after run (nothing depends on hashing or memory addresses).
///
/// ```swift
/// var queue = EventQueue<String>()
/// queue.schedule("tick", at: 1e-3)
/// queue.schedule("ready", at: 0)
/// queue.next()   // (time: 0, event: "ready")
/// queue.now      // 0
/// ```
// Inlinable so the simulator's event loop gets it specialised for its own event type (unspecialised
// generic calls were most of the scheduler's time).
public struct EventQueue<Event>: Sendable where Event: Sendable {
    @usableFromInline
    struct Entry: Comparable, Sendable {
        @usableFromInline var time: Double
        @usableFromInline var sequence: Int
        @usableFromInline var event: Event
        @inlinable init(time: Double, sequence: Int, event: Event) {
            self.time = time
            self.sequence = sequence
            self.event = event
        }
        @inlinable static func < (a: Entry, b: Entry) -> Bool { a.time != b.time ? a.time < b.time : a.sequence < b.sequence }
        @inlinable static func == (a: Entry, b: Entry) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }

    @usableFromInline var heap = Heap<Entry>()
    @usableFromInline var sequence = 0
    /// The time of the last event taken out (0 before the first).
    @inlinable public var now: Double { currentTime }
    @usableFromInline var currentTime = 0.0

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { heap.isEmpty }
    @inlinable public var count: Int { heap.count }
    /// When the next event happens, if any.
    @inlinable public var nextTime: Double? { heap.min?.time }

    /// Schedules `event` at `time`, which may not lie before the current time.
    @inlinable public mutating func schedule(_ event: Event, at time: Double) {
        precondition(time.isFinite, "event time must be finite, got \(time)")
        checkInvariant(time >= now - Self.tolerance * max(1, abs(now)), "event scheduled at \(time), before now (\(now))")
        heap.insert(Entry(time: max(time, now), sequence: sequence, event: event))
        sequence += 1
    }

    /// Takes out the earliest event and moves the current time to it.
    @inlinable public mutating func next() -> (time: Double, event: Event)? {
        guard let entry = heap.popMin() else { return nil }
        checkInvariant(entry.time >= now, "time went back from \(now) to \(entry.time)")
        currentTime = entry.time
        return (entry.time, entry.event)
    }

    /// Moves the current time forward without an event (another clock, such as a flow network's
    /// next completion, came first).
    @inlinable public mutating func advance(to time: Double) {
        checkInvariant(time >= now - Self.tolerance * max(1, abs(now)), "time went back from \(now) to \(time)")
        checkInvariant(
            nextTime.map { time <= $0 + Self.tolerance * max(1, abs($0)) } ?? true,
            "advanced to \(time), past the next event at \(nextTime ?? 0)")
        currentTime = max(currentTime, time)
    }

    @inlinable static var tolerance: Double { 1e-12 }
}

/// Checks an invariant in debug and test builds; compiled out of release builds.
@inline(__always)
public func checkInvariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    #if DEBUG
        if !condition() { preconditionFailure(message(), file: file, line: line) }
    #endif
}
