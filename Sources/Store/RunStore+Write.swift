import Fabric
import Foundation
import GRDB
import SimCore
import Simulator

/// What a run was made from, beyond its result.
public struct RunContext: Sendable {
    public var toolVersion: String
    public var chipJSON: String
    public var workloadID: String
    /// Hash of the workload's bytes (the file), so an edited file is a different workload.
    public var workloadHash: String
    /// Options as given (chip reference, overrides, workload path, ...), stored as JSON.
    public var options: [String: String]
    /// The system a run's trace ran on as one rank (run --system); nil for a single chip.
    public var system: SystemContext?

    public init(
        toolVersion: String, chipJSON: String, workloadID: String, workloadHash: String, options: [String: String],
        system: SystemContext? = nil
    ) {
        self.toolVersion = toolVersion
        self.chipJSON = chipJSON
        self.workloadID = workloadID
        self.workloadHash = workloadHash
        self.options = options
        self.system = system
    }
}

/// What a run on a system stores beside the chip run: the system, and the whole system's power.
public struct SystemContext: Sendable {
    public var id: String
    public var json: String
    public var nodes: Int
    public var devices: Int
    public var averagePower: Double
    public var energy: Double
    public init(id: String, json: String, nodes: Int, devices: Int, averagePower: Double, energy: Double) {
        self.id = id
        self.json = json
        self.nodes = nodes
        self.devices = devices
        self.averagePower = averagePower
        self.energy = energy
    }
}

extension RunStore {
    /// Stores a run with all its kernels in one transaction; returns its id.
    @discardableResult
    public func save(_ result: RunResult, context: RunContext, createdAt: Date = Date()) throws -> Int64 {
        let options = String(decoding: try JSONSerialization.data(withJSONObject: context.options, options: [.sortedKeys]), as: UTF8.self)
        let throughput = result.totalTime > 0 ? result.totalFLOPs / result.totalTime : 0
        let tokensPerSecond = result.tokens.map { result.totalTime > 0 ? Double($0) / result.totalTime : 0 }
        // Runs made without the power model (synthetic results) carry no power columns.
        let power: Bool? = result.power.energy > 0 ? true : nil
        return try guarded {
            try pool.write { db -> Int64 in
                try db.execute(
                    sql: """
                        INSERT INTO runs (created_at, tool_version, chip_id, chip_hash, chip_json, workload_id, workload_hash, options_json,
                                          kernel_count, time_s, flops, hbm_bytes, throughput_flops_per_s, tokens, tokens_per_s, clock_hz,
                                          energy_j, avg_power_w, peak_power_w, peak_temp_c, throttled_s,
                                          system_id, system_hash, system_json, nodes, devices, system_avg_power_w, system_energy_j)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        RunStore.timestamp(createdAt), context.toolVersion, result.chip, ContentHash.sha256(context.chipJSON),
                        context.chipJSON, context.workloadID, context.workloadHash, options, result.kernels.count,
                        result.totalTime, result.totalFLOPs, result.totalHBMBytes, throughput, result.tokens, tokensPerSecond, result.clock,
                        power.map { _ in result.power.energy }, power.map { _ in result.power.averagePower },
                        power.map { _ in result.power.peakPower }, power.map { _ in result.power.peakTemperature },
                        power.map { _ in result.power.powerThrottled + result.power.thermalThrottled },
                        context.system?.id, context.system.map { ContentHash.sha256($0.json) }, context.system?.json, context.system?.nodes,
                        context.system?.devices, context.system?.averagePower, context.system?.energy,
                    ])
                let runID = db.lastInsertedRowID
                let insert = try db.makeStatement(
                    sql: """
                        INSERT INTO kernels (run_id, seq, kernel_id, op, dtype, stream, start_s, end_s, duration_s, cycles, flops,
                                             hbm_bytes, l2_bytes, buffer_bytes, flops_per_s, hbm_bytes_per_s, bound,
                                             matrix_busy, vector_busy, hbm_busy, units_used, decomposition, energy_j,
                                             algorithm, protocol, busbw_bytes_per_s)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                for (seq, k) in result.kernels.enumerated() {
                    let c = k.cost
                    insert.setUncheckedArguments([
                        runID, seq, k.id, k.op, k.dtype.rawValue, k.stream, k.start, k.end, k.duration, k.cycles,
                        c.flops, c.hbmBytes, c.l2Bytes, c.bufferBytes, k.achievedFLOPS, k.achievedHBMBandwidth,
                        c.bound.rawValue, c.matrixBusy, c.vectorBusy, c.hbmBusy, c.unitsUsed, c.decomposition,
                        power.map { _ in k.energy }, c.collective?.algorithm.rawValue, c.collective?.protocol.rawValue,
                        c.collective?.busBandwidth,
                    ])
                    try insert.execute()
                }
                let sample = try db.makeStatement(
                    sql: "INSERT OR IGNORE INTO samples (run_id, t_s, power_w, temp_c, clock_hz, hbm_bytes_per_s) VALUES (?, ?, ?, ?, ?, ?)"
                )
                for s in result.downsampledSamples().samples {
                    sample.setUncheckedArguments([runID, s.time, s.power, s.temperature, s.clock, s.hbmBandwidth])
                    try sample.execute()
                }
                let link = try db.makeStatement(
                    sql: "INSERT INTO links (run_id, seq, name, bytes, busy_s, line_rate_bytes_per_s) VALUES (?, ?, ?, ?, ?, ?)")
                for (seq, l) in result.linkTotals.enumerated() {
                    link.setUncheckedArguments([runID, seq, l.name, l.bytes, l.busy, l.lineRate])
                    try link.execute()
                }
                return runID
            }
        }
    }

    /// Deletes a run and everything stored with it; false if there was no such run.
    public func delete(_ id: Int64) throws -> Bool {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
                return db.changesCount > 0
            }
        }
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
