import Config
import Foundation
import XCTest

/// The built-in parser against Yams: the same trees (texts, styles, lines, columns, paths) on
/// every shipped file and on the syntax the project writes, and clear errors where input is bad.
final class BuiltInParserTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func shippedFiles() throws -> [String] {
        var files: [String] = []
        for folder in ["chips", "chips/libraries", "workloads"] {
            let directory = root + "/" + folder
            for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            where name.hasSuffix(".yaml") || name.hasSuffix(".json") {
                files.append(directory + "/" + name)
            }
        }
        return files
    }

    func assertSameTree(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let ours = try ConfigNode.parse(text: text, file: "t.yaml", parser: .builtIn)
            let yams = try ConfigNode.parse(text: text, file: "t.yaml", parser: .yams)
            XCTAssertNil(ours.firstDifference(from: yams), "for:\n\(text)", file: file, line: line)
        } catch {
            XCTFail("\(error) for:\n\(text)", file: file, line: line)
        }
    }

    func testShippedFilesReadAsYamsReadsThem() throws {
        let files = try shippedFiles()
        XCTAssertGreaterThan(files.count, 15)
        for path in files {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let ours = try ConfigNode.parse(text: text, file: path, parser: .builtIn)
            let yams = try ConfigNode.parse(text: text, file: path, parser: .yams)
            XCTAssertNil(ours.firstDifference(from: yams), path)
        }
    }

    func testTheSyntaxTheProjectWrites() {
        assertSameTree("schema: 1\nkernels:\n  - {id: a, op: gemm, m: 1, deps: [x, y]}\n  - {id: 'b c', op: \"it's\"}\n")
        assertSameTree("a:\n  b: 3\n  c: [1, 2]\n")
        assertSameTree("a:\n- 1\n- 2\nb:\n  - x: 1\n    y: [2, 3]\n  -\n  - - 4\n    - 5\nc: ~\nd:\ne: null\n")
        assertSameTree("# comment\n\nx: 1 # trailing\ny: \"q # not a comment\"  # but this is\nz: a#b\nurl: http://x.y/z#w\n")
        assertSameTree(
            "{\"schema\": 1, \"kernels\": [{\"id\": \"a\", \"m\": -5, \"x\": 1.5e+3, \"t\": true, \"n\": null},\n {\"id\": \"\\u00e9\\n\\\"\"}]}"
        )
        assertSameTree("[1, [2, [3, {}]], [], {a: [b]}, ]")
        assertSameTree("value: {value: 3.35 TB/s, source: exxact}\nlist: [[345 MHz, 0.67 V], [1.0 GHz, 0.72 V]]\n")
        assertSameTree("k: -5\nj: -x\ni: 'it''s'\nh: \"tab\\there\"\nü: ñ\n")
        assertSameTree("4 TB/s")
        assertSameTree("\"\"")
        assertSameTree("- a\n- b: 1\n  c: 2\n-   d: 3\n    e: 4\n")
        assertSameTree("a:\n  {x: 1,\n   y: 2}\nb: [\n  1,\n  2\n  ]\n")
    }

    func testWhatItLeavesToYamsStillReads() throws {
        for text in [
            "a: &x 1\nb: *x\n", "a: |\n  text\n  more\n", "a: multi\n  line\n", "--- \na: 1\n", "a: !!str 1\n", "? a\n: b\n",
            "a:\tb\n", "a: 1\r\nb: 2\r\n", "{a: }", "[a: b]", "a: \"two\n  lines\"\n", "{a:1}",
        ] {
            XCTAssertThrowsError(try ConfigNode.parse(text: text, file: "t.yaml", parser: .builtIn), text) { error in
                XCTAssertTrue(error is UnsupportedByBuiltInParser, "\(error)")
            }
            do {
                let automatic = try ConfigNode.parse(text: text, file: "t.yaml")
                let yams = try ConfigNode.parse(text: text, file: "t.yaml", parser: .yams)
                XCTAssertNil(automatic.firstDifference(from: yams), text)
            } catch {
                // Yams refuses some of them (aliases); the automatic reader must say the same.
                XCTAssertThrowsError(try ConfigNode.parse(text: text, file: "t.yaml", parser: .yams), text)
            }
        }
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try ConfigNode.parse(text: text, file: "bad.yaml")
            XCTFail("no error for \(text)")
        } catch let error as ConfigError {
            return error
        } catch {
            XCTFail("\(error)")
        }
        return nil
    }

    func testMalformedInputNamesFileAndLine() {
        let cases: [(String, Int, String)] = [
            ("a: 1\nb: [1, 2\n", 3, "the file ends inside the list opened at line 2"),
            ("{\"kernels\": [\n  {\"id\": \"a\"},\n  {\"id\": \"b\"\n", 4, "the file ends inside the mapping opened at line 3"),
            ("a: \"open\n", 2, "malformed"),
            ("x: 1\ny:\n  a: 1\n  a: 2\n", 4, "the key \"a\" appears twice"),
            ("[{\"a\": 1, \"a\": 2}]", 1, "appears twice"),
            ("a: [1, 2\nb: 3\n", 2, "malformed"),
        ]
        for (text, line, message) in cases {
            guard let e = error(text) else { continue }
            XCTAssertEqual(e.file, "bad.yaml")
            XCTAssertEqual(e.line, line, "\(text): \(e)")
            XCTAssertTrue(e.description.contains(message), "\(text): \(e)")
        }
    }

    func testDeepNestingIsRefusedNotOverflowed() {
        for text in [
            String(repeating: "[", count: 100_000), String(repeating: "{a: ", count: 50_000) + "1" + String(repeating: "}", count: 50_000),
            (0..<300).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n"),
            String(repeating: "[", count: 2000) + "&x a" + String(repeating: "]", count: 2000),
            String(repeating: "- ", count: 5000) + "a\n",
        ] {
            guard let e = error(text) else { continue }
            XCTAssertTrue(e.message.contains("nested more than"), "\(e)")
            XCTAssertNotNil(text.count < 3000 ? e.line : 1)
        }
        // Brackets inside quoted text and comments are not nesting, also for what goes to Yams (the
        // tab sends it there): found by the fuzzer, which had the estimate count them.
        let brackets = String(repeating: "[", count: 600)
        let spaces = String(repeating: " ", count: 600)
        for text in [
            "a:\t1\nb: \"\(brackets)\"\n", "a:\t1\nb: '\(brackets)'\n", "a:\t1\nb: 1 # \(brackets)\n", "{\"a\": 1,\n\(spaces)\"b\":\t2}",
            "a:\t1\nb:\n\(spaces)c: 2\n",
        ] {
            XCTAssertNoThrow(try ConfigNode.parse(text: text, file: "q.yaml"), text)
        }
        // What goes to Yams (the anchor sends it there) nests up to libyaml's limit (1000 levels),
        // then is refused with a line; past the estimate's limit it is refused before Yams starts.
        let yamsDeep = "&x " + String(repeating: "[", count: 900) + String(repeating: "]", count: 900)
        XCTAssertNoThrow(try ConfigNode.parse(text: yamsDeep, file: "y.yaml"))
        XCTAssertThrowsError(try ConfigNode.parse(text: "&x " + String(repeating: "[", count: 5000), file: "y.yaml")) { error in
            XCTAssertEqual((error as? ConfigError)?.line, 1, "\(error)")
        }
        XCTAssertThrowsError(try ConfigNode.parse(text: "&x " + String(repeating: "[", count: 20_000), file: "y.yaml")) { error in
            XCTAssertTrue("\(error)".contains("nested more than 10000 levels"), "\(error)")
        }
        // Within the limit, nesting reads.
        let fine = String(repeating: "[", count: 100) + "1" + String(repeating: "]", count: 100)
        XCTAssertNoThrow(try ConfigNode.parse(text: fine, file: "t.yaml", parser: .builtIn))
    }

    /// Nested aliases multiply ("a billion laughs"): a few hundred bytes would stand for 10^9 nodes.
    /// They are refused once they expand past what the text holds; aliases that do not multiply read.
    func testAliasesThatMultiplyAreRefused() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...8 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        let start = Date()
        XCTAssertThrowsError(try ConfigNode.parse(text: lines.joined(separator: "\n") + "\n", file: "laughs.yaml")) { error in
            XCTAssertTrue("\(error)".contains("aliases expand to more nodes than its text holds"), "\(error)")
            XCTAssertNotNil((error as? ConfigError)?.line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        let reused = try ConfigNode.parse(text: "base: &b {m: 8, n: 8}\none: *b\ntwo: *b\n", file: "ok.yaml")
        XCTAssertEqual(try reused.mapping().count, 3)
    }

    func testHugeNumbersAreRefusedCleanly() throws {
        let root = try ConfigNode.parse(
            text: "{a: 99999999999999999999, b: 1e400, c: -9223372036854775809, d: 9223372036854775807}", file: "n.json")
        let entries = try root.mapping()
        XCTAssertThrowsError(try entries[0].value.int()) { XCTAssertTrue("\($0)".contains("too large"), "\($0)") }
        XCTAssertThrowsError(try entries[1].value.double()) { XCTAssertTrue("\($0)".contains("expected a number"), "\($0)") }
        XCTAssertThrowsError(try entries[2].value.int())
        XCTAssertEqual(try entries[3].value.int(), Int.max)
        XCTAssertEqual(try entries[0].value.scalar(), "99999999999999999999")
    }

    func testPathsAndLinesOfAReadTree() throws {
        let root = try ConfigNode.parse(text: "a:\n  b: [x, {c: 5}]\nd: 1\n", file: "p.yaml", parser: .builtIn)
        let b = try root.mapping()[0].value.mapping()[0].value
        let c = try b.sequence()[1].mapping()[0].value
        XCTAssertEqual(c.path, "a.b[1].c")
        XCTAssertEqual(c.line, 2)
        XCTAssertEqual(c.column, 14)
        XCTAssertEqual(try c.int(), 5)
        var moved = c
        moved.path = "elsewhere"
        XCTAssertEqual(moved.path, "elsewhere")
        XCTAssertEqual(c.path, "a.b[1].c")
        XCTAssertEqual(moved.error("bad").description, "p.yaml:2:14: elsewhere: bad")
    }
}
