import DWTSandbox
import Foundation
import Synchronization
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeJournal
import WeighbridgeReporting
import WeighbridgeStore

/// The operator the reporting tests act as.
let sam = OperatorIdentity(uid: 1_001, name: "sam")

let apiCode = "ba6eb330-4f7f-11eb-a2fb-67c34e9ac07c"

/// The wall clock, which a test can move forward (to skip an hour's pause).
final class TestClock: Sendable {
    private let offset = Mutex<Int64>(0)
    var now: Timestamp {
        Timestamp.now.adding(milliseconds: offset.withLock { $0 })
    }
    func advance(seconds: Int64) { offset.withLock { $0 += seconds * 1000 } }
}

extension DefraReceiptDocument {
    /// A document builder for a test site, over the shipped reference lists.
    static let forTests = DefraReceiptDocument(
        catalogue: ReferenceCatalogueCache(.seed()),
        receiver: ReceiverDetails(
            siteName: "Site", authorisationNumber: "EPR/AB1234CD", fullAddress: "1 Road", postcode: "TE1 1ST"),
        apiCode: testAPICode)
}

/// The test organisation's `apiCode` under another name: inside the extension above, `apiCode`
/// names the document's own property.
private let testAPICode = apiCode

/// A movement of 10 t declared, coming on vehicle AB12CDE.
func tenTonneMovement(_ id: String, ewc: String = "20 03 01") throws -> Movement {
    try Movement(
        id: id, declared: Mass(10_000, .kilograms), ewcCodes: [EWCCode(parsing: ewc)],
        vehicle: VehicleRegistration("AB12CDE"))
}

/// A movement's `receipt` object as an operator's `expect --file` would carry it.
let validReceipt = """
    {"wasteItems":[{"wasteDescription":"Mixed municipal waste","physicalForm":"Mixed","numberOfContainers":1,
      "typeOfContainers":"SKI","containsPops":false,"containsHazardous":false}],
     "carrier":{"registrationNumber":"CBDU123456","organisationName":"Carrier Ltd","meansOfTransport":"Road"}}
    """

/// The daemon as `Daemon.assemble` wires it for a configuration like a site's, against an
/// in-process sandbox, with a wall clock the test can move. Only its outbox delivery runs: the
/// tests drive the desk themselves and count the sandbox's requests, which the daemon's other
/// services (the reference-data refresh at start, polling) would add to.
final class ReportingFixture: Sendable {
    let directory: String
    let daemon: Daemon
    let sandbox: DWTSandbox
    let document: DefraReceiptDocument
    let clock: TestClock
    private let runner: Task<Void, Never>

    var store: Store { daemon.store }
    var desk: MovementDesk { daemon.desk }
    var delivery: DeliveryService { daemon.delivery }
    var sender: ReportSender { daemon.sender }
    var catalogue: ReferenceCatalogueCache { daemon.catalogue }

    /// `baseURL` overrides the sandbox's own (to point at a dead port, or HTTPS). The request
    /// timeout is the daemon's default: these tests count attempts and judge answers, and a
    /// shorter one turns a loaded test machine's slow answer into a timeout, hence an extra
    /// attempt (or an `unknown` POST) that the test did not ask for. `referenceLists` are put in
    /// the store as the lists last refreshed, so the daemon starts with them in force.
    init(
        profile: APIProfile, sandbox: DWTSandbox, baseURL: String? = nil, caFile: String? = nil, maxInFlight: Int = 4,
        timeoutSeconds: Int = 60, referenceLists: [String: String]? = nil
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try SandboxSettings().briefToken.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try SandboxSettings().clientSecret.write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        self.sandbox = sandbox
        let url = baseURL ?? sandbox.baseURL
        let oauth =
            profile == .brief
            ? ""
            : """
            [api.oauth]
            token_url = "\(url)/oauth2/token"
            client_id = "\(SandboxSettings().clientID)"
            client_secret_file = "\(directory)/secret"
            api_code = "\(apiCode)"
            """
        let configuration = try Configuration.parse(
            """
            [site]
            id = "SITE-1"
            name = "Test Recovery Facility"
            permit = "EPR/AB1234CD"
            jurisdiction = "england"
            address = "1 Test Road, Testtown"
            postcode = "TE1 1ST"
            [store]
            path = "\(directory)/db.sqlite"
            [control]
            socket = "\(directory)/control.sock"
            group = "\(currentGroupName)"
            [api]
            profile = "\(profile.rawValue)"
            base_url = "\(url)"
            token_file = "\(directory)/token"
            timeout_seconds = \(timeoutSeconds)
            max_in_flight = \(maxInFlight)
            backoff_base_ms = 50
            backoff_cap_ms = 200
            \(caFile.map { "ca_file = \"\($0)\"" } ?? "")
            \(oauth)
            [[bridge]]
            name = "in"
            transport = "tcp"
            host = "127.0.0.1"
            profile = "laumas"
            division_kg = 20
            max_kg = 60000
            """, fileName: "test.toml")
        let clock = TestClock()
        self.clock = clock
        if let referenceLists {
            let store = try Store(path: configuration.store.path, now: clock.now)
            try await store.write(at: clock.now) { transaction in
                for (list, body) in referenceLists { try transaction.saveReferenceData(list: list, body: body) }
            }
        }
        daemon = try await Daemon.assemble(
            configuration, configurationPath: "test.toml", environment: [:],
            logger: Journal(destination: .standardError).logger(level: .error), now: { clock.now })
        document = Daemon.receiptDocument(site: configuration.site, apiCode: apiCode, catalogue: daemon.catalogue)
        let delivery = daemon.delivery
        runner = Task { await delivery.run() }
    }

