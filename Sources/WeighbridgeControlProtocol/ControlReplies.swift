public import WeighbridgeCore
public import WeighbridgeJSON

// Replies that people read, typed on both sides: the daemon builds them from its records and
// sends `json`; weighbridgectl reads them back with `init(json:)` and renders them. Weights are
// kg as exact decimals, times RFC 3339, states by their stable names.

/// `status`: the counts of what needs a person, and the bridges' live summary.
public struct StatusReply: Sendable, Hashable {
    public var summary: String
    public var held: Int
    public var discrepancies: Int
    /// Weighings that belong to no movement yet.
    public var unattributed: Int
    /// The tickets of the newest of them.
    public var unattributedTickets: [Int64]
    public var outboxPending: Int
    public var outboxParked: Int
    public var outboxUnknown: Int
    public var receiptsDueWithinADay: Int
    public var receiptsPastDeadline: Int

    public init(
        summary: String, held: Int, discrepancies: Int, unattributed: Int, unattributedTickets: [Int64],
        outboxPending: Int, outboxParked: Int, outboxUnknown: Int, receiptsDueWithinADay: Int,
        receiptsPastDeadline: Int
    ) {
        self.summary = summary
        self.held = held
        self.discrepancies = discrepancies
        self.unattributed = unattributed
        self.unattributedTickets = unattributedTickets
        self.outboxPending = outboxPending
        self.outboxParked = outboxParked
        self.outboxUnknown = outboxUnknown
        self.receiptsDueWithinADay = receiptsDueWithinADay
        self.receiptsPastDeadline = receiptsPastDeadline
    }

    public var json: JSONValue {
        .object([
            "summary": .string(summary), "held": .integer(held), "discrepancies": .integer(discrepancies),
            "unattributed": .integer(unattributed),
            "unattributed_tickets": .array(unattributedTickets.map { .integer($0) }),
            "outbox_pending": .integer(outboxPending), "outbox_parked": .integer(outboxParked),
            "outbox_unknown": .integer(outboxUnknown), "receipts_due_within_a_day": .integer(receiptsDueWithinADay),
            "receipts_past_deadline": .integer(receiptsPastDeadline),
        ])
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "status")
        self.init(
            summary: try reply.string("summary"), held: try reply.integer("held"),
            discrepancies: try reply.integer("discrepancies"), unattributed: try reply.integer("unattributed"),
            unattributedTickets: try reply.array("unattributed_tickets").map { value throws(ControlError) in
                guard case .number(let text) = value, let ticket = Int64(text) else {
                    throw ControlError(.badReply, "the status reply lists a ticket that is not a number")
                }
                return ticket
            },
            outboxPending: try reply.integer("outbox_pending"), outboxParked: try reply.integer("outbox_parked"),
            outboxUnknown: try reply.integer("outbox_unknown"),
            receiptsDueWithinADay: try reply.integer("receipts_due_within_a_day"),
            receiptsPastDeadline: try reply.integer("receipts_past_deadline"))
    }
}

/// A movement as the control commands show it (`movements`, `show`, and every override's reply).
public struct MovementView: Sendable, Hashable {
    public struct Hold: Sendable, Hashable {
        public var code: String
        public var reason: String
    }

    /// Announced on a bridge, not yet weighed there.
    public struct Arrival: Sendable, Hashable {
        public var bridge: String
        public var at: Timestamp
        public var vehicleIdentified: Bool
    }

    /// Gross, tare and net, once both weighings (or a weighing and a stored tare) are known, and
    /// how the net compares with the declared weight.
    public struct Weights: Sendable, Hashable {
        public var gross: Mass
        public var tare: Mass
        public var tareKind: TareKind
        public var net: Mass
        public var deviationPercent: String
        public var highRisk: Bool
    }

    /// How it was settled: confirmed, a Discrepancy, or rejected, and by whom.
    public enum Outcome: Sendable, Hashable {
        case confirmed(by: String)
        case discrepancy(DiscrepancyReason, raisedBy: String)
        case rejected(reason: String, by: String)
    }

    public var movementID: String
    public var state: MovementState
    public var declared: Mass
    public var ewcCodes: [String]
    public var vehicle: String?
    public var carrier: String?
    public var prenotifiedAt: Timestamp?
    public var wasteTrackingID: String?
    public var hold: Hold?
    public var arrival: Arrival?
    /// The ticket of the first weighing, while the second is awaited.
    public var firstWeighing: Int64?
    public var weights: Weights?
    public var outcome: Outcome?

    public var json: JSONValue { .object(fields) }

