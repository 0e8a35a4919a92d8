import ArgumentParser
import CBuildInfo
import Foundation
import WeighbridgeConfiguration

/// The `weighbridged` command line (docs/configuration.md, "Command line").
@main
struct Weighbridged: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weighbridged",
        abstract: "Certified weighbridge capture and Digital Waste Tracking receipt reporting.",
        version: String(cString: weighbridged_version_line()),
        subcommands: [Run.self, CheckConfig.self, Probe.self, ApprovalTests.self],
        defaultSubcommand: Run.self
    )
}

/// Where the configuration is read from: `--config`, else `WEIGHBRIDGED_CONFIG`, else the default.
struct ConfigOption: ParsableArguments {
    @Option(
        name: .long, help: "Configuration file (default: $WEIGHBRIDGED_CONFIG or /etc/weighbridged/weighbridged.toml).")
    var config: String?

    var path: String {
        config ?? ProcessInfo.processInfo.environment["WEIGHBRIDGED_CONFIG"] ?? Configuration.defaultPath
    }

    /// The validated configuration; on any problem, prints every one and exits 78 (EX_CONFIG).
    func load() throws -> Configuration {
        do {
            return try Configuration.load(path: path)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(ConfigurationError.exitStatus)
        }
    }
}

/// `weighbridged check-config`: validate and print the effective configuration, or exit 78.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print it with every default filled in."
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        print("# \(options.path): valid")
        print(configuration.rendered())
        for warning in configuration.secretExposures {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
    }
}
