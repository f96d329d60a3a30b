import Chips
import Foundation

/// A device kernel as a profiler's database records it (Nsight Systems' SQLite export, Ascend
/// msprof's .db), read by Store (which owns SQLite) and turned into a trace here.
public struct ProfiledKernel: Sendable {
    public var name: String
    /// Seconds.
    public var start: Double
    public var duration: Double
    public var stream: Int
    /// A copy's bytes and kind (nil for a kernel).
    public var copy: (bytes: Int, kind: Op.CopyKind)?
    /// A GEMM the profiler's operator record gives the shapes of (msprof's MatMul with its input
    /// and output shapes), with its number format.
    public var gemm: (m: Int, n: Int, k: Int, batch: Int, dtype: DataType)?

    public init(
        name: String, start: Double, duration: Double, stream: Int, copy: (bytes: Int, kind: Op.CopyKind)? = nil,
        gemm: (m: Int, n: Int, k: Int, batch: Int, dtype: DataType)? = nil
    ) {
        self.name = name
        self.start = start
        self.duration = duration
        self.stream = stream
        self.copy = copy
        self.gemm = gemm
    }
}

extension ProfileImporter {
    /// Kernels in start order, each waiting for the one before it on its stream: copies become
    /// copies, GEMMs with shapes become GEMMs, every other kernel a measured kernel of its time.
    public static func trace(_ profiled: [ProfiledKernel], name: String, tokens: Int?, file: String) throws -> (Trace, ImportReport) {
        guard !profiled.isEmpty else { throw ImportError(file: file, message: "the profile holds no device kernels") }
        let rows = profiled.sorted { ($0.start, $0.stream) < ($1.start, $1.stream) }
        var report = ImportReport()
        var streamIndex: [Int: Int] = [:]
        var last: [Int: Int] = [:]
        var kernels: [Kernel] = []
        kernels.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard row.duration.isFinite, (0...Trace.longestKernel).contains(row.duration), row.start.isFinite else {
                throw ImportError(
                    file: file,
                    message: "kernel \(index + 1) (\(row.name.prefix(60))): expected a duration from 0 to 1 h, found \(row.duration) s")
            }
            if let copy = row.copy, !(0...TraceReader.maxElements).contains(copy.bytes) {
                throw ImportError(
                    file: file, message: "kernel \(index + 1) (\(row.name.prefix(60))): expected 0 to 2^48 bytes, found \(copy.bytes)")
            }
            let stream =
                streamIndex[row.stream]
                ?? {
                    streamIndex[row.stream] = streamIndex.count
                    return streamIndex.count - 1
                }()
            var op = Op.measured(.init(seconds: max(row.duration, 1e-9), kernel: String(row.name.prefix(160))))
            var dtype = DataType.bf16
            if let g = row.gemm {
                op = .gemm(.init(m: g.m, n: g.n, k: g.k, batch: g.batch))
                dtype = g.dtype
                report.mapped += 1
                report.mappedSeconds += row.duration
            } else if let c = row.copy, c.bytes > 0 {
                op = .memcpy(.init(bytes: c.bytes, kind: c.kind))
                report.copies += 1
                report.mappedSeconds += row.duration
            } else {
                report.measuredSeconds += row.duration
            }
            kernels.append(Kernel(id: "k\(index)", op: op, dtype: dtype, stream: stream, deps: last[stream].map { [$0] } ?? []))
            last[stream] = kernels.count - 1
        }
        report.kernels = kernels.count
        report.streams = streamIndex.count
        return (Trace(name: name, tokens: tokens, kernels: kernels), report)
    }
}
