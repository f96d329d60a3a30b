import Chips
import Foundation
import GRDB
import Workloads

/// Profiler databases read as device kernels: Nsight Systems' SQLite export (`nsys export --type
/// sqlite`: CUPTI_ACTIVITY_KIND_KERNEL and _MEMCPY, names in StringIds) and Ascend msprof's
/// `msprof_*.db` (TASK joined to COMPUTE_TASK_INFO by globalTaskId, strings in STRING_IDS).
/// Both keep nanosecond timestamps; only the first device (the lowest id) is read.
public enum ProfileDatabase {
    public struct Profile: Sendable {
        /// "Nsight Systems" or "msprof".
        public var format: String
        public var device: Int
        public var devices: Int
        public var kernels: [ProfiledKernel]
    }

    /// Whether `path` starts with SQLite's header.
    public static func isSQLite(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return handle.readData(ofLength: 16) == Data("SQLite format 3\0".utf8)
    }

    public static func read(_ path: String) throws -> Profile {
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                if try db.tableExists("CUPTI_ACTIVITY_KIND_KERNEL") { return try nsight(db, path) }
                if try db.tableExists("TASK"), try db.tableExists("STRING_IDS") { return try msprof(db, path) }
                throw StoreError(
                    path: path,
                    message: "neither an Nsight Systems export (no CUPTI_ACTIVITY_KIND_KERNEL table) nor an msprof database "
                        + "(no TASK and STRING_IDS tables)")
            }
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: RunStore.describe(error, busyTimeout: 0))
        }
    }

    static func columns(_ db: Database, _ table: String) throws -> Set<String> {
        Set(try db.columns(in: table).map(\.name))
    }

    static func require(_ have: Set<String>, _ needed: [String], _ table: String, _ path: String) throws {
        let missing = needed.filter { !have.contains($0) }
        if !missing.isEmpty {
            throw StoreError(path: path, message: "table \(table) has no column \(missing.joined(separator: ", "))")
        }
    }

    static func nsight(_ db: Database, _ path: String) throws -> Profile {
        let have = try columns(db, "CUPTI_ACTIVITY_KIND_KERNEL")
        try require(have, ["start", "end", "deviceId", "streamId"], "CUPTI_ACTIVITY_KIND_KERNEL", path)
        let nameColumn = ["demangledName", "shortName", "mangledName"].first(where: have.contains)
        let strings = try db.tableExists("StringIds") ? try strings(db, "StringIds") : [:]
        let devices = try deviceIDs(db, "CUPTI_ACTIVITY_KIND_KERNEL", path)
        let device = devices.first ?? 0
        var kernels: [ProfiledKernel] = []
        let table = "CUPTI_ACTIVITY_KIND_KERNEL"
        for (index, row) in try Row.fetchAll(
            db, sql: "SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE deviceId = ? ORDER BY start", arguments: [device]
        ).enumerated() {
            let (start, duration) = try span(row, "start", "end", table, index, path)
            let name = nameColumn.map { text(row[$0], strings) } ?? "kernel"
            kernels.append(
                ProfiledKernel(
                    name: name, start: start, duration: duration, stream: Int(try integer(row, "streamId", table, index, path))))
        }
        if try db.tableExists("CUPTI_ACTIVITY_KIND_MEMCPY") {
            let copies = try columns(db, "CUPTI_ACTIVITY_KIND_MEMCPY")
            try require(copies, ["start", "end", "deviceId", "streamId", "copyKind", "bytes"], "CUPTI_ACTIVITY_KIND_MEMCPY", path)
            let table = "CUPTI_ACTIVITY_KIND_MEMCPY"
            for (index, row) in try Row.fetchAll(
                db, sql: "SELECT * FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE deviceId = ? ORDER BY start", arguments: [device]
            ).enumerated() {
                let (start, duration) = try span(row, "start", "end", table, index, path)
                // CUPTI_ACTIVITY_MEMCPY_KIND: 1 HtoD, 2 DtoH; device to device (8) and peer (10) as d2d.
                let kind: Op.CopyKind = {
                    switch (try? integer(row, "copyKind", table, index, path)) ?? 0 {
                    case 1: return .h2d
                    case 2: return .d2h
                    default: return .d2d
                    }
                }()
                // Its size, as its duration, is checked where every profile's kernels become a trace.
                let bytes = Int(try integer(row, "bytes", table, index, path))
                kernels.append(
                    ProfiledKernel(
                        name: "memcpy \(kind.rawValue)", start: start, duration: duration,
                        stream: Int(try integer(row, "streamId", table, index, path)), copy: (bytes, kind)))
            }
        }
        return Profile(format: "Nsight Systems", device: device, devices: devices.count, kernels: kernels)
    }

    static func msprof(_ db: Database, _ path: String) throws -> Profile {
        let have = try columns(db, "TASK")
        try require(have, ["startNs", "endNs", "deviceId", "streamId", "globalTaskId"], "TASK", path)
        let strings = try strings(db, "STRING_IDS")
        let info = try db.tableExists("COMPUTE_TASK_INFO")
        let devices = try deviceIDs(db, "TASK", path)
        let device = devices.first ?? 0
        let sql =
            info
            ? "SELECT t.*, c.name AS opName, c.opType AS opType, c.inputShapes AS inputShapes, c.inputDataTypes AS inputDataTypes, "
                + "c.outputShapes AS outputShapes FROM TASK t LEFT JOIN COMPUTE_TASK_INFO c ON c.globalTaskId = t.globalTaskId "
                + "WHERE t.deviceId = ? ORDER BY t.startNs"
            : "SELECT * FROM TASK WHERE deviceId = ? ORDER BY startNs"
        var kernels: [ProfiledKernel] = []
        for (index, row) in try Row.fetchAll(db, sql: sql, arguments: [device]).enumerated() {
            let (start, duration) = try span(row, "startNs", "endNs", "TASK", index, path)
            let opName = info ? text(row["opName"], strings) : ""
            let taskType = have.contains("taskType") ? text(row["taskType"], strings) : ""
            var kernel = ProfiledKernel(
                name: opName.isEmpty ? (taskType.isEmpty ? "task" : taskType) : opName, start: start,
                duration: duration, stream: Int(try integer(row, "streamId", "TASK", index, path)))
            if info {
                kernel.gemm = matmul(
                    text(row["opType"], strings), inputs: text(row["inputShapes"], strings), types: text(row["inputDataTypes"], strings),
                    outputs: text(row["outputShapes"], strings))
            }
            kernels.append(kernel)
        }
        return Profile(format: "msprof", device: device, devices: devices.count, kernels: kernels)
    }

    static func strings(_ db: Database, _ table: String) throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, value FROM \(table)") {
            guard case .int64(let id) = (row["id"] as DatabaseValue).storage else { continue }
            out[id] = String.fromDatabaseValue(row["value"]) ?? ""
        }
        return out
    }

    /// The devices a table's rows ran on, lowest first.
    static func deviceIDs(_ db: Database, _ table: String, _ path: String) throws -> [Int] {
        try DatabaseValue.fetchAll(db, sql: "SELECT DISTINCT deviceId FROM \(table) ORDER BY deviceId").map { value in
            guard case .int64(let id) = value.storage, let device = Int(exactly: id) else {
                throw StoreError(path: path, message: "\(table): deviceId: expected an integer on every row, found \(value)")
            }
            return device
        }
    }

    /// An integer column of row `index` of `table`, or an error that names them.
    static func integer(_ row: Row, _ column: String, _ table: String, _ index: Int, _ path: String) throws -> Int64 {
        let value: DatabaseValue = row[column]
        guard case .int64(let n) = value.storage else {
            throw StoreError(path: path, message: "\(table) row \(index + 1): \(column): expected an integer, found \(value)")
        }
        return n
    }

    /// A row's start and duration in seconds from its nanosecond timestamps, the end not before the
    /// start (how long a kernel may be is checked where every profile's kernels become a trace).
    static func span(
        _ row: Row, _ startColumn: String, _ endColumn: String, _ table: String, _ index: Int, _ path: String
    ) throws -> (start: Double, duration: Double) {
        let start = try integer(row, startColumn, table, index, path)
        let end = try integer(row, endColumn, table, index, path)
        let (length, overflow) = end.subtractingReportingOverflow(start)
        guard !overflow, length >= 0 else {
            throw StoreError(
                path: path,
                message: "\(table) row \(index + 1): \(startColumn) \(start) to \(endColumn) \(end) ns: expected an end at or after "
                    + "the start")
        }
        return (Double(start) * 1e-9, Double(length) * 1e-9)
    }

    /// A string column: text as is, or an id into the string table.
    static func text(_ value: DatabaseValue, _ strings: [Int64: String]) -> String {
        switch value.storage {
        case .string(let s): return s
        case .int64(let id): return strings[id] ?? ""
        default: return ""
        }
    }

    /// CANN's MatMul and BatchMatMul with their shapes ("m,k;k,n" in, "m,n" out; leading output
    /// dimensions are the batch): the GEMM they compute, or nil.
    static func matmul(_ opType: String, inputs: String, types: String, outputs: String) -> (
        m: Int, n: Int, k: Int, batch: Int, dtype: DataType
    )? {
        guard ["MatMul", "MatMulV2", "MatMulV3", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"].contains(opType) else { return nil }
        func dims(_ s: Substring) -> [Int] { s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        let ins = inputs.split(separator: ";").map(dims)
        let out = outputs.split(separator: ";").first.map(dims) ?? []
        guard let a = ins.first, a.count >= 2, out.count >= 2 else { return nil }
        let m = out[out.count - 2]
        let n = out[out.count - 1]
        let (a0, a1) = (a[a.count - 2], a[a.count - 1])
        let k = a0 == m ? a1 : a0
        let limit = 1 << 31
        guard (1...limit).contains(m), (1...limit).contains(n), (1...limit).contains(k) else { return nil }
        var batch = 1
        for d in out.dropLast(2) {
            let (product, overflow) = batch.multipliedReportingOverflow(by: d)
            guard !overflow, (1...limit).contains(product) else { return nil }
            batch = product
        }
        let t = types.split(separator: ";").first.map { $0.uppercased() } ?? ""
        let dtype: DataType =
            t.contains("BF16")
            ? .bf16 : t.contains("INT8") ? .int8 : t.contains("FLOAT16") || t.contains("FP16") ? .fp16 : t.contains("FLOAT") ? .fp32 : .bf16
        return (m, n, k, batch, dtype)
    }
}
