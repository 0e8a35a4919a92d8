public import WeighbridgeCore
public import WeighbridgeStore

/// How the configured reporting profile turns reports into outbox entries.
public struct ReportRouting: Sendable {
    /// Whether a Discrepancy is sent (`brief`) or held locally for the operator (`defra-receipt`).
    public var reportsDiscrepancies: Bool
    /// The outbox kind of a report on a movement, and whether resending it is safe.
    public var outboxKind: @Sendable (Report.Kind, Movement) -> (kind: OutboxKind, idempotent: Bool)
    /// The receipt fields the profile needs and a movement's receipt data lacks (or has wrong).
    public var missingReceiptFields: @Sendable (_ movement: Movement, _ receipt: String?) -> [String]
    /// Whether reports carry receipt data and waste tracking ids (`defra-receipt`), so that they
    /// can be corrected and given a carrier's id.
    public var carriesReceiptData: Bool

    public init(
        reportsDiscrepancies: Bool,
        outboxKind: @escaping @Sendable (Report.Kind, Movement) -> (kind: OutboxKind, idempotent: Bool),
        missingReceiptFields: @escaping @Sendable (_ movement: Movement, _ receipt: String?) -> [String],
        carriesReceiptData: Bool
    ) {
        self.reportsDiscrepancies = reportsDiscrepancies
        self.outboxKind = outboxKind
        self.missingReceiptFields = missingReceiptFields
        self.carriesReceiptData = carriesReceiptData
    }

    /// The brief's API: PUT confirmations and PUT discrepancies, both idempotent.
    public static let brief = ReportRouting(
        reportsDiscrepancies: true,
        outboxKind: { kind, _ in
            switch kind {
            case .confirmation: (.confirmation, true)
            case .discrepancy: (.discrepancy, true)
            }
        },
        missingReceiptFields: { _, _ in [] }, carriesReceiptData: false)
}

/// What a capture became.
public enum CaptureOutcome: Sendable, Hashable {
    /// Bound to a movement's visit.
    case movement(id: String, weighing: RecordedWeighing, notices: [MovementNotice])
    /// Recorded but held for an operator to attach (unannounced, unidentified vehicle, ambiguous).
    case unattributed(RecordedWeighing)
}

/// The result of an operation on a movement: its new state and what people must hear of.
public struct MovementUpdate: Sendable, Hashable {
    public var lifecycle: MovementLifecycle
    public var notices: [MovementNotice]
    /// Reports put in the outbox by this operation.
    public var queued: [OutboxEntry]
}

/// What a correction of receipt data came to.
public struct Correction: Sendable, Hashable {
    public var movementID: String
    /// The PUT queued to replace an accepted receipt; nil when none was accepted yet, and the new
    /// data simply replaces what the waiting receipt will send.
    public var queued: OutboxEntry?
    /// The legal deadline of the receipt, and whether the correction comes after it.
    public var deadline: Timestamp?
    public var late: Bool
}

/// Every change to movements, visits and weighings goes through here: the core's rules applied
/// to the stored state inside one store transaction, with the resulting reports queued and
/// everything audited in that same transaction. The daemon's capture path and the operators'
/// commands share it, so a rule is applied the same way whoever triggers it.
public struct MovementDesk: Sendable {
    public let store: Store
    public let policy: DecisionPolicy
    public let routing: ReportRouting
    private let clock: @Sendable () -> Timestamp

    /// A desk over `store`, judging by `policy`, reporting through `routing`.
    public init(
        store: Store, policy: DecisionPolicy, routing: ReportRouting, clock: @escaping @Sendable () -> Timestamp
    ) {
        self.store = store
        self.policy = policy
        self.routing = routing
        self.clock = clock
    }

    // MARK: Expected movements and arrivals

