public import WeighbridgeCore

/// A movement as stored: its lifecycle and the receipt data the `defra-receipt` profile sends.
public struct StoredMovement: Sendable, Hashable {
    public var lifecycle: MovementLifecycle
    /// The movement's `receipt` object as received (JSON text), passed through to the reporting
    /// profile, which alone knows its fields.
    public var receipt: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(lifecycle: MovementLifecycle, receipt: String?, createdAt: Timestamp, updatedAt: Timestamp) {
        self.lifecycle = lifecycle
        self.receipt = receipt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One decision or override, as the decisions table keeps it.
public struct DecisionRecord: Sendable, Hashable {
    public var movementID: String
    public var outcome: DecisionOutcome
    public var reason: String?
    public var net: Mass?
    public var declared: Mass
    public var deviationPercent: String?
    public var highRisk: Bool
    public var actor: Actor
    public var note: String
    public var decidedAt: Timestamp

    public init(
        movementID: String, outcome: DecisionOutcome, reason: String?, net: Mass?, declared: Mass,
        deviationPercent: String?, highRisk: Bool, actor: Actor, note: String, decidedAt: Timestamp
    ) {
        self.movementID = movementID
        self.outcome = outcome
        self.reason = reason
        self.net = net
        self.declared = declared
        self.deviationPercent = deviationPercent
        self.highRisk = highRisk
        self.actor = actor
        self.note = note
        self.decidedAt = decidedAt
    }
}

/// A report waiting in, or gone through, the outbox.
public struct OutboxEntry: Sendable, Hashable {
    public var id: Int64
    public var movementID: String
    public var kind: OutboxKind
    /// Whether resending is safe; a non-idempotent entry interrupted mid-send becomes `unknown`.
    public var idempotent: Bool
    /// Sent as `Idempotency-Key` (and in Defra's `otherReferencesForMovement`).
    public var idempotencyKey: String
    public var report: Report
    public var state: OutboxState
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    /// The identifier the API gave (Defra's `wasteTrackingId`).
    public var serverID: String?
    /// Warnings the API returned when it accepted the report, one per line.
    public var warnings: String?
    /// The body of the request last sent for it, as sent.
    public var sentBody: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
}

/// An outbox row that cannot be read whole: what is known of it, and why.
public struct UnreadableOutboxEntry: Error, Sendable, Hashable {
    public var id: Int64
    /// Nil when the state itself is unreadable.
    public var state: OutboxState?
    public var attempts: Int
    public var movementID: String
    public var reason: String

    /// What is known of an unreadable entry, and why it is unreadable.
    public init(id: Int64, state: OutboxState?, attempts: Int, movementID: String, reason: String) {
        self.id = id
        self.state = state
        self.attempts = attempts
        self.movementID = movementID
        self.reason = reason
    }
}

/// A step in an outbox entry's lifecycle, and what the entry records with it. The new state is
/// the lifecycle's (`OutboxLifecycle`), never the caller's.
public struct OutboxUpdate: Sendable, Hashable {
    public var event: OutboxEvent
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    public var serverID: String?
    /// Warnings the API returned with an acceptance; nil keeps those already stored.
    public var warnings: String?
    /// The body of the request the attempt sent; nil keeps the one already stored.
    public var sentBody: String?

    public init(
        event: OutboxEvent, attempts: Int, nextAttemptAt: Timestamp, lastError: String? = nil,
        serverID: String? = nil, warnings: String? = nil, sentBody: String? = nil
    ) {
        self.event = event
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.serverID = serverID
        self.warnings = warnings
        self.sentBody = sentBody
    }
}

/// What the store holds, counted, for monitoring.
public struct StoreCounts: Sendable, Hashable {
    public var weighings: Int64
    public var decisionsByOutcome: [String: Int64]
    public var outboxByState: [String: Int64]
    /// When the oldest report not yet accepted was queued.
    public var oldestWaitingSince: Timestamp?
}

/// One page of a listing, newest first, with the cursor that asks for the page below it.
public struct ListedPage<Row: Sendable>: Sendable {
    /// At most the page's limit of rows, newest first.
    public var rows: [Row]
    /// The `before` that lists the next, older rows; nil when there are none.
    public var nextBefore: Int64?

    /// A page from up to `limit + 1` rows read newest first, each with its cursor: the extra
    /// row, if there is one, only says that more follow.
    init(rows: [(cursor: Int64, row: Row)], limit: Int) {
        let kept = rows.prefix(limit)
        self.rows = kept.map(\.row)
        self.nextBefore = rows.count > limit ? kept.last?.cursor : nil
    }
}
