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
        XCTAssertEqual(hopper.collectives?.family, .nccl)
        XCTAssertEqual(hopper.gemm.kernel("deepgemm")?.epilogueOverlap, false)
        XCTAssertEqual(libraries["cann-ascend"]?.collectives?.family, .hccl)
        XCTAssertTrue(libraries.values.allSatisfy { $0.collectives != nil || $0.id == "cuda-sm80" })
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

    /// The error for the shipped library with `old` replaced by `new`.
    func error(replacing old: String, with new: String) -> String {
        XCTAssertTrue(valid.contains(old), old)
        return read(valid.replacingOccurrences(of: old, with: new))
    }

    func testBadLibraryFilesNameTheFileThePlaceAndWhatWasExpected() {
        XCTAssertEqual(read(valid), "")
        let cases: [(old: String, new: String, expected: String)] = [
            ("  raster_group:", "  raster_grup:", "gemm: missing required field \"raster_group\""),
            ("  max_stages:", "  warps: 4\n  max_stages:", "unknown field \"warps\""),
            ("pipeline: synchronous", "pipeline: sync", "expected one of: synchronous, warp_specialized, split_units"),
            ("raster_group: {value: 8, source: cutlass-swizzle}", "raster_group: {value: 8}", "needs a source"),
            ("[data_parallel, stream_k]", "[data_parallel, split_k]", "unknown GEMM scheduler \"split_k\""),
            ("default: fa2", "default: fa9", "\"fa9\" is not among the kernels: fa2, fa3"),
            ("[[64, 128, 128], [128, 128, 64], [256, 64, 64]]", "[[64, 128], [128, 128, 64]]", "expected [head_dim_max, block_m, block_n]"),
            // GEMM kernels of their own.
            (
                "      epilogue_overlap: {value: no, source: deepgemm-store}",
                "      epilogue_overlap: {value: maybe, source: deepgemm-store}", "expected true or false"
            ),
            ("    deepgemm:\n      name:", "    stream_k:\n      name:", "may not be named like a scheduler"),
            // The collectives section.
            ("  family: nccl", "  family: mpi", "expected one of: nccl, hccl"),
            (
                "    ring:\n      protocols: [ll, ll128, simple]", "    rings:\n      protocols: [ll, ll128, simple]",
                "unknown algorithm \"rings\""
            ),
            (
                "      protocols: [ll, ll128, simple]\n      base_latency: {value: [6.6 us, 14 us, 8.4 us]",
                "      protocols: [ll, ll128, simple]\n      base_latency: {value: [6.6 us, 14 us]", "expected 3 latencies"
            ),
            (
                "    nvls:\n      protocols: [simple]", "    nvls:\n      protocols: [ll256]",
                "protocol \"ll256\" is not among the section's protocols"
            ),
            ("  in_switch_efficiency: {value: 0.686", "  in_switch_efficiency: {value: 1.686", "expected a fraction above 0 up to 1"),
            ("  in_switch_chunk: {value: 128 KiB", "  in_switch_chunk: {value: 128 MiB", "in_switch_chunk: expected 1 KiB to 16 MiB"),
            ("  in_switch_loop_latency: {value: 3.4 us", "  in_switch_loop_latency: {value: 3.4 ms", "expected 0 to 100 us"),
            ("  in_switch_chunk: {value: 128 KiB", "  in_switch_chunks: {value: 128 KiB", "in_switch_loop_latency needs in_switch_chunk"),
            // A serving engine's own attention kernel is one of the library's.
            (
                "    attention: {value: fa3, source: vllm-fa", "    attention: {value: fa4, source: vllm-fa",
                "\"fa4\" is not among the library's kernels"
            ),
        ]
        for item in cases {
            let message = error(replacing: item.old, with: item.new)
            XCTAssertTrue(message.hasPrefix("lib.yaml:") && message.contains(item.expected), "\(item.new): \(message)")
        }
    }

    func testAChipNamingAnUnknownLibraryIsAClearError() throws {
        var document = try ChipDocument.load(file: chipsDirectory + "/nvidia-h100.yaml")
        try document.override("runtime.library=cuda-sm99")
        XCTAssertThrowsError(try ChipSpec(document, libraries: directory)) { error in
            XCTAssertTrue("\(error)".contains("no kernel library \"cuda-sm99\"") && "\(error)".contains("cuda-sm90"), "\(error)")
        }
    }
}
