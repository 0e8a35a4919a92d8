import Synchronization
import WeighbridgeConfiguration
import WeighbridgeControlProtocol
import WeighbridgeCore

/// What the daemon knows about each bridge right now: for `weighbridgectl bridges` and `weight`,
/// the STATUS= line, READY=1 (every bridge polled once) and the watchdog (every loop alive).
final class LiveBridges: Sendable {
    struct Bridge: Sendable {
        var name: String
        var link: String
        var pollMilliseconds: Int
        var polled = false
        var connected = false
        var instrumentID: String?
        var reading: IndicatorReading?
        var phase: CaptureStateMachine.Phase?
        var readingAt: Timestamp?
        var failures = 0
        var lastError: String?
        var captures = 0
        /// A capture held in memory because the store cannot write it yet (a full disk).
        var heldWeighing: Mass?
        /// Failed polls and reconnections since start, for the metrics.
        var pollErrors = 0
        var reconnects = 0
        /// The loop's last sign of life (any event), on the monotonic clock: a wall-clock step
        /// (NTP at boot on a box without an RTC) must not make a live loop look dead.
        var heartbeat: ContinuousClock.Instant?
    }

    private let bridges: Mutex<[String: Bridge]>
    private let order: [String]

    init(_ configurations: [BridgeConfiguration]) {
        var table: [String: Bridge] = [:]
        for bridge in configurations {
            table[bridge.name] = Bridge(
                name: bridge.name, link: bridge.linkLabel,
                pollMilliseconds: bridge.pollMilliseconds)
        }
        bridges = Mutex(table)
        order = configurations.map(\.name)
    }

    /// Applies `change` to one bridge's state; any update is its loop's sign of life.
    func update(_ name: String, _ change: (inout Bridge) -> Void) {
        bridges.withLock { table in
            guard var bridge = table[name] else { return }
            change(&bridge)
            bridge.polled = true
            bridge.heartbeat = .now
            table[name] = bridge
        }
    }

    /// Every bridge's state now, in configuration order.
    var all: [Bridge] {
        let table = bridges.withLock { $0 }
        return order.compactMap { table[$0] }
    }

    /// One bridge's state now.
    func bridge(_ name: String) -> Bridge? { bridges.withLock { $0[name] } }

    /// Whether every bridge has been polled at least once (answered or failed).
    var allPolled: Bool { bridges.withLock { $0.values.allSatisfy(\.polled) } }

    /// Bridges whose loop has not been heard of for `tolerance` (a stuck call, a dead task).
    func silent(tolerance: Duration) -> [String] {
        let now = ContinuousClock.now
        return bridges.withLock { table in
            table.values.filter { bridge in
                guard let heartbeat = bridge.heartbeat else { return true }
                return now - heartbeat > max(tolerance, .milliseconds(bridge.pollMilliseconds * 20))
            }.map(\.name).sorted()
        }
    }

    /// One line: "2 bridges: inbound 12340 kg stable, outbound unreachable".
    var summary: String {
        let table = bridges.withLock { $0 }
        let parts = order.compactMap { table[$0] }.map { bridge -> String in
            guard bridge.polled else { return "\(bridge.name) starting" }
            if let held = bridge.heldWeighing { return "\(bridge.name) holding an unrecorded weighing of \(held)" }
            guard bridge.connected, let weight = bridge.reading?.weight else {
                return "\(bridge.name) unreachable"
            }
            let motion = bridge.reading?.status.contains(.stable) == true ? "stable" : "moving"
            return "\(bridge.name) \(weight.formatted(in: .kilograms)) kg \(motion)"
        }
        return "\(order.count) bridge\(order.count == 1 ? "" : "s"): " + parts.joined(separator: ", ")
    }

    /// The control protocol's view of each bridge, in configuration order.
    var views: [BridgeView] {
        all.map { bridge in
            BridgeView(
                name: bridge.name, link: bridge.link, connected: bridge.connected, instrumentID: bridge.instrumentID,
                weight: bridge.reading?.weight, net: bridge.reading?.net,
                tare: bridge.reading?.tare, stable: bridge.reading?.status.contains(.stable) ?? false,
                phase: bridge.phase, readingAt: bridge.readingAt, consecutiveFailures: bridge.failures,
                lastError: bridge.lastError, captures: bridge.captures, heldWeighing: bridge.heldWeighing)
        }
    }
}
