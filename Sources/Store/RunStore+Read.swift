import Foundation
import GRDB
import Simulator

/// One stored run's metadata and totals.
/// A run's options as stored (`options_json`: a flat object of strings); empty if it does not parse.
public func runOptions(_ json: String) -> [String: String] {
    (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] ?? [:]
}

public struct StoredRun: Sendable {
    /// The options the run was stored with, as strings by name.
    public var optionValues: [String: String] { runOptions(options) }

    public var id: Int64
    public var createdAt: String
    public var toolVersion: String
    public var chipID: String
    public var chipHash: String
    public var workloadID: String
    public var workloadHash: String
    public var options: String
    public var kernelCount: Int
    public var time: Double
    public var flops: Double
    public var hbmBytes: Double
    public var throughput: Double
    public var tokens: Int?
    public var tokensPerSecond: Double?
    public var clock: Double
    public var energy: Double?
    public var averagePower: Double?
    public var peakPower: Double?
    public var peakTemperature: Double?
    public var throttled: Double?
    /// For a run on a system (schema 2 on): the system, its nodes and devices, and its whole power.
    public var systemID: String?
    public var nodes: Int?
    public var devices: Int?
    public var systemAveragePower: Double?
    public var systemEnergy: Double?

    init(_ row: Row) {
        id = row["id"]
        createdAt = row["created_at"]
        toolVersion = row["tool_version"]
        chipID = row["chip_id"]
        chipHash = row["chip_hash"]
        workloadID = row["workload_id"]
        workloadHash = row["workload_hash"]
        options = row["options_json"]
        kernelCount = row["kernel_count"]
        time = row["time_s"]
        flops = row["flops"]
        hbmBytes = row["hbm_bytes"]
        throughput = row["throughput_flops_per_s"]
        tokens = row["tokens"]
        tokensPerSecond = row["tokens_per_s"]
        clock = row["clock_hz"]
        energy = row["energy_j"]
        averagePower = row["avg_power_w"]
        peakPower = row["peak_power_w"]
        peakTemperature = row["peak_temp_c"]
        throttled = row["throttled_s"]
        systemID = row["system_id"]
        nodes = row["nodes"]
        devices = row["devices"]
        systemAveragePower = row["system_avg_power_w"]
        systemEnergy = row["system_energy_j"]
    }

    /// Column name to value, in SI units, for JSON and tables.
    public var fields: [(String, Any?)] {
        [
            ("id", id), ("created_at", createdAt), ("tool_version", toolVersion), ("chip_id", chipID), ("chip_hash", chipHash),
            ("workload_id", workloadID), ("workload_hash", workloadHash), ("kernel_count", kernelCount), ("time_s", time),
            ("flops", flops), ("hbm_bytes", hbmBytes), ("throughput_flops_per_s", throughput), ("tokens", tokens),
            ("tokens_per_s", tokensPerSecond), ("clock_hz", clock), ("energy_j", energy), ("avg_power_w", averagePower),
            ("peak_power_w", peakPower), ("peak_temp_c", peakTemperature), ("throttled_s", throttled), ("system_id", systemID),
            ("nodes", nodes), ("devices", devices), ("system_avg_power_w", systemAveragePower), ("system_energy_j", systemEnergy),
        ]
    }
}

/// One stored kernel result.
public struct StoredKernel: Sendable {
    public var seq: Int
    public var kernelID: String
    public var op: String
    public var dtype: String
    public var stream: Int
    public var start: Double, end: Double, duration: Double, cycles: Double, flops: Double
    public var hbmBytes: Double, l2Bytes: Double, bufferBytes: Double, flopsPerSecond: Double, hbmBytesPerSecond: Double
    public var bound: String
    public var matrixBusy: Double, vectorBusy: Double, hbmBusy: Double
    public var unitsUsed: Int
    public var decomposition: String
    /// Collectives only: the algorithm and protocol their library ran, and the bus bandwidth.
    public var algorithm: String?
    public var `protocol`: String?
    public var busBandwidth: Double?

    init(_ row: Row) {
        seq = row["seq"]
        kernelID = row["kernel_id"]
        op = row["op"]
        dtype = row["dtype"]
        stream = row["stream"]
        start = row["start_s"]
        end = row["end_s"]
        duration = row["duration_s"]
        cycles = row["cycles"]
        flops = row["flops"]
        hbmBytes = row["hbm_bytes"]
        l2Bytes = row["l2_bytes"]
        bufferBytes = row["buffer_bytes"]
        flopsPerSecond = row["flops_per_s"]
        hbmBytesPerSecond = row["hbm_bytes_per_s"]
        bound = row["bound"]
        matrixBusy = row["matrix_busy"]
        vectorBusy = row["vector_busy"]
        hbmBusy = row["hbm_busy"]
        unitsUsed = row["units_used"]
        decomposition = row["decomposition"]
        algorithm = row["algorithm"]
        `protocol` = row["protocol"]
        busBandwidth = row["busbw_bytes_per_s"]
    }

