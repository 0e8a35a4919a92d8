import Foundation
import Testing
import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeStore

private let t0 = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!
private let sam = OperatorIdentity(uid: 1_001, name: "sam")

/// A desk over a real store in a temporary directory, with a clock tests can move.
private final class Fixture: Sendable {
    let directory: String
    let store: Store
    let desk: MovementDesk

    init(routing: ReportRouting = .brief) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("desk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try Store(path: directory + "/db.sqlite", now: t0)
        desk = MovementDesk(store: store, policy: .standard, routing: routing) { t0 }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func movement(_ id: String, declaredKg: Int64 = 10_000, vehicle: String = "AB12CDE", codes: [String] = ["20 03 01"])
        throws -> Movement
    {
        try Movement(
            id: id, declared: Mass(declaredKg, .kilograms), ewcCodes: codes.map { try EWCCode(parsing: $0) },
            vehicle: VehicleRegistration(vehicle))
    }

    func capture(_ kilograms: Int64, bridge: String = "in", at time: Timestamp = t0, route: WeighingRoute? = nil)
        async throws -> CaptureOutcome
    {
        try await desk.recordCapture(
            WeighingEvidence(
                bridge: bridge, weight: Mass(kilograms, .kilograms), division: Mass(20, .kilograms), weighedAt: time,
                status: .stable, legalID: nil, instrumentID: "sim", raw: .registers([1, 2, 3]), route: .unannounced),
            route: route)
    }

    func state(_ id: String) async throws -> MovementState? {
        try await store.read { try $0.movement(id: id)?.lifecycle.state }
    }
}

@Suite("Movement desk: the rules applied to stored state, one transaction each")
struct MovementDeskTests {
    @Test("expected, arrived by vehicle, weighed in and out: confirmed once, report queued, all audited")
    func wholeVisit() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.arrive(
            bridge: "in", target: .vehicle(VehicleRegistration("ab12 cde")!),
            by: .operator(sam))
        guard case .movement("M1", _, []) = try await fixture.capture(22_000) else {
            Issue.record("the first weighing did not go to M1")
            return
        }
        #expect(try await fixture.state("M1") == .weighing)
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
        guard case .movement("M1", _, let notices) = try await fixture.capture(12_000) else {
            Issue.record("the second weighing did not go to M1")
            return
        }
        #expect(notices == [.confirmed(by: .automatic)])
        let (outbox, decisions) = try await fixture.store.read {
            try ($0.outboxEntries(), $0.decisions(ofMovement: "M1"))
        }
        #expect(outbox.map(\.idempotencyKey) == ["M1/confirmation/1"])
        #expect(outbox.first?.report.net.net == Mass(10_000, .kilograms))
        #expect(decisions.map(\.outcome) == [.confirmed])
        #expect(try await fixture.store.verifyAudit().description.contains("intact"))
    }

