import ArgumentParser
import Config
import Foundation

@main
struct XPUSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xpusim",
        abstract: "Simulate AI accelerators: how fast, at what power and temperature a workload runs on a chip.",
        discussion: """
            Chips are named by their id (see `xpusim chips list`) or by the path of a chip YAML file.
            """,
        version: "0.1.0",
        subcommands: [
            ChipsCommand.self, RunCommand.self, CompareCommand.self, RunsCommand.self, ValidateCommand.self, CalibrateCommand.self,
        ])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Runs a command body, turning input errors into one clear message and a non-zero exit.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ConfigErrors {
        FileHandle.standardError.write(
            Data("error: \(error.errors.count == 1 ? "" : "\(error.errors.count) problems\n")\(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as ConfigError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}

/// Prints a JSON value with sorted keys, so equal inputs print identical text.
func printJSON(_ value: Any) {
    print(JSONWriter.render(value))
}
