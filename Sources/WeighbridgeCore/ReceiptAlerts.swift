/// A receipt the API has not accepted yet, as the deadline sweep finds it: its report waits in
/// the outbox, or nothing has been sent (held, a local Discrepancy, a second weighing to come).
public struct UnacceptedReceipt: Sendable, Hashable {
    public var movementID: String
    /// When the load was received (its first weighing): the deadline runs from then.
    public var receivedAt: Timestamp
    /// Why it is not accepted yet, in words for the alert ("report 7 is retry_wait").
    public var why: String
    /// The outbox entry that waits, if one does.
    public var reportID: Int64?

    public init(movementID: String, receivedAt: Timestamp, why: String, reportID: Int64? = nil) {
        self.movementID = movementID
        self.receivedAt = receivedAt
        self.why = why
        self.reportID = reportID
    }
}

/// Receipts not yet accepted by the API, against the two-working-day legal deadline.
public struct ReceiptDeadlines: Sendable, Hashable {
    /// Due within a day.
    public var dueWithinADay = 0
    /// Past their deadline.
    public var missed = 0

    public init(dueWithinADay: Int = 0, missed: Int = 0) {
        self.dueWithinADay = dueWithinADay
        self.missed = missed
    }
}

/// An alert the schedule says is due: the journal gives each as one line.
public enum ReceiptAlert: Sendable, Hashable {
    /// The receipt is due within a day.
    case dueSoon(UnacceptedReceipt, deadline: Timestamp)
    /// The receipt is past its legal deadline.
    case missed(UnacceptedReceipt, deadline: Timestamp)
    /// A local Discrepancy has waited a working day for an operator.
    case discrepancyUnresolved(movementID: String)
    /// Defra's service charge runs out soon; reports will be refused after it.
    case serviceChargeExpiring(at: Timestamp)
}

/// When the receipt deadline alerts are given (`defra-receipt`, docs/operators-guide.md): the sweep
/// runs at most once a minute; a receipt due within a day is named once; a missed one every hour;
/// a local Discrepancy unresolved for a working day every hour; a service charge that runs out
/// within 14 days once a day. Time is an input: the machine keeps only when it last said what.
public struct ReceiptAlertSchedule: Sendable {
    /// Between sweeps.
    public static let sweepInterval: Int64 = 60_000
    /// A receipt this close to its deadline is named (once).
    public static let dueSoonWindow: Int64 = 86_400_000
    /// A missed deadline, or an unresolved Discrepancy, is named again after this.
    public static let repeatInterval: Int64 = 3_600_000
    /// A service charge running out within this is warned about, once a day.
    public static let serviceChargeWindow: Int64 = 14 * 86_400_000
    public static let serviceChargeRepeat: Int64 = 86_400_000

    private enum Subject: Hashable {
        case dueSoon(String)
        case missed(String)
        case discrepancy(String)
        case serviceCharge
    }

    private let calendar: WorkingCalendar
    private var lastSweep: Timestamp?
    private var given: [Subject: Timestamp] = [:]

    public init(calendar: WorkingCalendar = WorkingCalendar()) {
        self.calendar = calendar
    }

    /// Whether a sweep is due at `time`; a due sweep counts as made.
    public mutating func sweepDue(at time: Timestamp) -> Bool {
        if let lastSweep, lastSweep.milliseconds(to: time) < Self.sweepInterval { return false }
        lastSweep = time
        return true
    }

    /// `receipts` against their deadlines at `time`, and the alerts due now: for the receipts in
    /// their order, then for the local Discrepancies (each with when it was raised).
    public mutating func sweep(
        _ receipts: [UnacceptedReceipt], discrepancies: [(movementID: String, raisedAt: Timestamp)],
        at time: Timestamp
    ) -> (deadlines: ReceiptDeadlines, alerts: [ReceiptAlert]) {
        var deadlines = ReceiptDeadlines()
        var alerts: [ReceiptAlert] = []
        for receipt in receipts {
            let deadline = calendar.receiptDeadline(receivedAt: receipt.receivedAt)
            if time >= deadline {
                deadlines.missed += 1
                if give(.missed(receipt.movementID), at: time, every: Self.repeatInterval) {
                    alerts.append(.missed(receipt, deadline: deadline))
                }
            } else if time.milliseconds(to: deadline) <= Self.dueSoonWindow {
                deadlines.dueWithinADay += 1
                if give(.dueSoon(receipt.movementID), at: time, every: nil) {
                    alerts.append(.dueSoon(receipt, deadline: deadline))
                }
            }
        }
        for (id, raisedAt) in discrepancies where calendar.workingDaysElapsed(from: raisedAt, to: time) >= 1 {
            if give(.discrepancy(id), at: time, every: Self.repeatInterval) {
                alerts.append(.discrepancyUnresolved(movementID: id))
            }
        }
        return (deadlines, alerts)
    }

    /// The warning due at `time` about a service charge that runs out at `expiry`, if any.
    public mutating func serviceCharge(expiresAt expiry: Timestamp, at time: Timestamp) -> ReceiptAlert? {
        guard time.milliseconds(to: expiry) < Self.serviceChargeWindow,
            give(.serviceCharge, at: time, every: Self.serviceChargeRepeat)
        else { return nil }
        return .serviceChargeExpiring(at: expiry)
    }

    /// Whether an alert about `subject` is due at `time` (never given, or last given `every`
    /// milliseconds ago or more; nil: only once); a due one counts as given.
    private mutating func give(_ subject: Subject, at time: Timestamp, every interval: Int64?) -> Bool {
        if let last = given[subject] {
            guard let interval, last.milliseconds(to: time) >= interval else { return false }
        }
        given[subject] = time
        return true
    }
}
