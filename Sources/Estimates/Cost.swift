import Chips
import Systems

/// What turns hardware and energy into money: the electricity price, the facility's overhead on
/// it (PUE) and the years the hardware's price is spread over.
///
/// Defaults: 0.08 USD/kWh, about the US industrial average of 2024 (EIA, Electric Power Monthly
/// table 5.6); PUE 1.56, the average its operators reported to the Uptime Institute's 2024 Global
/// Data Center Survey; 4 years, a choice (GPU servers are depreciated over 4 to 6 years), not a
/// measurement. The hardware is taken as busy all the time: cost per token at full utilisation.
public struct CostAssumptions: Sendable, Equatable {
    public var electricityPrice: Double
    public var pue: Double
    public var years: Double

    public init(electricityPrice: Double = 0.08, pue: Double = 1.56, years: Double = 4) {
        self.electricityPrice = electricityPrice
        self.pue = pue
        self.years = years
    }
}

/// The hardware a run occupies, priced: its share of the system's nodes (or the one chip), and
/// what the price rests on.
public struct Capital: Sendable, Equatable {
    public var price: Double
    /// "node price" (the system file's), "chip prices only" (no node price: host, network and
    /// storage not counted), or "chip price" (one chip on its own).
    public var basis: String

    public init(price: Double, basis: String) {
        self.price = price
        self.basis = basis
    }

    /// The capital share of `ranks` devices of `system`, or of one `device` without a system;
    /// nil where no price is known.
    public static func of(ranks: Int, system: SystemSpec?, device: ChipSpec) -> Capital? {
        guard let system else { return device.price.map { Capital(price: $0 * Double(ranks), basis: "chip price") } }
        let nodes = Double(ranks) / Double(system.devicesPerNode)
        // A share of the whole domain the file describes, however few of its nodes the system has.
        let domain = (system.domainPrice ?? 0) * nodes / Double(system.scaleUp.domainNodes)
        if let node = system.nodePrice { return Capital(price: node * nodes + domain, basis: "node price") }
        guard let chip = system.chip.price else { return nil }
        return Capital(price: chip * Double(system.chipsPerNode) * nodes + domain, basis: "chip prices only")
    }
}

/// Cost of producing tokens: the capital spread over its years plus the energy at the wall.
public struct CostEstimate: Sendable, Equatable {
    public var capital: Capital
    public var assumptions: CostAssumptions
    /// USD per hour: the hardware's price over its years, and the energy its power draws.
    public var capitalPerHour: Double
    public var energyPerHour: Double
    public var perMillionTokens: Double

    /// `power` (W) is what the hardware draws; the facility adds PUE on top.
    public init(capital: Capital, power: Double, tokensPerSecond: Double, assumptions: CostAssumptions) {
        self.capital = capital
        self.assumptions = assumptions
        capitalPerHour = capital.price / (assumptions.years * 365.25 * 24)
        energyPerHour = power / 1000 * assumptions.pue * assumptions.electricityPrice
        perMillionTokens = tokensPerSecond > 0 ? (capitalPerHour + energyPerHour) / (tokensPerSecond * 3600) * 1e6 : .infinity
    }

    public var perHour: Double { capitalPerHour + energyPerHour }
}
