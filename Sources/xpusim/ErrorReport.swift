import Config
import Foundation
import Simulator
import Store
import Validation

/// What `main` prints for an error the user can fix: each problem with its place, sorted by file,
/// line, column and field path, so the same input prints the same text.
///
/// ```
/// error: chips/h100.yaml:42:7: memory.hbm.bandwidth: expected a bandwidth such as "3.35 TB/s", found "3.35 TB"
///
/// error: 2 problems
/// chips/a.yaml:3:5: identity.nme: unknown field "nme"; did you mean "name"?
/// chips/a.yaml:9:7: memory.hbm.bandwidth: missing required field (...)
/// ```
///
/// Errors of other kinds (ArgumentParser's, `ExitCode`) are not reports: `init` returns nil.
struct ErrorReport {
    struct Problem: Comparable {
        var file = ""
        var line = 0
        var column = 0
        var path = ""
        var text: String

        static func < (a: Problem, b: Problem) -> Bool {
            (a.file, a.line, a.column, a.path, a.text) < (b.file, b.line, b.column, b.path, b.text)
        }
    }

    private(set) var problems: [Problem]

    init?(_ error: Error) {
        func problem(_ e: ConfigError) -> Problem {
            Problem(file: e.file, line: e.line ?? 0, column: e.column ?? 0, path: e.path, text: e.description)
        }
        switch error {
        case let e as ConfigErrors: problems = e.errors.map(problem)
        case let e as ConfigError: problems = [problem(e)]
        case let e as OptionError: problems = [Problem(file: e.option, text: e.description)]
        case let e as StoreError: problems = [Problem(file: e.path, text: e.description)]
        case let e as ValidationDataError: problems = [Problem(file: e.file, line: e.row ?? 0, text: e.description)]
        case let e as SimulationError: problems = [Problem(path: e.kernel, text: e.description)]
        case let e as ConditionError: problems = [Problem(text: e.description)]
        default: return nil
        }
        problems.sort()
    }

    /// The text for standard error, ending with a newline.
    var text: String {
        if problems.count == 1 { return "error: \(problems[0].text)\n" }
        return "error: \(problems.count) problems\n" + problems.map { $0.text + "\n" }.joined()
    }
}

/// A bad value given to an option, named by the option:
/// `--power-limit: 900 W is outside h100-sxm's range 200-700 W`.
struct OptionError: Error, CustomStringConvertible {
    var option: String
    var message: String
    var description: String { "\(option): \(message)" }
}
