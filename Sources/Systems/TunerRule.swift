import Chips
import Config
import SimCore

/// One rule of a collective library's tuner configuration, as a system's vendor ships it (NCCL
/// tuner plugins such as GCP's for A3 Mega): for a collective, a range of node counts, ranks per
/// node and message sizes, the algorithm and protocol to run instead of the library's own choice.
///
/// ```yaml
/// collectives:
///   tuner:
///     value:
///       - {collective: all_reduce, nodes: 2, ranks_per_node: 8+, algorithm: tree, protocol: simple}
///       - {collective: all_reduce, nodes: 3-6, ranks_per_node: 8+, below: 2 MiB, algorithm: tree, protocol: simple}
///     source: gcp-tuner
/// ```
///
/// Ranges are inclusive (`2`, `3-6`, `8+`); `from` is the least message size the rule covers and
/// `below` the size it stops at (the tuner's own bounds). The first rule that matches decides; a
/// rule naming an algorithm the collective cannot run there is passed over, as NCCL falls back to
/// its own choice when a tuner's is not available.
public struct TunerRule: Sendable, Equatable {
    public var collective: CollectiveLibrary.CollectiveKind
    public var nodes: ClosedRange<Int>
    public var ranksPerNode: ClosedRange<Int>
    /// Message bytes per rank, from (inclusive) and below (exclusive).
    public var from: Double
    public var below: Double
    public var algorithm: CollectiveLibrary.Algorithm
    public var `protocol`: CollectiveLibrary.ProtocolKind?

    public func matches(_ kind: CollectiveLibrary.CollectiveKind, nodes n: Int, ranksPerNode r: Int, bytes: Double) -> Bool {
        kind == collective && nodes.contains(n) && ranksPerNode.contains(r) && bytes >= from && bytes < below
    }

    /// The rule as `systems show` prints it.
    public var text: String {
        func range(_ r: ClosedRange<Int>) -> String {
            r.upperBound == Int.max
                ? "\(r.lowerBound)+" : r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)"
        }
        var parts = ["\(collective.rawValue) on \(range(nodes)) nodes, \(range(ranksPerNode)) ranks per node"]
        if from > 0 { parts.append("from \(Quantity.format(from, .bytes))") }
        if below < .infinity { parts.append("below \(Quantity.format(below, .bytes))") }
        return parts.joined(separator: ", ") + ": \(algorithm.rawValue)" + (self.protocol.map { "/\($0.rawValue)" } ?? "")
    }

    static let fields = ["collective", "nodes", "ranks_per_node", "from", "below", "algorithm", "protocol"]

    /// Reads one rule: a mapping of the fields above.
    init(_ node: ConfigNode) throws {
        var reader = try MappingReader(node)
        func word<T: RawRepresentable & CaseIterable>(_ field: String, _ type: T.Type) throws -> T where T.RawValue == String {
            try reader.required(field).word(type, field)
        }
        func range(_ field: String) throws -> ClosedRange<Int> {
            guard let item = reader.optional(field) else { return 1...Int.max }
            let text = try (try? item.int()).map(String.init) ?? item.string()
            let bad = item.error("\(field): expected a count (2), a range (3-6) or a least count (8+), found \(item.found)")
            if text.hasSuffix("+") {
                guard let low = Int(text.dropLast()), low >= 1 else { throw bad }
                return low...Int.max
            }
            let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low >= 1, low <= high
            else { throw bad }
            return low...high
        }
        func size(_ field: String) throws -> Double? {
            guard let item = reader.optional(field) else { return nil }
            let value = try item.quantity(.bytes).value
            guard value >= 0, value <= 1e15 else { throw item.error("\(field): expected a size from 0 B to 1 PB, found \(item.found)") }
            return value
        }
        collective = try word("collective", CollectiveLibrary.CollectiveKind.self)
        nodes = try range("nodes")
        ranksPerNode = try range("ranks_per_node")
        from = try size("from") ?? 0
        below = try size("below") ?? .infinity
        guard from < below else {
            throw node.error(
                "from \(Quantity.format(from, .bytes)) is not below \(Quantity.format(below, .bytes)): the rule covers no message size")
        }
        algorithm = try word("algorithm", CollectiveLibrary.Algorithm.self)
        self.protocol = try reader.optional("protocol").map { _ in try word("protocol", CollectiveLibrary.ProtocolKind.self) }
        try reader.finish()
    }
}
