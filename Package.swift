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

/// The daemon's release link on Linux. The Swift toolchain exports every symbol of a statically
/// linked executable (`-export-dynamic`), which makes each one a root that `--gc-sections` must
/// keep and puts ~3 MB of symbol tables in memory; nothing loads symbols from the daemon, so it
/// exports none. lld packs the ~120 000 relative relocations of a position-independent binary
/// into a few kilobytes (`DT_RELR`, glibc 2.36) where gold's 2.9 MB table is read at every start.
let shippedLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
        .when(platforms: [.linux], configuration: .release)
    )
]

/// The release version: the one place it is written. `weighbridged --version` and
/// `weighbridgectl --version` print it, and scripts/package names the packages after it.
let version = "0.1.0"
/// The commit the binaries come from, when the build is told (scripts/package sets
/// WEIGHBRIDGED_COMMIT); a manifest is evaluated once and cached, so it cannot ask git itself.
let commit = Context.environment["WEIGHBRIDGED_COMMIT"] ?? "unknown"

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
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        // The pure domain: every business rule, no I/O, no clock, no randomness.
        .target(
            name: "WeighbridgeCore",
            swiftSettings: strictSettings
        ),
        // The version and the commit, compiled in.
        .target(
            name: "CBuildInfo",
            cSettings: [
                .define("WEIGHBRIDGED_VERSION", to: "\"\(version)\""),
                .define("WEIGHBRIDGED_COMMIT", to: "\"\(commit)\""),
            ]
        ),
        // A serial executor on its own thread, for actors that make blocking C calls.
        .target(
            name: "BlockingExecution",
            swiftSettings: strictSettings
        ),
        // The system SQLite, for the store (GRDB's way: a system library with its apt provider).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Durable state: weighings, movements, decisions, outbox, audit log. Domain values only.
        .target(
            name: "WeighbridgeStore",
            dependencies: [
                "WeighbridgeCore",
                "CSQLite",
                "BlockingExecution",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // JSON values that keep a number's text: the control protocol's and the APIs' bodies.
        .target(
            name: "WeighbridgeJSON",
            dependencies: ["WeighbridgeCore"],
            swiftSettings: strictSettings
        ),
        // The control socket's wire format, shared by the daemon and weighbridgectl: pure values.
        .target(
            name: "WeighbridgeControlProtocol",
            dependencies: ["WeighbridgeCore", "WeighbridgeJSON"],
            swiftSettings: strictSettings
        ),
        // libsystemd, for the native journal protocol.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // systemd's protocols: log events over the native journal protocol (stderr otherwise),
        // and sd_notify readiness, status, watchdog and stopping.
        .target(
            name: "WeighbridgeJournal",
            dependencies: ["WeighbridgeCore", "CSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // The control socket's server (SwiftNIO): lines, limits and peer credentials; the
        // commands are carried out by the handler the application layer gives it.
        .target(
            name: "WeighbridgeControl",
            dependencies: [
                "WeighbridgeControlProtocol", "WeighbridgeJSON", "WeighbridgeCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The operators' CLI: protocol values and a plain socket; never the daemon's modules.
        .executableTarget(
            name: "weighbridgectl",
            dependencies: [
                "WeighbridgeControlProtocol", "WeighbridgeCore", "WeighbridgeJSON", "CBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // libmodbus, for every Modbus byte on the wire.
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        // Modbus TCP/RTU links, the acquisition loop that feeds the capture rules.
        .target(
            name: "WeighbridgeModbus",
            dependencies: ["WeighbridgeCore", "CModbus", "BlockingExecution"],
            swiftSettings: strictSettings
        ),
        // ASCII indicators (SMA, Toledo continuous) over a serial line (termios) or a serial
        // device server's TCP port, the acquisition loop that feeds the capture rules.
        .target(
            name: "WeighbridgeASCII",
            dependencies: ["WeighbridgeCore", "BlockingExecution"],
            swiftSettings: strictSettings
        ),
        // Real peers for tests and the demo: the simulated indicator (a libmodbus server).
        .target(
            name: "WeighbridgeTesting",
            dependencies: ["WeighbridgeCore", "CModbus"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "weighbridge-sim",
            dependencies: [
                "WeighbridgeCore",
                "WeighbridgeConfiguration",
                "WeighbridgeTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
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
        // Defra's published reference lists (EWC codes, containers, …) as a seed cache: the
        // lists are committed as JSON in lists/, compiled in by scripts/update-reference-data.
        .target(
            name: "DefraReferenceSeed",
            exclude: ["lists"],
            swiftSettings: strictSettings
        ),
        // Both reporting profiles over AsyncHTTPClient: requests, OAuth, reference data.
        // Request and response types stay inside; the rest of the code sees domain values.
        .target(
            name: "WeighbridgeReporting",
            dependencies: [
                "WeighbridgeCore", "WeighbridgeJSON", "DefraReferenceSeed",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // A loopback stand-in of both APIs with Defra's validation rules and fault injection.
        .target(
            name: "DWTSandbox",
            dependencies: [
                "WeighbridgeJSON", "DefraReferenceSeed",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "dwt-sandbox",
            dependencies: [
                "DWTSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The application layer: the composition root (`Daemon.assemble`, one ServiceGroup) and
        // the services it wires: acquisition, the movement desk, the outbox's delivery, the
        // control commands, metrics, systemd notification and the reference-data refresh.
        .target(
            name: "WeighbridgeDaemon",
            dependencies: [
                "WeighbridgeCore", "WeighbridgeConfiguration", "WeighbridgeModbus", "WeighbridgeASCII",
                "WeighbridgeStore", "WeighbridgeReporting", "WeighbridgeControl", "WeighbridgeControlProtocol",
                "WeighbridgeJSON",
                "WeighbridgeJournal",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The daemon's command line: run (through WeighbridgeDaemon), check-config, probe and
        // approval-tests.
        .executableTarget(
            name: "weighbridged",
            dependencies: [
                "WeighbridgeDaemon", "WeighbridgeCore", "WeighbridgeConfiguration", "WeighbridgeModbus",
                "WeighbridgeASCII", "WeighbridgeReporting", "WeighbridgeControlProtocol", "WeighbridgeJSON",
                "WeighbridgeJournal",
                "CBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings,
            linkerSettings: shippedLinkerSettings
        ),
        // Benchmarks run on demand by scripts/bench, never in CI.
        .executableTarget(
            name: "weighbridge-bench",
            dependencies: [
                "WeighbridgeCore", "WeighbridgeStore", "WeighbridgeModbus", "WeighbridgeASCII",
                "WeighbridgeConfiguration",
                "WeighbridgeReporting", "WeighbridgeDaemon", "WeighbridgeJournal", "WeighbridgeTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The fuzz targets (scripts/fuzz builds them for libFuzzer; built normally, a replayer).
        .executableTarget(
            name: "weighbridge-fuzz",
            dependencies: ["WeighbridgeCore", "WeighbridgeConfiguration", "WeighbridgeControlProtocol"],
            swiftSettings: strictSettings
        ),
        // Helpers the test targets share: blocking work off the pool, a standalone journald, the
        // machine's prerequisites (skipped outside CI, failures in it) and the project's Python.
        .target(
            name: "TestSupport",
            dependencies: ["WeighbridgeCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeCoreTests",
            dependencies: [
                "WeighbridgeCore", "WeighbridgeTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        // Runs the built executables the way an operator would.
        .testTarget(
            name: "CommandLineTests",
            dependencies: [
                "weighbridged", "weighbridge-sim", "weighbridgectl", "dwt-sandbox", "weighbridge-fuzz", "TestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeModbusTests",
            dependencies: [
                "WeighbridgeModbus", "WeighbridgeTesting", "WeighbridgeCore", "WeighbridgeConfiguration",
                "WeighbridgeDaemon", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeASCIITests",
            dependencies: ["WeighbridgeASCII", "WeighbridgeTesting", "WeighbridgeCore", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeDaemonTests",
            dependencies: [
                "WeighbridgeDaemon", "WeighbridgeStore", "WeighbridgeCore", "WeighbridgeControlProtocol",
                "WeighbridgeJSON", "WeighbridgeConfiguration", "WeighbridgeJournal", "WeighbridgeTesting", "DWTSandbox",
                "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeControlTests",
            dependencies: [
                "WeighbridgeControlProtocol", "WeighbridgeJSON", "WeighbridgeControl", "WeighbridgeDaemon",
                "WeighbridgeStore", "WeighbridgeCore", "WeighbridgeJournal", "WeighbridgeTesting", "weighbridgectl",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeJournalTests",
            dependencies: ["WeighbridgeJournal"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeStoreTests",
            dependencies: ["WeighbridgeStore", "WeighbridgeCore", "store-crash-writer", "TestSupport"],
            swiftSettings: strictSettings
        ),
        // The child process the crash test SIGKILLs while it records captures.
        .executableTarget(
            name: "store-crash-writer",
            dependencies: ["WeighbridgeStore", "WeighbridgeCore"],
            path: "Tests/StoreCrashWriter",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WeighbridgeReportingTests",
            dependencies: [
                "WeighbridgeReporting", "WeighbridgeDaemon", "DWTSandbox", "WeighbridgeStore", "WeighbridgeCore",
                "WeighbridgeConfiguration", "WeighbridgeJSON", "WeighbridgeJournal", "DefraReferenceSeed",
                "WeighbridgeTesting", "TestSupport",
            ],
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
