import Testing
import WeighbridgeCore

private let sam = OperatorIdentity(uid: 1_001, name: "sam")

private let t0 = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!
private let division = Mass(20, .kilograms)

private func movement(declaredKg: Int64 = 10_000, codes: [String] = ["20 01 01"], prenotifiedAt: Timestamp? = nil)
    -> Movement
{
    try! Movement(
        id: "MOV-1", declared: Mass(declaredKg, .kilograms), ewcCodes: codes.map { try! EWCCode(parsing: $0) },
        vehicle: VehicleRegistration("AB12CDE"), prenotifiedAt: prenotifiedAt)
}

private func weighing(_ ticket: Int64, _ kilograms: Int64, minutes: Int64 = 0) -> Weighing {
    Weighing(
        ticket: ticket, bridge: "in", weight: Mass(kilograms, .kilograms), division: division,
        time: t0.adding(seconds: minutes * 60))
}

private func context(
    reportsDiscrepancies: Bool = true, missing: [String] = [], policy: DecisionPolicy = .standard,
    storedTare: StoredTare? = nil
) -> DecisionContext {
    DecisionContext(
        policy: policy, reportsDiscrepancies: reportsDiscrepancies, missingReceiptFields: missing,
        storedTare: storedTare, now: t0.adding(seconds: 3_600))
}

/// Arrives, weighs loaded then empty, and returns every action.
private func weighThrough(
    _ lifecycle: inout MovementLifecycle, grossKg: Int64, tareKg: Int64,
    context: DecisionContext = context()
) throws -> [MovementAction] {
    var actions = try lifecycle.receive(.arrived(bridge: "in", at: t0), context: context)
    actions += try lifecycle.receive(.weighed(weighing(1, grossKg)), context: context)
    actions += try lifecycle.receive(.arrived(bridge: "in", at: t0.adding(seconds: 600)), context: context)
    actions += try lifecycle.receive(.weighed(weighing(2, tareKg, minutes: 15)), context: context)
    return actions
}

private func reports(_ actions: [MovementAction]) -> [Report] {
    actions.compactMap { if case .report(let report) = $0 { report } else { nil } }
}

private func notices(_ actions: [MovementAction]) -> [MovementNotice] {
    actions.compactMap { if case .notify(let notice) = $0 { notice } else { nil } }
}

