import SimCore

/// How a chip's heat leaves the package: through an air heatsink or a liquid cold plate.
public enum Cooling: String, Sendable, CaseIterable {
    case air, liquid
}

extension ChipSpec.Thermal {
    /// Heatsink-to-ambient (or cold-plate-to-coolant) resistance under `cooling`.
    public func heatsinkResistance(_ cooling: Cooling) -> KelvinPerWatt {
        cooling == .liquid ? heatsinkResistanceLiquid : heatsinkResistanceAir
    }
}

/// Where bytes move, for energy per byte: registers, the per-unit buffer, L2, HBM, chip-to-chip
/// links, the die-to-die link and PCIe.
public enum MemoryLevel: String, Sendable, CaseIterable {
    case register, l1, l2, hbm, link, d2d, pcie
}
