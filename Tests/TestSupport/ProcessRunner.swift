import Foundation

/// The package root (the folder holding Package.swift, chips/ and workloads/).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The result of running one of the package's executables.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

public struct MissingExecutable: Error, CustomStringConvertible {
    public var description: String
}

/// A built executable of this package: it sits beside the test bundle
/// (.build/<triple>/<config>/xpusimPackageTests.xctest).
public func builtExecutable(_ name: String) throws -> URL {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let candidates = [runner.deletingLastPathComponent(), Bundle.main.bundleURL].map { $0.appendingPathComponent(name) }
    guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw MissingExecutable(description: "\(name) not found beside the tests (looked in \(candidates.map(\.path)))")
    }
    return executable
}

/// Starts an executable without waiting (for concurrency and kill tests).
public func launch(_ name: String, _ arguments: [String], environment: [String: String] = [:], directory: String = packageRoot) throws -> (Process, Pipe, Pipe) {
    let process = Process()
    process.executableURL = try builtExecutable(name)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    // Runs never land in the repository's own database during tests unless a test says so.
    var env = ProcessInfo.processInfo.environment
    env["XPUSIM_DB"] = env["XPUSIM_TEST_DB"] ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("xpusim-tests-\(ProcessInfo.processInfo.processIdentifier).sqlite")
    process.environment = env.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return (process, out, err)
}

/// Runs an executable of this package to completion in `directory`.
public func runExecutable(_ name: String, _ arguments: [String], environment: [String: String] = [:], directory: String = packageRoot) throws -> CommandResult {
    try finish(launch(name, arguments, environment: environment, directory: directory))
}

/// Waits for a launched executable and collects what it printed.
public func finish(_ launched: (Process, Pipe, Pipe)) -> CommandResult {
    let (process, out, err) = launched
    // Read before waiting so a large output cannot fill the pipe and block the child.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs the `xpusim` command.
public func xpusim(_ arguments: [String], environment: [String: String] = [:], directory: String = packageRoot) throws -> CommandResult {
    try runExecutable("xpusim", arguments, environment: environment, directory: directory)
}

/// A fresh temporary folder.
public func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xpusim-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs any program to completion with `arguments`, collecting what it printed.
public func runProgram(_ executable: String, _ arguments: [String]) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return finish((process, out, err))
}
