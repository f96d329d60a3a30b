import Foundation
import TestSupport
import XCTest

/// `workload import` of MLCommons Chakra execution traces, written here byte by byte in the
/// framing and field numbers of mlcommons/chakra schema/protobuf/et_def.proto (a varint-length
/// before each message: GlobalMetadata, then Nodes).
final class ChakraImportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            var b = UInt8(v & 0x7f)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }
    func field(_ number: UInt64, _ value: UInt64) -> [UInt8] { varint(number << 3) + varint(value) }
    func field(_ number: UInt64, bytes: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
    func attribute(_ name: String, uint64 value: UInt64) -> [UInt8] { field(10, bytes: field(1, bytes: Array(name.utf8)) + field(13, value)) }
    func node(_ id: UInt64, _ name: String, type: UInt64, duration: UInt64 = 0, dataDeps: [UInt64] = [], ctrlDeps: [UInt64] = [], attributes: [UInt8] = [])
        -> [UInt8]
    {
        var m = field(1, id) + field(2, bytes: Array(name.utf8)) + field(3, type)
        for d in ctrlDeps { m += field(4, d) }  // unpacked, as older writers emit
        if !dataDeps.isEmpty { m += field(5, bytes: dataDeps.flatMap(varint)) }  // packed
        if duration > 0 { m += field(7, duration) }
        return m + attributes
    }
    func write(_ messages: [[UInt8]], _ name: String = "step.0.et") throws -> String {
        let path = dir.appendingPathComponent(name).path
        let metadata = field(1, bytes: Array("0.0.4".utf8))
        try Data(([metadata] + messages).flatMap { varint(UInt64($0.count)) + $0 }).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testNodesBecomeKernelsWithTheirDependencies() throws {
        let path = try write([
            node(4, "next_layer", type: 4, duration: 50, ctrlDeps: [2, 3]),
            node(1, "attention", type: 4, duration: 120),
            node(2, "allreduce_tp", type: 7, dataDeps: [1], attributes: attribute("comm_type", uint64: 0) + attribute("comm_size", uint64: 33_554_432)),
            node(3, "mlp", type: 4, duration: 200, dataDeps: [1]),
            node(5, "load_weights", type: 2, attributes: attribute("tensor_size", uint64: 1_048_576)),
        ])
        let out = dir.appendingPathComponent("t.yaml").path
        let r = try xpusim(["workload", "import", path, "--ranks", "8", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("(Chakra execution trace): 5 kernels on 2 streams: 0 mapped to GEMMs and 1 to copies, 1 to collectives"), r.stderr)
        let trace = try String(contentsOfFile: out, encoding: .utf8)
        // Dependencies before their users, ties by id; compute on stream 0, communication on stream 1.
        let ids = trace.split(separator: "\n").compactMap { line in line.range(of: "id: n").map { String(line[$0.upperBound...].prefix { $0.isNumber }) } }
        XCTAssertEqual(ids, ["1", "2", "3", "4", "5"])
        XCTAssertTrue(trace.contains("{id: n2, op: all_reduce, bytes: 33554432, ranks: 8, stream: 1, deps: [n1]}"), trace)
        XCTAssertTrue(trace.contains("{id: n4, op: measured, duration: \"50 us\", kernel: next_layer, deps: [n2, n3]}"), trace)
        XCTAssertTrue(trace.contains("{id: n5, op: memcpy, bytes: 1048576, kind: h2d, dtype: bf16}"), trace)
        // It runs on a system: the all-reduce over its links, beside the MLP.
        let run = try xpusim(["run", "--system", "dgx-h100", "--workload", out, "--no-store", "--format", "json"])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testBadTracesSayWhatIsWrong() throws {
        let collective = try write([node(1, "ar", type: 7, attributes: attribute("comm_type", uint64: 0) + attribute("comm_size", uint64: 1024))], "a.et")
        var r = try xpusim(["workload", "import", collective, "-o", dir.appendingPathComponent("a.yaml").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("a.et: node 1 (ar) is a collective: give the ranks it spans with --ranks"), r.stderr)

        let cycle = try write([node(1, "x", type: 4, duration: 1, dataDeps: [2]), node(2, "y", type: 4, duration: 1, dataDeps: [1])], "c.et")
        r = try xpusim(["workload", "import", cycle, "-o", dir.appendingPathComponent("c.yaml").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("is on a dependency cycle"), r.stderr)

        let truncated = dir.appendingPathComponent("t.et").path
        let whole = try Data(contentsOf: URL(fileURLWithPath: try write([node(1, "x", type: 4, duration: 5)], "w.et")))
        try whole.prefix(whole.count - 3).write(to: URL(fileURLWithPath: truncated))
        r = try xpusim(["workload", "import", truncated, "-o", dir.appendingPathComponent("t.yaml").path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("t.et: byte"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("t.yaml").path))
    }
}
