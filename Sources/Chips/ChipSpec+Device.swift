import SimCore

extension ChipSpec {
    /// One device of a package that software sees as several (a 910C die, which CANN sees as an NPU
    /// of its own): the package's dies, memory, links, power and heat path shared out evenly, its
    /// per-unit figures (clocks, MAC rates, buffers, energies per operation) kept. A package that
    /// is one device is returned as it is.
    ///
    /// A system run simulates each rank on one device, so a 910C rank holds one die's units and HBM
    /// while its collectives go between dies.
    public var device: ChipSpec {
        guard devicesPerPackage > 1 else { return self }
        let k = Double(devicesPerPackage)
        var d = self
        d.name = name + " (one of its \(devicesPerPackage) devices)"
        d.dies = max(1, dies / devicesPerPackage)
        d.devicesPerPackage = 1
        d.compute.vendorPeak = compute.vendorPeak.mapValues { $0 / k }
        d.memory.l2Size = memory.l2Size / k
        d.memory.l2Bandwidth = memory.l2Bandwidth / k
        d.memory.l2Partitions = max(1, memory.l2Partitions / devicesPerPackage)
        d.memory.hbmStacks = max(1, memory.hbmStacks / devicesPerPackage)
        d.memory.hbmCapacity = memory.hbmCapacity / k
        d.memory.hbmBandwidth = memory.hbmBandwidth / k
        d.interconnect.scaleUpLinks = max(1, interconnect.scaleUpLinks / devicesPerPackage)
        d.interconnect.scaleOutBandwidth = interconnect.scaleOutBandwidth / k
        // Within one device there is no die-to-die hop; the link between devices is a system's.
        d.interconnect.dieToDieBandwidth = nil
        d.interconnect.dieToDieLatency = nil
        d.price = price.map { $0 / k }
        // A device fails k times less often than the package of k devices (its share of the logic and stacks).
        d.reliability.acceleratorMTBF = reliability.acceleratorMTBF.map { $0 * k }
        d.reliability.hbmMTBF = reliability.hbmMTBF.map { $0 * k }
        d.power.tdp = power.tdp / k
        d.power.idle = power.idle / k
        d.power.limitMin = power.limitMin / k
        d.power.limitMax = power.limitMax / k
        d.power.staticPower = power.staticPower / k
        d.power.clockPower = power.clockPower / k
        // Half the power through the same heat path per die: each die's share of the package's
        // resistances is twice the whole's, of its capacities half.
        d.thermal.junctionResistance = thermal.junctionResistance * k
        d.thermal.junctionCapacitance = thermal.junctionCapacitance / k
        d.thermal.heatsinkResistanceAir = thermal.heatsinkResistanceAir * k
        d.thermal.heatsinkResistanceLiquid = thermal.heatsinkResistanceLiquid * k
        d.thermal.heatsinkCapacitance = thermal.heatsinkCapacitance / k
        return d
    }
}
