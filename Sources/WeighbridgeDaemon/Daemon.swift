internal import Foundation
public import Logging
public import ServiceLifecycle
public import UnixSignals
internal import WeighbridgeASCII
public import WeighbridgeConfiguration
internal import WeighbridgeControl
internal import WeighbridgeControlProtocol
public import WeighbridgeCore
internal import WeighbridgeJSON
internal import WeighbridgeModbus
public import WeighbridgeReporting
public import WeighbridgeStore

/// Why the daemon refused to start, with the exit status systemd and scripts see.
public struct StartupFailure: Error, Sendable {
    public var message: String
    /// 78 (EX_CONFIG) for configuration and secrets, 73 (EX_CANTCREAT) for the store.
    public var exitStatus: Int32
}

/// The daemon as `Daemon.assemble` wires it: its services, in the order they start (and the
/// reverse of the order they stop), and the parts that tests and the commands reach.
public struct Daemon: Sendable {
    /// The durable state: weighings, movements, decisions, the outbox and the audit log.
    public let store: Store
    /// Every change to movements, visits and weighings.
    public let desk: MovementDesk
    /// The outbox's delivery through the API.
    public let delivery: DeliveryService
    /// The configured reporting profile's client.
    public let sender: ReportSender
    /// Defra's reference lists in force.
    public let catalogue: ReferenceCatalogueCache
    /// The control commands, as the socket carries them out.
    public let control: ControlService
    /// The services, in start order.
    let services: [any Service]
    let connection: APIConnection
    /// Where the services log, and the group itself (swift-service-lifecycle's own lines).
    let logger: Logger

    /// Closes the API client's connections, for a daemon whose services were not run as a group
    /// (the group closes them itself, last, when it shuts down).
    public func close() async {
        try? await connection.shutdown()
    }

    /// One ServiceGroup of every service that shuts down on `signals` in the reverse of their
    /// start order: the notifier says STOPPING=1, polling stops, deliveries finish, the control
    /// socket closes, and last the HTTP client's connections. Graceful shutdown is bounded well
    /// below the unit's TimeoutStopSec=30s: 20 s to finish the requests in flight, then 5 s for
    /// cancelled tasks to unwind.
    public func serviceGroup(signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(20)
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}

extension Daemon {
    /// The composition root: opens the store, reads the secrets, builds the API client, a poller
    /// per bridge, the delivery service, the control socket and the systemd notifier. `now` is
    /// the wall clock every record is stamped with; `startedAt` is when the process started, for
    /// the readiness time.
    public static func assemble(
        _ configuration: Configuration, configurationPath: String, environment: [String: String], logger: Logger,
        startedAt: ContinuousClock.Instant = .now, now: @escaping @Sendable () -> Timestamp = { Timestamp.now }
    ) async throws(StartupFailure) -> Daemon {
        let store: Store
        do {
            store = try Store(path: configuration.store.path, now: now())
        } catch {
            throw StartupFailure(message: "store \(configuration.store.path): \(error)", exitStatus: 73)
        }
        let site = configuration.site
        var document: DefraReceiptDocument?
        let catalogue = ReferenceCatalogueCache(
            try await cachedCatalogue(in: store, logger: logger, path: configuration.store.path))
        if configuration.api.profile == .defraReceipt, let oauth = configuration.api.oauth {
            document = receiptDocument(site: site, apiCode: oauth.apiCode, catalogue: catalogue)
        }
        let api = configuration.api
        guard let reporting = ReportingSettings(api: api, site: site, document: document) else {
            throw StartupFailure(
                message: "\(configurationPath): [api]: the defra-receipt profile needs [api.oauth]", exitStatus: 78)
        }
        let connection: APIConnection
        let sender: ReportSender
        do {
            connection = try APIConnection(
                caFile: api.caFile, timeoutSeconds: api.timeoutSeconds, maxConnections: api.maxInFlight)
        } catch {
            throw StartupFailure(
                message: "\(configurationPath): api.ca_file \(api.caFile ?? ""): \(error)", exitStatus: 78)
        }
        do {
            sender = try ReportSender(settings: reporting, connection: connection, environment: environment, now: now)
        } catch {
            try? await connection.shutdown()
            throw StartupFailure(message: "\(configurationPath): [api]: \(error)", exitStatus: 78)
        }
        let routing: ReportRouting = document.map { .defraReceipt(document: $0) } ?? .brief
        let desk = MovementDesk(store: store, policy: configuration.policy, routing: routing, clock: now)
        let delivery = DeliveryService(
            store: store, sender: sender,
            settings: DeliverySettings(
                maxInFlight: api.maxInFlight,
                backoff: Backoff(
                    base: .milliseconds(api.backoffBaseMilliseconds), cap: .milliseconds(api.backoffCapMilliseconds)),
                tracksReceiptDeadline: api.profile == .defraReceipt),
            logger: logger, now: now)

        let live = LiveBridges(configuration.bridges)
        var links: [Transport: ModbusLink] = [:]
        var acquisitions: [any Service] = []
        for bridge in configuration.bridges {
            let loop: any BridgeLoop
            switch bridge.indicator {
            case .modbus(let modbus):
                // Bridges on one serial line (or one TCP gateway) share its link, one request at a time.
                let link =
                    links[modbus.transport] ?? ModbusLink(settings: ModbusLink.Settings(bridge: bridge, modbus: modbus))
                links[modbus.transport] = link
                loop = BridgeAcquisition(
                    bridge: AcquisitionSettings(bridge: bridge, modbus: modbus), link: link, clock: ContinuousClock(),
                    wallClock: now)
            case .ascii(let ascii):
                loop = StreamAcquisition(
                    bridge: StreamAcquisitionSettings(bridge: bridge, ascii: ascii),
                    stream: IndicatorStream(line: ascii.line), wallClock: now)
            }
            acquisitions.append(
                AcquisitionService(
                    loop: loop, division: bridge.division, desk: desk, live: live, logger: logger, delivery: delivery))
        }
        let lookUpMovement: (@Sendable (String) async -> MovementLookupAnswer)? =
            api.profile == .brief ? { @Sendable id in await lookUp(id, through: sender, site: site.id) } : nil
        let control = ControlService(
            desk: desk,
            live: LiveView(
                bridges: { live.views }, summary: { live.summary },
                deadlines: { (delivery.deadlines.dueWithinADay, delivery.deadlines.missed) }),
            logger: logger, clock: now, onChange: { delivery.wake() }, lookUpMovement: lookUpMovement)
        let server = ControlServer(
            settings: ControlServer.Settings(path: configuration.control.socket, group: configuration.control.group),
            handler: control)
        let notifier = SystemdNotifier(
            notifier: .fromEnvironment(), live: live, delivery: delivery, logger: logger, startedAt: startedAt)
        logger.notice(
            """
            starting with \(configurationPath): profile \(api.profile.rawValue) at \(api.baseURL), \
            \(configuration.bridges.count) bridge(s), store \(configuration.store.path)
            """)
        var reportingServices: [any Service] = [DeliveryRunner(delivery: delivery)]
        if configuration.metrics.listen != nil || configuration.metrics.textfile != nil {
            reportingServices.append(
                MetricsService(
                    settings: configuration.metrics, store: store, live: live, delivery: delivery, logger: logger,
                    now: now))
        }
        if document != nil {
            reportingServices.append(
                ReferenceDataRunner(
                    refresh: ReferenceDataRefresh(
                        store: store, sender: sender, cache: catalogue, logger: logger, now: now)))
        }
        let services: [any Service] =
            [APIClientLifetime(connection: connection), ControlRunner(server: server, logger: logger)]
            + reportingServices
            + acquisitions + [notifier]
        return Daemon(
            store: store, desk: desk, delivery: delivery, sender: sender, catalogue: catalogue, control: control,
            services: services, connection: connection, logger: logger)
    }

