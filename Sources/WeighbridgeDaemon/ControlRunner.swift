internal import ServiceLifecycle
internal import WeighbridgeControl
internal import WeighbridgeJournal

/// Serves the control socket until shutdown.
struct ControlRunner: Service {
    let server: ControlServer
    let journal: Journal

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run {
                    journal.log(LogEvent(.info, "control socket listening at \(server.settings.path)"))
                }
            }
        } catch is CancellationError {
            // Shutting down: the socket is closed and its file removed.
        }
    }
}
