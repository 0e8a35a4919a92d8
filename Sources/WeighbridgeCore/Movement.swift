/// A waste movement the site expects to receive.
public struct Movement: Sendable, Hashable, Codable {
    /// The movement's identifier (the brief's UUID, or the site's own reference).
    public var id: String
    /// The declared net weight, always positive.
    public var declared: Mass
    /// One or more EWC codes.
    public var ewcCodes: [EWCCode]
    /// The vehicle expected to bring it, if known.
    public var vehicle: VehicleRegistration?
    /// The carrier's name, if known.
    public var carrier: String?
    /// When the load was pre-notified, if it was.
    public var prenotifiedAt: Timestamp?
    /// The `wasteTrackingId` the carrier already created in Defra's service for this movement,
    /// if it did: the receipt then updates that record (`PUT`) instead of creating one.
    public var wasteTrackingID: String?

    /// Validates and builds a movement: an id, a positive declared weight and at least one code.
    public init(
        id: String, declared: Mass, ewcCodes: [EWCCode], vehicle: VehicleRegistration? = nil,
        carrier: String? = nil, prenotifiedAt: Timestamp? = nil, wasteTrackingID: String? = nil
    ) throws(MovementError) {
        let trimmedID = id.trimmingWhitespace
        guard !trimmedID.isEmpty, trimmedID.count <= 128, !trimmedID.containsControlCharacters else {
            throw .invalidID(id)
        }
        guard declared.grams > 0 else { throw .declaredNotPositive(declared) }
        guard !ewcCodes.isEmpty else { throw .noEWCCode }
        if let wasteTrackingID { try Self.check(wasteTrackingID: wasteTrackingID) }
        self.id = trimmedID
        self.declared = declared
        self.ewcCodes = ewcCodes
        self.vehicle = vehicle
        self.carrier = carrier
        self.prenotifiedAt = prenotifiedAt
        self.wasteTrackingID = wasteTrackingID
    }

    /// A `wasteTrackingId` as Defra issues them ("26ABC123"): letters, digits and hyphens, 4 to
    /// 40 of them. Anything else is a typing or scanning error, refused before it reaches a URL.
    public static func check(wasteTrackingID id: String) throws(MovementError) {
        guard (4...40).contains(id.count),
            id.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            })
        else { throw .invalidWasteTrackingID(id) }
    }

    /// The codes among `reported` that are not the movement's own: the site's rules (the
    /// high-risk pre-notification rule above all) judged only `ewcCodes`, so a report may carry
    /// no other.
    public func codesNotJudged(_ reported: [EWCCode]) -> [EWCCode] {
        reported.filter { !ewcCodes.contains($0) }
    }
}

/// Why a movement is not valid.
public enum MovementError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidID(String)
    case declaredNotPositive(Mass)
    case noEWCCode
    case invalidWasteTrackingID(String)

    public var description: String {
        switch self {
        case .invalidID(let id):
            "movement id \(id.debugDescription) must be 1 to 128 characters, without control characters"
        case .declaredNotPositive(let mass): "declared weight \(mass) must be more than zero"
        case .noEWCCode: "a movement needs at least one EWC code"
        case .invalidWasteTrackingID(let id):
            "waste tracking id \(id.debugDescription) must be 4 to 40 letters, digits or hyphens (as Defra issues them, e.g. 26ABC123)"
        }
    }
}

/// A report that must leave the site through the outbox.
public struct Report: Sendable, Hashable, Codable {
    /// Confirmation or Discrepancy.
    public enum Kind: Sendable, Hashable, Codable {
        case confirmation
        case discrepancy(DiscrepancyReason, note: String)
    }

    public var kind: Kind
    public var movementID: String
    public var net: NetWeighing
    public var assessment: Assessment
    public var by: Actor
    public var at: Timestamp
}

/// What the lifecycle asks its caller to do besides persisting the new state.
public enum MovementAction: Sendable, Hashable {
    /// Put this report in the outbox, in the same transaction as the new state.
    case report(Report)
    /// Tell people: the caller logs it at `notice.severity`.
    case notify(MovementNotice)
}

/// Something about a movement that people must hear of.
public enum MovementNotice: Sendable, Hashable {
    case confirmed(by: Actor)
    case discrepancyRaised(DiscrepancyReason)
    /// Held locally as a Discrepancy because the profile has no way to report one.
    case discrepancyHeldLocally(DiscrepancyReason)
    case held(HoldReason)
    case released
    case rejected
    /// A high-risk load was received (always flagged).
    case highRiskReceived(PrenotificationStatus)

    /// How loud: warning for what needs a person, info for normal flow (docs/configuration.md,
    /// "journald").
    public var severity: Severity {
        switch self {
        case .confirmed, .released, .rejected: .info
        case .discrepancyRaised, .discrepancyHeldLocally, .held: .warning
        case .highRiskReceived(.missing), .highRiskReceived(.late): .warning
        case .highRiskReceived: .notice
        }
    }
}

/// Log severities, as syslog/journald priorities.
public enum Severity: Int, Sendable, Hashable, Comparable, CaseIterable {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue > rhs.rawValue }
}

/// Where a report stands in the outbox (docs/reporting.md, "The outbox").
public enum OutboxState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Written with its decision; not yet sent.
    case pending
    /// A request is in flight.
    case sending
    /// Accepted by the API.
    case done
    /// Failed in a way worth retrying; waits for its next attempt time.
    case retryWait = "retry_wait"
    /// Rejected permanently; an operator must look.
    case parked
    /// Sent, but whether it arrived cannot be known (a non-idempotent POST); an operator decides.
    case unknown

    /// The states whose report waits for its next attempt time, and that delivery sends from.
    public static let awaitingAttempt: [OutboxState] = [.pending, .retryWait]

    /// Whether a report in this state waits for its next attempt time.
    public var awaitsAttempt: Bool { Self.awaitingAttempt.contains(self) }
}

extension StringProtocol {
    /// Whether the text holds a control character (C0, DEL, C1) or a line or paragraph
    /// separator: text from outside that reaches the journal, a terminal or an HTTP header must
    /// not be able to start a line, move the cursor or end a header.
    public var containsControlCharacters: Bool {
        unicodeScalars.contains {
            $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
        }
    }
}
