public import WeighbridgeCore
public import WeighbridgeJSON

// The replies of the commands that list and change things (bridges, listings, tares, overrides,
// arrivals, the outbox), typed on both sides as the replies in ControlReplies.swift are.

/// A bridge as `bridges` and `weight` show it: its link, its last reading, and how polling goes.
public struct BridgeView: Sendable, Hashable {
    public var name: String
    /// "tcp 10.0.0.5:502" or "rtu /dev/ttyUSB0 9600 8E1".
    public var link: String
    public var connected: Bool
    /// The indicator's identification as recorded (`ServerIdentification.recorded`).
    public var instrumentID: String?
    /// Gross when the indicator gives it, else net.
    public var weight: Mass?
    public var net: Mass?
    public var tare: Mass?
    public var stable: Bool
    public var phase: CaptureStateMachine.Phase?
    public var readingAt: Timestamp?
    public var consecutiveFailures: Int
    public var lastError: String?
    public var captures: Int
    /// A capture held in memory because the store cannot write it yet (a full disk).
    public var heldWeighing: Mass?

    public init(
        name: String, link: String, connected: Bool, instrumentID: String?, weight: Mass?, net: Mass?, tare: Mass?,
        stable: Bool, phase: CaptureStateMachine.Phase?, readingAt: Timestamp?, consecutiveFailures: Int,
        lastError: String?, captures: Int, heldWeighing: Mass?
    ) {
        self.name = name
        self.link = link
        self.connected = connected
        self.instrumentID = instrumentID
        self.weight = weight
        self.net = net
        self.tare = tare
        self.stable = stable
        self.phase = phase
        self.readingAt = readingAt
        self.consecutiveFailures = consecutiveFailures
        self.lastError = lastError
        self.captures = captures
        self.heldWeighing = heldWeighing
    }

    public var json: JSONValue {
        .object([
            "name": .string(name), "link": .string(link), "connected": .bool(connected),
            "instrument_id": .optional(instrumentID), "weight_kg": .optionalMass(weight),
            "net_kg": .optionalMass(net), "tare_kg": .optionalMass(tare), "stable": .bool(stable),
            "phase": .optional(phase?.rawValue), "reading_at": .optional(readingAt?.rfc3339),
            "consecutive_failures": .integer(consecutiveFailures), "last_error": .optional(lastError),
            "captures": .integer(captures), "held_weighing_kg": .optionalMass(heldWeighing),
        ])
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "bridge")
        self.init(
            name: try reply.string("name"), link: try reply.string("link"), connected: try reply.bool("connected"),
            instrumentID: try reply.optionalString("instrument_id"), weight: try reply.optionalMass("weight_kg"),
            net: try reply.optionalMass("net_kg"), tare: try reply.optionalMass("tare_kg"),
            stable: try reply.bool("stable"), phase: try reply.optionalWord("phase"),
            readingAt: try reply.optionalTimestamp("reading_at"),
            consecutiveFailures: try reply.integer("consecutive_failures"),
            lastError: try reply.optionalString("last_error"), captures: try reply.integer("captures"),
            heldWeighing: try reply.optionalMass("held_weighing_kg"))
    }

    /// `bridges` (and `weight` without a bridge): every bridge, in configuration order.
    public static func list(json: JSONValue) throws(ControlError) -> [BridgeView] {
        guard case .array(let items) = json else { throw ControlError(.badReply, "the bridges reply is not a list") }
        return try items.map { item throws(ControlError) in try BridgeView(json: item) }
    }
}

/// A stored tare as `tare set` and `tare list` show it.
public struct TareView: Sendable, Hashable {
    public var vehicle: String
    public var tare: Mass
    public var setAt: Timestamp
    public var expiresAt: Timestamp
    /// Whether it could stand in for a tare weighing when the reply was made.
    public var valid: Bool

    /// The tare as stored, valid or not at `now`.
    public init(_ stored: StoredTare, at now: Timestamp) {
        vehicle = stored.vehicle.normalised
        tare = stored.tare
        setAt = stored.setAt
        expiresAt = stored.expiresAt
        valid = stored.isValid(at: now)
    }

    public var json: JSONValue {
        .object([
            "vehicle": .string(vehicle), "tare_kg": .mass(tare), "set_at": .string(setAt.rfc3339),
            "expires_at": .string(expiresAt.rfc3339), "valid": .bool(valid),
        ])
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "tare")
        vehicle = try reply.string("vehicle")
        tare = try reply.mass("tare_kg")
        setAt = try reply.timestamp("set_at")
        expiresAt = try reply.timestamp("expires_at")
        valid = try reply.bool("valid")
    }

    /// `tare list`: every stored tare.
    public static func list(json: JSONValue) throws(ControlError) -> [TareView] {
        guard case .array(let items) = json else { throw ControlError(.badReply, "the tare list is not a list") }
        return try items.map { item throws(ControlError) in try TareView(json: item) }
    }
}

