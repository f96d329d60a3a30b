import GRDB

extension RunStore {
    /// Migrations from the first release on; never edit a shipped migration, add a new one.
    /// Columns are SI units with the unit in the name.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
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
                    """)
        }
        // v2: runs on systems (run --system): the system, its nodes and its whole power; per
        // collective kernel the algorithm and protocol its library ran and its bus bandwidth.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE runs ADD COLUMN system_id TEXT;            -- null for a single-chip run
                    ALTER TABLE runs ADD COLUMN system_hash TEXT;          -- SHA-256 of system_json
                    ALTER TABLE runs ADD COLUMN system_json TEXT;
                    ALTER TABLE runs ADD COLUMN nodes INTEGER;
                    ALTER TABLE runs ADD COLUMN devices INTEGER;
                    ALTER TABLE runs ADD COLUMN system_avg_power_w REAL;  -- chips, hosts, NICs, switches and fans
                    ALTER TABLE runs ADD COLUMN system_energy_j REAL;
                    CREATE INDEX runs_by_system ON runs(system_id, created_at);
                    ALTER TABLE kernels ADD COLUMN algorithm TEXT;         -- collectives only
                    ALTER TABLE kernels ADD COLUMN protocol TEXT;
                    ALTER TABLE kernels ADD COLUMN busbw_bytes_per_s REAL;
                    DROP VIEW run_summary;
                    CREATE VIEW run_summary AS
                        SELECT id, created_at, chip_id, system_id, nodes, workload_id, kernel_count,
                               time_s, throughput_flops_per_s / 1e12 AS tflops, tokens_per_s,
                               energy_j, avg_power_w, peak_power_w, peak_temp_c, system_avg_power_w, system_energy_j
                        FROM runs;
                    PRAGMA user_version = 2;
                    """)
        }
        // v3: per run on a system, what one rank's collectives moved over each class of link.
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    CREATE TABLE links (
                        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL,                  -- the order the run first used the class
                        name TEXT NOT NULL,
                        bytes REAL NOT NULL,                   -- one rank, per direction
                        busy_s REAL NOT NULL,
                        line_rate_bytes_per_s REAL NOT NULL,
                        PRIMARY KEY (run_id, seq)
                    ) WITHOUT ROWID;
                    PRAGMA user_version = 3;
                    """)
        }
        return migrator
    }()
}
