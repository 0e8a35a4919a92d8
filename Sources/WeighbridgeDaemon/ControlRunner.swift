internal import Logging
internal import ServiceLifecycle
internal import WeighbridgeControl

/// Serves the control socket until shutdown.
struct ControlRunner: Service {
    let server: ControlServer
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run {
                    logger.info("control socket listening at \(server.settings.path)")
                }
            }
        } catch is CancellationError {
            // Shutting down: the socket is closed and its file removed.
        }
    }
}
