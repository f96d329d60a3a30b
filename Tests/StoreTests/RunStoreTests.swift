import Chips
import Foundation
import SimCore
import Simulator
import Store
import TestSupport
import XCTest

func syntheticRun(_ count: Int, chip: String = "h100-sxm", scale: Double = 1) -> RunResult {
    var cost = KernelCost()
    cost.flops = 1e9
    cost.hbmBytes = 1e6
    cost.bound = .compute
    cost.decomposition = "synthetic, with a comma"
    let kernels = (0..<count).map { i in
        KernelResult(id: "k\(i)", op: "gemm", dtype: .bf16, stream: 0, start: Double(i) * 1e-5 * scale, end: Double(i + 1) * 1e-5 * scale,
                     cycles: 19_800, cost: cost)
    }
    return RunResult(chip: chip, workload: "synthetic", clock: 1.98e9, kernels: kernels, totalTime: Double(count) * 1e-5 * scale, tokens: 128)
}

func context(_ workload: String = "synthetic") -> RunContext {
    RunContext(toolVersion: "test", chipJSON: "{\"id\":\"h100-sxm\"}", workloadID: workload, workloadHash: "abc", options: ["chip": "h100-sxm"])
}

final class RunStoreTests: XCTestCase {
    var dir: URL!
    var path: String { dir.appendingPathComponent("runs.sqlite").path }

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testRoundTripListCompareDelete() throws {
        let store = try RunStore(path: path)
        let a = try store.save(syntheticRun(10), context: context("w1"), createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        let b = try store.save(syntheticRun(10, chip: "h20", scale: 2), context: context("w1"), createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        XCTAssertEqual(try store.list().map(\.id), [b, a], "newest first")
        XCTAssertEqual(try store.list(RunFilter(chip: "h20")).map(\.id), [b])
        XCTAssertEqual(try store.list(RunFilter(since: "2025-01-01")).map(\.id), [b])
        XCTAssertEqual(try store.list(RunFilter(until: "2025-01-01")).map(\.id), [a])
        let run = try XCTUnwrap(try store.run(a))
        XCTAssertEqual(run.kernelCount, 10)
        XCTAssertEqual(run.chipHash, ContentHash.sha256("{\"id\":\"h100-sxm\"}"))
        XCTAssertEqual(run.tokensPerSecond ?? 0, 128 / 1e-4, accuracy: 1)
        let kernels = try store.kernels(a)
        XCTAssertEqual(kernels.map(\.kernelID), (0..<10).map { "k\($0)" })
        XCTAssertEqual(kernels[3].duration, 1e-5, accuracy: 1e-12)
        let comparison = try store.compare([a, b])
        XCTAssertEqual(comparison.kernels.count, 10)
        XCTAssertEqual(comparison.kernels[0].change, 1, accuracy: 1e-9, "every kernel doubled")
        XCTAssertTrue(try store.delete(a))
        XCTAssertFalse(try store.delete(a))
        XCTAssertEqual(try store.kernels(a).count, 0, "kernels go with their run")
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// A database written at schema version 1 (before runs on systems) opens, migrates to the
    /// current schema, keeps its runs, and takes runs on systems beside them.
    func testVersionOneDatabaseMigratesAndKeepsItsRuns() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/runs-v1.sql").path
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["sqlite3", path, ".read \(fixture)"]
        try sqlite.run()
        sqlite.waitUntilExit()
        XCTAssertEqual(sqlite.terminationStatus, 0)
        let store = try RunStore(path: path)
        let old = try XCTUnwrap(try store.run(1))
        XCTAssertEqual(old.workloadID, "old-workload")
        XCTAssertNil(old.systemID)
        XCTAssertEqual(try store.kernels(1).map(\.kernelID), ["k0", "k1"])
        var withSystem = context("w2")
        withSystem.system = SystemContext(id: "dgx-h100", json: "{}", nodes: 2, devices: 16, averagePower: 17_000, energy: 1.7)
        let id = try store.save(syntheticRun(4), context: withSystem)
        let new = try XCTUnwrap(try store.run(id))
        XCTAssertEqual(new.systemID, "dgx-h100")
        XCTAssertEqual(new.nodes, 2)
        XCTAssertEqual(new.systemAveragePower ?? 0, 17_000, accuracy: 1e-9)
        XCTAssertEqual(try store.list().count, 2)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let version = Process()
        let pipe = Pipe()
        version.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        version.arguments = ["sqlite3", path, "PRAGMA user_version;"]
        version.standardOutput = pipe
        try version.run()
        version.waitUntilExit()
        XCTAssertEqual(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "\(RunStore.schemaVersion)")
    }

    func testNewerSchemaIsRefusedAndUntouched() throws {
        _ = try RunStore(path: path)
        let store = try RunStore(path: path)
        try store.save(syntheticRun(3), context: context())
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["sqlite3", path, "PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);"]
        try sqlite.run()
        sqlite.waitUntilExit()
        try XCTSkipIf(sqlite.terminationStatus != 0, "sqlite3 shell not available")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("schema version 99, newer"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testForeignAndCorruptFilesAreRefusedAndUntouched() throws {
        let garbage = Data((0..<8192).map { UInt8(($0 * 7919) % 251) })
        try garbage.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("not an SQLite database"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), garbage)

        // A real database whose pages were overwritten: valid header, corrupt body.
        try FileManager.default.removeItem(atPath: path)
        do {
            let store = try RunStore(path: path)
            try store.save(syntheticRun(2000), context: context())
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertGreaterThan(bytes.count, 16384)
        for i in 100..<bytes.count { bytes[i] = UInt8((i * 31) % 256) }
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try { let s = try RunStore(path: path); _ = try s.list() }()) { error in
            XCTAssertTrue("\(error)".contains("corrupt") || "\(error)".contains("not an SQLite"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes)

        XCTAssertThrowsError(try RunStore(path: dir.path)) { error in XCTAssertTrue("\(error)".contains("is a folder"), "\(error)") }
        XCTAssertThrowsError(try RunStore(path: "/nonexistent-folder/x.sqlite")) { error in XCTAssertTrue("\(error)".contains("does not exist"), "\(error)") }
    }

    func testFourProcessesWritingAtOnceLoseNothing() throws {
        let writers = try (0..<4).map { _ in try launch("xpusim-store-stress", [path] + Array(repeating: "2000", count: 10)) }
        var ids: [Int64] = []
        for result in writers.map(finish) {
            XCTAssertEqual(result.status, 0, result.stderr)
            ids += result.stdout.split(separator: "\n").compactMap { Int64($0) }
        }
        XCTAssertEqual(ids.count, 40)
        XCTAssertEqual(Set(ids).count, 40)
        let store = try RunStore(path: path)
        XCTAssertEqual(try store.list().count, 40)
        XCTAssertEqual(try store.incompleteRuns(), [])
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testDatabaseLockedByAnotherProcessIsOneClearErrorAndLosesNothing() throws {
        let store = try RunStore(path: path, busyTimeout: 0.5)
        try store.save(syntheticRun(5), context: context())

        // Another process (the sqlite3 shell) takes the write lock and holds it.
        let marker = dir.appendingPathComponent("held").path
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        shell.arguments = ["sqlite3", path]
        let input = Pipe()
        shell.standardInput = input
        shell.standardOutput = FileHandle.nullDevice
        shell.standardError = FileHandle.nullDevice
        try shell.run()
        input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nDELETE FROM sweeps;\n.shell touch '\(marker)'\n".utf8))
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: marker) && shell.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        try XCTSkipUnless(FileManager.default.fileExists(atPath: marker), "sqlite3 shell not available")
        defer {
            input.fileHandleForWriting.write(Data("ROLLBACK;\n.quit\n".utf8))
            try? input.fileHandleForWriting.close()
            shell.waitUntilExit()
        }

        XCTAssertThrowsError(try store.save(syntheticRun(50), context: context())) { error in
            XCTAssertEqual("\(error)", "\(path): is locked by another process for longer than 0.5 s")
        }
        XCTAssertThrowsError(try RunStore(path: path, busyTimeout: 0.5)) { error in
            XCTAssertTrue("\(error)".hasSuffix("is locked by another process for longer than 0.5 s"), "\(error)")
        }
        XCTAssertEqual(try store.list().map(\.kernelCount), [5], "readers go on; the refused run left nothing")
        input.fileHandleForWriting.write(Data("ROLLBACK;\n".utf8))
        // Once the lock is released the same store writes again.
        var saved = false
        for _ in 0..<40 where !saved {
            saved = (try? store.save(syntheticRun(50), context: context())) != nil
        }
        XCTAssertTrue(saved)
        XCTAssertEqual(try store.list().map(\.kernelCount).sorted(), [5, 50])
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    /// The first open of a new file is the racy moment (WAL switch, schema creation): before the
    /// retry, about two rounds in five lost a writer here ("table runs already exists", or SQLITE_BUSY
    /// returned without waiting).
    func testProcessesCreatingOneNewDatabaseAtOnceAllSucceed() throws {
        for round in 0..<8 {
            let file = dir.appendingPathComponent("new-\(round).sqlite").path
            let writers = try (0..<4).map { _ in try launch("xpusim-store-stress", [file, "10"]) }
            for result in writers.map(finish) {
                XCTAssertEqual(result.status, 0, "round \(round): \(result.stderr)")
            }
            XCTAssertEqual(try RunStore(path: file).list().count, 4, "round \(round)")
        }
    }

    func testWriterKilledMidRunLeavesOnlyWholeRuns() throws {
        // Two small runs commit, then a large one is killed with SIGKILL while its transaction
        // is being written (the WAL file is growing).
        let (process, _, _) = try launch("xpusim-store-stress", [path, "500", "500", "2000000"])
        let wal = path + "-wal"
        let deadline = Date().addingTimeInterval(120)
        var walSize = 0
        while Date() < deadline && process.isRunning {
            walSize = ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0
            if walSize > 8 << 20 { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertTrue(process.isRunning, "the writer finished before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThan(walSize, 8 << 20, "killed while the large run's transaction was being written")

        let store = try RunStore(path: path)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        XCTAssertEqual(try store.incompleteRuns(), [])
        XCTAssertEqual(try store.list().map(\.kernelCount).sorted(), [500, 500], "the killed run left nothing")
    }
}
