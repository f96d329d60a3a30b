import Chips
import Foundation
import Simulator
import Store

/// Test helper: stores synthetic runs through the real Store, one per argument.
///
/// ```
/// xpusim-store-stress DB 1000 1000 500000   # three runs of 1,000, 1,000 and 500,000 kernels
/// ```
/// Prints each run's id as it commits. The Store tests start several at once (concurrent writers)
/// and kill one with SIGKILL in the middle of a large run.
@main
struct StoreStress {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let path = arguments.first, arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: xpusim-store-stress DB KERNELS [KERNELS ...]\n".utf8))
            exit(2)
        }
        do {
            let store = try RunStore(path: path)
            for (index, text) in arguments.dropFirst().enumerated() {
                guard let count = Int(text), count > 0 else { throw StoreError(path: path, message: "bad kernel count \(text)") }
                let run = synthetic(kernels: count, seed: index)
                let context = RunContext(
                    toolVersion: "stress", chipJSON: "{\"id\":\"synthetic\"}", workloadID: "stress-\(count)",
                    workloadHash: "\(count)", options: ["pid": "\(ProcessInfo.processInfo.processIdentifier)"])
                let id = try store.save(run, context: context)
                FileHandle.standardOutput.write(Data("\(id)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }

    static func synthetic(kernels count: Int, seed: Int) -> RunResult {
        var cost = KernelCost()
        cost.duration = 1e-5
        cost.flops = 1e9
        cost.hbmBytes = 1e6
        cost.bound = .compute
        cost.decomposition = "synthetic"
        let kernels = (0..<count).map { i in
            KernelResult(
                id: "k\(i)", op: "gemm", dtype: .bf16, stream: 0, start: Double(i) * 1e-5, end: Double(i + 1) * 1e-5,
                cycles: 19_800, cost: cost)
        }
        return RunResult(
            chip: "synthetic", workload: "stress-\(count)-\(seed)", clock: 1.98e9, kernels: kernels,
            totalTime: Double(count) * 1e-5, tokens: nil)
    }
}