@Suite("Movement lifecycle")
struct LifecycleTests {
    @Test("within tolerance: one confirmation by auto, with the exact net")
    func confirmsWithinTolerance() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        let actions = try weighThrough(&lifecycle, grossKg: 22_500, tareKg: 12_000)  // net 10 500 kg: +5.00%
        let sent = reports(actions)
        #expect(sent.count == 1)
        #expect(sent.first?.kind == .confirmation)
        #expect(sent.first?.by == .automatic)
        #expect(sent.first?.net.net == Mass(10_500, .kilograms))
        #expect(sent.first?.assessment.deviation.percentText() == "+5.00")
        #expect(lifecycle.state == .confirmed)
    }

    @Test("5.02% over: one Discrepancy (weight_deviation) and no confirmation")
    func discrepancyJustOutside() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        let actions = try weighThrough(&lifecycle, grossKg: 22_502, tareKg: 12_000)
        let sent = reports(actions)
        #expect(sent.count == 1)
        guard case .discrepancy(let reason, let note) = sent.first?.kind else {
            Issue.record("expected a Discrepancy, got \(sent)")
            return
        }
        #expect(reason == .weightDeviation)
        #expect(note.contains("+5.02%"))
        #expect(lifecycle.state == .discrepancy)
        #expect(notices(actions).contains(.discrepancyRaised(.weightDeviation)))
    }

    @Test("defra-receipt: a Discrepancy is held locally, nothing is reported")
    func discrepancyHeldLocally() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        let actions = try weighThrough(
            &lifecycle, grossKg: 23_000, tareKg: 12_000,
            context: context(reportsDiscrepancies: false))
        #expect(reports(actions).isEmpty)
        #expect(notices(actions) == [.discrepancyHeldLocally(.weightDeviation)])
        #expect(lifecycle.state == .discrepancy)
        // The operator confirms with the weighed weight: that is the one report.
        let confirmed = try lifecycle.receive(
            .confirm(by: sam, reason: "checked the load"),
            context: context(reportsDiscrepancies: false))
        #expect(reports(confirmed).map(\.kind) == [.confirmation])
        #expect(reports(confirmed).first?.by == .operator(sam))
    }

    @Test("high-risk above 50 kg without notice: Discrepancy prenotification_missing even within tolerance")
    func highRiskWithoutNotice() throws {
        var lifecycle = MovementLifecycle(movement: movement(declaredKg: 1_000, codes: ["16 06 05"]))
        let actions = try weighThrough(&lifecycle, grossKg: 13_000, tareKg: 12_000)
        guard case .discrepancy(let reason, _) = reports(actions).first?.kind else {
            Issue.record("expected a Discrepancy")
            return
        }
        #expect(reason == .prenotificationMissing)
        #expect(notices(actions).contains(.highRiskReceived(.missing)))
        #expect(MovementNotice.highRiskReceived(.missing).severity == .warning)
    }

    @Test("high-risk with notice 24 h ahead: confirmed and still flagged")
    func highRiskWithNotice() throws {
        var lifecycle = MovementLifecycle(
            movement: movement(
                declaredKg: 1_000, codes: ["16 06 05"],
                prenotifiedAt: t0.adding(seconds: -86_400)))
        let actions = try weighThrough(&lifecycle, grossKg: 13_000, tareKg: 12_000)
        #expect(reports(actions).map(\.kind) == [.confirmation])
        #expect(reports(actions).first?.assessment.highRisk.isHighRisk == true)
        #expect(notices(actions).contains(.highRiskReceived(.given)))
    }

    @Test("below the legal minimum: held; release is refused until an operator decides")
    func belowMinimumIsHeld() throws {
        var lifecycle = MovementLifecycle(movement: movement(declaredKg: 390))
        let actions = try weighThrough(&lifecycle, grossKg: 12_390, tareKg: 12_000)  // 390 kg < 400 kg
        #expect(reports(actions).isEmpty)
        #expect(lifecycle.state == .held)
        #expect(lifecycle.hold == .belowMinimumWeight(net: Mass(390, .kilograms), minimum: Mass(400, .kilograms)))
        let before = lifecycle
        #expect(throws: Refusal.self) {
            try lifecycle.receive(.release(by: sam, reason: "checked"), context: context())
        }
        #expect(lifecycle == before)
        let confirmed = try lifecycle.receive(
            .confirm(by: sam, reason: "small load, ticket checked"), context: context())
        #expect(reports(confirmed).first?.by == .operator(sam))
        #expect(lifecycle.state == .confirmed)
    }

    @Test("an operator hold before weighing keeps the verdict until release, which applies it")
    func operatorHoldDefersVerdict() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        _ = try lifecycle.receive(.hold(by: sam, reason: "driver querying the load"), context: context())
        let actions = try weighThrough(&lifecycle, grossKg: 22_000, tareKg: 12_000)
        #expect(reports(actions).isEmpty)
        #expect(lifecycle.state == .held)
        let released = try lifecycle.receive(.release(by: sam, reason: "checked"), context: context())
        #expect(reports(released).map(\.kind) == [.confirmation])
        #expect(lifecycle.state == .confirmed)
    }

    @Test("missing receipt data holds; release re-runs the rules with today's data")
    func receiptDataMissing() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        let actions = try weighThrough(
            &lifecycle, grossKg: 22_000, tareKg: 12_000,
            context: context(missing: ["wasteItems", "carrier"]))
        #expect(lifecycle.hold == .receiptDataMissing(["wasteItems", "carrier"]))
        #expect(reports(actions).isEmpty)
        _ = try lifecycle.receive(.release(by: sam, reason: "checked"), context: context(missing: ["carrier"]))
        #expect(lifecycle.hold == .receiptDataMissing(["carrier"]))
        let released = try lifecycle.receive(.release(by: sam, reason: "checked"), context: context())
        #expect(reports(released).map(\.kind) == [.confirmation])
    }

    @Test("auto_confirm off: within tolerance waits for an operator")
    func autoConfirmOff() throws {
        var policy = DecisionPolicy.standard
        policy.autoConfirm = false
        var lifecycle = MovementLifecycle(movement: movement())
        let actions = try weighThrough(&lifecycle, grossKg: 22_000, tareKg: 12_000, context: context(policy: policy))
        #expect(reports(actions).isEmpty)
        #expect(lifecycle.hold == .autoConfirmDisabled)
    }

    @Test("a valid stored tare completes the visit in one weighing; an expired one needs two")
    func storedTare() throws {
        let vehicle = VehicleRegistration("AB12CDE")!
        let valid = StoredTare(
            vehicle: vehicle, tare: Mass(12_000, .kilograms), setAt: t0.adding(seconds: -60),
            expiresAt: t0.adding(seconds: 60))
        var lifecycle = MovementLifecycle(movement: movement())
        _ = try lifecycle.receive(.arrived(bridge: "in", at: t0, vehicle: vehicle), context: context(storedTare: valid))
        let actions = try lifecycle.receive(.weighed(weighing(1, 22_000)), context: context(storedTare: valid))
        #expect(reports(actions).first?.net.tareKind == .preset)
        #expect(lifecycle.state == .confirmed)

        let expired = StoredTare(
            vehicle: vehicle, tare: Mass(12_000, .kilograms), setAt: t0.adding(seconds: -120),
            expiresAt: t0.adding(seconds: -60))
        var second = MovementLifecycle(movement: movement())
        _ = try second.receive(.arrived(bridge: "in", at: t0, vehicle: vehicle), context: context(storedTare: expired))
        #expect(try second.receive(.weighed(weighing(1, 22_000)), context: context(storedTare: expired)).isEmpty)
        #expect(second.state == .weighing)
    }

    @Test(
        "a one-pass net with a stored tare needs an arrival that identified the vehicle: announced by movement id, or as another truck, it takes two passes"
    )
    func storedTareNeedsIdentifiedVehicle() throws {
        let vehicle = VehicleRegistration("AB12CDE")!
        let tare = StoredTare(
            vehicle: vehicle, tare: Mass(12_000, .kilograms), setAt: t0.adding(seconds: -60),
            expiresAt: t0.adding(seconds: 3_600))
        for announcedAs in [nil, VehicleRegistration("XY99XYZ")!] {
            var lifecycle = MovementLifecycle(movement: movement())
            _ = try lifecycle.receive(
                .arrived(bridge: "in", at: t0, vehicle: announcedAs), context: context(storedTare: tare))
            // The substitute truck's loaded weighing is not netted against the expected truck's tare.
            #expect(try lifecycle.receive(.weighed(weighing(1, 22_000)), context: context(storedTare: tare)).isEmpty)
            #expect(lifecycle.state == .weighing)
            let actions = try lifecycle.receive(
                .weighed(weighing(2, 11_000, minutes: 10)), context: context(storedTare: tare))
            #expect(reports(actions).first?.net.net == Mass(11_000, .kilograms))
            #expect(reports(actions).first?.net.tareKind != .preset)
        }
    }

    @Test("illegal transitions are refused and change nothing")
    func illegalTransitions() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        #expect(throws: Refusal.self) {
            try lifecycle.receive(.confirm(by: sam, reason: "why not"), context: context())
        }
        _ = try lifecycle.receive(.arrived(bridge: "in", at: t0), context: context())
        _ = try lifecycle.receive(.weighed(weighing(1, 22_000)), context: context())
        #expect(
            throws: Refusal(code: .alreadyAttached, message: "weighing 1 is already part of this movement")
        ) {
            try lifecycle.receive(.weighed(weighing(1, 22_000)), context: context())
        }
        _ = try lifecycle.receive(.weighed(weighing(2, 12_000, minutes: 10)), context: context())
        #expect(lifecycle.state == .confirmed)
        let confirmed = lifecycle
        for event in [
            MovementEvent.reject(by: sam, reason: "x"), .confirm(by: sam, reason: "x"),
            .raiseDiscrepancy(by: sam, reason: "x"), .hold(by: sam, reason: "x"), .release(by: sam, reason: "checked"),
            .weighed(weighing(3, 15_000)), .arrived(bridge: "in", at: t0),
        ] {
            #expect(throws: Refusal.self, "\(event)") { try lifecycle.receive(event, context: context()) }
            #expect(lifecycle == confirmed)
        }
    }

    @Test("operator actions need a reason")
    func reasonRequired() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        #expect(throws: Refusal(code: .reasonRequired, message: "a reason is required for this action")) {
            try lifecycle.receive(.reject(by: sam, reason: "  "), context: context())
        }
        _ = try lifecycle.receive(.reject(by: sam, reason: "load refused at the gate"), context: context())
        #expect(lifecycle.state == .rejected)
    }

    @Test("an operator Discrepancy on a held verdict is reported with the operator's note")
    func operatorDiscrepancy() throws {
        var lifecycle = MovementLifecycle(movement: movement(declaredKg: 390))
        _ = try weighThrough(&lifecycle, grossKg: 12_390, tareKg: 12_000)
        let actions = try lifecycle.receive(
            .raiseDiscrepancy(by: sam, reason: "contaminated load"), context: context())
        #expect(reports(actions).first?.kind == .discrepancy(.operator, note: "contaminated load"))
        #expect(lifecycle.state == .discrepancy)
        #expect(throws: Refusal.self) {
            try lifecycle.receive(.raiseDiscrepancy(by: sam, reason: "again"), context: context())
        }
    }

    @Test("a movement whose net is known cannot be re-registered")
    func updateOnlyBeforeWeighing() throws {
        var lifecycle = MovementLifecycle(movement: movement())
        try lifecycle.update(movement(declaredKg: 11_000))
        #expect(lifecycle.movement.declared == Mass(11_000, .kilograms))
        _ = try weighThrough(&lifecycle, grossKg: 23_000, tareKg: 12_000)
        #expect(throws: Refusal.self) { try lifecycle.update(movement(declaredKg: 12_000)) }
    }
}