    /// Registers a movement, or updates it while nothing has been weighed yet; a held movement
    /// takes new receipt data (the movement itself unchanged). `source` says where the movement
    /// came from when not from the actor (the brief's API, for a scanned id), for the audit log.
    public func expect(_ movement: Movement, receipt: String?, by actor: Actor, source: String? = nil) async throws
        -> MovementLifecycle
    {
        if movement.wasteTrackingID != nil, !routing.carriesReceiptData {
            throw Refusal(
                code: .invalidArgument, message: "a wasteTrackingId is Defra's: the brief profile has none")
        }
        return try await store.write(at: clock()) { transaction in
            var lifecycle = MovementLifecycle(movement: movement)
            var movement = movement
            var receipt = receipt
            if let existing = try transaction.movement(id: movement.id) {
                lifecycle = existing.lifecycle
                // A carrier's id or receipt data left out keeps what the movement has: a site's
                // system sending the movement again must not lose what the gate added.
                movement.wasteTrackingID = movement.wasteTrackingID ?? existing.lifecycle.movement.wasteTrackingID
                receipt = receipt ?? existing.receipt
                do {
                    try lifecycle.update(movement)
                } catch let error as Refusal {
                    // Weighed, and its receipt not yet accepted (held, a local Discrepancy, or
                    // confirmed with its receipt refused): the same movement with new receipt
                    // data (or the carrier's tracking id put right) is taken, for `release`,
                    // `confirm` or `retry` to use; nothing else may change.
                    let entries = try transaction.outboxEntries(ofMovement: movement.id)
                    let receiptPending = entries.contains { $0.state != .done }
                    if routing.carriesReceiptData, receipt != existing.receipt,
                        let sent = entries.first(where: { !Self.resendsCurrentData($0) })
                    {
                        throw Refusal(
                            code: .conflict,
                            message:
                                "movement \(movement.id): its receipt (report \(sent.id), \(sent.kind.rawValue)) is "
                                + "\(sent.state.rawValue) and may carry the data it has: change it with "
                                + "`weighbridgectl correct`, which sends the new data to Defra")
                    }
                    var sameMovement = movement
                    sameMovement.wasteTrackingID = existing.lifecycle.movement.wasteTrackingID
                    guard existing.lifecycle.movement == sameMovement,
                        existing.lifecycle.hold != nil || !existing.lifecycle.isTerminal || receiptPending,
                        existing.lifecycle.state != .rejected
                    else {
                        throw error.about(movement: movement.id)
                    }
                    // An id left out keeps the one the movement has.
                    if let trackingID = movement.wasteTrackingID,
                        trackingID != existing.lifecycle.movement.wasteTrackingID
                    {
                        try give(trackingID, to: &lifecycle, in: transaction)
                    }
                }
            }
            try transaction.saveMovement(lifecycle, receipt: receipt)
            try transaction.appendAudit(
                AuditEvent(
                    kind: .movementExpected, by: actor, subject: movement.id,
                    detail: [
                        "declared_g": String(movement.declared.grams),
                        "ewc": movement.ewcCodes.map(\.compact).joined(separator: ","),
                        "vehicle": movement.vehicle?.normalised ?? "",
                        "prenotified_at": movement.prenotifiedAt?.rfc3339 ?? "",
                        "waste_tracking_id": movement.wasteTrackingID ?? "", "source": source ?? "",
                    ]))
            return lifecycle
        }
    }

    /// Whom `arrive` is for: a movement by id, or a vehicle by registration.
    public enum ArrivalTarget: Sendable, Hashable {
        case movement(String)
        case vehicle(VehicleRegistration)
    }

