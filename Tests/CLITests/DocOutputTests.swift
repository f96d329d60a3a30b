import Foundation
import TestSupport
import XCTest

/// Command outputs quoted in README.md and docs/ are what the commands print today
/// (scripts/update-doc-outputs.sh writes them).
final class DocOutputTests: XCTestCase {
    func testQuotedOutputsAreCurrent() throws {
        let docs = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/docs").filter { $0.hasSuffix(".md") }
        var blocks = 0
        for file in ["README.md"] + docs.map({ "docs/" + $0 }) {
            let text = try String(contentsOfFile: packageRoot + "/" + file, encoding: .utf8)
            for match in text.matches(of: /<!-- xpusim: (.*?) -->\n((?s).*?)<!-- \/xpusim -->/) {
                let arguments = match.1.split(separator: " ").map(String.init)
                let result = try xpusim(arguments, environment: ["XPUSIM_CHIPS": "chips", "COLUMNS": "100"])
                XCTAssertEqual(result.status, 0, "\(file): xpusim \(match.1): \(result.stderr)")
                XCTAssertEqual(
                    String(match.2), "```text\n" + result.stdout + "```\n",
                    "\(file): the output of `xpusim \(match.1)` changed: run scripts/update-doc-outputs.sh and review the diff")
                blocks += 1
            }
        }
        XCTAssertGreaterThanOrEqual(blocks, 3)
    }
}
