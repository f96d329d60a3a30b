import Foundation
import TestSupport
import XCTest

/// `workload import` on profiler databases: an Nsight Systems SQLite export and an Ascend msprof
/// database, built here with the sqlite3 tool in the tables and columns those tools write
/// (docs.nvidia.com nsys-exporter "SQLite Export Schema Reference"; msprof "Description of .db
/// Data Exported by msprof"), with nanosecond times and names in their string tables.
final class ProfileDatabaseImportTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func database(_ name: String, _ sql: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        let r = try runProgram("/usr/bin/env", ["sqlite3", path, sql])
        XCTAssertEqual(r.status, 0, r.stderr)
        return path
    }

    func importTrace(_ path: String) throws -> (CommandResult, String) {
        let out = dir.appendingPathComponent(UUID().uuidString + ".yaml").path
        let r = try xpusim(["workload", "import", path, "-o", out])
        return (r, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    func testNsightSystemsExport() throws {
        let path = try database(
            "nsys.sqlite",
            """
            CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO StringIds VALUES (1, 'sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n'), (2, 'flash_fwd_kernel'), (3, 'gemm');
            CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INT NOT NULL, end INT NOT NULL, deviceId INT NOT NULL, contextId INT NOT NULL,
              streamId INT NOT NULL, correlationId INT NOT NULL, demangledName INT NOT NULL, shortName INT NOT NULL, gridX INT NOT NULL);
            INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1000, 51000, 0, 1, 7, 1, 1, 3, 132), (52000, 82000, 0, 1, 7, 2, 2, 2, 64),
              (53000, 63000, 0, 1, 13, 3, 1, 3, 132), (60000, 70000, 1, 1, 7, 4, 1, 3, 132);
            CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INT NOT NULL, end INT NOT NULL, deviceId INT NOT NULL, streamId INT NOT NULL,
              copyKind INT NOT NULL, bytes INT NOT NULL);
            INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (0, 900, 0, 7, 1, 1048576), (90000, 91000, 0, 7, 2, 4096);
            """)
        let (r, trace) = try importTrace(path)
        XCTAssertEqual(r.status, 0, r.stderr)
        // Device 0 only: 3 kernels and 2 copies, on 2 streams, in time order, each after the one before it on its stream.
        XCTAssertTrue(
            r.stderr.contains("(Nsight Systems, device 0 of 2): 5 kernels on 2 streams: 0 mapped to GEMMs and 2 to copies"), r.stderr)
        XCTAssertTrue(trace.contains("{id: k0, op: memcpy, bytes: 1048576, kind: h2d, dtype: bf16}"), trace)
        XCTAssertTrue(
            trace.contains("{id: k1, op: measured, duration: \"50 us\", kernel: sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n, deps: [k0]}"),
            trace)
        XCTAssertTrue(trace.contains("{id: k2, op: measured, duration: \"30 us\", kernel: flash_fwd_kernel, deps: [k1]}"), trace)
        XCTAssertTrue(
            trace.contains("{id: k3, op: measured, duration: \"10 us\", kernel: sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n, stream: 1}"),
            trace)
        XCTAssertTrue(trace.contains("{id: k4, op: memcpy, bytes: 4096, kind: d2h, dtype: bf16, deps: [k2]}"), trace)
        // The trace replays on another chip: the copies simulated there, the measured kernels at their recorded time.
        let replay = dir.appendingPathComponent("replay.yaml").path
        try trace.write(toFile: replay, atomically: true, encoding: .utf8)
        let run = try xpusim(["run", "--chip", "ascend-910b2", "--workload", replay, "--no-store", "--format", "json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let kernels = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["kernels"] as? [[String: Any]])
        XCTAssertEqual(kernels.count, 5)
        XCTAssertEqual(try XCTUnwrap(kernels[1]["duration_s"] as? Double), 50e-6, accuracy: 1e-12)
    }

    /// Rows a profiler would not write end in one message naming the table, the row and the column.
    func testMalformedNsightRowsAreRefused() throws {
        let table = "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start, end, streamId, deviceId, shortName, demangledName);"
        let text = try database("text.sqlite", table + "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES ('a', 'b', NULL, 0, 'x', 'y');")
        let (r1, _) = try importTrace(text)
        XCTAssertEqual(r1.status, 1)
        XCTAssertTrue(r1.stderr.contains("CUPTI_ACTIVITY_KIND_KERNEL row 1: start: expected an integer"), r1.stderr)
        let extreme = try database(
            "extreme.sqlite",
            "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL); INSERT INTO StringIds VALUES (1, 'k');" + table
                + "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (-9223372036854775808, 9223372036854775807, 7, 0, 1, 1);")
        let (r2, _) = try importTrace(extreme)
        XCTAssertEqual(r2.status, 1)
        XCTAssertTrue(r2.stderr.contains("expected an end at or after the start"), r2.stderr)
        let backwards = try database(
            "backwards.sqlite", table + "INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (5000, 4000, 7, 0, 'x', 'y');")
        XCTAssertEqual(try importTrace(backwards).0.status, 1)
    }

    func testMsprofDatabase() throws {
        let path = try database(
            "msprof_20261202.db",
            """
            CREATE TABLE STRING_IDS (id INTEGER PRIMARY KEY, value TEXT);
            INSERT INTO STRING_IDS VALUES (1, 'MatMulV2'), (2, 'aclnnMatmul_MatMulCommon_MatMulV2'), (3, '1024,4096;2048,4096'),
              (4, 'DT_BF16;DT_BF16'), (5, '1024,2048'), (6, 'AI_VECTOR_CORE'), (7, 'RmsNorm'), (8, 'AI_CORE'), (9, 'BatchMatMulV2'),
              (10, '8,128,64;8,64,256'), (11, '8,128,256'), (12, 'FLOAT16;FLOAT16');
            CREATE TABLE TASK (startNs INTEGER, endNs INTEGER, deviceId INTEGER, connectionId INTEGER, globalTaskId INTEGER,
              globalPid INTEGER, taskType INTEGER, contextId INTEGER, streamId INTEGER, taskId INTEGER, modelId INTEGER);
            INSERT INTO TASK VALUES (1000, 201000, 0, 1, 10, 1, 8, 0, 3, 1, 0), (202000, 212000, 0, 2, 11, 1, 6, 0, 3, 2, 0),
              (213000, 223000, 0, 3, 12, 1, 8, 0, 3, 3, 0), (224000, 226000, 0, 4, 13, 1, 6, 0, 5, 4, 0);
            CREATE TABLE COMPUTE_TASK_INFO (name INTEGER, globalTaskId INTEGER, blockDim INTEGER, mixBlockDim INTEGER, taskType INTEGER,
              opType INTEGER, inputFormats INTEGER, inputDataTypes INTEGER, inputShapes INTEGER, outputFormats INTEGER,
              outputDataTypes INTEGER, outputShapes INTEGER);
            INSERT INTO COMPUTE_TASK_INFO VALUES (2, 10, 24, 0, 8, 1, 0, 4, 3, 0, 4, 5), (7, 11, 48, 0, 6, 7, 0, 4, 5, 0, 4, 5),
              (9, 12, 24, 0, 8, 9, 0, 12, 10, 0, 12, 11);
            """)
        let (r, trace) = try importTrace(path)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("(msprof): 4 kernels on 2 streams: 2 mapped to GEMMs"), r.stderr)
        // B given as [n, k] (transposed): k is A's other dimension.
        XCTAssertTrue(trace.contains("{id: k0, op: gemm, m: 1024, n: 2048, k: 4096, dtype: bf16}"), trace)
        XCTAssertTrue(trace.contains("{id: k1, op: measured, duration: \"10 us\", kernel: RmsNorm, deps: [k0]}"), trace)
        XCTAssertTrue(trace.contains("{id: k2, op: gemm, m: 128, n: 256, k: 64, batch: 8, dtype: fp16, deps: [k1]}"), trace)
        // A task without operator information keeps its task type as its name.
        XCTAssertTrue(trace.contains("kernel: AI_VECTOR_CORE, stream: 1}"), trace)
    }

    func testOtherDatabasesAreRefusedByName() throws {
        let path = try database("other.db", "CREATE TABLE t (x INTEGER);")
        let (r, _) = try importTrace(path)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("other.db: neither an Nsight Systems export"), r.stderr)
        let broken = try database("broken.sqlite", "CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INT, deviceId INT);")
        let (b, _) = try importTrace(broken)
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.stderr.contains("table CUPTI_ACTIVITY_KIND_KERNEL has no column end, streamId"), b.stderr)
        XCTAssertEqual(b.stderr.split(separator: "\n").count, 1, b.stderr)
    }
}
