import Foundation
import GRDB
import SimCore
import Simulator

/// The SQLite database every run lands in.
///
/// ```swift
/// let store = try RunStore(path: "xpusim.sqlite")
/// let id = try store.save(result, context: RunContext(chipJSON: ..., workloadHash: ..., options: [...]))
/// let runs = try store.list(RunFilter(chip: "h100-sxm"))
/// ```
///
/// WAL mode and a busy timeout let several processes write at once; each run is written in one
/// transaction, so a crash leaves the whole run or nothing. A database of a newer schema, or a
/// file that is not an xpusim SQLite database, is refused and left untouched.
public final class RunStore: @unchecked Sendable {
    /// The schema this xpusim writes; also stored as `PRAGMA user_version` for other tools.
    public static let schemaVersion = 3
    /// How long a writer waits for another process's transaction before giving up.
    public static let defaultBusyTimeout: TimeInterval = 30

    public let path: String
    public let busyTimeout: TimeInterval
    let pool: DatabasePool

    public init(path: String, busyTimeout: TimeInterval = RunStore.defaultBusyTimeout) throws {
        self.path = path
        self.busyTimeout = busyTimeout
        try RunStore.checkFile(path)
        do {
            pool = try RunStore.openRetrying(path, busyTimeout: busyTimeout)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: RunStore.describe(error, busyTimeout: busyTimeout))
        }
    }

    /// Opens (and if need be creates) the database, retrying while other processes hold it.
    ///
    /// SQLite's busy timeout does not cover every wait when several processes open one new file
    /// at once: switching it to WAL, or a read lock that must be upgraded, fails with SQLITE_BUSY at
    /// once rather than wait (waiting could deadlock). Those attempts are retried with a short
    /// randomised back-off until the same timeout has passed.
    static func openRetrying(_ path: String, busyTimeout: TimeInterval) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(busyTimeout)
        var attempt = 0
        while true {
            do {
                return try open(path, busyTimeout: busyTimeout)
            } catch let error as DatabaseError where isContention(error) && Date() < deadline {
                attempt += 1
                Thread.sleep(forTimeInterval: min(0.2, 0.005 * Double(attempt)) * Double.random(in: 0.5...1.5))
            }
        }
    }

    static func isContention(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }

    private static func open(_ path: String, busyTimeout: TimeInterval) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "xpusim"
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            if version > schemaVersion {
                throw StoreError(
                    path: path,
                    message:
                        "the database has schema version \(version), newer than this xpusim's \(schemaVersion); use a newer xpusim "
                        + "or another --db"
                )
            }
            if try migrator.hasBeenSuperseded(db) {
                throw StoreError(
                    path: path,
                    message: "the database was written by a newer xpusim (unknown migrations); use a newer xpusim or another --db")
            }
            // A database whose header reads but whose pages do not (a torn or overwritten page) would
            // answer some queries wrongly ("no run 1") and take new runs beside the damage: checked
            // once per open (quick_check reads every page, but not the indexes' contents).
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check(3)")
            if check != ["ok"] {
                let found = check.joined(separator: "\n").split(separator: "\n").prefix(3).joined(separator: "; ")
                throw StoreError(
                    path: path,
                    message: "is corrupt (SQLite's quick_check: \(found)); it was left untouched: restore it or give another --db")
            }
            // Another program's database is not ours to add tables to: xpusim's own start with its
            // migrations' table, and a new one holds no tables at all.
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            if !tables.isEmpty, !tables.contains("grdb_migrations") {
                throw StoreError(
                    path: path,
                    message: "an SQLite database of another program (tables \(tables.prefix(5).joined(separator: ", "))"
                        + "\(tables.count > 5 ? ", ..." : "")), not an xpusim run database; give another --db")
            }
        }
        // The migrator decides what to apply before it takes the write lock, so processes creating
        // one new database can both try the same migration; the later one fails ("table runs
        // already exists"). Then another process applied it: migrate again from where that one
        // got to (it may still be applying the next migration), until the schema is complete.
        for attempt in 1...8 {
            do {
                try migrator.migrate(pool)
                break
            } catch let error as DatabaseError where !isContention(error) {
                if try pool.read({ try migrator.hasCompletedMigrations($0) }) { break }
                if attempt == 8 { throw error }
            }
        }
        return pool
    }

    /// Refuses a file that exists and is not SQLite, before SQLite touches it.
    static func checkFile(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && !fm.fileExists(atPath: parent) {
                throw StoreError(path: path, message: "the folder \(parent) does not exist")
            }
            return
        }
        if isDirectory.boolValue { throw StoreError(path: path, message: "is a folder, not a database file") }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw StoreError(path: path, message: "cannot be read") }
        defer { try? handle.close() }
        let header = handle.readData(ofLength: 16)
        if header.isEmpty { return }  // an empty file becomes a new database
        if header != Data("SQLite format 3\0".utf8) {
            throw StoreError(path: path, message: "is not an SQLite database (its header is wrong); it was left untouched")
        }
    }

    static func describe(_ error: DatabaseError, busyTimeout: TimeInterval) -> String {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return "is corrupt or not an SQLite database; it was left untouched"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "is locked by another process for longer than \(String(format: "%g", busyTimeout)) s"
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM: return "cannot be opened for writing (\(error.message ?? "permission"))"
        case .SQLITE_FULL: return "the disk is full"
        default: return "database error: \(error.message ?? "\(error.resultCode)")"
        }
    }

    /// Runs `body` against the pool, turning SQLite failures into one clear message.
    func guarded<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw StoreError(path: path, message: RunStore.describe(error, busyTimeout: busyTimeout))
        }
    }
}

/// A database problem: which file, and what is wrong.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
