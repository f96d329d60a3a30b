import Chips
import Config
import Foundation

/// What an import made of a profile: how many kernels and how much of their time became ops the
/// models simulate, and how much stays as measured kernels.
public struct ImportReport: Sendable, Equatable {
    public var kernels = 0
    public var mapped = 0
    public var mappedSeconds = 0.0
    public var measuredSeconds = 0.0
    public var copies = 0
    /// Kernels that became collectives (Chakra's communication nodes).
    public var collectives = 0
    public var streams = 0
    /// CPU-only profile: GEMMs rebuilt from the CPU ops' shapes (no device kernels recorded).
    public var fromCPUOps = false
    public var totalSeconds: Double { mappedSeconds + measuredSeconds }
}

/// Reads profiler output into a trace.
///
/// - PyTorch profiler (Kineto) Chrome-trace JSON: device kernels (`cat: kernel`), copies and sets
///   (`gpu_memcpy`, `gpu_memset`) in time order with their streams (each kernel waits for the one
///   before it on its stream; streams run side by side, since the profile does not record the
///   events that join them). A kernel launched by a CPU op recorded with its input shapes
///   (`record_shapes=True`: `aten::mm`, `addmm`, `bmm`, `baddbmm`, `linear`, `matmul` of two
///   matrices) becomes a GEMM of those shapes (the op's longest kernel; its helper kernels stay
///   measured); copies with a byte count become copies; every other kernel is kept as a measured
///   kernel with its name and time. A profile without device kernels (recorded on a CPU) gives the
///   GEMMs of its CPU ops' shapes alone.
/// - A kernel table (CSV with `name`, `dur` in microseconds, `stream` and a start column `ts` or
///   `ts_rel_us`), as extracted from a Kineto trace: measured kernels in start order.
public enum ProfileImporter {
    public struct ImportError: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
    }

    public static func load(file: String, tokens: Int? = nil) throws -> (Trace, ImportReport) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ImportError(file: file, message: "cannot read the file")
        }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        if file.lowercased().hasSuffix(".csv") {
            guard let text = String(data: data, encoding: .utf8) else { throw ImportError(file: file, message: "not UTF-8 text") }
            return try kernelTable(text, file: file, name: name, tokens: tokens)
        }
        return try kineto(data, file: file, name: name, tokens: tokens)
    }

    struct Event {
        var name: String
        var ts: Double
        var dur: Double
        var category: String
        var args: [String: Any]
        var tid: Int
        var externalID: Int? { (args["External id"] as? NSNumber)?.intValue }
        var correlation: Int? { (args["correlation"] as? NSNumber)?.intValue }
    }

    static func kineto(_ data: Data, file: String, name: String, tokens: Int?) throws -> (Trace, ImportReport) {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            // Foundation's description says only that the data is malformed; its debug text says where.
            let detail = (error as NSError).userInfo["NSDebugDescription"].map { "\($0)" } ?? error.localizedDescription
            throw ImportError(file: file, message: "not JSON (expected a Chrome trace from torch.profiler): \(detail)")
        }
        guard let object = root as? [String: Any], let raw = object["traceEvents"] as? [[String: Any]] else {
            throw ImportError(
                file: file, message: "not a Chrome trace: expected an object with a traceEvents array (PyTorch profiler's export)")
        }
        var device: [Event] = []
        var cpuOps: [Int: Event] = [:]
        var shaped: [Event] = []
        var shapedGEMMs: [Event] = []
        var launches: [Int: Event] = [:]
        let deviceCategories: Set<String> = ["kernel", "gpu_memcpy", "gpu_memset", "memcpy", "memset"]
        for (position, e) in raw.enumerated() where (e["ph"] as? String) == "X" {
            let category = (e["cat"] as? String ?? "").lowercased()
            let name = e["name"] as? String
            let ts = (e["ts"] as? NSNumber)?.doubleValue
            let dur = (e["dur"] as? NSNumber)?.doubleValue
            // A device event the trace would keep must be whole: dropping it would leave its time out.
            if deviceCategories.contains(category) {
                let place = "traceEvents[\(position)] (\(category)\(name.map { " \"\($0.prefix(60))\"" } ?? ""))"
                guard name != nil else { throw ImportError(file: file, message: "\(place): name: expected a string") }
                guard let ts, ts.isFinite else { throw ImportError(file: file, message: "\(place): ts: expected a number of microseconds") }
                guard let dur, dur.isFinite, (0...Trace.longestKernel * 1e6).contains(dur) else {
                    throw ImportError(
                        file: file, message: "\(place): dur: expected a duration in us from 0 to an hour, found \(e["dur"] ?? "none")")
                }
            }
            guard let n = name, let ts, let dur, ts.isFinite, dur.isFinite, dur >= 0 else { continue }
            let tid = (e["tid"] as? NSNumber)?.intValue ?? 0
            let event = Event(name: n, ts: ts, dur: dur, category: category, args: e["args"] as? [String: Any] ?? [:], tid: tid)
            switch category {
            case "kernel", "gpu_memcpy", "gpu_memset", "memcpy", "memset":
                device.append(event)
            case "cuda_runtime", "cuda_driver", "runtime":
                if let c = event.correlation { launches[c] = event }
            case "cpu_op", "operator":
                if let id = event.externalID { cpuOps[id] = event }
                if gemm(event) != nil { shapedGEMMs.append(event) }
                // The GEMM kernels' own ops (linear and matmul call these, so they would count twice).
                if ["aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"].contains(n), gemm(event) != nil { shaped.append(event) }
            default:
                break
            }
        }
        var report = ImportReport()
        var kernels: [Kernel] = []
        if device.isEmpty {
            // A CPU-only profile: the GEMMs its ops' shapes describe, in order.
            report.fromCPUOps = true
            for (index, event) in shaped.sorted(by: { $0.ts < $1.ts }).enumerated() {
                guard let (op, dtype) = gemm(event) else { continue }
                kernels.append(
                    Kernel(id: "k\(index).\(event.name)", op: op, dtype: dtype, deps: kernels.isEmpty ? [] : [kernels.count - 1]))
                report.mapped += 1
            }
            report.kernels = kernels.count
            report.streams = kernels.isEmpty ? 0 : 1
            guard !kernels.isEmpty else {
                throw ImportError(
                    file: file,
                    message: "no device kernels and no CPU op with input shapes (record the profile with record_shapes=True on a GPU)")
            }
            return (Trace(name: name, tokens: tokens, kernels: kernels), report)
        }
        device.sort { $0.ts < $1.ts }
        // The CPU op that launched a kernel: the kernel's correlation names its launch (the
        // runtime call), whose External id names the op; where the launch has none, the innermost
        // shaped GEMM op on the launching thread that encloses the launch in time.
        func launcher(_ kernel: Event) -> Event? {
            guard let launch = kernel.correlation.flatMap({ launches[$0] }) else { return nil }
            if let id = launch.externalID, let op = cpuOps[id], gemm(op) != nil { return op }
            return shapedGEMMs.filter { $0.tid == launch.tid && $0.ts <= launch.ts && launch.ts <= $0.ts + $0.dur }.min { $0.dur < $1.dur }
        }
        // The longest kernel of each shaped CPU op stands for it.
        var longest: [String: (index: Int, op: Event)] = [:]
        for (index, event) in device.enumerated() where event.category == "kernel" {
            guard let op = launcher(event) else { continue }
            let key = "\(op.tid):\(op.ts):\(op.name)"
            if let best = longest[key], device[best.index].dur >= event.dur { continue }
            longest[key] = (index, op)
        }
        let mappedOps = Dictionary(uniqueKeysWithValues: longest.values.map { ($0.index, $0.op) })
        var streamIndex: [Int: Int] = [:]
        var lastOnStream: [Int: Int] = [:]
        for (index, event) in device.enumerated() {
            let rawStream = (event.args["stream"] as? NSNumber)?.intValue ?? 0
            let stream =
                streamIndex[rawStream]
                ?? {
                    streamIndex[rawStream] = streamIndex.count
                    return streamIndex.count - 1
                }()
            let seconds = event.dur * 1e-6
            var op: Op = .measured(.init(seconds: max(seconds, 1e-9), kernel: String(event.name.prefix(160))))
            var dtype = DataType.bf16
            if let cpu = mappedOps[index], let (g, t) = gemm(cpu) {
                op = g
                dtype = t
                report.mapped += 1
                report.mappedSeconds += seconds
            } else if event.category.hasSuffix("memcpy"), let size = (event.args["bytes"] as? NSNumber)?.doubleValue, size >= 1,
                size <= Double(TraceReader.maxElements), let bytes = Int(exactly: size.rounded(.down))
            {
                let kind: Op.CopyKind = event.name.contains("HtoD") ? .h2d : event.name.contains("DtoH") ? .d2h : .d2d
                op = .memcpy(.init(bytes: bytes, kind: kind))
                report.copies += 1
                report.mappedSeconds += seconds
            } else {
                report.measuredSeconds += seconds
            }
            let deps = lastOnStream[stream].map { [$0] } ?? []
            kernels.append(Kernel(id: "k\(index)", op: op, dtype: dtype, stream: stream, deps: deps))
            lastOnStream[stream] = kernels.count - 1
        }
        report.kernels = kernels.count
        report.streams = streamIndex.count
        return (Trace(name: name, tokens: tokens, kernels: kernels), report)
    }

    /// The GEMM a shaped CPU op computes, and its number format; nil for any other op.
    static func gemm(_ op: Event) -> (Op, DataType)? {
        guard let dims = (op.args["Input Dims"] ?? op.args["Input dims"]) as? [Any] else { return nil }
        let shapes = dims.map { ($0 as? [NSNumber])?.map(\.intValue) ?? [] }
        let types = (op.args["Input type"] as? [String]) ?? []
        let dtype: DataType
        switch types.first(where: { !$0.isEmpty }) ?? "" {
        case "c10::BFloat16": dtype = .bf16
        case "c10::Half": dtype = .fp16
        case "float": dtype = .fp32
        default: return nil
        }
        func product(_ s: ArraySlice<Int>) -> Int { s.reduce(1, *) }
        var m = 0
        var n = 0
        var k = 0
        var batch = 1
        switch op.name {
        case "aten::mm", "aten::matmul":
            guard shapes.count >= 2, shapes[0].count == 2, shapes[1].count == 2, shapes[0][1] == shapes[1][0] else { return nil }
            (m, k, n) = (shapes[0][0], shapes[0][1], shapes[1][1])
        case "aten::addmm":
            guard shapes.count >= 3, shapes[1].count == 2, shapes[2].count == 2, shapes[1][1] == shapes[2][0] else { return nil }
            (m, k, n) = (shapes[1][0], shapes[1][1], shapes[2][1])
        case "aten::bmm":
            guard shapes.count >= 2, shapes[0].count == 3, shapes[1].count == 3, shapes[0][2] == shapes[1][1] else { return nil }
            (batch, m, k, n) = (shapes[0][0], shapes[0][1], shapes[0][2], shapes[1][2])
        case "aten::baddbmm":
            guard shapes.count >= 3, shapes[1].count == 3, shapes[2].count == 3, shapes[1][2] == shapes[2][1] else { return nil }
            (batch, m, k, n) = (shapes[1][0], shapes[1][1], shapes[1][2], shapes[2][2])
        case "aten::linear":
            guard shapes.count >= 2, let x = shapes.first, x.count >= 2, shapes[1].count == 2, x.last == shapes[1][1] else { return nil }
            (m, k, n) = (product(x.dropLast()), x.last!, shapes[1][0])
        default:
            return nil
        }
        guard m > 0, n > 0, k > 0, batch > 0 else { return nil }
        return (.gemm(.init(m: m, n: n, k: k, batch: batch)), dtype)
    }

    /// A kernel table extracted from a profile: measured kernels in start order, each after the
    /// previous one on its stream.
    static func kernelTable(_ text: String, file: String, name: String, tokens: Int?) throws -> (Trace, ImportReport) {
        // Split on any line break ("\r\n" is one Character in Swift, so not on "\n" alone).
        var lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw ImportError(file: file, message: "empty kernel table") }
        let header = CSVLine.fields(lines.removeFirst())
        func column(_ names: [String]) throws -> Int {
            guard let index = header.firstIndex(where: names.contains) else {
                throw ImportError(
                    file: file, message: "no \(names.joined(separator: " or ")) column (have: \(header.joined(separator: ", ")))")
            }
            return index
        }
        let cName = try column(["name"])
        let cDur = try column(["dur"])
        let cTs = try column(["ts", "ts_rel_us"])
        let cStream = header.firstIndex(of: "stream")
        var rows: [(ts: Double, dur: Double, name: String, stream: Int)] = []
        for (number, line) in lines.enumerated() {
            let f = CSVLine.fields(line)
            guard f.count == header.count, let ts = Double(f[cTs]), let dur = Double(f[cDur]), dur >= 0 else {
                throw ImportError(file: file, message: "row \(number + 2): expected \(header.count) fields with numeric ts and dur")
            }
            rows.append((ts, dur, f[cName], cStream.flatMap { Int(f[$0]) } ?? 0))
        }
        guard !rows.isEmpty else { throw ImportError(file: file, message: "the kernel table has no rows") }
        return try trace(
            rows.map { ProfiledKernel(name: $0.name, start: $0.ts * 1e-6, duration: $0.dur * 1e-6, stream: $0.stream) }, name: name,
            tokens: tokens, file: file)
    }
}
