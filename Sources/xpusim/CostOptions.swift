import ArgumentParser
import Chips
import Estimates
import Foundation
import SimCore
import Systems

/// The money side of an estimate: electricity, facility overhead, amortisation (shared by serve,
/// train and compare). Defaults and their sources: ``CostAssumptions``.
struct CostOptions: ParsableArguments {
    @Option(help: "Electricity price in USD per kWh (default 0.08, about the 2024 US industrial average).")
    var electricityPrice = 0.08
    @Option(help: "Facility power over IT power (default 1.56, the 2024 Uptime Institute survey average).") var pue = 1.56
    @Option(help: "Years the hardware's price is spread over (default 4).") var amortizationYears = 4.0

    func validate() throws {
        if !(electricityPrice >= 0 && electricityPrice <= 10) { throw ValidationError("--electricity-price is USD per kWh, 0 to 10") }
        if !(pue >= 1 && pue <= 5) { throw ValidationError("--pue is facility over IT power: 1 to 5") }
        if !(amortizationYears > 0 && amortizationYears <= 30) { throw ValidationError("--amortization-years must be in (0, 30]") }
    }

    var assumptions: CostAssumptions { CostAssumptions(electricityPrice: electricityPrice, pue: pue, years: amortizationYears) }

    /// The cost of `ranks` devices drawing `power` W in all and making `tokensPerSecond`; nil without a price.
    func estimate(ranks: Int, system: SystemSpec?, device: ChipSpec, power: Double, tokensPerSecond: Double) -> CostEstimate? {
        Capital.of(ranks: ranks, system: system, device: device).map {
            CostEstimate(capital: $0, power: power, tokensPerSecond: tokensPerSecond, assumptions: assumptions)
        }
    }

    /// JSON fields of an estimate: cost per million tokens and what it rests on, or a null cost and why.
    static func json(_ cost: CostEstimate?) -> [String: Any] {
        guard let cost else { return ["cost_per_million_tokens_usd": NSNull(), "cost_basis": "no price in the chip or system file"] }
        return [
            "cost_per_million_tokens_usd": cost.perMillionTokens, "cost_basis": cost.capital.basis, "capital_usd": cost.capital.price,
            "capital_per_hour_usd": cost.capitalPerHour, "energy_per_hour_usd": cost.energyPerHour,
            "electricity_usd_per_kwh": cost.assumptions.electricityPrice, "pue": cost.assumptions.pue,
            "amortization_years": cost.assumptions.years,
        ]
    }

    /// The text line: "$0.42 per million tokens ($12.3/h: $8.1 capital over 4 years, $4.2 energy at $0.08/kWh x PUE 1.56; node price)".
    static func line(_ cost: CostEstimate?) -> String {
        guard let cost else { return "no price in the chip or system file" }
        let a = cost.assumptions
        return "$\(formatNumber(cost.perMillionTokens)) per million tokens ($\(formatNumber(cost.perHour))/h: "
            + "$\(formatNumber(cost.capitalPerHour)) capital over \(formatNumber(a.years)) years, $\(formatNumber(cost.energyPerHour)) "
            + "energy at $\(formatNumber(a.electricityPrice))/kWh x PUE \(formatNumber(a.pue)); \(cost.capital.basis))"
    }
}
