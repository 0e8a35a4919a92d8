public import Logging
public import WeighbridgeControl
public import WeighbridgeControlProtocol
public import WeighbridgeCore
public import WeighbridgeJSON
import WeighbridgeStore

/// What the daemon knows live, beyond the store: its bridges and their latest readings.
public struct LiveView: Sendable {
    /// Every bridge as it stands: its link, whether it answers, its last reading and capture phase.
    public var bridges: @Sendable () async -> [BridgeView]
    /// A one-line summary for `status` (and systemd's STATUS=).
    public var summary: @Sendable () async -> String
    /// Receipts not yet accepted by the API that are due within a day, and those past their
    /// legal deadline (zero where the profile has no such deadline).
    public var deadlines: @Sendable () async -> (dueWithinADay: Int, missed: Int)

    public init(
        bridges: @escaping @Sendable () async -> [BridgeView], summary: @escaping @Sendable () async -> String,
        deadlines: @escaping @Sendable () async -> (dueWithinADay: Int, missed: Int) = { (0, 0) }
    ) {
        self.bridges = bridges
        self.summary = summary
        self.deadlines = deadlines
    }
}

/// What the reporting API says of a movement id scanned at the gate (the brief's
/// `GET /movements/{id}`).
public enum MovementLookupAnswer: Sendable {
    /// The movement, in the brief's representation.
    case found([String: JSONValue])
    case notFound
    /// The movement is bound for another site (its `destination_site_id`).
    case forAnotherSite(String)
    /// The API could not be asked, or gave no usable answer: why.
    case unavailable(String)
}

/// Carries out control commands: reads answer from the store and the live view; every state
/// change goes through the movement desk (or the store's named operations), with the operator
/// the kernel identified recorded in the audit log beside their reason.
public struct ControlService: Sendable {
    public let desk: MovementDesk
    public let live: LiveView
    /// Every accepted override is also a journal line with OPERATOR=, for `journalctl OPERATOR=…`.
    public let logger: Logger
    private let clock: @Sendable () -> Timestamp
    /// Called after every accepted state change (a confirmation queued, a report released for
    /// retry), so the delivery service looks at the outbox at once.
    private let onChange: @Sendable () -> Void
    /// Asks the reporting API for a movement `arrive` names and the store does not know (the
    /// brief's scanned container id); nil where the profile has no such lookup.
    private let lookUpMovement: (@Sendable (String) async -> MovementLookupAnswer)?

    /// A service over `desk`, reporting live state from `live`, logging overrides to `logger`.
    public init(
        desk: MovementDesk, live: LiveView, logger: Logger, clock: @escaping @Sendable () -> Timestamp,
        onChange: @escaping @Sendable () -> Void = {},
        lookUpMovement: (@Sendable (String) async -> MovementLookupAnswer)? = nil
    ) {
        self.desk = desk
        self.live = live
        self.logger = logger
        self.clock = clock
        self.onChange = onChange
        self.lookUpMovement = lookUpMovement
    }

    private var store: Store { desk.store }

    /// How many of the unattributed weighings' tickets `status` lists (the newest); it counts them all.
    static let unattributedTicketsShown = 100