/// A row a paged listing holds, and the field its page keeps the rows in.
public protocol ListedRow: Sendable, Hashable {
    static var listingField: String { get }
    var json: JSONValue { get }
    init(json: JSONValue) throws(ControlError)
}

extension MovementView: ListedRow {
    public static var listingField: String { "movements" }
}

extension ReportView: ListedRow {
    public static var listingField: String { "entries" }
}

/// One page of `movements` or `outbox`, newest first, and where the next, older page begins.
public struct ListingPage<Row: ListedRow>: Sendable, Hashable {
    public var rows: [Row]
    /// The `before` of the next page; nil on the last.
    public var nextBefore: Int64?

    public init(rows: [Row], nextBefore: Int64?) {
        self.rows = rows
        self.nextBefore = nextBefore
    }

    public var json: JSONValue {
        .object([Row.listingField: .array(rows.map(\.json)), "next_before": nextBefore.map { .integer($0) } ?? .null])
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "listing")
        rows = try reply.array(Row.listingField).map { row throws(ControlError) in try Row(json: row) }
        nextBefore = try reply.optionalInteger("next_before")
    }
}

/// What an override or `attach` did to a movement: where it stands now, and the
/// reports it put in the outbox.
public struct MovementChange: Sendable, Hashable {
    public var movement: MovementView
    public var queuedReports: [ReportView]

    public init(movement: MovementView, queuedReports: [ReportView]) {
        self.movement = movement
        self.queuedReports = queuedReports
    }

    public var json: JSONValue {
        var fields = movement.fields
        fields["queued_reports"] = .array(queuedReports.map(\.json))
        return .object(fields)
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "movement")
        movement = try MovementView(reply)
        queuedReports = try reply.array("queued_reports").map { report throws(ControlError) in
            try ReportView(json: report)
        }
    }
}

/// `arrive` and `depart`: whom the bridge now waits for, or no longer waits for.
public struct ArrivalChange: Sendable, Hashable {
    public var bridge: String
    /// "movement M-1" or "unidentified vehicle AB12CDE".
    public var subject: String
    /// When it was announced; nil when it was withdrawn.
    public var announcedAt: Timestamp?

    /// An announcement as made.
    public init(announced arrival: Arrival) {
        bridge = arrival.bridge
        subject = arrival.subject.label
        announcedAt = arrival.at
    }

    /// An announcement as withdrawn.
    public init(withdrawn arrival: Arrival) {
        bridge = arrival.bridge
        subject = arrival.subject.label
        announcedAt = nil
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = ["bridge": .string(bridge), "subject": .string(subject)]
        if let announcedAt { fields["at"] = .string(announcedAt.rfc3339) } else { fields["withdrawn"] = .bool(true) }
        return .object(fields)
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "arrival")
        bridge = try reply.string("bridge")
        subject = try reply.string("subject")
        announcedAt = try reply.optionalTimestamp("at")
    }
}

/// `correct`: the report queued to carry the corrected data (a PUT to the record Defra holds, or
/// none when the receipt waiting to go will carry it), and whether the correction comes after
/// the receipt's legal deadline.
public struct CorrectionReply: Sendable, Hashable {
    public var movementID: String
    public var queuedReport: ReportView?
    public var late: Bool
    public var deadline: Timestamp?

    public init(movementID: String, queuedReport: ReportView?, late: Bool, deadline: Timestamp?) {
        self.movementID = movementID
        self.queuedReport = queuedReport
        self.late = late
        self.deadline = deadline
    }

    public var json: JSONValue {
        .object([
            "movement_id": .string(movementID), "queued_report": queuedReport?.json ?? .null, "late": .bool(late),
            "deadline": .optional(deadline?.rfc3339),
        ])
    }

    public init(json: JSONValue) throws(ControlError) {
        let reply = try ReplyFields(json, "correction")
        movementID = try reply.string("movement_id")
        queuedReport = try reply.value("queued_report").map { report throws(ControlError) in
            try ReportView(json: report)
        }
        late = try reply.bool("late")
        deadline = try reply.optionalTimestamp("deadline")
    }
}

/// `retry`: how many reports were queued again.
public struct RetryReply: Sendable, Hashable {
    public var retried: Int

    public init(retried: Int) { self.retried = retried }

    public var json: JSONValue { .object(["retried": .integer(retried)]) }

    public init(json: JSONValue) throws(ControlError) {
        retried = try ReplyFields(json, "retry").integer("retried")
    }
}

/// `tare expire`: the vehicle whose stored tare no longer stands in for a tare weighing.
public struct TareExpiry: Sendable, Hashable {
    public var vehicle: String

    public init(vehicle: VehicleRegistration) { self.vehicle = vehicle.normalised }

    public var json: JSONValue { .object(["vehicle": .string(vehicle), "expired": .bool(true)]) }

    public init(json: JSONValue) throws(ControlError) {
        vehicle = try ReplyFields(json, "tare expire").string("vehicle")
    }
}
