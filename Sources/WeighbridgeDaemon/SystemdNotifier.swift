internal import Logging
internal import ServiceLifecycle
internal import WeighbridgeJournal

/// The systemd side: READY=1 once the store is open and every bridge has been polled (or found
/// unreachable), STATUS= whenever the summary changes, WATCHDOG=1 only while every acquisition
/// loop and the delivery loop show signs of life, STOPPING=1 first thing on shutdown.
struct SystemdNotifier: Service {
    let notifier: ServiceNotifier
    let live: LiveBridges
    let delivery: DeliveryService
    let logger: Logger
    let startedAt: ContinuousClock.Instant
    /// Readiness is declared after this even if a bridge has not answered its first poll yet.
    static let readinessLimit: Duration = .seconds(15)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await announce()
        }
        notifier.stopping()
    }

    /// READY=1, then STATUS= and WATCHDOG=1 until cancelled.
    private func announce() async {
        let tick = min(notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(5), .seconds(5))
        while !live.allPolled && ContinuousClock.now - startedAt < Self.readinessLimit {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
        }
        let elapsed = (ContinuousClock.now - startedAt).wholeMilliseconds
        var status = live.summary
        notifier.ready(status: status)
        logger.notice("ready in \(elapsed) ms: \(status)")
        while !Task.isCancelled {
            // Liveness on the monotonic clock: a wall-clock step must not get the daemon killed.
            let silent = live.silent(tolerance: .seconds(35))
            let deliveryAlive = delivery.heartbeat.map { ContinuousClock.now - $0 < .seconds(150) } ?? false
            if silent.isEmpty && deliveryAlive {
                notifier.watchdog()
            } else {
                logger.error("withholding the watchdog: silent loops \(silent + (deliveryAlive ? [] : ["delivery"]))")
            }
            let current = live.summary
            if current != status {
                status = current
                notifier.status(current)
            }
            do { try await Task.sleep(for: tick) } catch { return }
        }
    }
}
