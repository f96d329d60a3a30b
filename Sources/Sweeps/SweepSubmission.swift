import Foundation

/// What `sweep submit` hands a cluster: a Slurm job-array script, or a GNU parallel command line,
/// each task running one shard of the plan into its own result file (no cluster library is
/// linked; the scheduler's own commands do the work).
public struct SweepSubmission: Sendable {
    public enum Engine: String, CaseIterable, Sendable { case slurm, parallel }

    /// The xpusim binary, the spec, the chips folder, the result folder and the working folder, as absolute paths.
    public var executable: String
    public var spec: String
    public var chips: String
    public var out: String
    public var workingDirectory: String
    public var planID: String
    public var name: String
    public var tasks: Int
    /// Points per array task.
    public var chunk: Int
    /// Array tasks running at once (Slurm's `%limit`, parallel's `--jobs`).
    public var maxRunning: Int
    public var cpusPerTask: Int
    public var partition: String?
    public var timeLimit: String?
    public var toolVersion: String

    public init(
        executable: String, spec: String, chips: String, out: String, workingDirectory: String, plan: SweepPlan, chunk: Int,
        maxRunning: Int, cpusPerTask: Int = 1, partition: String? = nil, timeLimit: String? = nil, toolVersion: String
    ) {
        self.executable = executable
        self.spec = spec
        self.chips = chips
        self.out = out
        self.workingDirectory = workingDirectory
        self.planID = plan.id
        self.name = plan.spec.name
        self.tasks = plan.taskCount
        self.chunk = chunk
        self.maxRunning = maxRunning
        self.cpusPerTask = cpusPerTask
        self.partition = partition
        self.timeLimit = timeLimit
        self.toolVersion = toolVersion
    }

    /// Array tasks: the plan's tasks in chunks of `chunk`.
    public var shards: Int { max(1, (tasks + chunk - 1) / chunk) }

    /// Slurm's default MaxArraySize is 1001 (indices up to 1000).
    public static let slurmMaxArray = 1000

    public var logs: String { out + "/logs" }

    /// One word for a shell, single-quoted unless it is plainly safe.
    public static func quote(_ word: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@%")
        if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The command one task runs, with `shard` standing for its 1-based shard number.
    func taskCommand(shard: String) -> String {
        [
            Self.quote(executable), "sweep", "run", Self.quote(spec), "--chips-dir", Self.quote(chips), "--shard", "\(shard)/\(shards)",
            "--out", Self.quote(out), "--jobs", "\(cpusPerTask)", "--no-progress",
        ].joined(separator: " ")
    }

    /// A job-array script for sbatch: array task k runs shard k of `shards` into its own result file.
    public var slurmScript: String {
        var lines = [
            "#!/bin/bash",
            "# xpusim sweep \(name) (plan \(planID)): \(tasks) point(s) in \(shards) array task(s) of up to \(chunk), "
                + "at most \(maxRunning) at once.",
            "# Rendered by xpusim \(toolVersion) sweep submit. Each task writes one result file into the result folder;",
            "# when the array has finished: xpusim sweep merge \(Self.quote(out))",
            "# The logs folder must exist before sbatch runs this (sweep submit creates it): mkdir -p \(Self.quote(logs))",
            "#SBATCH --job-name=\(Self.quote("xpusim-" + name))",
            "#SBATCH --array=1-\(shards)%\(maxRunning)",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=\(cpusPerTask)",
            "#SBATCH --chdir=\(Self.quote(workingDirectory))",
            "#SBATCH --output=\(Self.quote(logs + "/slurm-%A_%a.out"))",
        ]
        if let partition { lines.append("#SBATCH --partition=\(Self.quote(partition))") }
        if let timeLimit { lines.append("#SBATCH --time=\(Self.quote(timeLimit))") }
        lines += ["set -euo pipefail", "exec " + taskCommand(shard: "${SLURM_ARRAY_TASK_ID}"), ""]
        return lines.joined(separator: "\n")
    }

    /// The GNU parallel command line that runs the same shards on one machine.
    public var parallelCommand: String {
        // -q: parallel runs each task through a shell again; it quotes the words so that paths
        // with spaces or quotes reach xpusim as they are.
        "mkdir -p \(Self.quote(logs)) && seq 1 \(shards) | parallel -q --jobs \(maxRunning) --halt never --joblog "
            + "\(Self.quote(logs + "/parallel.joblog")) " + taskCommand(shard: "{}")
    }
}
