import Chips
import Foundation

/// MLCommons Chakra execution traces (`.et`: mlcommons/chakra schema/protobuf/et_def.proto), read
/// with a small protobuf decoder of our own: a stream of varint-length-delimited messages, a
/// GlobalMetadata then Nodes. Compute nodes become measured kernels of their recorded duration;
/// collectives (all-reduce, all-gather, reduce-scatter, all-to-all, broadcast) and send/receive
/// become collectives of their `comm_size` bytes over `ranks`; memory loads and stores become
/// host copies of `tensor_size` bytes. Data and control dependencies are kept; compute runs on
/// stream 0 and communication on stream 1, as the frameworks launch them.
public enum ChakraReader {
    enum NodeType: UInt64 {
        case invalid = 0, metadata, memLoad, memStore, comp, commSend, commRecv, commColl, storage, batch, checkpoint
    }

    struct Node {
        var id: UInt64 = 0
        var name = ""
        var type: UInt64 = 0
        var deps: [UInt64] = []
        var duration: UInt64 = 0
        var attributes: [String: UInt64] = [:]
    }

    struct Reader {
        let bytes: [UInt8]
        var i: Int
        let end: Int
        let file: String
        func error(_ message: String) -> ProfileImporter.ImportError {
            ProfileImporter.ImportError(file: file, message: "byte \(i): \(message)")
        }
        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < end else { throw error("a varint runs past the end of its message") }
                let b = bytes[i]
                i += 1
                guard shift < 64 else { throw error("a varint longer than 10 bytes") }
                value |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        mutating func length() throws -> Int {
            let n = try varint()
            guard n <= UInt64(end - i) else { throw error("a field of \(n) bytes runs past the end of its message") }
            return Int(n)
        }
        mutating func skip(_ wire: UInt64) throws {
            switch wire {
            case 0: _ = try varint()
            case 1:
                guard end - i >= 8 else { throw error("a fixed64 past the end") }
                i += 8
            case 2: i += try length()
            case 5:
                guard end - i >= 4 else { throw error("a fixed32 past the end") }
                i += 4
            default: throw error("wire type \(wire) is not one protobuf writes")
            }
        }
    }

    static func attribute(_ r: inout Reader) throws -> (String, UInt64?) {
        var name = ""
        var value: UInt64?
        while r.i < r.end {
            let key = try r.varint()
            let (field, wire) = (key >> 3, key & 7)
            switch (field, wire) {
            case (1, 2):
                let n = try r.length()
                name = String(decoding: r.bytes[r.i..<(r.i + n)], as: UTF8.self)
                r.i += n
            // int32, int64, uint32, uint64, bool: varints.
            case (7, 0), (9, 0), (11, 0), (13, 0), (27, 0): value = try r.varint()
            default: try r.skip(wire)
            }
        }
        return (name, value)
    }

    static func node(_ r: inout Reader) throws -> Node {
        var node = Node()
        while r.i < r.end {
            let key = try r.varint()
            let (field, wire) = (key >> 3, key & 7)
            switch (field, wire) {
            case (1, 0): node.id = try r.varint()
            case (2, 2):
                let n = try r.length()
                node.name = String(decoding: r.bytes[r.i..<(r.i + n)], as: UTF8.self)
                r.i += n
            case (3, 0): node.type = try r.varint()
            case (4, 0), (5, 0): node.deps.append(try r.varint())
            case (4, 2), (5, 2):  // packed
                let n = try r.length()
                var inner = Reader(bytes: r.bytes, i: r.i, end: r.i + n, file: r.file)
                while inner.i < inner.end { node.deps.append(try inner.varint()) }
                r.i += n
            case (7, 0): node.duration = try r.varint()
            case (10, 2):
                let n = try r.length()
                var inner = Reader(bytes: r.bytes, i: r.i, end: r.i + n, file: r.file)
                let (name, value) = try attribute(&inner)
                if let value { node.attributes[name] = value }
                r.i += n
            default: try r.skip(wire)
            }
        }
        return node
    }

