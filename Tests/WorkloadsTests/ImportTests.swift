import Foundation
import TestSupport
import Workloads
import XCTest

/// Profiles into traces: a real PyTorch profiler GPU trace (HolisticTraceAnalysis's AlexNet on
/// A100, MIT), a CPU profile recorded with record_shapes (Fixtures/torch-cpu-block-bf16.py), a
/// synthetic GPU profile with shapes, and DeepSeek's H800 kernel table where ../shared has it.
final class ImportTests: XCTestCase {
    let fixtures = packageRoot + "/Tests/WorkloadsTests/Fixtures"

    func testRealGPUProfileKeepsKernelsStreamsAndTimes() throws {
        let file = fixtures + "/kineto-alexnet-a100.json"
        let (trace, report) = try ProfileImporter.load(file: file)
        // Count the device events and their time independently of the importer.
        let root = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        let device = (root["traceEvents"] as! [[String: Any]]).filter {
            ["kernel", "gpu_memcpy", "gpu_memset"].contains($0["cat"] as? String ?? "") && ($0["ph"] as? String) == "X"
        }
        XCTAssertEqual(trace.kernels.count, device.count)
        XCTAssertEqual(report.kernels, 98)
        XCTAssertEqual(report.streams, 2)
        XCTAssertEqual(report.copies, 16)
        let total = device.reduce(0.0) { $0 + (($1["dur"] as! NSNumber).doubleValue) } * 1e-6
        XCTAssertEqual(report.totalSeconds, total, accuracy: total * 1e-9)
        // Each kernel waits for the one before it on its stream, and the trace reads back.
        for (index, k) in trace.kernels.enumerated() where !k.deps.isEmpty {
            XCTAssertEqual(trace.kernels[k.deps[0]].stream, k.stream)
            XCTAssertLessThan(k.deps[0], index)
        }
        let back = try Trace.parse(text: TraceWriter.text(trace, format: .yaml, header: []), file: "t.yaml")
        XCTAssertEqual(back.kernels.map(\.op), trace.kernels.map(\.op))
    }

    func testCPUProfileGivesTheGEMMsOfItsShapes() throws {
        let (trace, report) = try ProfileImporter.load(file: fixtures + "/torch-cpu-block-bf16.json", tokens: 256)
        XCTAssertTrue(report.fromCPUOps)
        XCTAssertEqual(trace.tokens, 256)
        let shapes = trace.kernels.map { k -> [Int] in
            guard case .gemm(let g) = k.op else { return [] }
            return [g.batch, g.m, g.n, g.k]
        }
        XCTAssertEqual(
            shapes,
            [[1, 256, 1536, 512], [8, 256, 256, 64], [8, 256, 64, 256], [1, 256, 512, 512], [1, 256, 2816, 512], [1, 256, 512, 1408]])
        XCTAssertTrue(trace.kernels.allSatisfy { $0.dtype == .bf16 })
    }

    func testShapedOpsBecomeGEMMsAndTheRestStaysMeasured() throws {
        let json = """
            {"traceEvents": [
              {"ph": "X", "cat": "cpu_op", "name": "aten::addmm", "ts": 0, "dur": 50, "tid": 1,
               "args": {"External id": 5, "Input Dims": [[4096], [2048, 1024], [1024, 4096]], "Input type": ["c10::Half", "c10::Half", "c10::Half"]}},
              {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "ts": 60, "dur": 5, "tid": 1,
               "args": {"External id": 9, "Input Dims": [[64, 64], [64, 64]], "Input type": ["c10::Half", "c10::Half"]}},
              {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 2, "dur": 1, "tid": 1, "args": {"External id": 5, "correlation": 100}},
              {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 4, "dur": 1, "tid": 1, "args": {"correlation": 101}},
              {"ph": "X", "cat": "kernel", "name": "sm80_gemm", "ts": 10, "dur": 30, "args": {"External id": 100, "correlation": 100, "stream": 7}},
              {"ph": "X", "cat": "kernel", "name": "splitk_reduce", "ts": 41, "dur": 3, "args": {"External id": 101, "correlation": 101, "stream": 7}},
              {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pageable -> Device)", "ts": 45, "dur": 8, "args": {"stream": 13, "bytes": 1048576}},
              {"ph": "X", "cat": "kernel", "name": "nccl_allreduce", "ts": 46, "dur": 20, "args": {"stream": 13}}
            ]}
            """
        let file = NSTemporaryDirectory() + "/xpusim-import-\(getpid()).json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (trace, report) = try ProfileImporter.load(file: file)
        XCTAssertEqual(trace.kernels.map(\.op.name), ["gemm", "measured", "memcpy", "measured"])
        guard case .gemm(let g) = trace.kernels[0].op else { return XCTFail() }
        XCTAssertEqual([g.m, g.n, g.k], [2048, 4096, 1024])
        XCTAssertEqual(trace.kernels[0].dtype, .fp16)
        XCTAssertEqual(trace.kernels.map(\.stream), [0, 0, 1, 1])
        XCTAssertEqual(trace.kernels[1].deps, [0])
        XCTAssertEqual(trace.kernels[3].deps, [2])
        XCTAssertEqual(report.mapped, 1)
        XCTAssertEqual(report.copies, 1)
        XCTAssertEqual(report.measuredSeconds, 23e-6, accuracy: 1e-12)
    }

    func testBadProfilesSayWhatIsWrong() throws {
        let directory = NSTemporaryDirectory() + "/xpusim-import-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func message(_ name: String, _ text: String) -> String {
            let path = directory + "/" + name
            try? text.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try ProfileImporter.load(file: path)
                return "imported"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message("a.json", "{not json").contains("not JSON"))
        XCTAssertTrue(message("b.json", "{\"events\": []}").contains("traceEvents"))
        XCTAssertTrue(message("c.json", "{\"traceEvents\": []}").contains("record_shapes"))
        XCTAssertTrue(message("d.csv", "name,ts,stream\nk,0,7\n").contains("no dur column"))
        XCTAssertTrue(message("e.csv", "name,ts,dur\nk,zero,1\n").contains("row 2"))
    }

    /// DeepSeek's H800 kernel table (where ../shared has it; it is not redistributable): its 983
    /// measured kernels on their 3 streams.
    func testDeepSeekKernelTableReplays() throws {
        let file = packageRoot + "/../shared/validation/raw/deepseek_profile_data/train_h800_ep64_kernels.csv"
        guard FileManager.default.fileExists(atPath: file) else { throw XCTSkip("../shared/validation is not present") }
        let (trace, report) = try ProfileImporter.load(file: file)
        XCTAssertEqual(report.kernels, 983)
        XCTAssertEqual(report.streams, 3)
        // Streams 7 (compute), 27 (DeepEP) and 23 (the second GEMM stream), renumbered in order of first use.
        XCTAssertEqual(Dictionary(grouping: trace.kernels, by: \.stream).values.map(\.count).sorted(), [16, 40, 927])
    }
}
