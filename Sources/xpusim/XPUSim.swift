import ArgumentParser
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
            ChipsCommand.self, SystemsCommand.self, WorkloadCommand.self, RunCommand.self, ServeCommand.self, TrainCommand.self,
            ClaimsCommand.self, CompareCommand.self, ReliabilityCommand.self, SweepCommand.self, ReportCommand.self,
            RunsCommand.self, ValidateCommand.self,
            CalibrateCommand.self,
        ])

    /// Parses the command line, runs the command, and reports every error in this one place.
    ///
    /// A problem with the user's input (a file, an option's value, the database) is printed by
    /// ``ErrorReport`` and ends with exit status 1. A command line that ArgumentParser rejects (an
    /// unknown option, a value it cannot parse, a `ValidationError` of `validate()`) gets its
    /// message and usage under the same `error: ` prefix and exit status 64, and so does a
    /// `ValidationError` found while running, without the usage (ArgumentParser would print the
    /// root command's there). `--help` and `--version` print to standard output and exit 0.
    ///
    /// ```
    /// $ xpusim run --chip h100-sxm --workload W --power-limit 900W
    /// error: --power-limit: 900 W is outside h100-sxm's range 200-700 W
    /// ```
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(reporting: error)
        }
        do {
            try command.run()
            // What was printed must have reached its destination: a full disk or /dev/full is an error.
            if fflush(nil) != 0 {
                FileHandle.standardError.write(Data("error: cannot write the output: \(String(cString: strerror(errno)))\n".utf8))
                Foundation.exit(1)
            }
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(reporting: error)
        }
    }

    private static func exit(reporting error: Error) -> Never {
        if let report = ErrorReport(error) {
            FileHandle.standardError.write(Data(report.text.utf8))
            Foundation.exit(1)
        }
        let code = exitCode(for: error)
        let text = fullMessage(for: error)
        if code.isSuccess {
            print(text)
        } else if !text.isEmpty {
            let message = text.hasPrefix("Error: ") ? "error: " + text.dropFirst("Error: ".count) : text
            FileHandle.standardError.write(Data((message + "\n").utf8))
        }
        Foundation.exit(code.rawValue)
    }
}

/// The names of a comma-separated option ("a,b"), trimmed; an empty list or an empty name is
/// an error that names the option, so a command never runs on nothing.
func commaList(_ text: String, option: String) throws -> [String] {
    let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    if names.contains(where: \.isEmpty) {
        throw ValidationError("\(option): expected comma-separated names, found \"\(text)\" (an empty name)")
    }
    return names
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