    /// Announces a vehicle on a bridge: the next certified weighing there belongs to it. A
    /// registration matching several open movements is refused (the daemon never guesses); one
    /// matching none is announced as an unidentified vehicle, whose weighing is held.
    /// `trackingID` is the carrier's `wasteTrackingId` typed or scanned at the gate: the movement
    /// carries it from now on.
    public func arrive(bridge: String, target: ArrivalTarget, trackingID: String? = nil, by actor: Actor)
        async throws -> Arrival
    {
        try await store.write(at: clock()) { transaction in
            let subject: ArrivalSubject
            // The registration the vehicle was identified by; an id alone identifies no truck.
            var identifiedVehicle: VehicleRegistration?
            switch target {
            case .movement(let id):
                subject = .movement(id)
            case .vehicle(let vehicle):
                switch VehicleMatch(vehicle: vehicle, openMovements: try transaction.openMovements(vehicle: vehicle)) {
                case .movement(let id):
                    subject = .movement(id)
                    identifiedVehicle = vehicle
                case .none: subject = .unidentifiedVehicle(vehicle)
                case .ambiguous(let ids):
                    throw Refusal(
                        code: .ambiguousVehicle,
                        message: "\(vehicle) matches movements \(ids.joined(separator: ", ")); arrive by --movement")
                }
            }
            let arrival = Arrival(bridge: bridge, subject: subject, at: transaction.now)
            if trackingID != nil, case .unidentifiedVehicle(let vehicle) = subject {
                throw Refusal(
                    code: .invalidArgument,
                    message: "\(vehicle) matches no open movement to carry wasteTrackingId \(trackingID ?? ""): "
                        + "expect the movement first, or arrive by --movement")
            }
            if case .movement(let id) = subject {
                var stored = try movement(id, in: transaction)
                if let trackingID, trackingID != stored.lifecycle.movement.wasteTrackingID {
                    try give(trackingID, to: &stored.lifecycle, in: transaction)
                }
                _ = try apply(
                    .arrived(bridge: bridge, at: transaction.now, vehicle: identifiedVehicle), to: &stored,
                    in: transaction)
                try transaction.saveMovement(stored.lifecycle, receipt: stored.receipt)
            }
            var board = try transaction.arrivalBoard()
            board.announce(arrival)
            try transaction.saveArrivalBoard(board)
            try transaction.appendAudit(
                AuditEvent(
                    kind: .arrival, by: actor, subject: bridge,
                    detail: ["subject": "\(subject)", "waste_tracking_id": trackingID ?? ""]))
            return arrival
        }
    }

    /// Withdraws the announcement of `target`, wherever it is: the vehicle left, or was turned
    /// away, before it was weighed. Refused when nothing is announced for it.
    public func depart(target: ArrivalTarget, by actor: Actor) async throws -> Arrival {
        try await store.write(at: clock()) { transaction in
            var board = try transaction.arrivalBoard()
            let subject: ArrivalSubject
            switch target {
            case .movement(let id): subject = .movement(id)
            case .vehicle(let vehicle):
                let announced = board.pending.values.joined().filter {
                    switch $0.subject {
                    case .unidentifiedVehicle(let other): other == vehicle
                    case .movement(let id): (try? transaction.movement(id: id))??.lifecycle.movement.vehicle == vehicle
                    }
                }
                guard announced.count <= 1 else {
                    throw Refusal(
                        code: .ambiguousVehicle,
                        message: "\(vehicle) is announced \(announced.count) times; depart by --movement")
                }
                guard let found = announced.first else {
                    throw Refusal(code: .notFound, message: "\(vehicle) is not announced on any bridge")
                }
                subject = found.subject
            }
            guard let arrival = board.pending.values.joined().first(where: { $0.subject == subject }) else {
                throw Refusal(code: .notFound, message: "\(subject.label) is not announced on any bridge")
            }
            board.withdraw(subject)
            try transaction.saveArrivalBoard(board)
            try transaction.appendAudit(
                AuditEvent(kind: .departure, by: actor, subject: arrival.bridge, detail: ["subject": "\(subject)"]))
            return arrival
        }
    }

    // MARK: Captures

    /// Where a capture on `bridge` weighed at `time` would go, as the board stands; changes
    /// nothing. Taken when a capture cannot be recorded at once, so that it keeps that route.
    public func route(captureOn bridge: String, at time: Timestamp) async throws -> WeighingRoute {
        var board = try await store.read { try $0.arrivalBoard() }
        return board.route(captureOn: bridge, at: time, expiry: policy.arrivalExpiry)
    }