    var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "movement_id": .string(movementID), "state": .string(state.rawValue), "declared_kg": .mass(declared),
            "ewc_codes": .array(ewcCodes.map(JSONValue.string)), "vehicle": .optional(vehicle),
            "carrier": .optional(carrier), "prenotified_at": .optional(prenotifiedAt?.rfc3339),
            "waste_tracking_id": .optional(wasteTrackingID),
            "hold": hold.map { .object(["code": .string($0.code), "reason": .string($0.reason)]) } ?? .null,
        ]
        if let arrival {
            fields["bridge"] = .string(arrival.bridge)
            fields["arrived_at"] = .string(arrival.at.rfc3339)
            fields["vehicle_identified"] = .bool(arrival.vehicleIdentified)
        }
        if let firstWeighing { fields["first_weighing"] = .integer(firstWeighing) }
        if let weights {
            fields["gross_kg"] = .mass(weights.gross)
            fields["tare_kg"] = .mass(weights.tare)
            fields["tare_kind"] = .string(weights.tareKind.rawValue)
            fields["net_kg"] = .mass(weights.net)
            fields["deviation_percent"] = .string(weights.deviationPercent)
            fields["high_risk"] = .bool(weights.highRisk)
        }
        switch outcome {
        case .confirmed(let by): fields["confirmed_by"] = .string(by)
        case .discrepancy(let reason, let by):
            fields["discrepancy"] = .object(["reason": .string(reason.rawValue), "raised_by": .string(by)])
        case .rejected(let reason, let by):
            fields["rejected"] = .object(["by": .string(by), "reason": .string(reason)])
        case nil: break
        }
        return fields
    }
}

extension MovementView {
    /// The movement as its lifecycle stands.
    public init(_ lifecycle: MovementLifecycle) {
        let movement = lifecycle.movement
        movementID = movement.id
        state = lifecycle.state
        declared = movement.declared
        ewcCodes = movement.ewcCodes.map(\.description)
        vehicle = movement.vehicle?.normalised
        carrier = movement.carrier
        prenotifiedAt = movement.prenotifiedAt
        wasteTrackingID = movement.wasteTrackingID
        hold = lifecycle.hold.map { Hold(code: $0.code, reason: $0.description) }
        switch lifecycle.stage {
        case .arrived(let bridge, let at, let identifiedVehicle):
            arrival = Arrival(bridge: bridge, at: at, vehicleIdentified: identifiedVehicle != nil)
        case .weighing(let first, _):
            firstWeighing = first.ticket
        case .decided(let net, let assessment, _), .confirmed(let net, let assessment, _),
            .discrepancy(let net, let assessment, _, _):
            weights = Weights(
                gross: net.gross.weight, tare: net.tare, tareKind: net.tareKind, net: net.net,
                deviationPercent: assessment.deviation.percentText(), highRisk: assessment.highRisk.isHighRisk)
        case .expected, .rejected:
            break
        }
        outcome =
            switch lifecycle.stage {
            case .confirmed(_, _, let by): .confirmed(by: by.description)
            case .discrepancy(_, _, let reason, let by): .discrepancy(reason, raisedBy: by.description)
            case .rejected(let by, let reason): .rejected(reason: reason, by: Actor.operator(by).description)
            default: nil
            }
    }

    public init(json: JSONValue) throws(ControlError) {
        try self.init(ReplyFields(json, "movement"))
    }

    init(_ reply: ReplyFields) throws(ControlError) {
        let state: MovementState = try reply.word("state")
        var outcome: Outcome?
        if let by = try reply.optionalString("confirmed_by") {
            outcome = .confirmed(by: by)
        } else if let raised = try reply.optionalObject("discrepancy") {
            outcome = .discrepancy(try raised.word("reason"), raisedBy: try raised.string("raised_by"))
        } else if let rejected = try reply.optionalObject("rejected") {
            outcome = .rejected(reason: try rejected.string("reason"), by: try rejected.string("by"))
        }
        self.init(
            movementID: try reply.string("movement_id"), state: state, declared: try reply.mass("declared_kg"),
            ewcCodes: try reply.array("ewc_codes").map { value throws(ControlError) in
                guard case .string(let code) = value else {
                    throw ControlError(.badReply, "the movement reply has an EWC code that is not text")
                }
                return code
            },
            vehicle: try reply.optionalString("vehicle"), carrier: try reply.optionalString("carrier"),
            prenotifiedAt: try reply.optionalTimestamp("prenotified_at"),
            wasteTrackingID: try reply.optionalString("waste_tracking_id"),
            hold: try reply.optionalObject("hold").map { hold throws(ControlError) in
                Hold(code: try hold.string("code"), reason: try hold.string("reason"))
            },
            arrival: try reply.optionalString("bridge").map { bridge throws(ControlError) in
                Arrival(
                    bridge: bridge, at: try reply.timestamp("arrived_at"),
                    vehicleIdentified: try reply.bool("vehicle_identified"))
            },
            firstWeighing: try reply.optionalInteger("first_weighing"),
            weights: try reply.optionalMass("net_kg").map { net throws(ControlError) in
                Weights(
                    gross: try reply.mass("gross_kg"), tare: try reply.mass("tare_kg"),
                    tareKind: try reply.word("tare_kind"), net: net,
                    deviationPercent: try reply.string("deviation_percent"), highRisk: try reply.bool("high_risk"))
            },
            outcome: outcome)
    }
}

