/// How a chip's heat leaves the package: through an air heatsink or a liquid cold plate.
public enum Cooling: String, Sendable, CaseIterable {
    case air, liquid
}

extension ChipSpec.Thermal {
    /// Heatsink-to-ambient (or cold-plate-to-coolant) resistance under `cooling`.
    public func heatsinkResistance(_ cooling: Cooling) -> Double {
        cooling == .liquid ? heatsinkResistanceLiquid : heatsinkResistanceAir
    }
}