    /// Records a certified weighing first, then routes it to the visit it belongs to and applies
    /// the rules, all in one transaction: either everything is kept or nothing is, and a
    /// weighing that could not be recorded is never acknowledged.
    ///
    /// `route` is where an earlier attempt found the weighing belongs (see `route(captureOn:at:)`):
    /// a capture held through a full disk keeps the routing it had when it was weighed, however
    /// the board changed since. Without one it is routed against the board now.
    public func recordCapture(_ evidence: WeighingEvidence, route: WeighingRoute? = nil) async throws
        -> CaptureOutcome
    {
        try await store.write(at: clock()) { transaction in
            var board = try transaction.arrivalBoard()
            var routed = evidence
            if let route {
                board.consume(route, on: evidence.bridge)
                routed.route = route
            } else {
                routed.route = board.route(
                    captureOn: evidence.bridge, at: evidence.weighedAt, expiry: policy.arrivalExpiry)
            }
            let recorded = try transaction.recordWeighing(routed)
            try transaction.saveArrivalBoard(board)
            guard case .movement(let id) = routed.route, var stored = try transaction.movement(id: id) else {
                return .unattributed(recorded)
            }
            let applied: Applied
            do {
                applied = try apply(.weighed(recorded.weighing), to: &stored, in: transaction)
            } catch let refusal as Refusal {
                // The movement cannot take it (rejected or decided since it was announced): the
                // weighing is kept all the same, unattributed, for an operator to look at.
                try transaction.appendAudit(
                    AuditEvent(
                        kind: .weighingUnattributed, by: .automatic,
                        subject: "ticket:\(recorded.ticket)",
                        detail: ["movement": id, "reason": refusal.message]))
                return .unattributed(recorded)
            }
            try transaction.bind(ticket: recorded.ticket, toMovement: id, by: .automatic)
            try transaction.saveMovement(stored.lifecycle, receipt: stored.receipt)
            return .movement(id: id, weighing: recorded, notices: applied.notices)
        }
    }

    // MARK: Operators

    /// An operator's action on a movement (confirm, discrepancy, reject, hold, release: the
    /// event names the operator and their reason), refused with a specific error if the
    /// movement's state does not allow it.
    public func act(_ event: MovementEvent, on id: String) async throws -> MovementUpdate {
        try await store.write(at: clock()) { transaction in
            var stored = try movement(id, in: transaction)
            let applied = try apply(event, to: &stored, in: transaction)
            try transaction.saveMovement(stored.lifecycle, receipt: stored.receipt)
            if stored.lifecycle.state == .rejected {
                // A load turned away claims no weighing: the next vehicle on its bridge is not it.
                var board = try transaction.arrivalBoard()
                board.withdraw(.movement(id))
                try transaction.saveArrivalBoard(board)
            }
            try transaction.appendAudit(
                AuditEvent(
                    kind: .override, by: event.actor, subject: id,
                    detail: [
                        "action": event.name, "reason": event.reason ?? "", "state": stored.lifecycle.state.rawValue,
                    ]))
            return MovementUpdate(lifecycle: stored.lifecycle, notices: applied.notices, queued: applied.queued)
        }
    }