/// A certified weighing as `show` lists it.
public struct WeighingView: Sendable, Hashable {
    public var ticket: Int64
    public var bridge: String
    public var weight: Mass
    public var weighedAt: Timestamp
    /// The indicator's legal (alibi) counter, where it keeps one.
    public var legalID: UInt32?
    /// The indicator's identification as recorded (`ServerIdentification.recorded`).
    public var instrument: String?

    public var json: JSONValue {
        .object([
            "ticket": .integer(ticket), "bridge": .string(bridge), "weight_kg": .mass(weight),
            "weighed_at": .string(weighedAt.rfc3339), "legal_id": legalID.map { .integer($0) } ?? .null,
            "instrument": .optional(instrument),
        ])
    }
}

extension WeighingView {
    /// A weighing as the store recorded it.
    public init(_ weighing: RecordedWeighing) {
        let evidence = weighing.evidence
        self.init(
            ticket: weighing.ticket, bridge: evidence.bridge, weight: evidence.weight, weighedAt: evidence.weighedAt,
            legalID: evidence.legalID, instrument: evidence.instrumentID)
    }

    init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "weighing")
        self.init(
            ticket: try reply.integer("ticket"), bridge: try reply.string("bridge"),
            weight: try reply.mass("weight_kg"),
            weighedAt: try reply.timestamp("weighed_at"), legalID: try reply.optionalInteger("legal_id"),
            instrument: try reply.optionalString("instrument"))
    }
}

/// A decision or override as `show` lists it.
public struct DecisionView: Sendable, Hashable {
    public var outcome: DecisionOutcome
    public var reason: String?
    public var net: Mass?
    public var declared: Mass
    public var deviationPercent: String?
    public var highRisk: Bool
    /// Who: an actor's written form (`auto`, `operator:sam(uid=1001)`).
    public var by: String
    public var note: String
    public var at: Timestamp

    public init(
        outcome: DecisionOutcome, reason: String?, net: Mass?, declared: Mass, deviationPercent: String?,
        highRisk: Bool,
        by: String, note: String, at: Timestamp
    ) {
        self.outcome = outcome
        self.reason = reason
        self.net = net
        self.declared = declared
        self.deviationPercent = deviationPercent
        self.highRisk = highRisk
        self.by = by
        self.note = note
        self.at = at
    }

    public var json: JSONValue {
        .object([
            "outcome": .string(outcome.rawValue), "reason": .optional(reason),
            "net_kg": .optionalMass(net),
            "declared_kg": .mass(declared), "deviation_percent": .optional(deviationPercent),
            "high_risk": .bool(highRisk), "by": .string(by), "note": .string(note), "at": .string(at.rfc3339),
        ])
    }

    init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "decision")
        self.init(
            outcome: try reply.word("outcome"), reason: try reply.optionalString("reason"),
            net: try reply.optionalMass("net_kg"), declared: try reply.mass("declared_kg"),
            deviationPercent: try reply.optionalString("deviation_percent"), highRisk: try reply.bool("high_risk"),
            by: try reply.string("by"), note: try reply.string("note"), at: try reply.timestamp("at"))
    }
}

/// A report in the outbox, as `outbox` and `show` list it.
public struct ReportView: Sendable, Hashable {
    public var id: Int64
    public var movementID: String
    public var kind: OutboxKind
    public var state: OutboxState
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    /// The id the API gave it (a `wasteTrackingId`), once known.
    public var serverID: String?
    public var idempotencyKey: String
    public var createdAt: Timestamp
    /// The request body last sent (`show` only): every version of a receipt, as it went.
    public var sent: JSONValue?

