import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import WeighbridgeConfiguration
import WeighbridgeControl
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJournal
import WeighbridgeModbus
import WeighbridgeOperations
import WeighbridgeReporting
import WeighbridgeStore

/// `weighbridged [--config FILE]`: runs the daemon until SIGTERM or SIGINT.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the daemon (the default when no subcommand is given).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let startedAt = ContinuousClock.now
        let configuration = try options.load()
        let journal = Journal.automatic(threshold: configuration.log.level)
        for warning in configuration.secretExposures { journal.log(LogEvent(.warning, warning)) }
        let daemon: ServiceGroup
        do {
            daemon = try await Daemon.assemble(
                configuration, configurationPath: options.path, environment: ProcessInfo.processInfo.environment,
                journal: journal, startedAt: startedAt)
        } catch let failure as StartupFailure {
            journal.log(LogEvent(.error, "cannot start: \(failure.message)"))
            throw ExitCode(failure.exitStatus)
        }
        try await daemon.run()
        journal.log(LogEvent(.notice, "stopped"))
    }
}

/// Why the daemon refused to start, with the exit status systemd and scripts see.
struct StartupFailure: Error {
    var message: String
    /// 78 (EX_CONFIG) for configuration and secrets, 73 (EX_CANTCREAT) for the store.
    var exitStatus: Int32
}

/// The composition root: one function turns a validated configuration into the daemon's services.
enum Daemon {
    /// Opens the store, reads the secrets, builds the API client, a poller per bridge, the
    /// delivery service, the control socket and the systemd notifier, and returns them as one
    /// ServiceGroup that shuts down on SIGTERM/SIGINT in this order: STOPPING=1, stop polling,
    /// finish the requests in flight, close the control socket.
    static func assemble(
        _ configuration: Configuration, configurationPath: String, environment: [String: String], journal: Journal,
        startedAt: ContinuousClock.Instant
    ) async throws -> ServiceGroup {
        let now: @Sendable () -> Timestamp = { Timestamp.now }
        let store: Store
        do {
            store = try Store(path: configuration.store.path, now: now())
        } catch {
            throw StartupFailure(message: "store \(configuration.store.path): \(error)", exitStatus: 73)
        }
        let site = configuration.site
        var document: DefraReceiptDocument?
        let catalogue = ReferenceCatalogueCache(try await cachedCatalogue(in: store, journal: journal))
        if configuration.api.profile == .defraReceipt, let oauth = configuration.api.oauth {
            document = receiptDocument(site: site, apiCode: oauth.apiCode, catalogue: catalogue)
        }
        let api = configuration.api
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
            sender = try ReportSender(
                api: api, site: site, document: document, connection: connection, environment: environment, now: now)
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
            journal: journal, now: now)

        let live = LiveBridges(configuration.bridges)
        var links: [Transport: ModbusLink] = [:]
        var acquisitions: [any Service] = []
        for bridge in configuration.bridges {
            // Bridges on one serial line (or one TCP gateway) share its link, one request at a time.
            let link = links[bridge.transport] ?? ModbusLink(settings: ModbusLink.Settings(bridge: bridge))
            links[bridge.transport] = link
            acquisitions.append(
                AcquisitionService(
                    acquisition: BridgeAcquisition(
                        bridge: bridge, link: link, clock: ContinuousClock(), wallClock: now),
                    desk: desk, live: live, journal: journal, delivery: delivery))
        }
        let lookUpMovement: (@Sendable (String) async -> MovementLookupAnswer)? =
            api.profile == .brief ? { @Sendable id in await lookUp(id, through: sender, site: site.id) } : nil
        let control = ControlService(
            desk: desk,
            live: LiveView(
                bridges: { live.json }, summary: { live.summary },
                deadlines: { (delivery.deadlines.dueWithinADay, delivery.deadlines.missed) }),
            journal: journal, clock: now, onChange: { delivery.wake() }, lookUpMovement: lookUpMovement)
        let server = ControlServer(
            settings: ControlServer.Settings(path: configuration.control.socket, group: configuration.control.group),
            service: control)
        let notifier = SystemdNotifier(
            notifier: .fromEnvironment(), live: live, delivery: delivery, journal: journal, startedAt: startedAt)
        journal.log(
            LogEvent(
                .notice,
                "starting with \(configurationPath): profile \(api.profile.rawValue) at \(api.baseURL), "
                    + "\(configuration.bridges.count) bridge(s), store \(configuration.store.path)"))
        var reporting: [any Service] = [DeliveryRunner(delivery: delivery)]
        if configuration.metrics.listen != nil || configuration.metrics.textfile != nil {
            reporting.append(
                MetricsService(
                    settings: configuration.metrics, store: store, live: live, delivery: delivery, journal: journal,
                    now: now))
        }
        if document != nil {
            reporting.append(
                ReferenceDataRunner(
                    refresh: ReferenceDataRefresh(
                        store: store, sender: sender, cache: catalogue, journal: journal, now: now)))
        }
        // Shut down in reverse: the notifier says STOPPING=1, polling stops, deliveries finish,
        // the control socket closes, and last the HTTP client's connections.
        let services: [any Service] =
            [APIClientLifetime(connection: connection), ControlRunner(server: server, journal: journal)] + reporting
            + acquisitions + [notifier]
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "weighbridged") { _ in SwiftLogNoOpLogHandler() }
            ).withShutdownBounds())
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
    static func receiptDocument(site: SiteConfiguration, apiCode: String, catalogue: ReferenceCatalogueCache)
        -> DefraReceiptDocument
    {
        DefraReceiptDocument(
            catalogue: catalogue,
            receiver: ReceiverDetails(
                siteName: site.name ?? "", authorisationNumber: site.permit ?? "", fullAddress: site.address ?? "",
                postcode: site.postcode ?? ""),
            apiCode: apiCode)
    }

    /// Defra's reference lists as last refreshed into the store, or the shipped seed.
    private static func cachedCatalogue(in store: Store, journal: Journal) async throws -> ReferenceCatalogue {
        let cached = try await store.read { transaction in
            try ReferenceCatalogue.lists.compactMap { list in
                try transaction.referenceData(list: list).map { (list, $0.body) }
            }
        }
        guard cached.count == ReferenceCatalogue.lists.count else { return .seed() }
        do {
            return try ReferenceCatalogue(lists: Dictionary(uniqueKeysWithValues: cached))
        } catch {
            journal.log(LogEvent(.warning, "cached Defra reference data unusable (\(error)); using the shipped lists"))
            return .seed()
        }
    }
}

extension ServiceGroupConfiguration {
    /// Graceful shutdown is bounded well below the unit's TimeoutStopSec=30s: 20 s to finish the
    /// requests in flight, then 5 s for cancelled tasks to unwind.
    func withShutdownBounds() -> ServiceGroupConfiguration {
        var bounded = self
        bounded.maximumGracefulShutdownDuration = .seconds(20)
        bounded.maximumCancellationDuration = .seconds(5)
        return bounded
    }
}

extension Timestamp {
    /// The wall clock now.
    static var now: Timestamp {
        Timestamp(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
