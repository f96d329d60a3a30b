import Dispatch

/// Work spread over all cores with its results kept in order.
public enum Parallel {
    /// `transform` applied to every element, on all cores; the results in the elements' order.
    public static func map<T: Sendable, R>(_ items: [T], _ transform: @Sendable (T) -> R) -> [R] {
        guard items.count > 1 else { return items.map(transform) }
        var results = [R?](repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: items.count) { i in base[i] = transform(items[i]) }
        }
        return results.map { $0! }
    }
}
