import Chips
import Config
import Estimates
import Foundation
import SimCore
import Systems
import Workloads

/// A published record of a long training run's interruptions (chips/reliability/fleets.yaml).
public struct FleetRecord: Sendable {
    public struct Cause: Sendable {
        public var cause: String
        public var failureClass: FailureClass
        public var count: Int
    }
    /// The training load the record's devices ran, for the junction temperature `xpusim train` gives it.
    public struct Load: Sendable {
        public var model: String
        public var tp: Int
        public var pp: Int
        public var globalBatch: Int
        public var seq: Int
        public var recompute: Bool
    }

    public var id: String
    public var name: String
    public var split: Split
    /// The source's url and note.
    public var source: String
    public var system: String
    public var how: String
    public var devices: Int
    /// Hours the record covers (calibration records: the exposure the counts are over).
    public var hours: Double?
    public var load: Load
    /// The file system's aggregate bandwidth, where the record gives it (B/s).
    public var storageBandwidth: Double?
    public var causes: [Cause]
    /// What a check record measured: the job's mean time to interruption (s), a lower bound on
    /// the hardware's MTBF (s), a lower bound on the effective training time.
    public var mtti: Double?
    public var hardwareMTBFAtLeast: Double?
    public var effectiveTrainingTimeAtLeast: Double?
}

/// What the model says about one record, beside what the record says.
public struct FleetComparison: Sendable {
    public var record: String
    public var split: Split
    public var quantity: String
    public var measured: Double
    /// "=" for a value, ">=" for a lower bound.
    public var relation: String
    public var predicted: Double
    public var unit: String
    /// Signed relative error of a value; nil for a bound.
    public var error: Double? { relation == "=" ? predicted / measured - 1 : nil }
    public var boundHolds: Bool? { relation == ">=" ? predicted >= measured : nil }
}

/// The fitted reliability figures: per-class MTBFs at the calibration run's junction temperature.
public struct ReliabilityFit: Sendable {
    public var chip: String
    public var system: String
    public var referenceTemperature: Double
    /// (path, MTBF in seconds, events, exposure) per class; chip paths for the package's classes.
    public var figures: [(path: String, mtbf: Double, events: Int, exposure: String)]
    public var dataHash: String
    public var command: String { "xpusim reliability fit" }
}

public enum FleetRecords {
    public static func defaultFile(chips: String = ChipCatalog.defaultDirectory()) -> String { chips + "/reliability/fleets.yaml" }

    public static func load(_ file: String) throws -> [FleetRecord] {
        let root = try ConfigNode.load(file: file)
        var top = try MappingReader(root)
        let schema = try top.required("schema").int()
        guard schema == 1 else { throw root.error("schema \(schema) is not one this xpusim reads (1)") }
        var sources: [String: String] = [:]
        for (key, value) in try top.required("sources").mapping() {
            var s = try MappingReader(value)
            let url = try s.required("url").string()
            let note = try s.optional("note")?.string()
            _ = try s.required("kind").string()
            try s.finish()
            sources[key] = url + (note.map { " (\($0))" } ?? "")
        }
        var records: [FleetRecord] = []
        for (id, node) in try top.required("records").mapping() {
            var r = try MappingReader(node)
            let name = try r.required("name").string()
            let splitNode = try r.required("split")
            guard let split = Split(rawValue: try splitNode.string()) else { throw splitNode.error("expected calibration or check") }
            let sourceNode = try r.required("source")
            guard let source = sources[try sourceNode.string()] else { throw sourceNode.error("no such source in sources") }
            let system = try r.required("system").string()
            let how = try r.optional("how")?.string() ?? ""
            let devicesNode = try r.required("devices")
            let devices = try devicesNode.int()
            guard devices >= 1 else { throw devicesNode.error("expected at least 1 device") }
            let hours = try r.optional("hours")?.double()
            var l = try MappingReader(try r.required("training"))
            let load = FleetRecord.Load(
                model: try l.required("model").string(), tp: try l.optional("tp")?.int() ?? 1, pp: try l.optional("pp")?.int() ?? 1,
                globalBatch: try l.required("global_batch").int(), seq: try l.required("seq").int(),
                recompute: try l.optional("recompute")?.bool() ?? false)
            try l.finish()
            let storage = try r.optional("storage_bandwidth")?.quantity(.bandwidth).value
            var causes: [FleetRecord.Cause] = []
            for item in try r.optional("causes")?.sequence() ?? [] {
                var c = try MappingReader(item)
                let failureClass = try c.required("class").word(FailureClass.self, "failure class")
                let countNode = try c.required("count")
                let count = try countNode.int()
                guard count >= 0 else { throw countNode.error("expected a count of at least 0") }
                causes.append(.init(cause: try c.required("cause").string(), failureClass: failureClass, count: count))
                try c.finish()
            }
            let mtti = try r.optional("mtti")?.quantity(.lifetime).value
            let mtbf = try r.optional("hardware_mtbf_at_least")?.quantity(.lifetime).value
            let ett = try r.optional("effective_training_time_at_least")?.double()
            try r.finish()
            if split == .calibration && (causes.isEmpty || hours == nil) {
                throw node.error("a calibration record needs its causes and the hours they were counted over")
            }
            if split == .check && mtti == nil && mtbf == nil && ett == nil {
                throw node.error("a check record needs what was measured: mtti, hardware_mtbf_at_least or effective_training_time_at_least")
            }
            records.append(
                FleetRecord(
                    id: id, name: name, split: split, source: source, system: system, how: how, devices: devices, hours: hours, load: load,
                    storageBandwidth: storage, causes: causes, mtti: mtti, hardwareMTBFAtLeast: mtbf, effectiveTrainingTimeAtLeast: ett))
        }
        try top.finish()
        return records
    }

