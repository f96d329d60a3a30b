import Foundation
import XCTest

@testable import Workloads

/// The Chakra reader on mutated bytes: every input either reads or fails with an import error, never a trap.
final class ChakraFuzzTests: XCTestCase {
    func testMutatedTracesNeverCrash() throws {
        // GlobalMetadata, a compute node (id 1, "a", COMP, 7 us) and an all-reduce node depending on it.
        let metadata: [UInt8] = [0x0a, 0x05] + Array("0.0.4".utf8)
        let comp: [UInt8] = [0x08, 0x01, 0x12, 0x01, 0x61, 0x18, 0x04, 0x38, 0x07]
        let attr: [UInt8] = [0x0a, 0x09] + Array("comm_size".utf8) + [0x68, 0x80, 0x08]
        let coll: [UInt8] = [0x08, 0x02, 0x18, 0x07, 0x2a, 0x01, 0x01, 0x52, UInt8(attr.count)] + attr
        let valid = [UInt8(metadata.count)] + metadata + [UInt8(comp.count)] + comp + [UInt8(coll.count)] + coll
        let file = NSTemporaryDirectory() + "chakra-fuzz-\(UUID().uuidString).et"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(valid).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try ChakraReader.load(file: file, ranks: 4, tokens: nil).0.kernels.count, 2)
        var rng = SystemRandomNumberGenerator()
        var failures = 0
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                case 1: if bytes.count > 1 { bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng)) }
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do { _ = try ChakraReader.load(file: file, ranks: 4, tokens: nil) } catch is ProfileImporter.ImportError { failures += 1 }
        }
        XCTAssertGreaterThan(failures, 0)
    }
}
