/// What an audit entry records, one word each: the words the audit log has always stored (and
/// its hash chain covers), so they never change once written.
public enum AuditKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// A certified weighing was stored.
    case weighingRecorded = "weighing_recorded"
    /// A weighing matched no announced movement and waits to be attached.
    case weighingUnattributed = "weighing_unattributed"
    /// A movement was registered as expected (by hand, or fetched from the API).
    case movementExpected = "movement_expected"
    /// A vehicle was announced on a bridge.
    case arrival
    /// An announcement was taken back.
    case departure
    /// The rules, or an operator, decided a movement.
    case decision
    /// An operator overrode what the daemon would have done.
    case override
    /// A report was put in the outbox.
    case reportQueued = "report_queued"
    /// A report was sent, or tried.
    case reportAttempt = "report_attempt"
    /// A parked report was moved to the carrier's corrected waste tracking id.
    case reportRetargeted = "report_retargeted"
    /// A receipt's data was corrected.
    case receiptCorrected = "receipt_corrected"
    /// A vehicle's stored tare was set: only in logs from before a tare set or withdrawn was
    /// audited as one `override` entry, kept so that those logs still read.
    case tareSet = "tare_set"
    /// A vehicle's stored tare was withdrawn (older logs only, as `tareSet`).
    case tareExpired = "tare_expired"
}

/// What a decision on a movement was, as its record and the audit log name it.
public enum DecisionOutcome: String, Sendable, Hashable, CaseIterable, Codable {
    /// The movement waits for a person (below the minimum weight, an unregistered high-risk load, …).
    case held
    /// Received as declared, by the 5% rule or an operator.
    case confirmed
    /// Received, but not as declared.
    case discrepancy
    /// Turned away by an operator.
    case rejected
}

/// The result of checking the audit chain from its first entry to its last.
public enum AuditVerification: Sendable, Hashable, CustomStringConvertible {
    /// Every entry links to the one before, and every hash matches its content.
    case intact(entries: Int64, head: String)
    /// The first entry at which the chain breaks, and how.
    case broken(sequence: Int64, reason: String)

    public var description: String {
        switch self {
        case .intact(let entries, let head): "audit log intact: \(entries) entries, head \(head)"
        case .broken(let sequence, let reason): "audit log broken at entry \(sequence): \(reason)"
        }
    }
}
