import Chips
import Config
import Foundation

/// `xpusim-fuzz`: the reader fuzzer as a command (scripts/fuzz.sh runs it in release).
///
/// ```
/// $ xpusim-fuzz --seed 1 --inputs 1000000 --out .build/fuzz
/// 1000000 inputs in 412.3 s (2425/s): 61250 read, 938750 refused, 62500 compared with Yams, 0 findings; slowest 0.041 s
/// ```
///
/// Before each input runs it is written to `OUT/current-input`, so a crash leaves it behind; a
/// watchdog thread ends the run (exit 3) when one input takes longer than `--time-limit` seconds
/// or the process holds more than `--memory-limit` MiB, saving the input as `OUT/hang-*` or
/// `OUT/memory-*`. Findings are saved as they are found, as `OUT/finding-N-KIND.yaml`, and make the exit status 1.
@main
struct FuzzMain {
    static func main() throws {
        var seed: UInt64 = 1
        var inputs = 100_000
        var out = ".build/fuzz"
        var timeLimit = 10.0
        var memoryLimit = 2048.0
        var compareEvery = 16
        var root = FileManager.default.currentDirectoryPath
        var arguments = CommandLine.arguments.dropFirst()
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst() else { usage("\(flag) needs a value") }
            switch flag {
            case "--seed": seed = UInt64(value) ?? { usage("--seed: expected a number") }()
            case "--inputs": inputs = Int(value) ?? { usage("--inputs: expected a number") }()
            case "--out": out = value
            case "--time-limit": timeLimit = Double(value) ?? { usage("--time-limit: expected seconds") }()
            case "--memory-limit": memoryLimit = Double(value) ?? { usage("--memory-limit: expected MiB") }()
            case "--compare-every": compareEvery = Int(value) ?? { usage("--compare-every: expected a number") }()
            case "--root": root = value
            case "--explain":
                explain(value)
                return
            default: usage("unknown option \(flag)")
            }
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let seeds = ReaderFuzzer.seeds(root: root)
        guard !seeds.isEmpty else { usage("no seed files under \(root) (run from the repository root or pass --root)") }
        let libraries = root + "/chips/libraries"
        _ = try KernelLibraries.load(directory: libraries)  // read once, before the clock starts

        let current = out + "/current-input"
        let watchdog = Watchdog(timeLimit: timeLimit, memoryLimit: memoryLimit, current: current, out: out)
        watchdog.start()
        let handle =
            FileHandle(forWritingAtPath: current)
            ?? {
                FileManager.default.createFile(atPath: current, contents: nil)
                return FileHandle(forWritingAtPath: current)!
            }()

        var fuzzer = ReaderFuzzer(seeds: seeds, libraries: libraries, seed: seed)
        let start = Date()
        var total = ReaderFuzzer.Summary()
        let batch = 10_000
        var done = 0
        var findingNumber = 0
        while done < inputs {
            let n = min(batch, inputs - done)
            let summary = fuzzer.round(
                count: n, compareEvery: compareEvery,
                before: { input in
                    watchdog.began(input.kind)
                    try? handle.truncate(atOffset: 0)
                    handle.write(Data(input.bytes))
                },
                found: { input, what in
                    // Saved at once, so a run stopped early keeps it.
                    let path = "\(out)/finding-\(findingNumber)-\(input.kind.rawValue).yaml"
                    findingNumber += 1
                    FileManager.default.createFile(atPath: path, contents: Data(input.bytes))
                    print("finding (\(input.kind.rawValue), from \(input.name)): \(what) -> \(path)")
                    fflush(nil)
                })
            total.inputs += summary.inputs
            total.read += summary.read
            total.refused += summary.refused
            total.compared += summary.compared
            total.findings += summary.findings
            if summary.slowest > total.slowest {
                total.slowest = summary.slowest
                total.slowestInput = summary.slowestInput
            }
            done += n
            if done % 100_000 == 0 || done == inputs {
                let seconds = Date().timeIntervalSince(start)
                print("\(done) inputs, \(String(format: "%.1f", seconds)) s, \(total.findings.count) findings")
                fflush(nil)
            }
        }
        watchdog.stop()
        try? FileManager.default.removeItem(atPath: current)
        let seconds = Date().timeIntervalSince(start)
        print(
            "\(total.inputs) inputs in \(String(format: "%.1f", seconds)) s (\(Int(Double(total.inputs) / seconds))/s): "
                + "\(total.read) read, \(total.refused) refused, \(total.compared) compared with Yams, \(total.findings.count) "
                + "findings; slowest \(String(format: "%.3f", total.slowest)) s (\(total.slowestInput?.name ?? "-")); seed \(seed)"
        )
        var resources = rusage()
        getrusage(RUSAGE_SELF.rawValue, &resources)
        print("peak memory \(resources.ru_maxrss / 1024) MiB")
        if !total.findings.isEmpty { exit(1) }
    }

    /// Triage of a saved input: what each parser makes of it.
    static func explain(_ path: String) {
        guard let data = FileManager.default.contents(atPath: path) else { usage("cannot read \(path)") }
        for parser in [ConfigNode.Parser.builtIn, .yams, .automatic] {
            do {
                _ = try ConfigNode.parse(bytes: [UInt8](data), file: path, parser: parser)
                print("\(parser): read")
            } catch {
                print("\(parser): \(error)")
            }
        }
        if let ours = try? ConfigNode.parse(bytes: [UInt8](data), file: path, parser: .builtIn),
            let yams = try? ConfigNode.parse(bytes: [UInt8](data), file: path, parser: .yams)
        {
            print("difference: \(ours.firstDifference(from: yams) ?? "none")")
        }
    }

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(
            Data(
                ("error: \(message)\nusage: xpusim-fuzz [--seed N] [--inputs N] [--out DIR] [--time-limit S] [--memory-limit MiB] "
                    + "[--compare-every N] [--root DIR] | --explain FILE\n").utf8))
        exit(2)
    }
}

/// Ends the process when one input runs too long or memory grows past the limit.
final class Watchdog: @unchecked Sendable {
    let timeLimit: Double
    let memoryLimit: Double
    let current: String
    let out: String
    private let lock = NSLock()
    private var startedAt: UInt64 = 0
    private var kind = ""
    private var running = true

    init(timeLimit: Double, memoryLimit: Double, current: String, out: String) {
        self.timeLimit = timeLimit
        self.memoryLimit = memoryLimit
        self.current = current
        self.out = out
    }

    func began(_ kind: ReaderFuzzer.Kind) {
        lock.lock()
        startedAt = DispatchTime.now().uptimeNanoseconds
        self.kind = kind.rawValue
        lock.unlock()
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }

    func start() {
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                lock.lock()
                let (alive, started, kind) = (running, startedAt, self.kind)
                lock.unlock()
                if !alive { return }
                let seconds = started == 0 ? 0 : Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                if seconds > timeLimit { fail("hang", kind, "one input ran for more than \(timeLimit) s") }
                let resident = Watchdog.residentMiB()
                if resident > memoryLimit { fail("memory", kind, "the process holds \(Int(resident)) MiB (limit \(Int(memoryLimit)))") }
            }
        }
    }

    private func fail(_ what: String, _ kind: String, _ message: String) -> Never {
        let path = "\(out)/\(what)-\(kind).yaml"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.copyItem(atPath: current, toPath: path)
        print("FAILED: \(message); the input is saved as \(path)")
        fflush(nil)
        exit(3)
    }

    /// The resident set of this process, from /proc/self/statm.
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}
