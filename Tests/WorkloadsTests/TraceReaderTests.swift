import Chips
import Config
import Foundation
import TestSupport
import Workloads
import XCTest

final class TraceReaderTests: XCTestCase {
    /// The example, exactly as written: the format is a public contract.
    let example = """
        schema: 1
        name: example
        kernels:
          - {id: qkv, op: gemm, m: 4096, n: 12288, k: 4096, dtype: bf16}
          - {id: attn, op: attention, phase: prefill, batch: 1, heads: 32, kv_heads: 8, q_len: 4096, kv_len: 4096, head_dim: 128, causal: true, dtype: bf16, deps: [qkv]}
          - {id: act, op: elementwise, elements: 50331648, reads: 2, writes: 1, flops_per_element: 4, dtype: bf16, deps: [attn]}
          - {id: experts, op: grouped_gemm, groups: 16, m_per_group: 32, n: 4096, k: 7168, dtype: fp8, stream: 1}
          - {id: copy, op: memcpy, bytes: 1073741824, kind: d2d, stream: 1, deps: [experts]}
        """

    func testAcceptsTheReferenceExample() throws {
        let trace = try Trace.parse(text: example)
        XCTAssertEqual(trace.name, "example")
        XCTAssertEqual(trace.kernels.map(\.id), ["qkv", "attn", "act", "experts", "copy"])
        XCTAssertEqual(trace.kernels[1].deps, [0])
        XCTAssertEqual(trace.kernels[3].stream, 1)
        XCTAssertEqual(trace.kernels[0].op, .gemm(.init(m: 4096, n: 12288, k: 4096)))
        XCTAssertEqual(
            trace.kernels[1].op,
            .attention(.init(phase: .prefill, batch: 1, heads: 32, kvHeads: 8, qLen: 4096, kvLen: 4096, headDim: 128, causal: true)))
        XCTAssertEqual(trace.kernels[3].op, .groupedGemm(.init(mPerGroup: Array(repeating: 32, count: 16), n: 4096, k: 7168)))
        XCTAssertEqual(trace.kernels[4].op, .memcpy(.init(bytes: 1_073_741_824, kind: .d2d)))
        XCTAssertEqual(trace.kernels[3].dtype, .fp8)
    }