    /// Replaces a movement's receipt data, checked as a first receipt is. Before a receipt is
    /// accepted, the new data is what the waiting receipt will send; once one is, a `PUT` to its
    /// `wasteTrackingId` is queued (a correction after the legal deadline is still sent, and says
    /// it is late). Refused while a receipt is on the wire or its outcome is unknown: which
    /// record to correct is not yet known.
    public func correct(_ id: String, receipt: String, by identity: OperatorIdentity, reason: String)
        async throws -> Correction
    {
        guard routing.carriesReceiptData else {
            throw Refusal(
                code: .invalidArgument,
                message: "the brief profile sends no receipt data: there is nothing to correct")
        }
        return try await store.write(at: clock()) { transaction in
            var stored = try movement(id, in: transaction)
            let lifecycle = stored.lifecycle
            guard lifecycle.state != .rejected else {
                throw Refusal(code: .illegalTransition, message: "movement \(id) was rejected: nothing to correct")
            }
            let problems = routing.missingReceiptFields(lifecycle.movement, receipt)
            guard problems.isEmpty else {
                throw Refusal(
                    code: .receiptDataMissing,
                    message: "movement \(id): the corrected receipt data cannot be sent: "
                        + problems.joined(separator: "; "))
            }
            let entries = try transaction.outboxEntries(ofMovement: id)
            let receipts = entries.filter { $0.kind == .receipt || $0.kind == .carrierReceipt }
            if let busy = receipts.first(where: { $0.state == .sending || $0.state == .unknown }) {
                throw Refusal(
                    code: .conflict,
                    message: busy.state == .sending
                        ? "movement \(id): its receipt (report \(busy.id)) is being sent: correct it once it is answered"
                        : "movement \(id): whether its receipt (report \(busy.id)) was stored is unknown: "
                            + "`resolve \(busy.id)` first, then correct")
            }
            let accepted = receipts.last { $0.state == .done }
            // The record to correct: the accepted receipt's, or the carrier's record a PUT may be
            // completing now with the old data (a PUT goes out from where it waits, unmarked).
            let corrected = accepted ?? receipts.last { $0.kind == .carrierReceipt && $0.state != .parked }
            let trackingID = corrected?.serverID
            let deadline = lifecycle.receivedAt.map { WorkingCalendar().receiptDeadline(receivedAt: $0) }
            let late = accepted != nil && deadline.map { transaction.now >= $0 } == true
            stored.receipt = receipt
            try transaction.saveMovement(stored.lifecycle, receipt: receipt)
            var queued: OutboxEntry?
            if let corrected {
                guard let trackingID else {
                    throw Refusal(
                        code: .conflict,
                        message:
                            "movement \(id): its receipt (report \(corrected.id)) has no wasteTrackingId to correct")
                }
                var report = corrected.report
                report.by = .operator(identity)
                report.at = transaction.now
                let corrections = entries.filter { $0.kind == .correction }.count
                queued = try transaction.enqueue(
                    report, kind: .correction, idempotent: true,
                    idempotencyKey: "\(id)/correction/\(corrections + 1)", serverID: trackingID)
            }
            try transaction.appendAudit(
                AuditEvent(
                    kind: .receiptCorrected, by: .operator(identity), subject: id,
                    detail: [
                        "reason": reason, "receipt": receipt, "waste_tracking_id": trackingID ?? "",
                        "outbox_id": queued.map { String($0.id) } ?? "",
                        "before_acceptance": String(accepted == nil), "late": String(late),
                    ]))
            return Correction(movementID: id, queued: queued, deadline: deadline, late: late)
        }
    }

    /// Attaches an unattributed weighing to a movement's visit, as if it had been announced.
    public func attach(ticket: Int64, to id: String, by identity: OperatorIdentity, reason: String)
        async throws -> MovementUpdate
    {
        try await store.write(at: clock()) { transaction in
            guard let weighing = try transaction.weighing(ticket: ticket) else {
                throw Refusal(code: .notFound, message: "no weighing with ticket \(ticket)")
            }
            guard try !transaction.isBound(ticket: ticket) else {
                throw Refusal(code: .alreadyAttached, message: "weighing \(ticket) already belongs to a visit")
            }
            var stored = try movement(id, in: transaction)
            try transaction.bind(ticket: ticket, toMovement: id, by: .operator(identity))
            let applied = try apply(.weighed(weighing.weighing), to: &stored, in: transaction)
            try transaction.saveMovement(stored.lifecycle, receipt: stored.receipt)
            var board = try transaction.arrivalBoard()
            board.withdraw(.movement(id))
            try transaction.saveArrivalBoard(board)
            try transaction.appendAudit(
                AuditEvent(
                    kind: .override, by: .operator(identity), subject: id,
                    detail: [
                        "action": "attach", "ticket": String(ticket), "reason": reason,
                        "state": stored.lifecycle.state.rawValue,
                    ]))
            return MovementUpdate(lifecycle: stored.lifecycle, notices: applied.notices, queued: applied.queued)
        }
    }

