import Foundation
import SimCore
import Store

/// A sweep's result folder, for runs spread over many processes or machines (`sweep run --shard
/// k/n --out DIR`, `sweep submit`): each task writes its points into a result file of its own
/// (an xpusim database, whole or absent), beside a manifest of the plan; `merge` folds the files
/// into one database, each point exactly once, and refuses files of another plan.
public enum SweepResults {
    public static let manifestName = "plan.json"

    /// The result file of tasks `tasks` of `plan`.
    public static func fileName(_ plan: SweepPlan, tasks: Range<Int>) -> String {
        tasks.isEmpty ? "\(plan.id)-tasks-none.sqlite" : "\(plan.id)-tasks-\(tasks.lowerBound)-\(tasks.upperBound - 1).sqlite"
    }

    struct Manifest: Codable {
        var sweep: String
        var name: String
        var spec: String
        var tool_version: String
        /// Point ids in task order (the baseline last).
        var tasks: [String]
    }

    /// Writes `DIR/plan.json` for `plan` (creating DIR), or checks that the one there is this plan's.
    public static func prepare(_ plan: SweepPlan, toolVersion: String, in dir: String) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw SweepError("\(dir): cannot create the result folder (\(error.localizedDescription))")
        }
        let path = dir + "/" + manifestName
        if fm.fileExists(atPath: path) {
            let existing = try manifest(in: dir)
            guard existing.sweep == plan.id else {
                throw SweepError(
                    "\(dir) holds the results of sweep \(existing.sweep) (\(existing.name), \(existing.spec)), not of \(plan.id) "
                        + "(\(plan.spec.name)): give another --out")
            }
            return
        }
        let m = Manifest(
            sweep: plan.id, name: plan.spec.name, spec: plan.spec.file, tool_version: toolVersion,
            tasks: (0..<plan.taskCount).map { plan.task($0).id })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            // Atomic: tasks starting together each write the same text; readers see one whole file.
            try encoder.encode(m).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SweepError("\(path): cannot be written (\(error.localizedDescription))")
        }
    }

    static func manifest(in dir: String) throws -> Manifest {
        let path = dir + "/" + manifestName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SweepError("\(path): no such file: \(dir) is not a sweep's result folder (sweep run --out or sweep submit writes one)")
        }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw SweepError("\(path): not a sweep manifest (\(error.localizedDescription))")
        }
    }

    /// Runs tasks `tasks` of `plan` into a database on local disk and copies it into `dir` as one
    /// result file; returns how many points ran and the file's path.
    public static func run(
        _ plan: SweepPlan, chips: String, toolVersion: String, tasks: Range<Int>, into dir: String,
        jobs: Int = ProcessInfo.processInfo.activeProcessorCount, progress: (SweepRunner.Progress) -> Void = { _ in }
    ) throws -> (ran: Int, file: String) {
        try prepare(plan, toolVersion: toolVersion, in: dir)
        let local =
            NSTemporaryDirectory()
            + "/xpusim-sweep-\(plan.id)-\(tasks.lowerBound)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: local + suffix) } }
        let file = dir + "/" + fileName(plan, tasks: tasks)
        let ran = try {
            let store = try RunStore(path: local)
            let ran = try SweepRunner.run(
                plan, chips: chips, store: store, toolVersion: toolVersion, tasks: tasks, jobs: jobs, progress: progress
            ).ran
            try store.export(to: file)
            return ran
        }()
        return (ran, file)
    }

    public struct MergeSummary: Sendable {
        public var sweep: String
        public var name: String
        public var files: Int
        /// Points written into the database by this merge.
        public var merged: Int
        /// Runs skipped because their point was stored already (in the database or an earlier file).
        public var duplicates: Int
        /// Task indices whose point is in neither the database nor any file.
        public var missing: [Int]
        public var tasks: Int
    }

    /// Folds `dir`'s result files into `store` in one transaction (see ``RunStore/merge(files:accept:)``).
    public static func merge(_ dir: String, into store: RunStore) throws -> MergeSummary {
        let m = try manifest(in: dir)
        let valid = Set(m.tasks)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw SweepError("\(dir): cannot be read (\(error.localizedDescription))")
        }
        let files = names.filter { $0.hasSuffix(".sqlite") && !$0.hasPrefix(".") }.sorted()
        for name in files where !name.hasPrefix(m.sweep + "-") {
            throw SweepError("\(dir)/\(name): not a result file of sweep \(m.sweep) (\(m.name)); nothing was merged")
        }
        let result = try store.merge(files: files.map { dir + "/" + $0 }) { run in
            guard run.options["sweep"] == m.sweep, let point = run.options["point"], valid.contains(point) else {
                throw SweepError(
                    "\(run.file): holds a run of sweep \(run.options["sweep"] ?? "none") point \(run.options["point"] ?? "none"), "
                        + "not one of sweep \(m.sweep)'s points; nothing was merged")
            }
            return point
        } storedKey: { options in
            options["sweep"] == m.sweep ? options["point"] : nil
        }
        let (merged, duplicates) = (result.merged, result.duplicates)
        let missing = m.tasks.indices.filter { !result.keys.contains(m.tasks[$0]) }
        return MergeSummary(
            sweep: m.sweep, name: m.name, files: files.count, merged: merged, duplicates: duplicates, missing: missing, tasks: m.tasks.count
        )
    }
}