    func testShippedWorkloadsLoad() throws {
        let directory = packageRoot + "/workloads"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 7)
        for file in files {
            let trace = try Trace.load(file: directory + "/" + file)
            XCTAssertFalse(trace.kernels.isEmpty, file)
        }
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try Trace.parse(text: text, file: "t.yaml")
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            XCTFail("unexpected \(error)")
            return nil
        }
    }

    func kernels(_ lines: String...) -> String { "schema: 1\nkernels:\n" + lines.map { "  - \($0)" }.joined(separator: "\n") + "\n" }

    func assertError(_ text: String, _ contains: String, line: Int? = nil, file: StaticString = #filePath, lineNo: UInt = #line) {
        guard let e = error(text) else { return XCTFail("no error for:\n\(text)", file: file, line: lineNo) }
        XCTAssertTrue(e.description.contains(contains), e.description, file: file, line: lineNo)
        XCTAssertEqual(e.file, "t.yaml", file: file, line: lineNo)
        if let line { XCTAssertEqual(e.line, line, e.description, file: file, line: lineNo) }
    }

    func testUnknownOpAndFieldSuggestTheNearest() {
        assertError(kernels("{id: a, op: gemn, m: 1, n: 1, k: 1, dtype: bf16}"), "unknown op \"gemn\"; did you mean \"gemm\"?", line: 3)
        assertError(
            kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, strem: 1}"), "unknown field \"strem\"; did you mean \"stream\"?")
        assertError(kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf17}"), "unknown data type \"bf17\"; did you mean \"bf16\"?")
        assertError("schema: 1\nkernel: []\n", "missing required field \"kernels\"")
    }

    func testMissingAndNonPositiveSizes() {
        assertError(kernels("{id: a, op: gemm, m: 1, n: 1, dtype: bf16}"), "missing required field \"k\"")
        assertError(kernels("{id: a, op: gemm, m: 0, n: 1, k: 1, dtype: bf16}"), "must be a positive size, found 0")
        assertError(
            kernels("{id: a, op: elementwise, elements: -5, reads: 1, writes: 1, dtype: bf16}"), "must be a positive size, found -5")
        assertError(
            kernels("{id: a, op: attention, phase: decode, batch: 1, heads: 30, kv_heads: 8, kv_len: 10, head_dim: 64, dtype: bf16}"),
            "multiple of kv_heads")
        assertError(kernels("{id: a, op: gemm, m: 1.5, n: 1, k: 1, dtype: bf16}"), "expected an integer")
    }

    /// `replica_ranks` says how many devices produce the trace's tokens; a system runs its devices / that many replicas.
    func testReplicaRanksReadWriteAndScaleASystemsTokens() throws {
        let text =
            "schema: 1\ntokens: 64\nreplica_ranks: 8\n" + kernels("{id: a, op: gemm, m: 64, n: 64, k: 64, dtype: bf16}").dropFirst(10)
        let trace = try Trace.parse(text: text, file: "t.yaml")
        XCTAssertEqual(trace.replicaRanks, 8)
        for format in [TraceWriter.Format.yaml, .json] {
            XCTAssertEqual(try Trace.parse(text: TraceWriter.text(trace, format: format)).replicaRanks, 8)
        }
        XCTAssertEqual(try trace.systemTokens(devices: 768), 64 * 96)
        XCTAssertEqual(try trace.systemTokens(devices: 12), 64, "a partial replica's devices stay idle")
        XCTAssertEqual(trace.repeated(3).replicaRanks, 8)
        XCTAssertThrowsError(try trace.systemTokens(devices: 4)) { XCTAssertTrue("\($0)".contains("spans 8 devices"), "\($0)") }
        var whole = trace
        whole.replicaRanks = nil
        XCTAssertEqual(try whole.systemTokens(devices: 768), 64, "without replica_ranks the tokens are the whole system's")
        assertError(
            text.replacingOccurrences(of: "replica_ranks: 8", with: "replica_ranks: 0"), "must be a positive size, found 0", line: 3)
        assertError(
            text.replacingOccurrences(of: "replica_ranks: 8", with: "replica_ranks: 9999999"), "devices in one replica is absurd", line: 3)
    }

    func testOverflowingProductsAreRejected() {
        assertError(kernels("{id: a, op: gemm, m: 100000000000, n: 100000000000, k: 1000, dtype: bf16}"), "overflows")
        assertError(kernels("{id: a, op: gemm, m: 99999999999999999999, n: 1, k: 1, dtype: bf16}"), "too large")
    }

    func testDependencyErrors() {
        assertError(kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [b]}"), "depends on unknown kernel \"b\"")
        assertError(
            kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [b]}", "{id: b, op: gemm, m: 1, n: 1, k: 1, dtype: bf16}"),
            "which comes later in the trace")
        assertError(
            kernels(
                "{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [b]}", "{id: b, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [a]}"
            ),
            "dependency cycle: a -> b -> a")
        assertError(kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16, deps: [a]}"), "dependency cycle: a -> a")
        assertError(
            kernels("{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16}", "{id: a, op: gemm, m: 1, n: 1, k: 1, dtype: bf16}"), "used twice")
    }

    func testSchemaAndMalformedInput() {
        assertError("schema: 2\nkernels: []\n", "unsupported trace schema version 2")
        assertError("kernels: [\n", "malformed")
        assertError("schema: 1\nkernels: []\n", "no kernels")
    }

    /// A collective may name its algorithm and protocol; they survive a write and a read, and an
    /// unknown one is named with the nearest known.
    func testCollectiveAlgorithmAndProtocol() throws {
        let trace = try Trace.parse(
            text: kernels(
                "{id: a, op: all_reduce, bytes: 1048576, ranks: 16, algorithm: tree, protocol: simple}",
                "{id: b, op: all_gather, bytes: 1024, ranks: 8}"), file: "t.yaml")
        XCTAssertEqual(
            trace.kernels[0].op, .collective(.init(kind: .all_reduce, bytes: 1 << 20, ranks: 16, algorithm: .tree, protocol: .simple)))
        XCTAssertEqual(trace.kernels[1].op, .collective(.init(kind: .all_gather, bytes: 1024, ranks: 8)))
        for format in [TraceWriter.Format.yaml, .json] {
            let back = try Trace.parse(text: TraceWriter.text(trace, format: format))
            XCTAssertEqual(back.kernels.map(\.op), trace.kernels.map(\.op))
        }
        assertError(
            kernels("{id: a, op: all_reduce, bytes: 64, ranks: 8, algorithm: treee}"),
            "unknown algorithm \"treee\"; did you mean \"tree\"?",
            line: 3)
        assertError(kernels("{id: a, op: all_reduce, bytes: 64, ranks: 8, protocol: LL}"), "expected one of: ll, ll128, simple")
    }

    func testOptionalFields() throws {
        let trace = try Trace.parse(
            text: kernels(
                "{id: n, op: norm, rows: 8, columns: 4096, dtype: bf16, threads: 1024, residual: true, inputs_in_l2: false}",
                "{id: e, op: elementwise, elements: 4096, reads: 1, writes: 1, dtype: bf16, blocks: 4, threads: 256, activity: 0.25, deps: [n]}",
                "{id: g, op: grouped_gemm, m_per_group: [0, 16, 64], n: 128, k: 256, dtype: bf16}"))
        XCTAssertEqual(trace.kernels[0].op, .rowwise(.init(kind: .norm, rows: 8, columns: 4096, threads: 1024, residual: true)))
        XCTAssertEqual(trace.kernels[0].inputsInL2, false)
        XCTAssertEqual(trace.kernels[1].activity, 0.25)
        XCTAssertEqual(trace.kernels[2].op, .groupedGemm(.init(mPerGroup: [0, 16, 64], n: 128, k: 256)))
        XCTAssertNil(trace.kernels[0].units)
        let accumulating = try Trace.parse(text: kernels("{id: w, op: gemm, m: 64, n: 64, k: 4096, dtype: bf16, accumulate: fp32}"))
        for format in [TraceWriter.Format.yaml, .json] {
            XCTAssertEqual(try Trace.parse(text: TraceWriter.text(accumulating, format: format)).kernels[0].op, accumulating.kernels[0].op)
        }
        guard case .gemm(let w) = accumulating.kernels[0].op else { return XCTFail("wrong op") }
        XCTAssertEqual(w.accumulate, .fp32)
        assertError(kernels("{id: w, op: gemm, m: 8, n: 8, k: 8, dtype: bf16, accumulate: fp33}"), "unknown data type \"fp33\"")
        let limited = try Trace.parse(text: kernels("{id: g, op: gemm, m: 8, n: 8, k: 8, dtype: fp8, units: 112}"))
        XCTAssertEqual(limited.kernels[0].units, 112)
        for format in [TraceWriter.Format.yaml, .json] {
            XCTAssertEqual(try Trace.parse(text: TraceWriter.text(limited, format: format)).kernels[0].units, 112)
        }
        assertError(kernels("{id: g, op: gemm, m: 8, n: 8, k: 8, dtype: fp8, units: 0}"), "must be a positive")
        assertError(kernels("{id: g, op: gemm, m: 8, n: 8, k: 8, dtype: fp8, units: 100000}"), "expected 1 to 65536 compute units")
        assertError(
            kernels("{id: e, op: elementwise, elements: 4, reads: 1, writes: 1, dtype: bf16, activity: 1.5}"), "activity must be between")
        assertError(kernels("{id: s, op: softmax, rows: 4, columns: 4, dtype: bf16, residual: true}"), "applies to norm only")
        let libraryKernels = try Trace.parse(
            text: kernels(
                "{id: a, op: attention, phase: prefill, batch: 1, heads: 8, q_len: 128, kv_len: 128, head_dim: 64, dtype: bf16, impl: fa3}",
                "{id: b, op: attention, phase: prefill, batch: 1, heads: 8, q_len: 128, kv_len: 128, head_dim: 64, dtype: bf16, backward: true}",
                "{id: g, op: gemm, m: 8, n: 8, k: 8, dtype: bf16, impl: stream_k}"), file: "t.yaml")
        guard case .attention(let fa3) = libraryKernels.kernels[0].op, case .attention(let backward) = libraryKernels.kernels[1].op,
            case .gemm(let streamK) = libraryKernels.kernels[2].op
        else { return XCTFail("wrong ops") }
        XCTAssertEqual(fa3.impl, "fa3")
        XCTAssertTrue(backward.backward)
        XCTAssertEqual(streamK.impl, "stream_k")
        assertError(
            kernels("{id: d, op: attention, phase: decode, batch: 1, heads: 8, kv_len: 128, head_dim: 64, dtype: bf16, backward: true}"),
            "a backward pass needs phase: prefill")
    }

    func testModelDecodeStepsFollowTheArchitecture() {
        let llama = ModelDescription.llama31_8B.decodeStep(batch: 4, context: 256)
        let qwen = ModelDescription.qwen3_8B.decodeStep(batch: 4, context: 256)
        // The embedding; per layer: 2 norms, 4 GEMMs, rotary, attention, SiLU-and-mul; then final norm and LM head.
        XCTAssertEqual(llama.kernels.count, 1 + 32 * 9 + 2)
        // Qwen3 adds per-head query and key norms, as many rows as heads x tokens.
        XCTAssertEqual(qwen.kernels.count, 1 + 36 * 11 + 2)
        XCTAssertEqual(qwen.kernels[3].op, .rowwise(.init(kind: .norm, rows: 4 * 32, columns: 128, threads: 128)))
        XCTAssertEqual(qwen.kernels[4].op, .rowwise(.init(kind: .norm, rows: 4 * 8, columns: 128, threads: 128)))
        XCTAssertFalse(llama.kernels.contains { $0.id.hasSuffix("q_norm") })
    }
}
