import Foundation
import TestSupport
import XCTest

/// Golden files: what the `xpusim` binary prints, committed under Tests/CLITests/Golden/ and
/// compared byte for byte, in the manner of swift-argument-parser's `assertSnapshot`.
///
/// A golden file is recorded on purpose, never by a test that finds it missing:
///
/// ```
/// $ XPUSIM_RECORD_GOLDEN=1 swift test --disable-swift-testing --filter GoldenTests   # rewrite them
/// $ git diff Tests/CLITests/Golden                                                    # review, commit
/// ```
///
/// Without the switch a missing or different file fails with a line diff. With it, a file whose
/// text changed is rewritten and the test still fails, so a recording run never passes unseen.
enum GoldenFile {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static var recording: Bool { ProcessInfo.processInfo.environment["XPUSIM_RECORD_GOLDEN"] == "1" }

    /// The text a golden file holds for one command: the command line, the exit status and both streams.
    static func transcript(_ arguments: [String], _ result: CommandResult) -> String {
        let quoted = arguments.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }
        func block(_ text: String) -> String { text.isEmpty || text.hasSuffix("\n") ? text : text + "\n(no newline at the end)\n" }
        return "$ xpusim \(quoted.joined(separator: " "))\nexit status: \(result.status)\n--- stdout\n" + block(result.stdout)
            + "--- stderr\n" + block(result.stderr)
    }

    /// A readable difference: each changed line with its line number, `-` expected and `+` actual.
    static func diff(expected: String, actual: String, limit: Int = 40) -> String {
        let old = expected.components(separatedBy: "\n")
        let new = actual.components(separatedBy: "\n")
        var lines: [(Int, String)] = []
        for change in new.difference(from: old) {
            switch change {
            case .remove(let offset, let line, _): lines.append((offset, "-\(offset + 1): \(line)"))
            case .insert(let offset, let line, _): lines.append((offset, "+\(offset + 1): \(line)"))
            }
        }
        let shown = lines.prefix(limit).map(\.1)
        return (shown + (lines.count > limit ? ["... \(lines.count - limit) more changed lines"] : [])).joined(separator: "\n")
    }
}

extension XCTestCase {
    /// Compares `actual` with the golden file `name` (XPUSIM_RECORD_GOLDEN=1 rewrites it; see ``GoldenFile``).
    func assertGolden(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let url = GoldenFile.directory.appendingPathComponent(name)
        let expected = try? String(contentsOf: url, encoding: .utf8)
        if GoldenFile.recording {
            guard expected != actual else { return }
            do {
                try FileManager.default.createDirectory(at: GoldenFile.directory, withIntermediateDirectories: true)
                try actual.write(to: url, atomically: true, encoding: .utf8)
                XCTFail(
                    "recorded Golden/\(name) (\(expected == nil ? "new" : "changed")); review the diff and commit it", file: file,
                    line: line)
            } catch {
                XCTFail("cannot write Golden/\(name): \(error)", file: file, line: line)
            }
            return
        }
        guard let expected else {
            XCTFail("no golden file Golden/\(name); record it with XPUSIM_RECORD_GOLDEN=1", file: file, line: line)
            return
        }
        if expected != actual {
            XCTFail(
                "output differs from Golden/\(name) (- golden, + now; XPUSIM_RECORD_GOLDEN=1 re-records):\n"
                    + GoldenFile.diff(expected: expected, actual: actual), file: file, line: line)
        }
    }
}
