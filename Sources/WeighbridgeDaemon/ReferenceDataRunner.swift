internal import ServiceLifecycle

/// Keeps Defra's reference lists fresh (`defra-receipt` only) until shutdown.
struct ReferenceDataRunner: Service {
    let refresh: ReferenceDataRefresh

    func run() async throws {
        await cancelWhenGracefulShutdown { await refresh.run() }
    }
}
