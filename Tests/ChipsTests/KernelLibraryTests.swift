import Chips
import Config
import Foundation
import TestSupport
import XCTest

final class KernelLibraryTests: XCTestCase {
    let directory = packageRoot + "/chips/libraries"

    func testShippedLibrariesLoadAndEveryChipNamesOne() throws {
        let libraries = try KernelLibraries.load(directory: directory)
        XCTAssertEqual(Set(libraries.keys), ["cuda-sm90", "cuda-sm80", "cann-ascend", "cnnl-mlu", "maca-c500"])
        let hopper = try XCTUnwrap(libraries["cuda-sm90"])
        XCTAssertEqual(hopper.defaultAttention, "fa2")
        XCTAssertEqual(hopper.attentionKernel("fa3")?.pipeline, .warpSpecialized)
        XCTAssertEqual(hopper.attentionKernel("fa2")?.tiles(for: 128).map(\.blockN), [64])
        XCTAssertEqual(hopper.gemm.schedulers, [.dataParallel, .streamK])
        for document in try ChipCatalog.load(directory: chipsDirectory).documents {
            XCTAssertNotNil(libraries[try ChipSpec(document, libraries: directory).library.id], document.id)
        }
    }

    func read(_ text: String) -> String {
        do {
            _ = try KernelLibrary.read(try ConfigNode.parse(text: text, file: "lib.yaml"))
            return ""
        } catch {
            return "\(error)"
        }
    }

    var valid: String { (try? String(contentsOfFile: directory + "/cuda-sm90.yaml", encoding: .utf8)) ?? "" }

    func testBadLibraryFilesNameTheFileThePlaceAndWhatWasExpected() {
        XCTAssertEqual(read(valid), "")
        let missing = read(valid.replacingOccurrences(of: "  raster_group:", with: "  raster_grup:"))
        XCTAssertTrue(missing.hasPrefix("lib.yaml:") && missing.contains("gemm: missing required field \"raster_group\""), missing)
        let unknown = read(valid.replacingOccurrences(of: "  max_stages:", with: "  warps: 4\n  max_stages:"))
        XCTAssertTrue(unknown.contains("unknown field \"warps\""), unknown)
        let pipeline = read(valid.replacingOccurrences(of: "pipeline: synchronous", with: "pipeline: sync"))
        XCTAssertTrue(pipeline.contains("expected one of: synchronous, warp_specialized, split_units"), pipeline)
        let unsourced = read(valid.replacingOccurrences(of: "raster_group: {value: 8, source: cutlass-swizzle}", with: "raster_group: {value: 8}"))
        XCTAssertTrue(unsourced.contains("needs a source"), unsourced)
        let scheduler = read(valid.replacingOccurrences(of: "[data_parallel, stream_k]", with: "[data_parallel, split_k]"))
        XCTAssertTrue(scheduler.contains("unknown GEMM scheduler \"split_k\""), scheduler)
        let defaultMissing = read(valid.replacingOccurrences(of: "default: fa2", with: "default: fa9"))
        XCTAssertTrue(defaultMissing.contains("\"fa9\" is not among the kernels: fa2, fa3"), defaultMissing)
        let tile = read(valid.replacingOccurrences(of: "[[64, 128, 128], [128, 128, 64], [256, 64, 64]]", with: "[[64, 128], [128, 128, 64]]"))
        XCTAssertTrue(tile.contains("expected [head_dim_max, block_m, block_n]"), tile)
    }

    func testAChipNamingAnUnknownLibraryIsAClearError() throws {
        var document = try ChipDocument.load(file: chipsDirectory + "/nvidia-h100.yaml")
        try document.override("runtime.library=cuda-sm99")
        XCTAssertThrowsError(try ChipSpec(document, libraries: directory)) { error in
            XCTAssertTrue("\(error)".contains("no kernel library \"cuda-sm99\"") && "\(error)".contains("cuda-sm90"), "\(error)")
        }
    }
}