    public init(
        id: Int64, movementID: String, kind: OutboxKind, state: OutboxState, attempts: Int, nextAttemptAt: Timestamp,
        lastError: String?, serverID: String?, idempotencyKey: String, createdAt: Timestamp, sent: JSONValue? = nil
    ) {
        self.id = id
        self.movementID = movementID
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.serverID = serverID
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.sent = sent
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .integer(id), "movement_id": .string(movementID), "kind": .string(kind.rawValue),
            "state": .string(state.rawValue), "attempts": .integer(attempts),
            "next_attempt_at": .string(nextAttemptAt.rfc3339), "last_error": .optional(lastError),
            "server_id": .optional(serverID), "idempotency_key": .string(idempotencyKey),
            "created_at": .string(createdAt.rfc3339),
        ]
        if let sent { fields["sent"] = sent }
        return .object(fields)
    }

    fileprivate var withSent: JSONValue {
        guard case .object(var fields) = json else { return json }
        fields["sent"] = sent ?? .null
        return .object(fields)
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "report")
        self.init(
            id: try reply.integer("id"), movementID: try reply.string("movement_id"), kind: try reply.word("kind"),
            state: try reply.word("state"), attempts: try reply.integer("attempts"),
            nextAttemptAt: try reply.timestamp("next_attempt_at"),
            lastError: try reply.optionalString("last_error"), serverID: try reply.optionalString("server_id"),
            idempotencyKey: try reply.string("idempotency_key"), createdAt: try reply.timestamp("created_at"),
            sent: reply.value("sent"))
    }
}

/// `show`: a movement with its weighings, decisions, reports and receipt data.
public struct MovementDetail: Sendable, Hashable {
    public var movement: MovementView
    public var weighings: [WeighingView]
    public var decisions: [DecisionView]
    public var reports: [ReportView]
    /// The receipt data Defra's profile sends, as registered or corrected.
    public var receipt: JSONValue?

    public init(
        movement: MovementView, weighings: [WeighingView], decisions: [DecisionView], reports: [ReportView],
        receipt: JSONValue?
    ) {
        self.movement = movement
        self.weighings = weighings
        self.decisions = decisions
        self.reports = reports
        self.receipt = receipt
    }

    public var json: JSONValue {
        var fields = movement.fields
        fields["weighings"] = .array(weighings.map(\.json))
        fields["decisions"] = .array(decisions.map(\.json))
        // Every report says what was sent for it, null before anything was.
        fields["reports"] = .array(reports.map(\.withSent))
        fields["receipt"] = receipt ?? .null
        return .object(fields)
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "show")
        self.init(
            movement: try MovementView(reply),
            weighings: try reply.array("weighings").map { value throws(ControlError) in try WeighingView(json: value) },
            decisions: try reply.array("decisions").map { value throws(ControlError) in try DecisionView(json: value) },
            reports: try reply.array("reports").map { value throws(ControlError) in try ReportView(json: value) },
            receipt: reply.value("receipt"))
    }
}

/// `audit verify`'s reply: the chain intact from its first entry to its head, or where it
/// first breaks.
extension AuditVerification {
    public var json: JSONValue {
        switch self {
        case .intact(let entries, let head):
            .object(["intact": .bool(true), "entries": .integer(entries), "head": .string(head)])
        case .broken(let sequence, let reason):
            .object(["intact": .bool(false), "broken_at": .integer(sequence), "reason": .string(reason)])
        }
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "audit verify")
        self =
            try reply.bool("intact")
            ? .intact(entries: try reply.integer("entries"), head: try reply.string("head"))
            : .broken(sequence: try reply.integer("broken_at"), reason: try reply.string("reason"))
    }
}

/// `tail`: first that the stream has begun, then every audit entry as it is recorded.
public enum TailReply: Sendable, Hashable {
    case following
    case entry(AuditEntryView)

    public var json: JSONValue {
        switch self {
        case .following: .object(["following": .bool(true)])
        case .entry(let entry): entry.json
        }
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "tail")
        self = reply.value("following") == .bool(true) ? .following : .entry(try AuditEntryView(reply))
    }
}

/// One audit entry as `tail` streams it.
public struct AuditEntryView: Sendable, Hashable {
    public var sequence: Int64
    public var at: Timestamp
    public var kind: AuditKind
    /// Who, as written (`auto`, `operator:sam(uid=1001)`).
    public var actor: String
    public var subject: String
    public var detail: [String: String]

    public init(
        sequence: Int64, at: Timestamp, kind: AuditKind, actor: String, subject: String, detail: [String: String]
    ) {
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.actor = actor
        self.subject = subject
        self.detail = detail
    }

    public var json: JSONValue {
        .object([
            "seq": .integer(sequence), "at": .string(at.rfc3339), "kind": .string(kind.rawValue),
            "actor": .string(actor),
            "subject": .string(subject), "detail": .object(detail.mapValues(JSONValue.string)),
        ])
    }

