internal import ServiceLifecycle
internal import WeighbridgeReporting

/// Keeps the HTTP client's connections until everything else has stopped, then closes them.
struct APIClientLifetime: Service {
    let connection: APIConnection

    func run() async throws {
        try? await gracefulShutdown()
        try await connection.shutdown()
    }
}