    public static func load(file: String, ranks: Int?, tokens: Int?) throws -> (Trace, ImportReport) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ProfileImporter.ImportError(file: file, message: "cannot read the file")
        }
        let bytes = [UInt8](data)
        if bytes.starts(with: [0x1f, 0x8b]) {
            throw ProfileImporter.ImportError(file: file, message: "gzip-compressed: gunzip it first")
        }
        var outer = Reader(bytes: bytes, i: 0, end: bytes.count, file: file)
        var nodes: [Node] = []
        var first = true
        while outer.i < outer.end {
            let n = try outer.length()
            var r = Reader(bytes: bytes, i: outer.i, end: outer.i + n, file: file)
            outer.i += n
            if first {
                first = false  // GlobalMetadata
                continue
            }
            nodes.append(try node(&r))
        }
        guard !nodes.isEmpty else { throw ProfileImporter.ImportError(file: file, message: "no nodes after the metadata") }
        // Dependencies first (Kahn's algorithm, ties by id); a cycle is an error naming a node on it.
        var index: [UInt64: Int] = [:]
        for (k, n) in nodes.enumerated() {
            guard index[n.id] == nil else { throw ProfileImporter.ImportError(file: file, message: "node id \(n.id) appears twice") }
            index[n.id] = k
        }
        var waiting = nodes.map { n in Set(n.deps.filter { index[$0] != nil }).count }
        var users: [Int: [Int]] = [:]
        for (k, n) in nodes.enumerated() { for d in Set(n.deps) { if let j = index[d] { users[j, default: []].append(k) } } }
        var ready = nodes.indices.filter { waiting[$0] == 0 }.sorted { nodes[$0].id > nodes[$1].id }
        var order: [Int] = []
        while let k = ready.popLast() {
            order.append(k)
            for u in users[k] ?? [] {
                waiting[u] -= 1
                if waiting[u] == 0 {
                    ready.append(u)
                    ready.sort { nodes[$0].id > nodes[$1].id }
                }
            }
        }
        guard order.count == nodes.count else {
            let stuck = nodes.indices.first { waiting[$0] > 0 }.map { nodes[$0] }!
            throw ProfileImporter.ImportError(file: file, message: "node \(stuck.id) (\(stuck.name)) is on a dependency cycle")
        }
        var position: [Int: Int] = [:]
        var kernels: [Kernel] = []
        var report = ImportReport()
        for k in order {
            let n = nodes[k]
            let seconds = Double(n.duration) * 1e-6
            var op = Op.measured(.init(seconds: max(seconds, 1e-9), kernel: String(n.name.prefix(160))))
            var stream = 0
            let size = Int(clamping: n.attributes["comm_size"] ?? 0)
            switch NodeType(rawValue: n.type) {
            case .commColl:
                stream = 1
                // CollectiveCommType: ALL_REDUCE 0, ALL_GATHER 2, BROADCAST 5, ALL_TO_ALL 6, REDUCE_SCATTER 7, REDUCE_SCATTER_BLOCK 8.
                let kinds: [UInt64: Op.CollectiveKind] = [
                    0: .all_reduce, 2: .all_gather, 5: .broadcast, 6: .all_to_all, 7: .reduce_scatter, 8: .reduce_scatter,
                ]
                if let kind = n.attributes["comm_type"].flatMap({ kinds[$0] }), size > 0 {
                    guard let ranks else {
                        throw ProfileImporter.ImportError(
                            file: file, message: "node \(n.id) (\(n.name)) is a collective: give the ranks it spans with --ranks")
                    }
                    op = .collective(.init(kind: kind, bytes: size, ranks: ranks))
                }
            case .commSend, .commRecv:
                stream = 1
                if size > 0 { op = .collective(.init(kind: .send_recv, bytes: size, ranks: 2)) }
            case .memLoad, .memStore:
                if let t = n.attributes["tensor_size"], t > 0 {
                    op = .memcpy(.init(bytes: Int(clamping: t), kind: NodeType(rawValue: n.type) == .memLoad ? .h2d : .d2h))
                }
            default: break
            }
            if case .measured = op {
                report.measuredSeconds += seconds
            } else {
                if case .memcpy = op { report.copies += 1 } else { report.collectives += 1 }
                report.mappedSeconds += seconds
            }
            let deps = Array(Set(n.deps.compactMap { index[$0].flatMap { position[$0] } })).sorted()
            position[k] = kernels.count
            kernels.append(Kernel(id: "n\(n.id)", op: op, dtype: .bf16, stream: stream, deps: deps))
        }
        report.kernels = kernels.count
        report.streams = Set(kernels.map(\.stream)).count
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return (Trace(name: name, tokens: tokens, kernels: kernels), report)
    }
}
