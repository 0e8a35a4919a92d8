import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeReporting
import WeighbridgeStore

/// The opt-in metrics (docs/configuration.md, "Metrics") in the Prometheus text exposition format:
/// rendered every 5 s, written atomically to a node-exporter textfile, served on a loopback
/// port at `/metrics`, or both.
struct MetricsService: Service {
    let settings: MetricsConfiguration
    let store: Store
    let live: LiveBridges
    let delivery: DeliveryService
    let logger: Logger
    let now: @Sendable () -> Timestamp
    static let interval: Duration = .seconds(5)

    func run() async throws {
        let latest = LatestExposition()
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                if let listen = settings.listen {
                    group.addTask { try await serve(listen, latest: latest) }
                }
                while !Task.isCancelled {
                    let text = await render()
                    latest.text = text
                    if let path = settings.textfile { write(text, to: path) }
                    do { try await Task.sleep(for: Self.interval) } catch { break }
                }
                group.cancelAll()
            }
        }
    }

    /// Every metric, now.
    func render() async -> String {
        var out = MetricsText()
        let time = now()
        if let counts = try? await store.read({ try $0.counts() }) {
            out.metric(
                "weighbridged_weighings_total", "counter", "Certified weighings recorded.", [([], counts.weighings)])
            out.metric(
                "weighbridged_decisions_total", "counter", "Decisions, by outcome.",
                counts.decisionsByOutcome.sorted { $0.key < $1.key }.map { ([("outcome", $0.key)], $0.value) })
            out.metric(
                "weighbridged_outbox_entries", "gauge", "Reports in the outbox, by state.",
                OutboxState.allCases.map { ([("state", $0.rawValue)], counts.outboxByState[$0.rawValue] ?? 0) })
            let oldest = counts.oldestWaitingSince.map { $0.milliseconds(to: time) / 1000 } ?? 0
            out.metric(
                "weighbridged_outbox_oldest_waiting_seconds", "gauge", "Age of the oldest report not yet accepted.",
                [([], oldest)])
        }
        out.metric(
            "weighbridged_report_attempts_total", "counter", "Report attempts since start, by result.",
            delivery.attemptsByResult.sorted { $0.key < $1.key }.map { ([("result", $0.key)], Int64($0.value)) })
        let bridges = live.all
        out.metric(
            "weighbridged_modbus_errors_total", "counter", "Failed polls since start.",
            bridges.map { ([("bridge", $0.name)], Int64($0.pollErrors)) })
        out.metric(
            "weighbridged_modbus_reconnects_total", "counter", "Reconnections since start.",
            bridges.map { ([("bridge", $0.name)], Int64($0.reconnects)) })
        out.metric(
            "weighbridged_bridge_connected", "gauge", "1 while the indicator answers.",
            bridges.map { ([("bridge", $0.name)], $0.connected ? 1 : 0) })
        out.metric(
            "weighbridged_bridge_last_poll_timestamp_seconds", "gauge", "Time of the last good reading.",
            bridges.map { ([("bridge", $0.name)], ($0.readingAt?.millisecondsSinceEpoch ?? 0) / 1000) })
        return out.text
    }

    /// Write-then-rename, so node-exporter never reads half a file.
    private func write(_ text: String, to path: String) {
        let temporary = path + ".tmp"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            logger.warning("metrics textfile \(path) not written: \(error)")
        }
    }

    /// Scrapers served at once; a Prometheus server needs one.
    static let maximumConnections = 16
    /// A connection that sends nothing for this long is closed.
    static let idleTimeout = TimeAmount.seconds(10)

    private func serve(_ listen: String, latest: LatestExposition) async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            logger.error("metrics.listen \"\(listen)\" is not host:port")
            return
        }
        let host = String(listen[..<colon])
        let open = Atomic<Int>(0)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // At most `maximumConnections` at once, each closed after `idleTimeout` of
                // silence: local users cannot use up the daemon's file descriptors through it.
                guard open.add(1, ordering: .relaxed).newValue <= Self.maximumConnections else {
                    open.subtract(1, ordering: .relaxed)
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.subtract(1, ordering: .relaxed) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(CloseOnIdle())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler { latest.text })
                }
            }
            .bind(host: host, port: port).get()
        logger.info("metrics at http://\(listen)/metrics")
        do {
            try await withTaskCancellationHandler {
                try await server.closeFuture.get()
            } onCancel: {
                server.close(promise: nil)
            }
        } catch is CancellationError {}
    }
}

/// The last rendering, shared by the renderer and the HTTP handler.
final class LatestExposition: Sendable {
    private let value = Mutex("")

    var text: String {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Prometheus text exposition, one family at a time.
struct MetricsText {
    private(set) var text = ""

    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [([(String, String)], Int64)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            let rendered =
                labels.isEmpty
                ? ""
                : "{" + labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ",") + "}"
            text += "\(name)\(rendered) \(value)\n"
        }
    }

    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Answers `GET /metrics` with the latest rendering; anything else is 404.
/// Closes a connection when the idle timeout fires.
final class CloseOnIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        context.close(promise: nil)
    }
}

final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    private let latest: @Sendable () -> String

    init(latest: @escaping @Sendable () -> String) { self.latest = latest }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let found = head.method == .GET && head.uri.split(separator: "?").first == "/metrics"
        let body = found ? latest() : "not found: try /metrics\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(
            wrapOutboundOut(
                .head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