    /// The brief's `GET /movements/{id}`, as the control commands take its answer: a movement
    /// bound for another site (`destination_site_id`) is not this site's to receive.
    private static func lookUp(_ id: String, through sender: ReportSender, site: String?) async
        -> MovementLookupAnswer
    {
        switch await sender.lookUpMovement(id: id) {
        case .found(let body):
            guard case .object(let fields)? = try? JSONValue(parsing: body) else {
                return .unavailable("the API's answer is not a movement object")
            }
            if let site, case .string(let destination)? = fields["destination_site_id"], destination != site {
                return .forAnotherSite(destination)
            }
            return .found(fields)
        case .notFound: return .notFound
        case .failed(let why): return .unavailable(why)
        }
    }

    /// The builder of Defra receipt bodies for the site's receiver details.
    public static func receiptDocument(site: SiteConfiguration, apiCode: String, catalogue: ReferenceCatalogueCache)
        -> DefraReceiptDocument
    {
        DefraReceiptDocument(
            catalogue: catalogue,
            receiver: ReceiverDetails(
                siteName: site.name ?? "", authorisationNumber: site.permit ?? "", fullAddress: site.address ?? "",
                postcode: site.postcode ?? ""),
            apiCode: apiCode)
    }

    /// Defra's reference lists as last refreshed into the store, or the shipped seed (when the
    /// store holds none, or lists that do not parse: logged).
    private static func cachedCatalogue(in store: Store, logger: Logger, path: String) async throws(StartupFailure)
        -> ReferenceCatalogue
    {
        let cached: [(String, String)]
        do {
            cached = try await store.read { transaction in
                try ReferenceCatalogue.lists.compactMap { list in
                    try transaction.referenceData(list: list).map { (list, $0.body) }
                }
            }
        } catch {
            throw StartupFailure(message: "store \(path): \(error)", exitStatus: 73)
        }
        guard cached.count == ReferenceCatalogue.lists.count else { return .seed() }
        do {
            return try ReferenceCatalogue(lists: Dictionary(uniqueKeysWithValues: cached))
        } catch {
            logger.warning("cached Defra reference data unusable (\(error)); using the shipped lists")
            return .seed()
        }
    }
}

extension Timestamp {
    /// The wall clock now.
    public static var now: Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