    /// The record's system with enough nodes, and `xpusim train`'s estimate of its load on it.
    static func training(_ record: FleetRecord, chips: String) throws -> (SystemSpec, TrainingRequest, TrainingEstimate) {
        let one = try SystemCatalog.resolve(record.system, chips: chips)
        let nodes = (record.devices + one.devicesPerNode - 1) / one.devicesPerNode
        let system = try SystemCatalog.resolve(record.system, nodes: max(nodes, one.nodes), chips: chips)
        let l = record.load
        let dp = record.devices / (l.tp * l.pp)
        let request = TrainingRequest(
            model: try ModelCatalog.resolve(l.model).model, globalBatch: l.globalBatch, seq: l.seq,
            parallelism: Parallelism(tp: l.tp, pp: l.pp, dp: dp), recompute: l.recompute)
        return (system, request, try TrainingEstimator.estimate(request, device: system.chip.device, system: system))
    }

    /// Fits the MTBF of each class on the calibration records: events over exposure (device-hours
    /// for the package's classes and software, node-hours for the rest), the package's exposure
    /// scaled to the reference temperature (the exposure-weighted mean of the records' simulated
    /// junction temperatures) by the chip's activation energy. One chip and one system.
    public static func fit(_ records: [FleetRecord], chips: String) throws -> ReliabilityFit {
        let calibration = records.filter { $0.split == .calibration }
        guard let first = calibration.first else { throw EstimateError("no calibration record to fit on") }
        guard calibration.allSatisfy({ $0.system == first.system }) else {
            throw EstimateError("the calibration records are on several systems; the fit takes one")
        }
        var runs: [(FleetRecord, SystemSpec, Double)] = []
        for record in calibration {
            let (system, _, estimate) = try training(record, chips: chips)
            runs.append((record, system, (estimate.peakTemperature * 10).rounded() / 10))
        }
        let system = runs[0].1
        guard let energy = system.chip.reliability.activationEnergy else {
            throw EstimateError("\(system.chip.document.file) gives no reliability.activation_energy: the fit needs it")
        }
        let exposure = runs.map { Double($0.0.devices) * $0.0.hours! }
        let reference = zip(runs, exposure).map { $0.2 * $1 }.reduce(0, +) / exposure.reduce(0, +)
        var figures: [(path: String, mtbf: Double, events: Int, exposure: String)] = []
        var text: [String] = []
        for failureClass in FailureClass.allCases {
            var events = 0
            var units = 0.0
            for ((record, _, temperature), devices) in zip(runs, exposure) {
                events += record.causes.filter { $0.failureClass == failureClass }.map(\.count).reduce(0, +)
                let perDevice = failureClass.followsJunction || failureClass == .software
                let heat =
                    failureClass.followsJunction
                    ? FailureModel.acceleration(temperature: temperature, reference: reference, activationEnergy: energy) : 1
                units += (perDevice ? devices : devices / Double(system.devicesPerNode)) * heat
            }
            guard events > 0 else { throw EstimateError("the calibration records count no \(failureClass.rawValue) faults to fit on") }
            let path = (failureClass.followsJunction ? "chip " : "system ") + "reliability.mtbf.\(failureClass.rawValue)"
            let unit = failureClass.followsJunction || failureClass == .software ? "device-hours" : "node-hours"
            figures.append((path, units / Double(events) * 3600, events, "\(formatNumber(units)) \(unit)"))
        }
        for (record, _, temperature) in runs {
            let counts = record.causes.map { "\($0.failureClass.rawValue)=\($0.count)" }.joined(separator: ",")
            text.append("\(record.id)|\(record.devices)|\(record.hours!)|\(temperature)|\(counts)")
        }
        return ReliabilityFit(
            chip: system.chip.id, system: system.id, referenceTemperature: reference, figures: figures,
            dataHash: "sha256:" + ContentHash.sha256(text.joined(separator: "\n")).prefix(16))
    }

    /// The model against every record: a check record's measured figure, and the calibration
    /// records' effective training time (not fitted: the rates come from the record, the
    /// checkpoint and restart figures do not).
    public static func compare(_ records: [FleetRecord], chips: String) throws -> [FleetComparison] {
        var out: [FleetComparison] = []
        for record in records {
            let (system, request, estimate) = try training(record, chips: chips)
            let rates = try FailureModel.rates(ranks: estimate.ranks, system: system, temperature: estimate.peakTemperature)
            if let mtti = record.mtti {
                out.append(
                    FleetComparison(
                        record: record.id, split: record.split, quantity: "job MTTI", measured: mtti / 3600, relation: "=",
                        predicted: rates.mtti / 3600, unit: "h"))
            }
            if let bound = record.hardwareMTBFAtLeast {
                let hardware = rates.total - (rates.perSecond[.software] ?? 0)
                out.append(
                    FleetComparison(
                        record: record.id, split: record.split, quantity: "hardware MTBF", measured: bound / 3600, relation: ">=",
                        predicted: 1 / hardware / 3600, unit: "h"))
            }
            if let ett = record.effectiveTrainingTimeAtLeast {
                let run = LongRunRequest(length: .days((record.hours ?? 24 * 30) / 24), storageBandwidth: record.storageBandwidth)
                let e = try LongRunEstimator.estimate(request, run, system: system, step: estimate)
                out.append(
                    FleetComparison(
                        record: record.id, split: record.split, quantity: "effective training time", measured: ett, relation: ">=",
                        predicted: e.goodput.fraction, unit: ""))
            }
        }
        return out
    }
}