    /// Stops the delivery, closes the daemon's API client, and removes the state directory.
    func close() async {
        delivery.stop()
        await runner.value
        await daemon.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Expects a movement, weighs it in and out on bridge "in" (gross then tare), and lets the
    /// rules decide; returns the movement's state afterwards.
    @discardableResult
    func visit(
        _ id: String, declaredKg: Int64 = 10_000, grossKg: Int64 = 22_000, tareKg: Int64 = 12_000,
        codes: [String] = ["20 03 01"], receipt: String? = validReceipt, prenotified: Bool = false,
        trackingID: String? = nil
    ) async throws -> MovementState? {
        let movement = try Movement(
            id: id, declared: Mass(declaredKg, .kilograms), ewcCodes: codes.map { try EWCCode(parsing: $0) },
            vehicle: VehicleRegistration("AB12CDE"),
            prenotifiedAt: prenotified ? clock.now.adding(seconds: -90_000) : nil, wasteTrackingID: trackingID)
        _ = try await desk.expect(movement, receipt: receipt, by: .operator(sam))
        for kilograms in [grossKg, tareKg] {
            _ = try await desk.arrive(bridge: "in", target: .movement(id), by: .operator(sam))
            _ = try await desk.recordCapture(
                WeighingEvidence(
                    bridge: "in", weight: Mass(kilograms, .kilograms), division: Mass(20, .kilograms),
                    weighedAt: clock.now, status: .stable, legalID: 4711, instrumentID: "IND-1", raw: .registers([1]),
                    route: .unannounced))
        }
        delivery.wake()
        return try await store.read { try $0.movement(id: id)?.lifecycle.state }
    }

    /// An operator's `retry` of a parked entry, and the delivery service woken to send it.
    func retry(_ parked: OutboxEntry) async throws {
        let now = clock.now
        try await store.write(at: now) { transaction in
            try transaction.transitionOutboxEntry(
                id: parked.id, from: .parked,
                OutboxUpdate(event: .operatorRetry, attempts: parked.attempts, nextAttemptAt: now))
        }
        delivery.wake()
    }

    func entries(of id: String) async throws -> [OutboxEntry] {
        try await store.read { try $0.outboxEntries(ofMovement: id) }
    }

    /// Waits until `condition` holds on the movement's outbox entries, failing after `seconds`.
    @discardableResult
    func waitFor(
        _ id: String, seconds: Double = 15, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: ([OutboxEntry]) -> Bool
    ) async throws -> [OutboxEntry] {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            let current = try await entries(of: id)
            if condition(current) { return current }
            try await Task.sleep(for: .milliseconds(20))
        }
        let current = try await entries(of: id)
        Issue.record(
            "outbox of \(id) never reached the expected state: \(current.map { "\($0.state) \($0.lastError ?? "")" })",
            sourceLocation: sourceLocation)
        return current
    }

    /// Requests the sandbox received for a path.
    func requests(to path: String) -> [RecordedRequest] {
        sandbox.requests.filter { $0.path == path }
    }
}
