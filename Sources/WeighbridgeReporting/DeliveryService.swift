internal import Synchronization
public import WeighbridgeCore
public import WeighbridgeJournal
public import WeighbridgeStore

/// How the delivery service paces itself.
public struct DeliverySettings: Sendable, Hashable {
    /// Requests in flight at most.
    public var maxInFlight: Int
    /// How long to wait before retrying an entry, by how many attempts it has had.
    public var backoff: Backoff
    /// Track Defra's two-working-day deadline and unresolved local Discrepancies (`defra-receipt`).
    public var tracksReceiptDeadline: Bool

    /// Settings from their parts.
    public init(maxInFlight: Int, backoff: Backoff, tracksReceiptDeadline: Bool) {
        self.maxInFlight = maxInFlight
        self.backoff = backoff
        self.tracksReceiptDeadline = tracksReceiptDeadline
    }
}

/// Drains the store's outbox through the API: sends an entry as soon as it is queued, at most
/// `maxInFlight` at a time, oldest first; backs off with full jitter and honours `Retry-After`;
/// pauses everything while the API rate-limits, is unreachable or wants paying, then sends one
/// request at a time until one succeeds; and records every attempt's outcome in the store (the
/// store, not this service, is the queue: a restart loses nothing).
public final class DeliveryService: Sendable {
    private let store: Store
    private let sender: ReportSender
    private let settings: DeliverySettings
    private let journal: Journal
    private let now: @Sendable () -> Timestamp
    private let calendar = WorkingCalendar()
    private let doorbell = Doorbell()
    private let state = Mutex(LoopState())

    private struct LoopState {
        /// Requests on the wire.
        var inFlight = 0
        /// Entries taken by this service whose outcome is not yet recorded: never taken twice.
        var unsettled: Set<Int64> = []
        /// Outcomes waiting for the next group commit, and whether one is being written.
        var outcomes: [(id: Int64, update: OutboxUpdate)] = []
        var committing = false
        var pausedUntil: Timestamp?
        /// After a pause: one request at a time until one is accepted.
        var probing = false
        var stopping = false
        var lastSweep: Timestamp?
        /// When the loop last went round (it does at least once a minute).
        var heartbeat: Timestamp?
        /// Deadline and service-charge alerts already given: key → when.
        var alerted: [String: Timestamp] = [:]
        /// Attempts by how they ended, for the metrics.
        var attempts: [String: Int] = [:]
    }

    /// A service draining `store`'s outbox through `sender`.
    public init(
        store: Store, sender: ReportSender, settings: DeliverySettings, journal: Journal,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.store = store
        self.sender = sender
        self.settings = settings
        self.journal = journal
        self.now = now
    }

    /// Something was queued or released: look at the outbox now rather than at the next timer.
    public func wake() { doorbell.ring() }

    /// Stops taking new entries; `run` returns once the requests in flight have finished.
    public func stop() {
        state.withLock { $0.stopping = true }
        doorbell.ring()
    }

    /// The number of requests in flight now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// Attempts since start by result: delivered, retry, parked, unknown, payment_required.
    public var attemptsByResult: [String: Int] { state.withLock { $0.attempts } }

    /// When the loop last went round: at least once a minute while it is healthy.
    public var heartbeat: Timestamp? { state.withLock { $0.heartbeat } }

