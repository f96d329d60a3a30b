-- A results database as xpusim wrote it at schema version 1 (before runs on systems), with one
-- run of two kernels: the v1 migration of Sources/Store/Schema.swift (never edited since it
-- shipped) and GRDB's record of it. RunStoreTests opens it with this xpusim, which migrates it.
PRAGMA journal_mode = WAL;
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,              -- ISO 8601, UTC
    tool_version TEXT NOT NULL,
    chip_id TEXT NOT NULL,
    chip_hash TEXT NOT NULL,               -- SHA-256 of chip_json
    chip_json TEXT NOT NULL,               -- the full description used, overrides included
    workload_id TEXT NOT NULL,
    workload_hash TEXT NOT NULL,           -- SHA-256 of the workload file's bytes
    options_json TEXT NOT NULL,
    kernel_count INTEGER NOT NULL,
    time_s REAL NOT NULL,
    flops REAL NOT NULL,
    hbm_bytes REAL NOT NULL,
    throughput_flops_per_s REAL NOT NULL,
    tokens INTEGER,
    tokens_per_s REAL,
    clock_hz REAL NOT NULL,
    energy_j REAL,
    avg_power_w REAL,
    peak_power_w REAL,
    peak_temp_c REAL,
    throttled_s REAL
);
CREATE INDEX runs_by_created ON runs(created_at);
CREATE INDEX runs_by_chip ON runs(chip_id, created_at);
CREATE INDEX runs_by_workload ON runs(workload_id, created_at);

CREATE TABLE kernels (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                  -- position in the trace
    kernel_id TEXT NOT NULL,
    op TEXT NOT NULL,
    dtype TEXT NOT NULL,
    stream INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    duration_s REAL NOT NULL,
    cycles REAL NOT NULL,
    flops REAL NOT NULL,
    hbm_bytes REAL NOT NULL,
    l2_bytes REAL NOT NULL,
    buffer_bytes REAL NOT NULL,
    flops_per_s REAL NOT NULL,
    hbm_bytes_per_s REAL NOT NULL,
    bound TEXT NOT NULL,
    matrix_busy REAL NOT NULL,
    vector_busy REAL NOT NULL,
    hbm_busy REAL NOT NULL,
    units_used INTEGER NOT NULL,
    decomposition TEXT NOT NULL,
    energy_j REAL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX kernels_by_kernel_id ON kernels(run_id, kernel_id);

CREATE TABLE samples (                     -- time series of a run
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t_s REAL NOT NULL,
    power_w REAL,
    temp_c REAL,
    clock_hz REAL,
    hbm_bytes_per_s REAL,
    PRIMARY KEY (run_id, t_s)
) WITHOUT ROWID;

CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    status TEXT NOT NULL                   -- running, finished, interrupted
);
CREATE TABLE sweep_points (
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    parameters_json TEXT NOT NULL,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    status TEXT NOT NULL,                  -- pending, done, failed
    PRIMARY KEY (sweep_id, seq)
) WITHOUT ROWID;
CREATE INDEX sweep_points_by_run ON sweep_points(run_id);

CREATE VIEW run_summary AS
    SELECT id, created_at, chip_id, workload_id, kernel_count,
           time_s, throughput_flops_per_s / 1e12 AS tflops, tokens_per_s,
           energy_j, avg_power_w, peak_power_w, peak_temp_c
    FROM runs;
CREATE VIEW kernel_summary AS
    SELECT run_id, seq, kernel_id, op, dtype, duration_s, flops_per_s / 1e12 AS tflops,
           hbm_bytes_per_s / 1e12 AS hbm_tb_per_s, bound
    FROM kernels;

PRAGMA user_version = 1;
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES ('v1');
INSERT INTO runs (created_at, tool_version, chip_id, chip_hash, chip_json, workload_id, workload_hash, options_json,
                  kernel_count, time_s, flops, hbm_bytes, throughput_flops_per_s, tokens, tokens_per_s, clock_hz,
                  energy_j, avg_power_w, peak_power_w, peak_temp_c, throttled_s)
VALUES ('2026-11-30T12:00:00Z', '0.9.0', 'h100-sxm', 'abc', '{"id":"h100-sxm"}', 'old-workload', 'def', '{"chip":"h100-sxm"}',
        2, 2e-5, 2e9, 2e6, 1e14, 128, 6.4e6, 1.98e9, 0.01, 500, 600, 40, 0);
INSERT INTO kernels (run_id, seq, kernel_id, op, dtype, stream, start_s, end_s, duration_s, cycles, flops, hbm_bytes, l2_bytes,
                     buffer_bytes, flops_per_s, hbm_bytes_per_s, bound, matrix_busy, vector_busy, hbm_busy, units_used,
                     decomposition, energy_j)
VALUES (1, 0, 'k0', 'gemm', 'bf16', 0, 0, 1e-5, 1e-5, 19800, 1e9, 1e6, 0, 0, 1e14, 1e11, 'compute', 0.5, 0, 0.1, 132, 'old', 0.005),
       (1, 1, 'k1', 'gemm', 'bf16', 0, 1e-5, 2e-5, 1e-5, 19800, 1e9, 1e6, 0, 0, 1e14, 1e11, 'compute', 0.5, 0, 0.1, 132, 'old', 0.005);
