internal import ServiceLifecycle

/// Runs the delivery service; on graceful shutdown it stops taking entries and lets the
/// requests in flight finish.
struct DeliveryRunner: Service {
    let delivery: DeliveryService

    func run() async throws {
        await withGracefulShutdownHandler {
            await delivery.run()
        } onGracefulShutdown: {
            delivery.stop()
        }
    }
}