extension ArrivalBoard {
    /// Routes a capture a minute after `t0`, with the standard half-hour expiry.
    fileprivate mutating func route(captureOn bridge: String) -> WeighingRoute {
        route(captureOn: bridge, at: t0.adding(seconds: 60), expiry: DecisionPolicy.standard.arrivalExpiry)
    }
}

@Suite("Arrivals and routing of captures")
struct ArrivalTests {
    private let vehicle = VehicleRegistration("AB12CDE")!

    @Test("a weighing goes to the right movement or to nobody: an announcement expires and can be withdrawn")
    func staleArrivalsExpire() {
        var board = ArrivalBoard()
        let stale = Arrival(bridge: "in", subject: .movement("M1"), at: t0)
        board.announce(stale)
        // Six hours later a site loader crosses the bridge: not M1's weight.
        #expect(
            board.route(captureOn: "in", at: t0.adding(seconds: 6 * 3_600), expiry: .seconds(1_800))
                == .expired([stale]))
        #expect(board.pending["in"] == [])
        // A fresh announcement beside a stale one takes the capture; the stale one goes.
        board.announce(stale)
        let fresh = Arrival(bridge: "in", subject: .movement("M2"), at: t0.adding(seconds: 3_600))
        board.announce(fresh)
        #expect(board.route(captureOn: "in", at: t0.adding(seconds: 3_660), expiry: .seconds(1_800)) == .movement("M2"))
        #expect(board.pending["in"] == [])
        // An announcement made after the weighing is for the next vehicle: it stays on the board.
        let next = Arrival(bridge: "in", subject: .movement("M3"), at: t0.adding(seconds: 4_000))
        board.announce(next)
        #expect(board.route(captureOn: "in", at: t0.adding(seconds: 3_900), expiry: .seconds(1_800)) == .unannounced)
        #expect(board.pending["in"] == [next])
        board.withdraw(.movement("M3"))
        // Exactly at the expiry it still counts.
        board.announce(stale)
        #expect(board.route(captureOn: "in", at: t0.adding(seconds: 1_800), expiry: .seconds(1_800)) == .movement("M1"))
    }

    @Test("a capture routed earlier keeps its route: the board only loses what that route consumed")
    func earlierRouteIsKept() {
        var board = ArrivalBoard()
        board.announce(Arrival(bridge: "in", subject: .movement("M1"), at: t0))
        var snapshot = board
        let route = snapshot.route(captureOn: "in")
        #expect(route == .movement("M1"))
        // Meanwhile M1 is announced on "out" and M2 on "in": the held capture still goes to M1.
        board.announce(Arrival(bridge: "out", subject: .movement("M1"), at: t0.adding(seconds: 5)))
        board.announce(Arrival(bridge: "in", subject: .movement("M2"), at: t0.adding(seconds: 6)))
        board.consume(route, on: "in")
        #expect(board.pending["in"]?.map(\.subject) == [.movement("M2")])
        #expect(board.pending["out"]?.map(\.subject) == [.movement("M1")])
    }

    @Test("one announcement takes the next capture; nothing announced is unannounced")
    func oneAnnouncementOneCapture() {
        var board = ArrivalBoard()
        board.announce(Arrival(bridge: "in", subject: .movement("M1"), at: t0))
        #expect(board.route(captureOn: "out") == .unannounced)
        #expect(board.route(captureOn: "in") == .movement("M1"))
        #expect(board.route(captureOn: "in") == .unannounced)
    }

    @Test("two announcements on one bridge are ambiguous and stay pending")
    func ambiguity() {
        var board = ArrivalBoard()
        let first = Arrival(bridge: "in", subject: .movement("M1"), at: t0)
        let second = Arrival(bridge: "in", subject: .unidentifiedVehicle(vehicle), at: t0.adding(seconds: 5))
        board.announce(first)
        board.announce(second)
        #expect(board.route(captureOn: "in") == .ambiguous([first, second]))
        board.withdraw(.movement("M1"))
        #expect(board.route(captureOn: "in") == .unidentifiedVehicle(vehicle))
    }

    @Test("announcing again replaces, on the same or another bridge")
    func reannouncement() {
        var board = ArrivalBoard()
        board.announce(Arrival(bridge: "in", subject: .movement("M1"), at: t0))
        board.announce(Arrival(bridge: "in", subject: .movement("M1"), at: t0.adding(seconds: 1)))
        board.announce(Arrival(bridge: "out", subject: .movement("M1"), at: t0.adding(seconds: 2)))
        #expect(board.route(captureOn: "in") == .unannounced)
        #expect(board.route(captureOn: "out") == .movement("M1"))
    }

    @Test("a vehicle matches one open movement, none, or several")
    func vehicleMatching() throws {
        let m1 = try Movement(
            id: "M1", declared: Mass(1, .kilograms), ewcCodes: [EWCCode(parsing: "200101")], vehicle: vehicle)
        let m2 = try Movement(
            id: "M2", declared: Mass(1, .kilograms), ewcCodes: [EWCCode(parsing: "200101")], vehicle: vehicle)
        let other = try Movement(
            id: "M3", declared: Mass(1, .kilograms), ewcCodes: [EWCCode(parsing: "200101")],
            vehicle: VehicleRegistration("XY99ZZZ"))
        #expect(VehicleMatch(vehicle: vehicle, openMovements: [m1, other]) == .movement("M1"))
        #expect(VehicleMatch(vehicle: vehicle, openMovements: [other]) == .none)
        #expect(VehicleMatch(vehicle: vehicle, openMovements: [m2, m1, other]) == .ambiguous(["M1", "M2"]))
    }

    @Test("a movement needs an id, a positive declared weight and a code")
    func movementValidation() throws {
        let code = try EWCCode(parsing: "200101")
        #expect(throws: MovementError.declaredNotPositive(.zero)) {
            try Movement(id: "M", declared: .zero, ewcCodes: [code])
        }
        #expect(throws: MovementError.noEWCCode) { try Movement(id: "M", declared: Mass(1, .kilograms), ewcCodes: []) }
        #expect(throws: MovementError.invalidID(" ")) {
            try Movement(id: " ", declared: Mass(1, .kilograms), ewcCodes: [code])
        }
    }
}