    // MARK: Applying the rules

    /// Whether new receipt data given to `expect` reaches Defra through `entry` as it stands: a
    /// POST not yet sent reads the data when it is marked sending, and a report parked is sent
    /// again only with the data it has then. Anything accepted, on its way or maybe stored needs
    /// a correction instead.
    private static func resendsCurrentData(_ entry: OutboxEntry) -> Bool {
        switch (entry.kind, entry.state) {
        case (.receipt, .pending), (.receipt, .retryWait), (.receipt, .parked), (.carrierReceipt, .parked): true
        default: false
        }
    }

    /// Gives a movement the carrier's `wasteTrackingId`, or puts a mistyped one right. Refused
    /// once its receipt is queued as a new record (a POST: the movement would be reported twice),
    /// and once a PUT to the old id (the receipt, or a correction of it) may have reached a record:
    /// only PUTs that Defra answered 404 (no such record) are moved to the new id, in the same write.
    private func give(_ trackingID: String, to lifecycle: inout MovementLifecycle, in transaction: StoreTransaction)
        throws
    {
        let id = lifecycle.movement.id
        guard routing.carriesReceiptData else {
            throw Refusal(
                code: .invalidArgument, message: "a wasteTrackingId is Defra's: the brief profile has none")
        }
        var retargeted: [OutboxEntry] = []
        for entry in try transaction.outboxEntries(ofMovement: id) {
            switch entry.kind {
            case .receipt:
                throw Refusal(
                    code: .conflict,
                    message: "movement \(id): its receipt is queued as a new record (report \(entry.id), "
                        + "\(entry.state.rawValue)); a carrier's wasteTrackingId can no longer be given")
            case .carrierReceipt, .correction:
                if entry.state == .parked && entry.lastError?.hasPrefix("HTTP 404") == true {
                    retargeted.append(entry)
                    continue
                }
                throw Refusal(
                    code: .conflict,
                    message: "movement \(id): its \(entry.kind.rawValue) to \(entry.serverID ?? "?") is "
                        + "\(entry.state.rawValue) (report \(entry.id)) and may reach that record: the id can change "
                        + "only after Defra answered 404 for it")
            case .confirmation, .discrepancy:
                continue
            }
        }
        do {
            try lifecycle.carry(wasteTrackingID: trackingID)
        } catch {
            throw error.about(movement: id)
        }
        for entry in retargeted { try transaction.retargetParkedEntry(id: entry.id, serverID: trackingID) }
    }

    private func movement(_ id: String, in transaction: StoreTransaction) throws -> StoredMovement {
        guard let stored = try transaction.movement(id: id) else {
            throw Refusal(code: .notFound, message: "no movement \(id)")
        }
        return stored
    }

    /// What applying one event did: the notices for the caller to log, the reports it queued.
    private struct Applied {
        var notices: [MovementNotice] = []
        var queued: [OutboxEntry] = []
    }