    @Test("an unannounced weighing is held; attached by an operator it completes the visit; twice is refused")
    func unannouncedThenAttached() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        guard case .unattributed(let first) = try await fixture.capture(22_000) else {
            Issue.record("an unannounced weighing was attributed")
            return
        }
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
        _ = try await fixture.capture(12_000)
        let update = try await fixture.desk.attach(ticket: first.ticket, to: "M1", by: sam, reason: "ANPR missed it")
        #expect(update.lifecycle.state == .confirmed)
        #expect(update.queued.map(\.kind) == [.confirmation])
        await #expect(throws: Refusal(code: .alreadyAttached, message: "weighing 1 already belongs to a visit")) {
            _ = try await fixture.desk.attach(ticket: first.ticket, to: "M1", by: sam, reason: "again")
        }
        let audit = try await fixture.store.read { try $0.auditEntries() }
        #expect(
            audit.contains {
                $0.event.kind == .override && $0.event.actor == "operator:sam(uid=1001)"
                    && $0.event.detail["reason"] == "ANPR missed it"
            })
    }

    @Test("a weighing for a movement rejected since its announcement is kept, unattributed, never lost")
    func weighingForRejectedMovementIsKept() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
        _ = try await fixture.desk.act(
            .reject(by: sam, reason: "turned away"), on: "M1")
        guard case .unattributed(let weighing) = try await fixture.capture(22_000) else {
            Issue.record("the weighing went to a rejected movement")
            return
        }
        let kept = try await fixture.store.read { try $0.unattributedWeighings() }
        #expect(kept.map(\.ticket) == [weighing.ticket])
        // The rejection withdrew M1's announcement: the weighing was nobody's.
        #expect(weighing.evidence.route == .unannounced)
        #expect(try await fixture.state("M1") == .rejected)
    }

    @Test("a weighing goes to the right movement or to nobody: stale, withdrawn and re-routed announcements")
    func weighingGoesToTheRightMovementOrNobody() async throws {
        let fixture = try Fixture()
        for id in ["M1", "M2", "M3"] {
            _ = try await fixture.desk.expect(
                try fixture.movement(id, vehicle: "AB12CD\(id.last!)"), receipt: nil, by: .operator(sam))
        }
        // M1 announced, the driver turned round before the deck; six hours later a loader crosses.
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
        guard case .unattributed(let stale) = try await fixture.capture(9_000, at: t0.adding(seconds: 6 * 3_600))
        else {
            Issue.record("a six-hour-old announcement took the weighing")
            return
        }
        guard case .expired(let arrivals) = stale.evidence.route else {
            Issue.record("route \(stale.evidence.route)")
            return
        }
        #expect(arrivals.map(\.subject) == [.movement("M1")])
        // Withdrawn with `depart`: the next vehicle is unannounced.
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M2"), by: .operator(sam))
        #expect(
            try await fixture.desk.depart(target: .vehicle(VehicleRegistration("AB12CD2")!), by: .operator(sam)).bridge
                == "in"
        )
        let notAnnounced = await #expect(throws: Refusal.self) {
            _ = try await fixture.desk.depart(target: .movement("M2"), by: .operator(sam))
        }
        #expect(notAnnounced?.code == .notFound, "\(String(describing: notAnnounced))")
        guard case .unattributed(let unannounced) = try await fixture.capture(9_000) else {
            Issue.record("a withdrawn announcement took the weighing")
            return
        }
        #expect(unannounced.evidence.route == .unannounced)
        // A capture that could not be recorded at once keeps the route it had when it was
        // weighed: M3 is re-announced on "out" and M1 on "in" meanwhile; it still goes to M3.
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M3"), by: .operator(sam))
        let route = try await fixture.desk.route(captureOn: "in", at: t0)
        #expect(route == .movement("M3"))
        _ = try await fixture.desk.arrive(bridge: "out", target: .movement("M3"), by: .operator(sam))
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
        guard case .movement("M3", _, _) = try await fixture.capture(22_000, route: route) else {
            Issue.record("the held capture was routed against the board as it is now")
            return
        }
        #expect(try await fixture.state("M1") == .arrived)
    }

    @Test("a registration matching two open movements is refused: the daemon never guesses")
    func ambiguousVehicle() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.expect(try fixture.movement("M2"), receipt: nil, by: .operator(sam))
        await #expect {
            _ = try await fixture.desk.arrive(
                bridge: "in", target: .vehicle(VehicleRegistration("AB12CDE")!),
                by: .operator(sam))
        } throws: { error in
            (error as? Refusal)?.code == .ambiguousVehicle && "\(error)".contains("M1, M2")
        }
        // An unknown vehicle is announced as unidentified: its weighing is held, not guessed.
        _ = try await fixture.desk.arrive(
            bridge: "in", target: .vehicle(VehicleRegistration("ZZ99ZZZ")!), by: .operator(sam))
        guard case .unattributed(let weighing) = try await fixture.capture(15_000) else {
            Issue.record("an unidentified vehicle's weighing was attributed")
            return
        }
        #expect(weighing.evidence.route == .unidentifiedVehicle(VehicleRegistration("ZZ99ZZZ")!))
    }

    @Test("over tolerance: a Discrepancy is queued; an operator's confirmation later supersedes it")
    func discrepancyThenOperatorConfirms() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        for kilograms: Int64 in [23_000, 12_000] {
            _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
            _ = try await fixture.capture(kilograms)
        }
        #expect(try await fixture.state("M1") == .discrepancy)
        let update = try await fixture.desk.act(
            .confirm(by: sam, reason: "declared weight was wrong"),
            on: "M1")
        #expect(update.lifecycle.state == .confirmed)
        let outbox = try await fixture.store.read { try $0.outboxEntries() }
        #expect(outbox.map(\.idempotencyKey) == ["M1/discrepancy/1", "M1/confirmation/1"])
        #expect(outbox.last?.report.by == .operator(sam))
    }

    @Test("releasing a hold on a Discrepancy records no new decision")
    func releaseDecidesNothing() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        for kilograms: Int64 in [23_000, 12_000] {
            _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M1"), by: .operator(sam))
            _ = try await fixture.capture(kilograms)
        }
        _ = try await fixture.desk.act(.hold(by: sam, reason: "checking"), on: "M1")
        _ = try await fixture.desk.act(.release(by: sam, reason: "checked"), on: "M1")
        let decisions = try await fixture.store.read { try $0.decisions(ofMovement: "M1") }
        #expect(decisions.map(\.outcome) == [.discrepancy, .held])
        #expect(try await fixture.state("M1") == .discrepancy)
    }

    @Test("a refused action writes nothing: not even an audit entry")
    func refusalsWriteNothing() async throws {
        let fixture = try Fixture()
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        let before = try await fixture.store.read { try $0.auditEntries().count }
        // The lifecycle's refusal, as the desk gives it: naming the movement.
        let illegal = await #expect(throws: Refusal.self) {
            _ = try await fixture.desk.act(.confirm(by: sam, reason: "x"), on: "M1")
        }
        #expect(illegal?.code == .illegalTransition && illegal?.message.hasPrefix("movement M1: ") == true)
        await #expect(throws: Refusal(code: .notFound, message: "no movement M9")) {
            _ = try await fixture.desk.act(.reject(by: sam, reason: "x"), on: "M9")
        }
        #expect(try await fixture.store.read { try $0.auditEntries().count } == before)
        #expect(try await fixture.state("M1") == .expected)
    }

    @Test("a vehicle with a valid stored tare needs one weighing, when the arrival identified it by registration")
    func storedTareOnePass() async throws {
        let fixture = try Fixture()
        let vehicle = VehicleRegistration("AB12CDE")!
        try await fixture.store.write(at: t0) { transaction in
            try transaction.setStoredTare(
                StoredTare(
                    vehicle: vehicle, tare: Mass(12_000, .kilograms),
                    setAt: t0.adding(seconds: -60), expiresAt: t0.adding(seconds: 3_600)),
                by: .operator(sam), reason: "weighed empty")
        }
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.arrive(bridge: "in", target: .vehicle(vehicle), by: .operator(sam))
        _ = try await fixture.capture(22_000)
        #expect(try await fixture.state("M1") == .confirmed)
        let report = try await fixture.store.read { try $0.outboxEntries().first?.report }
        #expect(report?.net.tareKind == .preset)

        // Announced by its id (a scanned container, a paper note), the truck is not identified:
        // it may be a substitute, so the stored tare of the expected truck is not used.
        _ = try await fixture.desk.expect(try fixture.movement("M2"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M2"), by: .operator(sam))
        _ = try await fixture.capture(22_000)
        #expect(try await fixture.state("M2") == .weighing)
        _ = try await fixture.desk.arrive(bridge: "in", target: .movement("M2"), by: .operator(sam))
        _ = try await fixture.capture(11_500)
        #expect(try await fixture.state("M2") == .confirmed)
        let second = try await fixture.store.read { try $0.outboxEntries(ofMovement: "M2").first?.report }
        #expect(second?.net.tareKind == .measured)
        #expect(second?.net.net == Mass(10_500, .kilograms))
    }

    @Test("defra-receipt routing: a Discrepancy is held locally, and missing receipt data holds the load")
    func defraRouting() async throws {
        let routing = ReportRouting(
            reportsDiscrepancies: false, outboxKind: { _, _ in (.receipt, false) },
            missingReceiptFields: { $1 == nil ? ["wasteItems"] : [] }, carriesReceiptData: true)
        let fixture = try Fixture(routing: routing)
        _ = try await fixture.desk.expect(try fixture.movement("M1"), receipt: nil, by: .operator(sam))
        _ = try await fixture.desk.expect(
            try fixture.movement("M2", vehicle: "CD34EFG"), receipt: #"{"wasteItems":[]}"#,
            by: .operator(sam))
        for (id, gross) in [("M1", Int64(22_000)), ("M2", 23_000)] {
            for kilograms in [gross, 12_000] {
                _ = try await fixture.desk.arrive(bridge: "in", target: .movement(id), by: .operator(sam))
                _ = try await fixture.capture(kilograms)
            }
        }
        #expect(try await fixture.state("M1") == .held)
        #expect(try await fixture.state("M2") == .discrepancy)
        #expect(try await fixture.store.read { try $0.outboxEntries() }.isEmpty)
    }
}
