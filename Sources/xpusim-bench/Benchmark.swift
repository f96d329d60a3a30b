import Chips
import Config
import Foundation
import Simulator
import Store
import Workloads

/// Speed benchmark: run with `swift run -c release xpusim-bench`.
///
/// Reports simulated GEMM kernels per second (the shipped GEMM sweep, costed again and again on
/// every shipped chip), the time to simulate the Llama-2-7B decoder layer, and peak memory.
/// Targets (one core): at least 100,000 GEMM kernels/s; a decoder layer in under 1 ms.
@main
struct Benchmark {
    static func main() throws {
        let catalog = try ChipCatalog.load(directory: ResourceLocator.find("chips"))
        let libraries = KernelLibraries.directory(besideChipsIn: catalog.directory)
        let machines = try catalog.documents.map { Machine(try ChipSpec($0, libraries: libraries)) }
        let sweep = try Trace.load(file: ResourceLocator.find("workloads") + "/gemm-sweep.yaml")
        let layer = try Trace.load(file: ResourceLocator.find("workloads") + "/llama2-7b-layer-prefill2048.yaml")

        // GEMM kernels per second: cost every GEMM of the sweep on every chip, repeatedly.
        let gemms = sweep.kernels
        var simulated = 0
        var checksum = 0.0
        let gemmStart = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        while elapsed < 2 {
            for machine in machines {
                let engine = Engine(machine: machine)
                for kernel in gemms {
                    guard let cost = try? engine.cost(of: kernel) else { continue }  // fp8 on chips without it
                    checksum += cost.duration
                    simulated += 1
                }
            }
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - gemmStart) / 1e9
        }
        let gemmRate = Double(simulated) / elapsed

        // Decoder layer: whole-trace runs on the H100, median of many.
        let engine = Engine(machine: machines.first { $0.spec.id == "h100-sxm" } ?? machines[0])
        var times: [Double] = []
        for _ in 0..<2000 {
            let start = DispatchTime.now().uptimeNanoseconds
            checksum += try engine.run(layer).totalTime
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        let median = times[times.count / 2]

        // Storing a run of 10,000 kernels (one transaction) in a fresh database.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "xpusim-bench-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try RunStore(path: directory.appendingPathComponent("bench.sqlite").path)
        let big = Trace(
            name: "10k",
            kernels: (0..<10_000).map { i in
                Kernel(id: "k\(i)", op: .gemm(.init(m: 64 + i % 4096, n: 4096, k: 4096)), dtype: .bf16, deps: i > 0 ? [i - 1] : [])
            })
        let bigResult = try engine.run(big)
        let context = RunContext(
            toolVersion: "bench", chipJSON: engine.machine.spec.document.canonicalJSON, workloadID: "10k",
            workloadHash: "-", options: [:])
        var storeTimes: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            try store.save(bigResult, context: context)
            storeTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        storeTimes.sort()

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMiB = Double(usage.ru_maxrss) / 1024  // Linux reports KiB

        print(
            "GEMM sweep:     \(simulated) kernels on \(machines.count) chips in \(String(format: "%.2f", elapsed)) s = \(Int(gemmRate)) kernels/s (target >= 100000)"
        )
        print(
            "decoder layer:  \(layer.kernels.count) kernels, median \(String(format: "%.1f", median * 1e6)) us per simulation (target < 1000 us)"
        )
        print("store run:      10000 kernels in \(String(format: "%.1f", storeTimes[2] * 1e3)) ms (median of 5; target < 200 ms)")
        print("peak memory:    \(String(format: "%.1f", peakMiB)) MiB")
        print("checksum:       \(checksum)")
        if gemmRate < 100_000 || median >= 1e-3 || storeTimes[2] >= 0.2 { print("TARGET MISSED") }
    }
}
