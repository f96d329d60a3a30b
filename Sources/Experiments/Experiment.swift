import Chips
import Foundation
import SimCore
import Simulator
import Store
import Systems
import Workloads

/// What a run is of: a chip, or one rank of a system, with figures overridden.
public struct RunTarget: Sendable {
    /// A chip id or file (nil with a system).
    public var chip: String?
    /// A system id or file (nil for one chip).
    public var system: String?
    public var nodes: Int?
    /// `path=value` overrides of chip figures (of system figures, with a system).
    public var overrides: [String]
    /// The chips folder (systems are found beside it).
    public var chips: String

    public init(
        chip: String? = nil, system: String? = nil, nodes: Int? = nil, overrides: [String] = [],
        chips: String = ChipCatalog.defaultDirectory()
    ) {
        self.chip = chip
        self.system = system
        self.nodes = nodes
        self.overrides = overrides
        self.chips = chips
    }

    /// The chip simulated and the system around it. On a system each rank is one device (a 910C
    /// die); alone, a chip run simulates the whole package.
    public func resolve() throws -> (spec: ChipSpec, system: SystemSpec?) {
        let system = try system.map { try SystemCatalog.resolve($0, overrides: overrides, nodes: nodes, chips: chips) }
        let spec = try system?.chip.device ?? ChipCatalog.resolve(chip ?? "", overrides: overrides, directory: chips)
        return (spec, system)
    }
}

/// A simulated run and what it ran on.
public struct RunOutcome: Sendable {
    public var spec: ChipSpec
    public var system: SystemSpec?
    /// The trace as given (before any repeat).
    public var trace: Trace
    public var result: RunResult
    /// The whole system's view of the run (nil for one chip).
    public var systemRun: SystemRun? { system.map { SystemRun(result, system: $0) } }
}

/// What a command does, as a library: resolve the target, run the trace on the engine, store the
/// run. `xpusim run`, sweeps and Swift callers go through here.
public enum Experiment {
    /// Runs `trace` (`repeat` times over) on `target` under `conditions`.
    public static func run(_ target: RunTarget, trace: Trace, repeat count: Int = 1, conditions: RunConditions = RunConditions()) throws
        -> RunOutcome
    {
        let (spec, system) = try target.resolve()
        return try run(spec, system: system, trace: trace, repeat: count, conditions: conditions)
    }

    /// Runs `trace` on a chip already resolved (a sweep's point, a caller's own ChipSpec).
    public static func run(
        _ spec: ChipSpec, system: SystemSpec? = nil, trace: Trace, repeat count: Int = 1, conditions: RunConditions = RunConditions()
    ) throws -> RunOutcome {
        let ran = count > 1 ? trace.repeated(count) : trace
        var result = try Engine(machine: Machine(spec), system: system).run(ran, conditions: conditions)
        // On a system every replica of the trace produces its tokens (one replica when the trace does not say).
        if let system { result.tokens = try ran.systemTokens(devices: system.totalDevices) }
        return RunOutcome(spec: spec, system: system, trace: trace, result: result)
    }

    /// What the store keeps beside the result: the tool, the chip and system descriptions used,
    /// the workload's hash, the options given and, on a system, its whole power.
    public static func context(_ outcome: RunOutcome, workloadHash: String, options: [String: String], toolVersion: String) -> RunContext {
        let system = outcome.systemRun.map { run in
            SystemContext(
                id: run.system.id, json: run.system.document.canonicalJSON, nodes: run.system.nodes, devices: run.system.totalDevices,
                averagePower: run.averagePower, energy: run.energy)
        }
        return RunContext(
            toolVersion: toolVersion, chipJSON: outcome.spec.document.canonicalJSON, workloadID: outcome.trace.name,
            workloadHash: workloadHash,
            options: options, system: system)
    }

    /// Stores the run; the workload's hash is that of the file's bytes at `workload`. Returns the run's id.
    public static func store(
        _ outcome: RunOutcome, workload: String, options: [String: String], in store: RunStore, toolVersion: String
    ) throws -> Int64 {
        let bytes = FileManager.default.contents(atPath: workload).map { [UInt8]($0) } ?? []
        return try store.save(
            outcome.result, context: context(outcome, workloadHash: ContentHash.sha256(bytes), options: options, toolVersion: toolVersion))
    }
}
