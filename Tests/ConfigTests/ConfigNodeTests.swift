import Config
import Foundation
import XCTest

final class ConfigNodeTests: XCTestCase {
    func testRemembersLinesAndPaths() throws {
        let root = try ConfigNode.parse(text: "a:\n  b: 3\n  c: [1, 2]\n", file: "t.yaml")
        var reader = try MappingReader(root)
        let a = try reader.required("a")
        var inner = try MappingReader(a)
        let b = try inner.required("b")
        XCTAssertEqual(b.line, 2)
        XCTAssertEqual(b.path, "a.b")
        XCTAssertEqual(try b.int(), 3)
        let c = try inner.required("c").sequence()
        XCTAssertEqual(c[1].path, "a.c[1]")
    }

    func testMalformedYAMLNamesFileAndLine() {
        XCTAssertThrowsError(try ConfigNode.parse(text: "a: [1, 2\nb: 3\n", file: "bad.yaml")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, "bad.yaml")
            XCTAssertNotNil(e.line)
            XCTAssertTrue(e.message.contains("malformed"), e.message)
        }
    }

    func testEmptyAndBinaryFilesAreRefused() {
        XCTAssertThrowsError(try ConfigNode.parse(data: Data(), file: "e.yaml")) { error in
            XCTAssertTrue((error as! ConfigError).message.contains("empty"))
        }
        XCTAssertThrowsError(try ConfigNode.parse(data: Data([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]), file: "b.yaml")) { error in
            XCTAssertTrue((error as! ConfigError).message.contains("binary"))
        }
        XCTAssertThrowsError(try ConfigNode.parse(data: Data([0xff, 0xfe, 0xfa]), file: "b.yaml"))
        XCTAssertThrowsError(try ConfigNode.parse(text: "# only a comment\n", file: "c.yaml"))
    }

    func testDuplicateKeysAreErrors() {
        XCTAssertThrowsError(try ConfigNode.parse(text: "a: 1\na: 2\n", file: "d.yaml")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.line, 2)
            XCTAssertTrue(e.message.contains("twice"))
        }
    }

    func testUnknownKeySuggestsNearest() throws {
        let root = try ConfigNode.parse(text: "stream: 1\nstrem: 2\n", file: "k.yaml")
        var reader = try MappingReader(root)
        _ = reader.optional("stream")
        XCTAssertThrowsError(try reader.finish()) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.line, 2)
            XCTAssertTrue(e.message.contains("did you mean \"stream\""), e.message)
        }
    }

    func testTypeErrorsSayWhatWasExpected() throws {
        let root = try ConfigNode.parse(text: "n: twelve\nq: 3 TB\n", file: "t.yaml")
        var reader = try MappingReader(root)
        XCTAssertThrowsError(try reader.required("n").int()) { error in
            XCTAssertTrue((error as! ConfigError).description.contains("t.yaml:1:4: n: expected an integer"), "\(error)")
        }
        XCTAssertThrowsError(try reader.required("q").quantity(.bandwidth)) { error in
            XCTAssertTrue((error as! ConfigError).message.contains("bandwidth"))
        }
    }
}