    /// Runs one event through the movement's lifecycle and carries out its actions: reports go in
    /// the outbox, decisions are recorded.
    private func apply(_ event: MovementEvent, to stored: inout StoredMovement, in transaction: StoreTransaction)
        throws -> Applied
    {
        let vehicle = stored.lifecycle.movement.vehicle
        let context = DecisionContext(
            policy: policy, reportsDiscrepancies: routing.reportsDiscrepancies,
            missingReceiptFields: routing.missingReceiptFields(stored.lifecycle.movement, stored.receipt),
            storedTare: try vehicle.flatMap { try transaction.storedTare(vehicle: $0) }, now: transaction.now)
        let actions: [MovementAction]
        do {
            actions = try stored.lifecycle.receive(event, context: context)
        } catch {
            throw error.about(movement: stored.lifecycle.movement.id)
        }
        var applied = Applied()
        for action in actions {
            switch action {
            case .report(let report):
                let (kind, idempotent) = routing.outboxKind(report.kind, stored.lifecycle.movement)
                let sameKind = try transaction.outboxEntries(ofMovement: report.movementID).filter { $0.kind == kind }
                // The record a PUT completes is fixed when it is queued: the carrier's id as it is now.
                let target = kind == .carrierReceipt ? stored.lifecycle.movement.wasteTrackingID : nil
                applied.queued.append(
                    try transaction.enqueue(
                        report, kind: kind, idempotent: idempotent,
                        idempotencyKey: "\(report.movementID)/\(kind.rawValue)/\(sameKind.count + 1)", serverID: target)
                )
            case .notify(let notice):
                applied.notices.append(notice)
            }
        }
        if let record = decisionRecord(
            for: stored.lifecycle, notices: applied.notices, event: event, at: transaction.now)
        {
            try transaction.recordDecision(record)
        }
        return applied
    }

    /// The decisions-table row for a transition that decided something.
    private func decisionRecord(
        for lifecycle: MovementLifecycle, notices: [MovementNotice], event: MovementEvent,
        at now: Timestamp
    ) -> DecisionRecord? {
        // A decision is what this transition announced, not the stage it left the movement in:
        // releasing a hold on a Discrepancy decides nothing new. Who decided is as the lifecycle
        // settled it (after a release, the rules); a hold is the operator's only when they asked.
        let decided: (outcome: DecisionOutcome, reason: String?, by: Actor)? = notices.lazy.compactMap { notice in
            switch notice {
            case .held(let hold):
                if case .operatorHold = hold { (.held, hold.code, event.actor) } else { (.held, hold.code, .automatic) }
            case .confirmed(let by): (.confirmed, nil, by)
            case .discrepancyRaised(let why), .discrepancyHeldLocally(let why):
                (.discrepancy, why.rawValue, lifecycle.settledBy ?? .automatic)
            case .rejected: (.rejected, event.reason, lifecycle.settledBy ?? event.actor)
            case .released, .highRiskReceived: nil
            }
        }.first
        guard let (outcome, reason, actor) = decided else { return nil }
        let assessment: Assessment? =
            switch lifecycle.stage {
            case .decided(_, let assessment, _), .confirmed(_, let assessment, _),
                .discrepancy(_, let assessment, _, _):
                assessment
            default: nil
            }
        return DecisionRecord(
            movementID: lifecycle.movement.id, outcome: outcome, reason: reason, net: assessment?.deviation.received,
            declared: lifecycle.movement.declared, deviationPercent: assessment?.deviation.percentText(),
            highRisk: assessment?.highRisk.isHighRisk ?? false, actor: actor,
            note: actor == .automatic ? "" : event.reason ?? "",
            decidedAt: now)
    }
}

extension MovementEvent {
    /// The action's name in the audit log.
    var name: String {
        switch self {
        case .arrived: "arrive"
        case .weighed: "weigh"
        case .confirm: "confirm"
        case .raiseDiscrepancy: "discrepancy"
        case .reject: "reject"
        case .hold: "hold"
        case .release: "release"
        }
    }

    /// The operator for an operator's action; the rules for an arrival or a weighing.
    var actor: Actor {
        switch self {
        case .confirm(let identity, _), .raiseDiscrepancy(let identity, _), .reject(let identity, _),
            .hold(let identity, _), .release(let identity, _):
            .operator(identity)
        case .arrived, .weighed:
            .automatic
        }
    }

    /// The operator's reason for an operator's action.
    var reason: String? {
        switch self {
        case .confirm(_, let reason), .raiseDiscrepancy(_, let reason), .reject(_, let reason), .hold(_, let reason),
            .release(_, let reason):
            reason
        case .arrived, .weighed:
            nil
        }
    }
}
