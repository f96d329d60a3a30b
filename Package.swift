// swift-tools-version:6.0
import PackageDescription

// Layering (DESIGN.md): SimCore <- Config <- Chips <- Workloads <- Simulator <- Store/Reports <- xpusim.
// Each outside dependency is owned by one module: Yams by Config, ArgumentParser by the CLI.
let package = Package(
    name: "xpusim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "xpusim", targets: ["xpusim"]),
        .library(name: "XPUSim", targets: ["SimCore", "Config", "Chips", "Workloads", "Simulator", "Validation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .target(name: "SimCore"),
        .target(name: "Config", dependencies: ["SimCore", .product(name: "Yams", package: "Yams")]),
        .target(name: "Chips", dependencies: ["SimCore", "Config"]),
        .target(name: "Workloads", dependencies: ["SimCore", "Config", "Chips"]),
        .target(name: "Simulator", dependencies: ["SimCore", "Chips", "Workloads", .product(name: "HeapModule", package: "swift-collections")]),
        .target(name: "Validation", dependencies: ["Config", "Chips", "Workloads", "Simulator"]),
        .executableTarget(
            name: "xpusim",
            dependencies: ["SimCore", "Config", "Chips", "Workloads", "Simulator", "Validation",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Speed benchmark, kept apart from the library; run it in release: swift run -c release xpusim-bench
        .executableTarget(name: "xpusim-bench", dependencies: ["Chips", "Workloads", "Simulator"]),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "ChipsTests", dependencies: ["Chips"]),
        .testTarget(name: "WorkloadsTests", dependencies: ["Workloads"]),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator"]),
        .testTarget(name: "ValidationTests", dependencies: ["Validation"]),
        .testTarget(name: "CLITests", dependencies: ["Chips", "xpusim"]),
    ],
    swiftLanguageModes: [.v6]
)