    public static let columns = [
        "seq", "kernel_id", "op", "dtype", "stream", "start_s", "end_s", "duration_s", "cycles", "flops",
        "hbm_bytes", "l2_bytes", "buffer_bytes", "flops_per_s", "hbm_bytes_per_s", "bound",
        "matrix_busy", "vector_busy", "hbm_busy", "units_used", "decomposition",
    ]

    public var values: [Any] {
        [
            seq, kernelID, op, dtype, stream, start, end, duration, cycles, flops, hbmBytes, l2Bytes, bufferBytes, flopsPerSecond,
            hbmBytesPerSecond, bound, matrixBusy, vectorBusy, hbmBusy, unitsUsed, decomposition,
        ]
    }
}

/// Which runs `list` returns.
public struct RunFilter: Sendable {
    public var chip: String?
    public var workload: String?
    /// ISO 8601 date or date-time; runs created at or after it.
    public var since: String?
    /// Runs created before it.
    public var until: String?
    public var limit: Int?
    public init(chip: String? = nil, workload: String? = nil, since: String? = nil, until: String? = nil, limit: Int? = nil) {
        self.chip = chip
        self.workload = workload
        self.since = since
        self.until = until
        self.limit = limit
    }
}

extension RunStore {
    /// Runs matching the filter, newest first.
    public func list(_ filter: RunFilter = RunFilter()) throws -> [StoredRun] {
        var conditions: [String] = []
        var arguments: [DatabaseValueConvertible?] = []
        if let chip = filter.chip {
            conditions.append("chip_id = ?")
            arguments.append(chip)
        }
        if let workload = filter.workload {
            conditions.append("workload_id = ?")
            arguments.append(workload)
        }
        if let since = filter.since {
            conditions.append("created_at >= ?")
            arguments.append(since)
        }
        if let until = filter.until {
            conditions.append("created_at < ?")
            arguments.append(until)
        }
        var sql = "SELECT * FROM runs"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY created_at DESC, id DESC"
        if let limit = filter.limit { sql += " LIMIT \(max(0, limit))" }
        return try guarded {
            try pool.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(StoredRun.init) }
        }
    }

    public func run(_ id: Int64) throws -> StoredRun? {
        try guarded {
            try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(StoredRun.init) }
        }
    }

    /// The run's time series: (t_s, power_w, temp_c, clock_hz).
    public func samples(_ id: Int64) throws -> [(time: Double, power: Double, temperature: Double, clock: Double)] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT t_s, power_w, temp_c, clock_hz FROM samples WHERE run_id = ? ORDER BY t_s", arguments: [id]
                )
                .map { ($0["t_s"], $0["power_w"], $0["temp_c"], $0["clock_hz"]) }
            }
        }
    }

    /// What one rank's collectives moved over each class of link (runs on a system; schema 3).
    public func links(_ id: Int64) throws -> [LinkTotal] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM links WHERE run_id = ? ORDER BY seq", arguments: [id]).map {
                    LinkTotal(name: $0["name"], bytes: $0["bytes"], busy: $0["busy_s"], lineRate: $0["line_rate_bytes_per_s"])
                }
            }
        }
    }

    public func chipJSON(_ id: Int64) throws -> String? {
        try guarded { try pool.read { db in try String.fetchOne(db, sql: "SELECT chip_json FROM runs WHERE id = ?", arguments: [id]) } }
    }

    public func kernels(_ id: Int64) throws -> [StoredKernel] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM kernels WHERE run_id = ? ORDER BY seq", arguments: [id]).map(StoredKernel.init)
            }
        }
    }

    /// Runs whose stored kernel count disagrees with their kernel rows (there should never be any).
    public func incompleteRuns() throws -> [Int64] {
        try guarded {
            try pool.read { db in
                try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT r.id FROM runs r LEFT JOIN kernels k ON k.run_id = r.id
                        GROUP BY r.id HAVING COUNT(k.seq) != r.kernel_count
                        """)
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    public func integrityCheck() throws -> String {
        try guarded { try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") } }
    }
}
