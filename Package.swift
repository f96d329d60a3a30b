// swift-tools-version:6.0
import PackageDescription

// Layering (DESIGN.md): SimCore <- Config <- Chips <- Systems, Workloads <- Fabric <- Simulator <- Estimates, Store <- Experiments <- Sweeps <- Reports <- xpusim.
// Each outside dependency is owned by one module: Yams by Config, GRDB by Store, ArgumentParser by the CLI.
let package = Package(
    name: "xpusim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "xpusim", targets: ["xpusim"]),
        .library(
            name: "XPUSim",
            targets: [
                "SimCore", "Config", "Chips", "Systems", "Fabric", "Workloads", "Simulator", "Estimates", "Validation", "Store",
                "Experiments", "Sweeps", "Reports",
            ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        .target(name: "SimCore", dependencies: [.product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "Config", dependencies: ["SimCore", .product(name: "Yams", package: "Yams")]),
        .target(name: "Chips", dependencies: ["SimCore", "Config"]),
        .target(name: "Systems", dependencies: ["SimCore", "Config", "Chips"]),
        .target(name: "Workloads", dependencies: ["SimCore", "Config", "Chips"]),
        .target(name: "Fabric", dependencies: ["SimCore", "Chips", "Systems", "Workloads"]),
        .target(
            name: "Simulator",
            dependencies: [
                "SimCore", "Chips", "Systems", "Fabric", "Workloads", .product(name: "HeapModule", package: "swift-collections"),
            ]),
        // Estimates: serving, training, cost and claims, built from generated traces run on the engine.
        .target(name: "Estimates", dependencies: ["Chips", "Systems", "Workloads", "Simulator"]),
        .target(
            name: "Store",
            dependencies: ["SimCore", "Chips", "Fabric", "Workloads", "Simulator", .product(name: "GRDB", package: "GRDB.swift")]),
        // Experiments: what a command does, as a library (resolve a chip or system, run, store); the CLI and Swift callers share it.
        .target(name: "Experiments", dependencies: ["SimCore", "Chips", "Systems", "Fabric", "Workloads", "Simulator", "Store"]),
        // Sweeps: design-space plans, their runs on all cores into the store, Pareto fronts and sensitivities.
        .target(
            name: "Sweeps",
            dependencies: ["SimCore", "Config", "Chips", "Systems", "Workloads", "Simulator", "Estimates", "Store", "Experiments"]),
        // Reports: self-contained HTML pages with SVG charts drawn by our own small chart layer.
        .target(
            name: "Reports",
            dependencies: ["SimCore", "Chips", "Systems", "Fabric", "Simulator", "Estimates", "Store", "Experiments", "Sweeps"]),
        .target(name: "Validation", dependencies: ["Config", "Chips", "Systems", "Fabric", "Workloads", "Simulator", "Estimates"]),
        .executableTarget(
            name: "xpusim",
            dependencies: [
                "SimCore", "Config", "Chips", "Systems", "Fabric", "Workloads", "Simulator", "Estimates", "Validation", "Store",
                "Experiments", "Sweeps", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Speed benchmark, kept apart from the library; run it in release: swift run -c release xpusim-bench
        .executableTarget(
            name: "xpusim-bench",
            dependencies: ["Config", "Chips", "Systems", "Fabric", "Workloads", "Simulator", "Store", "Estimates", "Sweeps", "Reports"]),
        // Reader fuzzer: seeded mutations of chip, library and trace files through the full readers (scripts/fuzz.sh).
        .executableTarget(name: "xpusim-fuzz", dependencies: ["SimCore", "Config", "Chips", "Workloads"]),
        // Test helper: stores synthetic runs, for the Store's multi-process and SIGKILL tests.
        .executableTarget(name: "xpusim-store-stress", dependencies: ["Chips", "Simulator", "Store"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "ChipsTests", dependencies: ["SimCore", "Chips", "TestSupport"]),
        .testTarget(name: "SystemsTests", dependencies: ["SimCore", "Config", "Chips", "Systems", "TestSupport"]),
        .testTarget(name: "FabricTests", dependencies: ["Chips", "Systems", "Fabric", "Workloads"]),
        .testTarget(name: "WorkloadsTests", dependencies: ["Workloads", "TestSupport", "xpusim-fuzz"], exclude: ["Fuzz", "Fixtures"]),
        .testTarget(name: "SimulatorTests", dependencies: ["SimCore", "Systems", "Simulator", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport", "xpusim-store-stress"], exclude: ["Fixtures"]),
        .testTarget(name: "EstimatesTests", dependencies: ["Chips", "Systems", "Workloads", "Simulator", "Estimates", "TestSupport"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Reports", "Store", "Workloads", "TestSupport", "xpusim"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "SweepsTests", dependencies: ["Store", "Sweeps", "Workloads", "TestSupport"]),
        .testTarget(name: "ValidationTests", dependencies: ["Systems", "Validation", "TestSupport"]),
        // Golden/ holds the CLI's recorded outputs, Fixtures/ the bad inputs they are recorded from.
        .testTarget(name: "CLITests", dependencies: ["Chips", "TestSupport", "xpusim"], exclude: ["Golden", "Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
