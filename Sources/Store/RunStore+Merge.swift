import Foundation
import GRDB

/// Result files: a run store written by one task of a sweep on a cluster, and folded into the
/// main database afterwards. SQLite's WAL does not work across nodes or on network file systems,
/// so a task writes its runs into a database of its own on local disk and copies it, as one
/// compact file in rollback mode, into the shared result folder under a temporary name that is
/// renamed when complete: a result file is whole or absent.
extension RunStore {
    /// Writes this database as one self-contained file at `path` (SQLite's VACUUM INTO), through a
    /// temporary name in the same folder that is renamed over `path` when the copy is complete.
    public func export(to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let partial = (folder.isEmpty ? "." : folder) + "/.\((path as NSString).lastPathComponent).\(UUID().uuidString).partial"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        try guarded {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [partial])
            }
        }
        // The copy keeps WAL mode in its header; a reader on a network file system must not need the WAL.
        do {
            let queue = try DatabaseQueue(path: partial)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try queue.close()
        } catch let error as DatabaseError {
            throw StoreError(path: partial, message: RunStore.describe(error, busyTimeout: busyTimeout))
        }
        if rename(partial, path) != 0 {
            throw StoreError(path: path, message: "cannot be written (\(String(cString: strerror(errno))))")
        }
    }

    /// A run of a result file, as `merge` offers it to its caller before anything is written.
    public struct IncomingRun: Sendable {
        public var file: String
        public var options: [String: String]
    }

    public struct MergeResult: Sendable {
        /// Runs written.
        public var merged: Int
        /// Runs skipped: their key was stored already, or came in an earlier file.
        public var duplicates: Int
        /// Every key now stored (those there before and those written).
        public var keys: Set<String>
    }

    /// Folds the runs of result files into this database in one transaction, each key once: every
    /// file is read and every run given its key by `key` first (which throws to refuse the whole
    /// merge); then, inside one write transaction (so two merges at once cannot both write a key),
    /// the keys already stored are read with `storedKey` from each stored run's options, and the
    /// runs whose key is new are written with their kernels, samples and links, or nothing is.
    public func merge(
        files: [String], key: (IncomingRun) throws -> String, storedKey: @escaping ([String: String]) -> String?
    ) throws -> MergeResult {
        struct Copied {
            var key: String
            var run: Row
            var kernels: [Row]
            var samples: [Row]
            var links: [Row]
        }
        var copies: [Copied] = []
        for file in files {
            try RunStore.checkFile(file)
            var configuration = Configuration()
            configuration.readonly = true
            do {
                let queue = try DatabaseQueue(path: file, configuration: configuration)
                try queue.read { db in
                    let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                    guard version == RunStore.schemaVersion else {
                        throw StoreError(
                            path: file,
                            message:
                                "has schema version \(version), not this xpusim's \(RunStore.schemaVersion): merge it with the "
                                + "xpusim that wrote it"
                        )
                    }
                    for run in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id") {
                        let id: Int64 = run["id"]
                        let json: String = run["options_json"]
                        let options = runOptions(json)
                        let k = try key(IncomingRun(file: file, options: options))
                        copies.append(
                            Copied(
                                key: k, run: run,
                                kernels: try Row.fetchAll(db, sql: "SELECT * FROM kernels WHERE run_id = ? ORDER BY seq", arguments: [id]),
                                samples: try Row.fetchAll(db, sql: "SELECT * FROM samples WHERE run_id = ? ORDER BY t_s", arguments: [id]),
                                links: try Row.fetchAll(db, sql: "SELECT * FROM links WHERE run_id = ? ORDER BY seq", arguments: [id])))
                    }
                }
                try queue.close()
            } catch let error as DatabaseError {
                throw StoreError(path: file, message: RunStore.describe(error, busyTimeout: busyTimeout))
            }
        }
        // One prepared statement per table (the columns of the file's rows, which share this
        // xpusim's schema; the id left for SQLite to assign); values by position.
        var prepared: [String: (statement: Statement, kept: [Int], runID: Int?)] = [:]
        func insert(_ db: Database, _ table: String, _ row: Row, runID: Int64?) throws {
            if prepared[table] == nil {
                let names = Array(row.columnNames)
                let kept = names.indices.filter { names[$0] != "id" }
                let statement = try db.makeStatement(
                    sql: "INSERT INTO \(table) (\(kept.map { names[$0] }.joined(separator: ", "))) VALUES "
                        + "(\(kept.map { _ in "?" }.joined(separator: ", ")))")
                prepared[table] = (statement, kept, names.firstIndex(of: "run_id"))
            }
            let (statement, kept, runIDColumn) = prepared[table]!
            let values = Array(row.databaseValues)
            statement.setUncheckedArguments(
                StatementArguments(kept.map { i -> DatabaseValue in i == runIDColumn && runID != nil ? runID!.databaseValue : values[i] }))
            try statement.execute()
        }
        return try guarded {
            try pool.write { db in
                var keys = Set<String>()
                for json in try String.fetchAll(db, sql: "SELECT options_json FROM runs") {
                    let options = runOptions(json)
                    if let k = storedKey(options) { keys.insert(k) }
                }
                var merged = 0
                var duplicates = 0
                for copy in copies {
                    guard keys.insert(copy.key).inserted else {
                        duplicates += 1
                        continue
                    }
                    try insert(db, "runs", copy.run, runID: nil)
                    let runID = db.lastInsertedRowID
                    for k in copy.kernels { try insert(db, "kernels", k, runID: runID) }
                    for s in copy.samples { try insert(db, "samples", s, runID: runID) }
                    for l in copy.links { try insert(db, "links", l, runID: runID) }
                    merged += 1
                }
                return MergeResult(merged: merged, duplicates: duplicates, keys: keys)
            }
        }
    }
}