    /// Runs until `stop()` (or cancellation, which abandons requests in flight: the store turns
    /// them back into pending, or `unknown` for a POST, when it is next opened).
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !state.withLock({ $0.stopping }) && !Task.isCancelled {
                let current = now()
                state.withLock { $0.heartbeat = current }
                await sweepIfDue(at: current)
                var waitUntil = current.adding(seconds: 60)
                let (capacity, pausedUntil) = state.withLock { loop -> (Int, Timestamp?) in
                    if let until = loop.pausedUntil, until > current { return (0, until) }
                    loop.pausedUntil = nil
                    let limit = loop.probing ? 1 : settings.maxInFlight
                    return (max(0, limit - loop.inFlight), nil)
                }
                if let pausedUntil {
                    waitUntil = min(waitUntil, pausedUntil)
                } else if capacity > 0 {
                    let taken = await take(upTo: capacity, at: current)
                    for (entry, facts) in taken {
                        group.addTask { await self.deliver(entry, facts: facts) }
                    }
                    // With every slot busy, a finishing request rings; otherwise the next due entry
                    // that is not already held (held ones ring when their outcome is written).
                    let held = state.withLock { $0.unsettled }
                    if taken.count < capacity,
                        let next = try? await store.read({ try $0.nextOutboxAttempt(excluding: held) })
                    {
                        waitUntil = min(waitUntil, next)
                    }
                }
                let delay = current.milliseconds(to: waitUntil)
                if delay > 0 { await doorbell.wait(upTo: .milliseconds(delay)) }
            }
        }
    }

    /// Takes up to `limit` due entries. A request that is safe to repeat goes out straight from
    /// `pending`; one that is not (Defra's POST) is first marked `sending` in the store, so that a
    /// crash mid-request leaves it `unknown` rather than silently resent.
    private func take(upTo limit: Int, at time: Timestamp) async -> [(entry: OutboxEntry, facts: ReportFacts?)] {
        let excluded = state.withLock { $0.unsettled }
        do {
            // The entries and everything their requests need, in one read.
            let due = try await store.read { transaction in
                try transaction.dueOutboxEntries(at: time, limit: limit, excluding: excluded).map { entry in
                    (entry, try Self.facts(for: entry, in: transaction))
                }
            }
            let unsafe = due.filter { !$0.0.idempotent }.map(\.0.id)
            if !unsafe.isEmpty { try await store.write(at: time) { try $0.markSending(unsafe) } }
            state.withLock { loop in
                loop.inFlight += due.count
                loop.unsettled.formUnion(due.map(\.0.id))
            }
            return due.map { (entry: $0.0, facts: $0.1) }
        } catch {
            journal.log(LogEvent(.error, "outbox: cannot take reports: \(error)"))
            return []
        }
    }

    /// What the request for `entry` needs from the store; nil when its movement is missing.
    private static func facts(for entry: OutboxEntry, in transaction: StoreTransaction) throws -> ReportFacts? {
        guard let declared = try transaction.declaredMovement(id: entry.movementID) else { return nil }
        return ReportFacts(
            movement: declared.movement, receipt: declared.receipt,
            gross: try transaction.weighing(ticket: entry.report.net.gross.ticket),
            tare: try entry.report.net.tareWeighing.flatMap { try transaction.weighing(ticket: $0.ticket) })
    }

    /// Records an outcome. Outcomes are written in groups: while one transaction commits, the
    /// outcomes that arrive meanwhile wait and go together in the next, so the disk's sync cost
    /// is shared instead of paid per report. An entry is released for another attempt only once
    /// its outcome is on disk.
    private func record(_ id: Int64, _ update: OutboxUpdate) async {
        let leader = state.withLock { loop -> Bool in
            loop.outcomes.append((id, update))
            guard !loop.committing else { return false }
            loop.committing = true
            return true
        }
        guard leader else { return }
        while true {
            let batch = state.withLock { loop -> [(id: Int64, update: OutboxUpdate)] in
                let batch = loop.outcomes
                loop.outcomes = []
                if batch.isEmpty { loop.committing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                try await store.write(at: now()) { transaction in
                    for (id, update) in batch { try transaction.updateOutboxEntry(id: id, update) }
                }
            } catch {
                // The entries keep their last recorded state (pending, or sending → unknown when
                // the store is next opened); the journal says which outcomes were not kept.
                journal.log(
                    LogEvent(
                        .error,
                        "reports \(batch.map { String($0.id) }.joined(separator: ", ")): "
                            + "cannot record the outcome: \(error)"))
            }
            state.withLock { loop in loop.unsettled.subtract(batch.map(\.id)) }
            doorbell.ring()
        }
    }

    private func deliver(_ entry: OutboxEntry, facts: ReportFacts?) async {
        let fields = [
            "MOVEMENT_ID": entry.movementID, "REPORT_ID": String(entry.id), "ATTEMPT": String(entry.attempts + 1),
        ]
        guard let facts else {
            // Not sent: its movement is not in the store. Kept, parked, for an operator.
            journal.log(LogEvent(.error, "report \(entry.id): its movement \(entry.movementID) is missing", fields))
            releaseSlot(after: nil)
            await record(
                entry.id,
                OutboxUpdate(
                    state: .parked, attempts: entry.attempts, nextAttemptAt: now(),
                    lastError: "not sent: movement \(entry.movementID) is missing from the store"))
            return
        }
        let outcome = await sender.send(entry, facts: facts)
        let attemptTime = now()
        var generator = SystemRandomNumberGenerator()
        let step = DeliveryRules.nextStep(
            after: outcome.verdict, attempts: entry.attempts, now: attemptTime, backoff: settings.backoff,
            using: &generator)
        let warnings = outcome.warnings.isEmpty ? nil : outcome.warnings.joined(separator: "\n")
        // The request is off the wire: its slot goes to the next entry while this outcome is
        // written (the entry itself stays unsettled, and is not taken again, until it is).
        releaseSlot(after: (outcome.verdict, step))
        await record(
            entry.id,
            OutboxUpdate(
                state: step.state, attempts: step.attempts, nextAttemptAt: step.nextAttemptAt,
                lastError: step.lastError, serverID: step.serverID, warnings: warnings))
        log(entry, outcome: outcome, step: step, fields: fields)
        if let expiry = outcome.serviceChargeExpiry { warnAboutServiceCharge(expiry, at: attemptTime) }
    }

    /// Frees a request's slot, first pausing or resuming the pace after what the API answered
    /// (nil when nothing was sent), and wakes the loop to fill it.
    private func releaseSlot(after answer: (verdict: DeliveryVerdict, step: OutboxStep)?) {
        state.withLock { loop in
            loop.inFlight -= 1
            guard let (verdict, step) = answer else { return }
            loop.attempts[verdict.result, default: 0] += 1
            switch verdict {
            case .delivered:
                loop.probing = false
            case .retry(_, _, pause: true), .paymentRequired:
                loop.pausedUntil = max(loop.pausedUntil ?? step.nextAttemptAt, step.nextAttemptAt)
                loop.probing = true
            case .retry, .refreshToken, .park, .unknown:
                break
            }
        }
        doorbell.ring()
    }

    private func log(_ entry: OutboxEntry, outcome: SendOutcome, step: OutboxStep, fields: [String: String]) {
        var fields = fields
        if let status = outcome.status { fields["HTTP_STATUS"] = String(status) }
        let what = "\(entry.kind.rawValue) for \(entry.movementID) (report \(entry.id))"
        switch outcome.verdict {
        case .delivered(let serverID):
            let id = serverID.map { ", tracking id \($0)" } ?? ""
            journal.log(LogEvent(.info, "\(what) accepted\(id)", fields))
            for warning in outcome.warnings {
                journal.log(LogEvent(.notice, "\(what): the API warns: \(warning)", fields))
            }
        case .retry(let reason, _, _), .paymentRequired(let reason):
            let severity: Severity = outcome.status == 402 ? .error : .warning
            journal.log(
                LogEvent(severity, "\(what) not delivered (\(reason)); next attempt \(step.nextAttemptAt)", fields))
        case .refreshToken:
            journal.log(LogEvent(.warning, "\(what): token refused twice", fields))
        case .park(let reason):
            journal.log(LogEvent(.error, "\(what) parked: \(reason); an operator must look", fields))
        case .unknown(let reason):
            journal.log(
                LogEvent(
                    .error,
                    "\(what) outcome unknown (\(reason)): check the Defra service, then `weighbridgectl resolve "
                        + "\(entry.id) --tracking-id ID` or `--resend`", fields))
        }
    }

    private func warnAboutServiceCharge(_ expiry: Timestamp, at time: Timestamp) {
        guard time.milliseconds(to: expiry) < 14 * 86_400_000 else { return }
        guard shouldAlert(key: "service-charge", at: time, every: 86_400) else { return }
        journal.log(
            LogEvent(.warning, "the Defra service charge expires at \(expiry): renew it before reports are refused"))
    }

    // MARK: Deadlines

    /// Once a minute: the legal deadline of every receipt not yet accepted (notice a day before,
    /// error hourly once missed), and local Discrepancies left unresolved for a working day.
    private func sweepIfDue(at time: Timestamp) async {
        guard settings.tracksReceiptDeadline else { return }
        let due = state.withLock { loop in
            if let last = loop.lastSweep, last.milliseconds(to: time) < 60_000 { return false }
            loop.lastSweep = time
            return true
        }
        guard due else { return }
        let waiting: [OutboxEntry]
        let discrepancies: [StoredMovement]
        do {
            (waiting, discrepancies) = try await store.read { transaction in
                (
                    try OutboxState.allCases.filter { $0 != .done }.flatMap {
                        try transaction.outboxEntries(state: $0)
                    },
                    try transaction.movements(state: .discrepancy)
                )
            }
        } catch {
            journal.log(LogEvent(.error, "deadline check: cannot read the store: \(error)"))
            return
        }
        for entry in waiting {
            let deadline = calendar.receiptDeadline(receivedAt: entry.report.net.firstWeighedAt)
            let fields = ["MOVEMENT_ID": entry.movementID, "REPORT_ID": String(entry.id)]
            if time >= deadline {
                if shouldAlert(key: "missed-\(entry.id)", at: time, every: 3600) {
                    journal.log(
                        LogEvent(
                            .error,
                            "receipt of \(entry.movementID) missed its legal deadline \(deadline) "
                                + "(report \(entry.id) is \(entry.state.rawValue))", fields))
                }
            } else if time.milliseconds(to: deadline) <= 86_400_000,
                shouldAlert(key: "near-\(entry.id)", at: time, every: 365 * 86_400)
            {
                journal.log(
                    LogEvent(
                        .notice,
                        "receipt of \(entry.movementID) is due by \(deadline) "
                            + "(report \(entry.id) is \(entry.state.rawValue))", fields))
            }
        }
        for movement in discrepancies
        where calendar.workingDaysElapsed(from: movement.updatedAt, to: time) >= 1 {
            let id = movement.lifecycle.movement.id
            guard shouldAlert(key: "discrepancy-\(id)", at: time, every: 3600) else { continue }
            journal.log(
                LogEvent(
                    .error,
                    "Discrepancy on \(id) unresolved for a working day: confirm or reject it, the legal "
                        + "deadline is running", ["MOVEMENT_ID": id]))
        }
    }

    private func shouldAlert(key: String, at time: Timestamp, every seconds: Int64) -> Bool {
        state.withLock { loop in
            if let last = loop.alerted[key], last.milliseconds(to: time) < seconds * 1000 { return false }
            loop.alerted[key] = time
            return true
        }
    }
}

/// Wakes a waiting loop early; a ring with nobody waiting is kept for the next wait.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a ring (or one that came since the last wait), or after `limit`.
    func wait(upTo limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

extension DeliveryVerdict {
    /// The metrics label of an attempt's result.
    var result: String {
        switch self {
        case .delivered: "delivered"
        case .retry, .refreshToken: "retry"
        case .park: "parked"
        case .unknown: "unknown"
        case .paymentRequired: "payment_required"
        }
    }
}
