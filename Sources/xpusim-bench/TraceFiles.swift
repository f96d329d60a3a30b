import Chips
import Foundation
import Workloads

/// Trace files for the reading benchmarks: Llama-3.1-8B decode steps at batch 64 (the context
/// growing by one token a step, so attention differs from step to step), written in the two
/// documented syntaxes: YAML with one flow mapping per kernel, and JSON with one object per line.
enum TraceFiles {
    static func decodeKernels(_ count: Int) -> [Kernel] {
        var kernels: [Kernel] = []
        kernels.reserveCapacity(count)
        var step = 0
        while kernels.count < count {
            let stepTrace = ModelDescription.llama31_8B.decodeStep(batch: 64, context: 1024 + step)
            let offset = kernels.count
            for var kernel in stepTrace.kernels {
                kernel.id = "s\(step).\(kernel.id)"
                kernel.deps = kernel.deps.map { $0 + offset }
                if kernel.deps.isEmpty, offset > 0 { kernel.deps = [offset - 1] }
                kernels.append(kernel)
                if kernels.count == count { break }
            }
            step += 1
        }
        return kernels
    }

    /// The fields of a kernel in file order, values already written as text.
    static func fields(_ k: Kernel, _ ids: [String], json: Bool) -> [(String, String)] {
        func text(_ s: String) -> String { json ? "\"\(s)\"" : s }
        var f: [(String, String)] = [("id", text(k.id))]
        switch k.op {
        case .gemm(let g):
            f += [("op", text("gemm")), ("m", "\(g.m)"), ("n", "\(g.n)"), ("k", "\(g.k)")]
            if g.batch != 1 { f.append(("batch", "\(g.batch)")) }
        case .groupedGemm(let g):
            f += [("op", text("grouped_gemm")), ("m_per_group", "[\(g.mPerGroup.map(String.init).joined(separator: ", "))]")]
            f += [("n", "\(g.n)"), ("k", "\(g.k)")]
        case .attention(let a):
            f += [("op", text("attention")), ("phase", text(a.phase.rawValue)), ("batch", "\(a.batch)"), ("heads", "\(a.heads)")]
            f += [("kv_heads", "\(a.kvHeads)"), ("q_len", "\(a.qLen)"), ("kv_len", "\(a.kvLen)"), ("head_dim", "\(a.headDim)")]
            f.append(("causal", "\(a.causal)"))
        case .elementwise(let e):
            f += [("op", text("elementwise")), ("elements", "\(e.elements)"), ("reads", "\(e.reads)"), ("writes", "\(e.writes)")]
            f.append(("flops_per_element", "\(e.flopsPerElement)"))
            if let blocks = e.blocks { f.append(("blocks", "\(blocks)")) }
            if let threads = e.threads { f.append(("threads", "\(threads)")) }
        case .rowwise(let r):
            f += [("op", text(r.kind.rawValue)), ("rows", "\(r.rows)"), ("columns", "\(r.columns)")]
            if let threads = r.threads { f.append(("threads", "\(threads)")) }
            if r.residual { f.append(("residual", "true")) }
        case .embedding(let e):
            f += [("op", text("embedding")), ("tokens", "\(e.tokens)"), ("hidden", "\(e.hidden)")]
        case .memcpy(let c):
            f += [("op", text("memcpy")), ("bytes", "\(c.bytes)"), ("kind", text(c.kind.rawValue))]
        case .collective(let c):
            f += [("op", text(c.kind.rawValue)), ("bytes", "\(c.bytes)"), ("ranks", "\(c.ranks)")]
        case .measured(let m):
            f += [("op", text("measured")), ("duration", text("\(m.seconds * 1e6) us"))]
        }
        f.append(("dtype", text(k.dtype.rawValue)))
        if k.stream != 0 { f.append(("stream", "\(k.stream)")) }
        if !k.deps.isEmpty { f.append(("deps", "[\(k.deps.map { text(ids[$0]) }.joined(separator: ", "))]")) }
        return f
    }

    static func yaml(_ kernels: [Kernel], name: String) -> String {
        let ids = kernels.map(\.id)
        var out = "# \(kernels.count) kernels: Llama-3.1-8B decode steps at batch 64\nschema: 1\nname: \(name)\ntokens: 64\nkernels:\n"
        for k in kernels {
            out += "  - {" + fields(k, ids, json: false).map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}\n"
        }
        return out
    }

    static func json(_ kernels: [Kernel], name: String) -> String {
        let ids = kernels.map(\.id)
        var lines: [String] = []
        lines.reserveCapacity(kernels.count)
        for k in kernels {
            lines.append("  {" + fields(k, ids, json: true).map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        }
        return "{\"schema\": 1, \"name\": \"\(name)\", \"tokens\": 64, \"kernels\": [\n" + lines.joined(separator: ",\n") + "\n]}\n"
    }
}

/// Runs a command of this package and measures it: wall time and the child's peak memory.
enum ChildProcess {
    struct Measurement {
        var seconds: Double
        /// User and system time of the child.
        var cpuSeconds: Double
        var peakMiB: Double
        var status: Int32
    }

    static func run(_ executable: String, _ arguments: [String]) -> Measurement {
        var pid: pid_t = 0
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let start = DispatchTime.now().uptimeNanoseconds
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else {
            return Measurement(seconds: 0, cpuSeconds: 0, peakMiB: 0, status: -1)
        }
        var status: Int32 = 0
        var usage = rusage()
        wait4(pid, &status, 0, &usage)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        posix_spawn_file_actions_destroy(&actions)
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        return Measurement(seconds: seconds, cpuSeconds: cpu, peakMiB: Double(usage.ru_maxrss) / 1024, status: status)
    }

    /// The median of `count` runs.
    static func median(_ count: Int, _ executable: String, _ arguments: [String]) -> Measurement {
        let runs = (0..<count).map { _ in run(executable, arguments) }.sorted { $0.seconds < $1.seconds }
        return runs[count / 2]
    }
}
