// swift-tools-version: 6.2
//
// weighbridged: certified weighbridge capture and UK Digital Waste Tracking receipt reporting.
//
// Every dependency is pinned with `exact:` because the build machines resolve only from a local
// mirror of listed versions and Package.resolved is not committed.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "weighbridged",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weighbridged", targets: ["weighbridged"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
    ],
    targets: [
        // The pure domain: every business rule, no I/O, no clock, no randomness.
        .target(
            name: "WeighbridgeCore",
            swiftSettings: strictSettings
        ),
        // Reads and validates weighbridged.toml into typed values before anything opens.
        .target(
            name: "WeighbridgeConfiguration",
            dependencies: [
                "WeighbridgeCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "weighbridged",
            dependencies: [
                "WeighbridgeCore",
                "WeighbridgeConfiguration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeCoreTests",
            dependencies: [
                "WeighbridgeCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        // Runs the built executables the way an operator would.
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["weighbridged"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeConfigurationTests",
            dependencies: ["WeighbridgeConfiguration", "WeighbridgeCore"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
