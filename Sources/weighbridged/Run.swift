import ArgumentParser
import Foundation
import WeighbridgeDaemon
import WeighbridgeJournal

/// `weighbridged [--config FILE]`: runs the daemon until SIGTERM or SIGINT.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the daemon (the default when no subcommand is given).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let startedAt = ContinuousClock.now
        let configuration = try options.load()
        let logger = Journal.automatic().logger(level: configuration.log.level)
        for warning in configuration.secretExposures { logger.warning("\(warning)") }
        let daemon: Daemon
        do {
            daemon = try await Daemon.assemble(
                configuration, configurationPath: options.path, environment: ProcessInfo.processInfo.environment,
                logger: logger, startedAt: startedAt)
        } catch {
            logger.error("cannot start: \(error.message)")
            throw ExitCode(error.exitStatus)
        }
        try await daemon.serviceGroup().run()
        logger.notice("stopped")
    }
}