    init(_ reply: ReplyFields) throws(ControlError) {
        var detail: [String: String] = [:]
        if case .object(let fields)? = reply.value("detail") {
            for (key, value) in fields {
                guard case .string(let text) = value else {
                    throw ControlError(.badReply, "the audit entry's detail \(key) is not text")
                }
                detail[key] = text
            }
        }
        self.init(
            sequence: try reply.integer("seq"), at: try reply.timestamp("at"), kind: try reply.word("kind"),
            actor: try reply.string("actor"), subject: try reply.string("subject"), detail: detail)
    }
}

/// Reads a reply object's fields by name, refusing a reply that lacks one or has the wrong type.
struct ReplyFields {
    private let fields: [String: JSONValue]
    private let what: String

    init(_ value: JSONValue, _ what: String) throws(ControlError) {
        guard case .object(let fields) = value else {
            throw ControlError(.badReply, "the \(what) reply is not an object")
        }
        self.fields = fields
        self.what = what
    }

    /// The field, nil when absent or null.
    func value(_ name: String) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    private func missing(_ name: String, _ kind: String) -> ControlError {
        ControlError(.badReply, "the \(what) reply has no \(kind) \(name)")
    }

    func optionalString(_ name: String) throws(ControlError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else { throw missing(name, "text") }
        return text
    }

    func string(_ name: String) throws(ControlError) -> String {
        guard let text = try optionalString(name) else { throw missing(name, "text") }
        return text
    }

    /// A field holding one of a vocabulary's words.
    func word<Word: RawRepresentable<String>>(_ name: String) throws(ControlError) -> Word {
        guard let word = Word(rawValue: try string(name)) else {
            throw ControlError(.badReply, "the \(what) reply's \(name) is a word this version does not know")
        }
        return word
    }

    /// A field holding one of a vocabulary's words, nil when absent or null.
    func optionalWord<Word: RawRepresentable<String>>(_ name: String) throws(ControlError) -> Word? {
        guard value(name) != nil else { return nil }
        return try word(name) as Word
    }

    func optionalInteger<Integer: FixedWidthInteger>(_ name: String) throws(ControlError) -> Integer? {
        guard let value = value(name) else { return nil }
        guard case .number(let text) = value, let number = Integer(text) else { throw missing(name, "integer") }
        return number
    }

    func integer<Integer: FixedWidthInteger>(_ name: String) throws(ControlError) -> Integer {
        guard let number: Integer = try optionalInteger(name) else { throw missing(name, "integer") }
        return number
    }

    func bool(_ name: String) throws(ControlError) -> Bool {
        guard case .bool(let flag)? = value(name) else { throw missing(name, "true or false") }
        return flag
    }

    /// A weight in kg; below zero too, as an indicator reads a deck a little under its zero.
    func optionalMass(_ name: String) throws(ControlError) -> Mass? {
        guard let value = value(name) else { return nil }
        guard case .number(let text) = value, let mass = try? Mass(parsingSigned: text, defaultUnit: .kilograms) else {
            throw missing(name, "weight")
        }
        return mass
    }

    func mass(_ name: String) throws(ControlError) -> Mass {
        guard let mass = try optionalMass(name) else { throw missing(name, "weight") }
        return mass
    }

    func optionalTimestamp(_ name: String) throws(ControlError) -> Timestamp? {
        guard let text = try optionalString(name) else { return nil }
        guard let time = Timestamp(rfc3339: text) else { throw missing(name, "time") }
        return time
    }

    func timestamp(_ name: String) throws(ControlError) -> Timestamp {
        guard let time = try optionalTimestamp(name) else { throw missing(name, "time") }
        return time
    }

    func array(_ name: String) throws(ControlError) -> [JSONValue] {
        guard case .array(let items)? = value(name) else { throw missing(name, "list") }
        return items
    }

    func optionalObject(_ name: String) throws(ControlError) -> ReplyFields? {
        guard let value = value(name) else { return nil }
        return try ReplyFields(value, "\(what)'s \(name)")
    }
}

extension JSONValue {
    /// A JSON object held as its text (receipt data, a body sent), as the value it is; text that
    /// is not JSON stays text.
    public static func embedded(_ text: String) -> JSONValue {
        (try? JSONValue(parsing: Array(text.utf8))) ?? .string(text)
    }

    /// A weight in kg, as an exact decimal number.
    public static func mass(_ mass: Mass) -> JSONValue { .number(mass.formatted(in: .kilograms)) }

    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }

    static func optionalMass(_ mass: Mass?) -> JSONValue { mass.map(JSONValue.mass) ?? .null }
}
