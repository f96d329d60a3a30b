import ArgumentParser
import Foundation
import Sweeps

extension SweepSubmission.Engine: ExpressibleByArgument {}

extension SweepCommand {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Run a sweep on a Slurm cluster (a job array) or with GNU parallel, each task into its own result file.",
            discussion: """
                --engine slurm writes DIR/submit.sbatch, a job-array script (chunks of --chunk points,
                at most --max-running at once, each array task running `xpusim sweep run --shard k/n
                --out DIR`), and submits it with sbatch; --engine parallel runs the same shards with GNU
                parallel on this machine. --dry-run prints the script or command and submits nothing.
                DIR must be on a file system every node sees; each task writes its database on local disk
                (TMPDIR) and copies it whole into DIR. When the tasks have finished:
                `xpusim sweep merge DIR`.
                """)
        @OptionGroup var spec: Spec
        @Option(help: "slurm or parallel.") var engine: SweepSubmission.Engine
        @Option(help: "The result folder (shared by the nodes).") var out: String
        @Option(help: "Points per array task (default: 50, more if the array would exceed 1,000 tasks).") var chunk: Int?
        @Option(help: "Array tasks running at once.") var maxRunning = 64
        @Option(help: "Cores per task (each task simulates this many points at once).") var cpusPerTask = 1
        @Option(help: "Slurm partition.") var partition: String?
        @Option(help: "Slurm time limit per array task (e.g. 30:00).") var timeLimit: String?
        @Option(help: "The xpusim the tasks run (default: this one).") var executable: String?
        @Flag(help: "Print the script (or command) and submit nothing.") var dryRun = false

        func validate() throws {
            if let chunk, chunk < 1 || chunk > SweepSpec.maxPoints { throw ValidationError("--chunk must be 1 to \(SweepSpec.maxPoints)") }
            if maxRunning < 1 || maxRunning > 100_000 { throw ValidationError("--max-running must be 1 to 100000") }
            if cpusPerTask < 1 || cpusPerTask > 4096 { throw ValidationError("--cpus-per-task must be 1 to 4096") }
            // What goes into the #SBATCH lines is checked: Slurm's time formats, and a partition name without spaces.
            if let timeLimit, timeLimit.range(of: #"^((\d+-)?\d+(:\d+){0,2}|UNLIMITED|infinite)$"#, options: .regularExpression) == nil {
                throw ValidationError(
                    "--time-limit: expected a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), found \"\(timeLimit)\"")
            }
            if let partition, partition.isEmpty || partition.contains(where: { $0.isWhitespace || $0 == "#" }) {
                throw ValidationError("--partition: expected a partition name without spaces, found \"\(partition)\"")
            }
        }

        static func absolute(_ path: String) -> String {
            let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            return url.standardizedFileURL.path
        }

        /// The running binary's absolute path.
        static func selfExecutable() -> String {
            #if os(Linux)
                if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
            #endif
            return absolute(CommandLine.arguments[0])
        }

        /// The first executable called `name` on PATH.
        static func onPath(_ name: String) -> String? {
            for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
                let candidate = "\(folder)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            return nil
        }

        func run() throws {
            let plan = try spec.plan()
            let chunkSize = chunk ?? max(50, (plan.taskCount + SweepSubmission.slurmMaxArray - 1) / SweepSubmission.slurmMaxArray)
            let submission = SweepSubmission(
                executable: executable.map(Self.absolute) ?? Self.selfExecutable(), spec: Self.absolute(spec.spec),
                chips: Self.absolute(spec.chips), out: Self.absolute(out), workingDirectory: FileManager.default.currentDirectoryPath,
                plan: plan, chunk: chunkSize, maxRunning: maxRunning, cpusPerTask: cpusPerTask, partition: partition, timeLimit: timeLimit,
                toolVersion: XPUSim.configuration.version)
            if engine == .slurm && submission.shards > SweepSubmission.slurmMaxArray {
                throw ValidationError(
                    "\(submission.shards) array tasks is more than Slurm's default MaxArraySize allows (\(SweepSubmission.slurmMaxArray)): "
                        + "give a larger --chunk")
            }
            let text = engine == .slurm ? submission.slurmScript : submission.parallelCommand + "\n"
            if dryRun {
                print(text, terminator: "")
                return
            }
            let tool = engine == .slurm ? "sbatch" : "parallel"
            guard let binary = Self.onPath(tool) else {
                throw ValidationError(
                    "\(tool) is not on PATH: \(engine == .slurm ? "submit from a Slurm login node" : "install GNU parallel"), "
                        + "or use --dry-run and run what it prints")
            }
            do {
                try SweepResults.prepare(plan, toolVersion: XPUSim.configuration.version, in: submission.out)
                try FileManager.default.createDirectory(atPath: submission.logs, withIntermediateDirectories: true)
            } catch let error as SweepError {
                throw ValidationError(error.description)
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            let stdout = Pipe()
            if engine == .slurm {
                let script = submission.out + "/submit.sbatch"
                try text.write(toFile: script, atomically: true, encoding: .utf8)
                process.arguments = ["--parsable", script]
                process.standardOutput = stdout
            } else {
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", submission.parallelCommand]
            }
            try process.run()
            // Only sbatch's output is captured (parallel's tasks print straight through).
            let output = engine == .slurm ? stdout.fileHandleForReading.readDataToEndOfFile() : Data()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ValidationError("\(tool) exited with status \(process.terminationStatus); see its message above")
            }
            if engine == .slurm {
                let job =
                    String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    .split(separator: ";").first.map(String.init) ?? ""
                print(
                    "submitted job \(job): sweep \(plan.id) (\(plan.spec.name)), \(plan.taskCount) point(s) in \(submission.shards) array "
                        + "task(s); when `squeue -j \(job)` lists nothing: xpusim sweep merge \(SweepSubmission.quote(out))")
            } else {
                print(
                    "sweep \(plan.id) (\(plan.spec.name)): \(submission.shards) shard(s) run with GNU parallel into \(out); "
                        + "next: xpusim sweep merge \(SweepSubmission.quote(out))")
            }
        }
    }
}