    /// Runs one command for `identity`. Refusals are `ControlError`s; nothing is half-applied.
    public func execute(_ command: ControlCommand, by identity: OperatorIdentity) async throws(ControlError)
        -> JSONValue
    {
        do {
            let result = try await run(command, by: identity)
            if command.changesState {
                command.logOverride(by: identity, to: logger)
                onChange()
            }
            return result
        } catch let error as ControlError {
            throw error
        } catch let error as Refusal {
            throw ControlError(ControlError.Code(error.code), error.message)
        } catch let error as StoreError {
            switch error.code {
            case .illegalTransition: throw ControlError(.illegalTransition, error.message)
            case .notFound: throw ControlError(.notFound, error.message)
            case .constraint, .conflict: throw ControlError(.conflict, error.description)
            default: throw ControlError(.unavailable, error.description)
            }
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    private func run(_ command: ControlCommand, by identity: OperatorIdentity) async throws -> JSONValue {
        let actor = Actor.operator(identity)
        switch command {
        case .status:
            // Counted in SQL: a year of history costs the reader a count, not a decode of every row.
            let counts = try await store.read { transaction in
                (
                    held: try transaction.movementCount(state: .held),
                    discrepancies: try transaction.movementCount(state: .discrepancy),
                    unattributed: try transaction.unattributedTickets(newest: Self.unattributedTicketsShown),
                    pending: try transaction.outboxCount(states: OutboxState.awaitingAttempt),
                    parked: try transaction.outboxCount(states: [.parked]),
                    unknown: try transaction.outboxCount(states: [.unknown])
                )
            }
            let deadlines = await live.deadlines()
            return StatusReply(
                summary: await live.summary(), held: counts.held, discrepancies: counts.discrepancies,
                unattributed: counts.unattributed.count, unattributedTickets: counts.unattributed.tickets,
                outboxPending: counts.pending, outboxParked: counts.parked, outboxUnknown: counts.unknown,
                receiptsDueWithinADay: deadlines.dueWithinADay, receiptsPastDeadline: deadlines.missed
            ).json
        case .bridges:
            return .array(await live.bridges().map(\.json))
        case .weight(let bridge):
            let all = await live.bridges()
            guard let bridge else { return .array(all.map(\.json)) }
            guard let found = all.first(where: { $0.name == bridge }) else {
                throw ControlError(.notFound, "no bridge \(bridge)")
            }
            return found.json
        case .expect(let arguments):
            return try await desk.expect(arguments.movement, receipt: arguments.receipt, by: actor).json
        case .arrive(let bridge, let target, let trackingID):
            // An announcement on a bridge that does not exist would also take the vehicle off
            // the bridge it is really on.
            guard await live.bridges().contains(where: { $0.name == bridge }) else {
                throw ControlError(.notFound, "no bridge \(bridge)")
            }
            if case .movement(let id) = target, lookUpMovement != nil,
                try await store.read({ try $0.movement(id: id) }) == nil
            {
                try await fetchMovement(id, by: actor)
            }
            let arrival = try await desk.arrive(
                bridge: bridge, target: target.deskTarget, trackingID: trackingID, by: actor)
            return ArrivalChange(announced: arrival).json
        case .depart(let target):
            let arrival = try await desk.depart(target: target.deskTarget, by: actor)
            return ArrivalChange(withdrawn: arrival).json
        case .movements(let state, let page):
            let listed = try await store.read {
                try $0.movements(state: state, before: page.before, limit: page.limit)
            }
            return ListingPage(rows: listed.rows.map { MovementView($0.lifecycle) }, nextBefore: listed.nextBefore).json
        case .show(let id):
            return try await show(id)
        case .confirm(let id, let reason):
            return try await desk.act(.confirm(by: identity, reason: reason), on: id).json
        case .discrepancy(let id, let reason):
            return try await desk.act(.raiseDiscrepancy(by: identity, reason: reason), on: id).json
        case .reject(let id, let reason):
            return try await desk.act(.reject(by: identity, reason: reason), on: id).json
        case .hold(let id, let reason):
            return try await desk.act(.hold(by: identity, reason: reason), on: id).json
        case .release(let id, let reason):
            return try await desk.act(.release(by: identity, reason: reason), on: id).json
        case .attach(let ticket, let id, let reason):
            return try await desk.attach(ticket: ticket, to: id, by: identity, reason: reason).json
        case .correct(let id, let receipt, let reason):
            let correction = try await desk.correct(id, receipt: receipt, by: identity, reason: reason)
            if correction.late, let deadline = correction.deadline {
                logger.warning(
                    "correction of \(id)'s receipt is late (its legal deadline was \(deadline)): sent all the same",
                    metadata: ["MOVEMENT_ID": "\(id)"])
            }
            return CorrectionReply(
                movementID: id, queuedReport: correction.queued?.view, late: correction.late,
                deadline: correction.deadline
            ).json
        case .tareSet(let vehicle, let tare, let expiresAt, let reason):
            let now = clock()
            guard expiresAt > now else { throw ControlError(.invalidArgument, "expires_at is in the past") }
            let stored = StoredTare(vehicle: vehicle, tare: tare, setAt: now, expiresAt: expiresAt)
            try await store.write(at: now) { try $0.setStoredTare(stored, by: actor, reason: reason) }
            return TareView(stored, at: now).json
        case .tareList:
            let now = clock()
            return .array(try await store.read { try $0.storedTares() }.map { TareView($0, at: now).json })
        case .tareExpire(let vehicle, let reason):
            try await store.write(at: clock()) { transaction in
                guard try transaction.storedTare(vehicle: vehicle) != nil else {
                    throw ControlError(.notFound, "no stored tare for \(vehicle)")
                }
                try transaction.expireStoredTare(vehicle: vehicle, by: actor, reason: reason)
            }
            return TareExpiry(vehicle: vehicle).json
        case .outbox(let state, let page):
            let listed = try await store.read {
                try $0.outboxEntries(state: state, before: page.before, limit: page.limit)
            }
            return ListingPage(rows: listed.rows.map(\.view), nextBefore: listed.nextBefore).json
        case .retry(let target, let reason):
            return try await retry(target, by: actor, reason: reason)
        case .park(let entry, let reason):
            return try await changeOutbox(entry, by: actor, reason: reason) { current in
                OutboxUpdate(
                    event: .operatorPark, attempts: current.attempts, nextAttemptAt: current.nextAttemptAt,
                    lastError: "parked by operator: \(reason)")
            }
        case .resolve(let entry, let trackingID, let reason):
            return try await changeOutbox(entry, by: actor, reason: reason) { current in
                if let trackingID {
                    return OutboxUpdate(
                        event: .operatorResolve, attempts: current.attempts, nextAttemptAt: current.nextAttemptAt,
                        lastError: nil, serverID: trackingID)
                }
                return OutboxUpdate(
                    event: .operatorResend, attempts: current.attempts, nextAttemptAt: self.clock(),
                    lastError: "resend requested by operator: \(reason)")
            }
        case .auditVerify:
            return try await store.verifyAudit().json
        case .tail:
            throw ControlError(.invalidArgument, "tail is a stream: the server answers it on the connection")
        }
    }

    /// Registers a movement the API knows and this site does not yet (a scanned container id),
    /// audited as fetched from the API; refuses the arrival when the API does not know it or
    /// cannot be asked.
    private func fetchMovement(_ id: String, by actor: Actor) async throws {
        guard let lookUpMovement else { return }
        let source = "GET /movements/\(id)"
        switch await lookUpMovement(id) {
        case .found(let fields):
            let arguments: ExpectArguments
            do {
                arguments = try ExpectArguments(decoding: fields)
            } catch {
                throw ControlError(
                    .unavailable, "movement \(id) from the API (\(source)) cannot be used: \(error.message)")
            }
            guard arguments.movement.id == id else {
                throw ControlError(
                    .unavailable, "the API answered \(source) with movement \(arguments.movement.id), not \(id)")
            }
            _ = try await desk.expect(arguments.movement, receipt: arguments.receipt, by: actor, source: source)
            logger.notice(
                "movement \(id) fetched from the API (\(source)) for its arrival", metadata: ["MOVEMENT_ID": "\(id)"])
        case .forAnotherSite(let site):
            throw ControlError(
                .conflict,
                "movement \(id) is bound for site \(site), not this one (\(source)): check the container and its "
                    + "paperwork before it is tipped here")
        case .notFound:
            throw ControlError(
                .notFound,
                "movement \(id) is known neither here nor to the API (\(source) answered 404): check the scanned id")
        case .unavailable(let why):
            throw ControlError(
                .unavailable,
                "movement \(id) is not known here and the API cannot be asked now (\(why)): the lookup works once "
                    + "the API answers again, or register it by hand with `weighbridgectl expect`")
        }
    }

    private func show(_ id: String) async throws -> JSONValue {
        let details = try await store.read { transaction in
            (
                movement: try transaction.movement(id: id), weighings: try transaction.weighings(ofMovement: id),
                decisions: try transaction.decisions(ofMovement: id),
                outbox: try transaction.outboxEntries(ofMovement: id)
            )
        }
        guard let movement = details.movement else { throw ControlError(.notFound, "no movement \(id)") }
        return MovementDetail(
            movement: MovementView(movement.lifecycle), weighings: details.weighings.map(WeighingView.init),
            decisions: details.decisions.map(\.view),
            reports: details.outbox.map { entry in
                var report = entry.view
                // Every version of the receipt sent, each as it went.
                report.sent = entry.sentBody.map(JSONValue.embedded)
                return report
            },
            receipt: movement.receipt.map(JSONValue.embedded)
        ).json
    }

    /// Retries one entry, or every entry that waits or is parked. An `unknown` entry is never
    /// among them: the lifecycle refuses to retry it (only `resolve` takes it out of that state).
    private func retry(_ target: RetryTarget, by actor: Actor, reason: String) async throws -> JSONValue {
        let now = clock()
        let retried = try await store.write(at: now) { transaction in
            let entries: [OutboxEntry]
            switch target {
            case .all:
                entries = try transaction.outboxEntries(state: .retryWait) + transaction.outboxEntries(state: .parked)
            case .entry(let id):
                guard let entry = try transaction.outboxEntry(id: id) else {
                    throw ControlError(.notFound, "no outbox entry \(id)")
                }
                entries = [entry]
            }
            for entry in entries {
                try transaction.transitionOutboxEntry(
                    id: entry.id, from: entry.state,
                    OutboxUpdate(
                        event: .operatorRetry, attempts: entry.attempts, nextAttemptAt: now,
                        lastError: entry.lastError), by: actor)
            }
            try transaction.appendAudit(
                AuditEvent(
                    kind: .override, by: actor, subject: "outbox",
                    detail: [
                        "action": "retry", "entries": entries.map { String($0.id) }.joined(separator: ","),
                        "reason": reason,
                    ]))
            return entries.count
        }
        return RetryReply(retried: retried).json
    }

    /// One operator action on one entry, as the outbox lifecycle allows it (the store refuses
    /// what it does not), audited with the operator's reason.
    private func changeOutbox(
        _ id: Int64, by actor: Actor, reason: String, _ change: @escaping @Sendable (OutboxEntry) -> OutboxUpdate
    ) async throws -> JSONValue {
        try await store.write(at: clock()) { transaction in
            guard let entry = try transaction.outboxEntry(id: id) else {
                throw ControlError(.notFound, "no outbox entry \(id)")
            }
            let update = change(entry)
            try transaction.transitionOutboxEntry(id: id, from: entry.state, update, by: actor)
            try transaction.appendAudit(
                AuditEvent(
                    kind: .override, by: actor, subject: "outbox:\(id)",
                    detail: ["action": update.event.name, "reason": reason]))
            guard let changed = try transaction.outboxEntry(id: id) else {
                throw ControlError(.internalError, "outbox entry \(id) is gone after its own change")
            }
            return changed.view.json
        }
    }
}

extension ControlCommand {
    /// Logs an accepted override: who, what, on which movement, why.
    func logOverride(by identity: OperatorIdentity, to logger: Logger) {
        var fields: Logger.Metadata = ["OPERATOR": "\(identity.name)"]
        if let uid = identity.uid { fields["OPERATOR_UID"] = "\(uid)" }
        let (action, subject, reason): (String, String, String?)
        switch self {
        case .expect(let arguments): (action, subject, reason) = ("expect", arguments.movement.id, nil)
        case .arrive(let bridge, let target, _):
            fields["BRIDGE"] = "\(bridge)"
            (action, subject, reason) = ("arrive", "\(target)", nil)
        case .depart(let target): (action, subject, reason) = ("depart", "\(target)", nil)
        case .confirm(let id, let why): (action, subject, reason) = ("confirm", id, why)
        case .discrepancy(let id, let why): (action, subject, reason) = ("discrepancy", id, why)
        case .reject(let id, let why): (action, subject, reason) = ("reject", id, why)
        case .hold(let id, let why): (action, subject, reason) = ("hold", id, why)
        case .release(let id, let why): (action, subject, reason) = ("release", id, why)
        case .attach(let ticket, let id, let why):
            fields["TICKET"] = "\(ticket)"
            (action, subject, reason) = ("attach", id, why)
        case .correct(let id, _, let why): (action, subject, reason) = ("correct", id, why)
        case .tareSet(let vehicle, _, _, let why), .tareExpire(let vehicle, let why):
            fields["VEHICLE"] = "\(vehicle.normalised)"
            (action, subject, reason) = (self.isTareSet ? "tare-set" : "tare-expire", vehicle.normalised, why)
        case .retry(let target, let why): (action, subject, reason) = ("retry", "\(target)", why)
        case .park(let entry, let why), .resolve(let entry, _, let why):
            fields["REPORT_ID"] = "\(entry)"
            (action, subject, reason) = (self.isPark ? "park" : "resolve", "outbox \(entry)", why)
        default: (action, subject, reason) = ("\(self)", "", nil)
        }
        switch self {
        case .expect(let arguments): fields["MOVEMENT_ID"] = "\(arguments.movement.id)"
        case .confirm(let id, _), .discrepancy(let id, _), .reject(let id, _), .hold(let id, _), .release(let id, _),
            .attach(_, let id, _), .correct(let id, _, _):
            fields["MOVEMENT_ID"] = "\(id)"
        default: break
        }
        fields["DECISION"] = "\(action)"
        let because = reason.map { ": \($0)" } ?? ""
        logger.notice("\(Actor.operator(identity)) \(action) \(subject)\(because)", metadata: fields)
    }

    private var isTareSet: Bool {
        if case .tareSet = self { return true }
        return false
    }

    private var isPark: Bool {
        if case .park = self { return true }
        return false
    }
}

extension ArrivalTargetArgument {
    var deskTarget: MovementDesk.ArrivalTarget {
        switch self {
        case .movement(let id): .movement(id)
        case .vehicle(let vehicle): .vehicle(vehicle)
        }
    }
}

extension ControlService: ControlHandler {
    public func auditHead() async throws -> Int64 {
        try await store.read { try $0.auditHeadSequence() }
    }

    public func auditEntries(after sequence: Int64, limit: Int) async throws -> [AuditEntryView] {
        try await store.read { try $0.auditEntries(after: sequence, limit: limit) }.map(\.view)
    }
}
