import Chips
import HeapModule
import Workloads

/// The result of one kernel in a run.
public struct KernelResult: Sendable {
    public var id: String
    public var op: String
    public var dtype: DataType
    public var stream: Int
    public var start: Double
    public var end: Double
    public var duration: Double { end - start }
    /// Duration in core cycles at the run's clock.
    public var cycles: Double
    /// The kernel's cost when alone (time, bytes, busy fractions, bound).
    public var cost: KernelCost
    /// Energy attributed to the kernel: its dynamic energy plus its share of static and uncore power (J).
    public var energy: Double = 0
    public var achievedFLOPS: Double { duration > 0 ? cost.flops / duration : 0 }

    public init(id: String, op: String, dtype: DataType, stream: Int, start: Double, end: Double, cycles: Double, cost: KernelCost) {
        self.id = id
        self.op = op
        self.dtype = dtype
        self.stream = stream
        self.start = start
        self.end = end
        self.cycles = cycles
        self.cost = cost
    }
    public var achievedHBMBandwidth: Double { duration > 0 ? cost.hbmBytes / duration : 0 }
}

/// The result of running a trace on a chip.
public struct RunResult: Sendable {
    public var chip: String
    public var workload: String
    public var clock: Double
    public var kernels: [KernelResult]
    public var totalTime: Double
    public var totalFLOPs: Double { kernels.reduce(0) { $0 + $1.cost.flops } }
    public var totalHBMBytes: Double { kernels.reduce(0) { $0 + $1.cost.hbmBytes } }
    public var tokens: Int?
    public var power = PowerSummary()
    public var samples: [Sample] = []

    public init(chip: String, workload: String, clock: Double, kernels: [KernelResult], totalTime: Double, tokens: Int?) {
        self.chip = chip
        self.workload = workload
        self.clock = clock
        self.kernels = kernels
        self.totalTime = totalTime
        self.tokens = tokens
    }
}

/// Power, temperature and throttling totals of a run.
public struct PowerSummary: Sendable {
    public var energy: Double = 0
    public var averagePower: Double = 0
    /// Highest power over one control interval.
    public var peakPower: Double = 0
    public var peakTemperature: Double = 0
    /// Time-weighted mean core clock.
    public var averageClock: Double = 0
    /// Time during which the power cap held the clock below the requested clock.
    public var powerThrottled: Double = 0
    /// Time during which temperature held the clock down (software slowdown or hardware slowdown).
    public var thermalThrottled: Double = 0
    /// Whether the junction reached the shutdown temperature.
    public var reachedShutdown = false
    public var powerLimit: Double = 0
    public var ambient: Double = 0
    public var cooling = Cooling.air
    public init() {}
}

extension RunResult {
    /// At most `limit` samples, evenly strided (the stride is returned), for printing and storing.
    public func downsampledSamples(limit: Int = 5000) -> (samples: [Sample], stride: Int) {
        guard samples.count > limit else { return (samples, 1) }
        let stride = (samples.count + limit - 1) / limit
        return (Swift.stride(from: 0, to: samples.count, by: stride).map { samples[$0] }, stride)
    }
}

/// One control interval of a run.
public struct Sample: Sendable {
    public var time: Double
    public var power: Double
    public var temperature: Double
    public var clock: Double
    public var hbmBandwidth: Double
}
