import Foundation
import TestSupport
import XCTest

/// `xpusim run --timeline` writes a Chrome trace that a trace viewer can load: valid JSON, one
/// complete event per kernel on its stream's track without overlaps (Perfetto cannot show them),
/// named tracks, and power, temperature, clock and bandwidth counters.
final class TimelineTests: XCTestCase {
    /// On a system the rank's links get tracks: each collective's use of each link class, never
    /// longer than the collective, never overlapping on a track.
    func testSystemRunHasLinkTracks() throws {
        let file = NSTemporaryDirectory() + "timeline-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try xpusim(
            [
                "run", "--system", "dgx-h100", "--workload", "workloads/llama2-70b-layer-tp8-prefill2048.yaml", "--no-store", "--timeline",
                file,
            ],
            environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let trace = try XCTUnwrap(
            JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        let events = try XCTUnwrap(trace["traceEvents"] as? [[String: Any]])
        let names = events.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "thread_name" }
        let linkTrack = try XCTUnwrap(names.first { ($0["args"] as? [String: Any])?["name"] as? String == "link scale-up" }?["tid"] as? Int)
        let complete = events.filter { $0["ph"] as? String == "X" }
        let uses = complete.filter { $0["tid"] as? Int == linkTrack }
        let collectives = complete.filter { ($0["cat"] as? String) == "all_reduce" }
        XCTAssertEqual(uses.count, collectives.count)
        XCTAssertEqual(uses.count, 2)
        for use in uses {
            let kernel = try XCTUnwrap(collectives.first { $0["name"] as? String == use["name"] as? String })
            XCTAssertEqual(use["ts"] as? Double, kernel["ts"] as? Double)
            XCTAssertLessThanOrEqual(try XCTUnwrap(use["dur"] as? Double), try XCTUnwrap(kernel["dur"] as? Double))
            let args = try XCTUnwrap(use["args"] as? [String: Any])
            XCTAssertLessThanOrEqual(
                try XCTUnwrap(args["achieved_gb_per_s"] as? Double), try XCTUnwrap(args["line_rate_gb_per_s"] as? Double) * 1.0001)
        }
    }

    func testRunWritesAChromeTrace() throws {
        let file = NSTemporaryDirectory() + "timeline-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let workload = "workloads/llama-3.1-8b-decode-b64-ctx2048.yaml"
        let result = try xpusim(
            ["run", "--chip", "h100-sxm", "--workload", workload, "--no-store", "--format", "json", "--timeline", file],
            environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let run = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let kernels = try XCTUnwrap(run["kernels"] as? [[String: Any]])
        let trace = try XCTUnwrap(
            JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        XCTAssertEqual(trace["displayTimeUnit"] as? String, "ns")
        let events = try XCTUnwrap(trace["traceEvents"] as? [[String: Any]])
        let complete = events.filter { $0["ph"] as? String == "X" }
        XCTAssertEqual(complete.count, kernels.count)
        var byTrack: [Int: [(Double, Double)]] = [:]
        for e in complete {
            let ts = try XCTUnwrap(e["ts"] as? Double)
            let dur = try XCTUnwrap(e["dur"] as? Double)
            XCTAssertGreaterThanOrEqual(dur, 0)
            byTrack[try XCTUnwrap(e["tid"] as? Int), default: []].append((ts, ts + dur))
        }
        for (tid, spans) in byTrack {
            let sorted = spans.sorted { $0.0 < $1.0 }
            for (a, b) in zip(sorted, sorted.dropFirst()) { XCTAssertLessThanOrEqual(a.1, b.0 + 0.002, "overlap on track \(tid)") }
        }
        let names = Set(events.filter { $0["ph"] as? String == "M" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String })
        XCTAssertTrue(names.contains("stream 0") && names.contains("NVIDIA H100 SXM5 80GB"), "\(names)")
        let counters = Set(events.filter { $0["ph"] as? String == "C" }.compactMap { $0["name"] as? String })
        XCTAssertEqual(counters, ["power W", "temperature C", "clock MHz", "HBM GB/s"])
        // The last kernel ends at the run's total time.
        let end = complete.map { ($0["ts"] as! Double) + ($0["dur"] as! Double) }.max()!
        XCTAssertEqual(end / 1e6, try XCTUnwrap(run["total_s"] as? Double), accuracy: 1e-6)

        let bad = try xpusim(
            ["run", "--chip", "h100-sxm", "--workload", workload, "--no-store", "--timeline", "/no/such/dir/t.json"],
            environment: ["XPUSIM_CHIPS": "chips"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--timeline: /no/such/dir/t.json: cannot write the file"), bad.stderr)
    }
}
