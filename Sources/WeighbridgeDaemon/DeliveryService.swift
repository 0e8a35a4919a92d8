public import Logging
internal import Synchronization
public import WeighbridgeCore
internal import WeighbridgeJournal
public import WeighbridgeReporting
public import WeighbridgeStore

/// How the delivery service paces itself.
public struct DeliverySettings: Sendable, Hashable {
    /// Requests in flight at most.
    public var maxInFlight: Int
    /// How long to wait before retrying an entry, by how many attempts it has had.
    public var backoff: Backoff
    /// Track Defra's two-working-day deadline and unresolved local Discrepancies (`defra-receipt`).
    public var tracksReceiptDeadline: Bool

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
    private let logger: Logger
    private let now: @Sendable () -> Timestamp
    private let doorbell = Doorbell()
    private let state: Mutex<LoopState>

    private struct Outcome {
        var id: Int64
        /// The state the entry was taken in: the store refuses the step if it changed since.
        var from: OutboxState
        var update: OutboxUpdate
    }

    private struct LoopState {
        /// How many requests may go, and when.
        var pacer: DeliveryPacer
        /// Entries taken by this service whose outcome is not yet recorded, with their movements:
        /// never taken twice, and no other entry of their movement is taken meanwhile (one request
        /// per movement at a time, so that an older version never lands after a newer).
        var unsettled: [Int64: String] = [:]
        var held: Set<Int64> { Set(unsettled.keys) }
        var busyMovements: Set<String> { Set(unsettled.values) }
        /// Outcomes waiting for the next group commit, and whether one is being written.
        var outcomes: [Outcome] = []
        var committing = false
        /// Whether the reports a stopped daemon left in flight are settled (none is taken before).
        var interruptedSendsSettled = false
        /// While the store refuses writes (a full disk): when to try again, and refusals in a row.
        var storeRetryAt: Timestamp?
        var storeRefusals = 0
        var stopping = false
        /// When the loop last went round (it does at least once a minute), on the monotonic
        /// clock, with the wall clock's reading then (to notice a step of the wall clock).
        var heartbeat: ContinuousClock.Instant?
        var wallAtHeartbeat: Timestamp?
        /// When the deadline and service-charge alerts fall due.
        var alerts = ReceiptAlertSchedule()
        /// When a store refusal was last logged (at most once a minute while it lasts).
        var storeRefusalLoggedAt: Timestamp?
        /// Attempts by how they ended, for the metrics.
        var attempts: [String: Int] = [:]
        /// Receipts against their legal deadline, as the last sweep found them.
        var deadlines = ReceiptDeadlines()
    }

    /// A service draining `store`'s outbox through `sender`.
    public init(
        store: Store, sender: ReportSender, settings: DeliverySettings, logger: Logger,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.store = store
        self.sender = sender
        self.settings = settings
        self.logger = logger
        self.now = now
        state = Mutex(LoopState(pacer: DeliveryPacer(maxInFlight: settings.maxInFlight, backoff: settings.backoff)))
    }

    /// Something was queued or released: look at the outbox now rather than at the next timer.
    public func wake() { doorbell.ring() }

    /// Stops taking new entries; `run` returns once the requests in flight have finished.
    public func stop() {
        state.withLock { $0.stopping = true }
        doorbell.ring()
    }

    /// The number of requests in flight now.
    public var inFlight: Int { state.withLock { $0.pacer.inFlight } }

    /// Attempts since start by result: delivered, retry, parked, unknown, payment_required.
    public var attemptsByResult: [String: Int] { state.withLock { $0.attempts } }

    /// Receipts not yet accepted that are due within a day, or past their legal deadline, as the
    /// last sweep (once a minute, `defra-receipt`) found them.
    public var deadlines: ReceiptDeadlines { state.withLock { $0.deadlines } }

    /// When the loop last went round, on the monotonic clock: at least once a minute while it is
    /// healthy.
    public var heartbeat: ContinuousClock.Instant? { state.withLock { $0.heartbeat } }

    /// Runs until `stop()` (or cancellation, which abandons requests in flight: the store turns
    /// them back into pending, or `unknown` for a POST, when it is next opened).
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !state.withLock({ $0.stopping }) && !Task.isCancelled {
                let current = now()
                let step = state.withLock { loop -> Int64 in
                    let monotonic = ContinuousClock.now
                    defer {
                        loop.heartbeat = monotonic
                        loop.wallAtHeartbeat = current
                    }
                    guard let then = loop.heartbeat, let wallThen = loop.wallAtHeartbeat else { return 0 }
                    return wallThen.milliseconds(to: current) - (monotonic - then).wholeMilliseconds
                }
                if step < -Self.wallClockStepTolerance { await rebase(byMilliseconds: step, at: current) }
                await sweepIfDue(at: current)
                let waitUntil = await pass(at: current) { entry, facts in
                    group.addTask { await self.deliver(entry, facts: facts) }
                }
                let delay = current.milliseconds(to: waitUntil)
                if delay > 0 { await doorbell.wait(upTo: .milliseconds(delay)) }
            }
        }
    }

    /// What one pass of the loop does.
    private enum PassWork {
        /// Nothing may be read or written before then: the store refuses.
        case waitForStore(until: Timestamp)
        /// Settle what a stop left in flight, before anything is taken.
        case settleInterruptedSends
        /// What the pacer allows.
        case pace(DeliveryPacer.Next)
    }

    /// One pass of the loop: sends what is due and may go (through `start`), and says when the
    /// next pass is needed at the latest.
    private func pass(at current: Timestamp, start: (OutboxEntry, ReportFacts) -> Void) async -> Timestamp {
        let oneMinute = current.adding(seconds: 60)
        let work = state.withLock { loop -> PassWork in
            if let retryAt = loop.storeRetryAt, retryAt > current { return .waitForStore(until: retryAt) }
            if !loop.interruptedSendsSettled { return .settleInterruptedSends }
            return .pace(loop.pacer.next(at: current))
        }
        switch work {
        case .waitForStore(let until), .pace(.wait(let until)):
            return min(oneMinute, until)
        case .settleInterruptedSends:
            do {
                try await store.settleInterruptedSends(at: current)
                state.withLock { $0.interruptedSendsSettled = true }
                storeAccepted()
            } catch {
                storeRefused(error, doing: "settle the reports a stop left in flight", at: current)
            }
            return current
        case .pace(.checkAPI):
            let problem = await sender.checkAPIAnswers()
            let time = now()
            var generator = SystemRandomNumberGenerator()
            let until = state.withLock {
                $0.pacer.apiChecked(succeeded: problem == nil, at: time, using: &generator)
            }
            if let until, let problem { logPause(until: until, because: problem) }
            return current
        case .pace(.take(let capacity)):
            guard capacity > 0 else { return oneMinute }
            let taken = await take(upTo: capacity, at: current)
            for (entry, facts) in taken { start(entry, facts) }
            // With every slot busy, a finishing request rings; otherwise the next due entry that
            // is not already held (held ones ring when their outcome is written).
            let (held, busy) = state.withLock { ($0.held, $0.busyMovements) }
            guard taken.count < capacity,
                let next = try? await store.read({ try $0.nextOutboxAttempt(excluding: held, busyMovements: busy) })
            else { return oneMinute }
            return min(oneMinute, next)
        }
    }

    /// Takes up to `limit` due entries, at most one per movement and none of a movement with a
    /// report in flight. A request that is safe to repeat goes out straight from where it waited;
    /// one that is not (Defra's POST) is first marked `sending` in the store, so that a crash
    /// mid-request leaves it `unknown` rather than silently resent, and its data is read in that
    /// same write (a correction that came meanwhile is in it, or finds it sending). A due entry
    /// that cannot be read or sent as it stands is parked with the reason, in the same write.
    private func take(upTo limit: Int, at time: Timestamp) async -> [(entry: OutboxEntry, facts: ReportFacts)] {
        let (excluded, busy) = state.withLock { loop in (loop.held, loop.busyMovements) }
        do {
            // The entries and everything their requests need, in one read.
            let (sendable, refused) = try await store.read { transaction in
                let due = try transaction.dueOutboxEntries(
                    at: time, limit: limit, excluding: excluded, busyMovements: busy)
                var sendable: [(entry: OutboxEntry, facts: ReportFacts)] = []
                var refused = due.unreadable
                // One of each movement: the next of a movement goes when this one has settled.
                var movements = busy
                for entry in due.entries {
                    guard movements.insert(entry.movementID).inserted else { continue }
                    do {
                        sendable.append((entry, try Self.facts(for: entry, in: transaction)))
                    } catch let bad as UnreadableOutboxEntry {
                        refused.append(bad)
                    } catch {
                        // A store that cannot read now (an I/O error) is not a bad row: try later.
                        if let failure = error as? StoreError, failure.code != .corrupt { throw failure }
                        refused.append(
                            UnreadableOutboxEntry(
                                id: entry.id, state: entry.state, attempts: entry.attempts,
                                movementID: entry.movementID, reason: "its weighing cannot be read: \(error)"))
                    }
                }
                return (sendable, refused)
            }
            // An answer that came while the store was read may have paused delivery, or asked
            // for a health check before the next POST: nothing goes out then.
            let gated = state.withLock { $0.pacer.holdsBack(at: time) }
            let dispatchable = gated ? [] : sendable
            var factsAtDispatch: [Int64: ReportFacts] = [:]
            if !refused.isEmpty || dispatchable.contains(where: { !$0.entry.idempotent }) {
                factsAtDispatch = try await store.write(at: time) { transaction in
                    var facts: [Int64: ReportFacts] = [:]
                    for (entry, _) in dispatchable where !entry.idempotent {
                        // Read first: an entry whose data cannot be read now is left where it
                        // waits, for the next read to judge; the others still go.
                        guard let current = try? Self.facts(for: entry, in: transaction) else { continue }
                        try transaction.transitionOutboxEntry(
                            id: entry.id, from: entry.state,
                            OutboxUpdate(
                                event: .dispatch, attempts: entry.attempts, nextAttemptAt: entry.nextAttemptAt,
                                lastError: entry.lastError))
                        facts[entry.id] = current
                    }
                    for bad in refused {
                        guard let state = bad.state else { continue }
                        try transaction.transitionOutboxEntry(
                            id: bad.id, from: state,
                            OutboxUpdate(
                                event: .refusedLocally(bad.reason), attempts: bad.attempts, nextAttemptAt: time,
                                lastError: "not sent: \(bad.reason)"))
                    }
                    return facts
                }
                storeAccepted()
            }
            for bad in refused {
                logger.error(
                    "report \(bad.id) for \(bad.movementID) parked, not sent: \(bad.reason)",
                    metadata: ["MOVEMENT_ID": "\(bad.movementID)", "REPORT_ID": "\(bad.id)"])
            }
            let dispatched = dispatchable.compactMap { candidate -> (entry: OutboxEntry, facts: ReportFacts)? in
                guard !candidate.entry.idempotent else { return candidate }
                // A POST goes only as marked sending, with the data read in that same write.
                guard let facts = factsAtDispatch[candidate.entry.id] else { return nil }
                var entry = candidate.entry
                entry.state = .sending
                return (entry, facts)
            }
            state.withLock { loop in
                loop.pacer.dispatched(dispatched.count)
                for (entry, _) in dispatched { loop.unsettled[entry.id] = entry.movementID }
            }
            return dispatched
        } catch {
            storeRefused(error, doing: "take reports", at: time)
            return []
        }
    }

    /// The store refused a write or a read: nothing is taken or recorded until a backoff (1 s
    /// doubling to a minute) has passed, and the journal says so at most once a minute.
    private func storeRefused(_ error: any Error, doing what: String, at time: Timestamp) {
        let (refusals, logged) = state.withLock { loop -> (Int, Bool) in
            loop.storeRefusals += 1
            let wait = Self.storeBackoff.ceiling(attempt: loop.storeRefusals - 1)
            loop.storeRetryAt = time.adding(milliseconds: wait.wholeMilliseconds)
            let logged =
                loop.storeRefusals == 1 || loop.storeRefusalLoggedAt.map { $0.milliseconds(to: time) >= 60_000 } ?? true
            if logged { loop.storeRefusalLoggedAt = time }
            return (loop.storeRefusals, logged)
        }
        if logged {
            logger.error("outbox: cannot \(what) (\(refusals) times in a row): \(error)")
        }
    }

    private func storeAccepted() {
        state.withLock { loop in
            loop.storeRefusals = 0
            loop.storeRetryAt = nil
        }
    }

    private static let storeBackoff = Backoff(base: .seconds(1), cap: .seconds(60))

    /// How far the wall clock may drift from the monotonic one between two passes before it is
    /// taken as stepped.
    private static let wallClockStepTolerance: Int64 = 2_000

    /// The wall clock stepped back by `-milliseconds` (NTP correcting a clock that ran ahead):
    /// every waiting report's next attempt, and the pause, are moved back as far, so that none is
    /// delayed by the step. (A step forward only brings them sooner.)
    private func rebase(byMilliseconds milliseconds: Int64, at time: Timestamp) async {
        state.withLock { $0.pacer.clockStepped(byMilliseconds: milliseconds) }
        do {
            let moved = try await store.write(at: time) {
                try $0.shiftWaitingAttempts(byMilliseconds: milliseconds, writtenAfter: time)
            }
            logger.warning(
                """
                the wall clock stepped back \(-milliseconds / 1000) s: \(moved) waiting reports rescheduled \
                as far
                """)
        } catch {
            storeRefused(error, doing: "reschedule waiting reports after a clock step", at: time)
        }
    }

    /// What the request for `entry` needs from the store; throws `UnreadableOutboxEntry` when its
    /// movement is missing.
    private static func facts(for entry: OutboxEntry, in transaction: StoreTransaction) throws -> ReportFacts {
        guard let declared = try transaction.declaredMovement(id: entry.movementID) else {
            throw UnreadableOutboxEntry(
                id: entry.id, state: entry.state, attempts: entry.attempts, movementID: entry.movementID,
                reason: "movement \(entry.movementID) is missing from the store")
        }
        return ReportFacts(
            movement: declared.movement, receipt: declared.receipt,
            gross: try transaction.weighing(ticket: entry.report.net.gross.ticket),
            tare: try entry.report.net.tareWeighing.flatMap { try transaction.weighing(ticket: $0.ticket) })
    }

    /// Records an outcome: the step `update` of entry `id`, which was `from` when it was taken.
    /// Outcomes are written in groups: while one transaction commits, the outcomes that arrive
    /// meanwhile wait and go together in the next, so the disk's sync cost is shared instead of
    /// paid per report. An entry is released for another attempt only once its outcome is on
    /// disk; while the store refuses (a full disk), the outcomes wait in memory and the write is
    /// tried again after the store's backoff, so nothing is sent again meanwhile.
    private func record(_ id: Int64, from taken: OutboxState, _ update: OutboxUpdate) async {
        let leader = state.withLock { loop -> Bool in
            loop.outcomes.append(Outcome(id: id, from: taken, update: update))
            guard !loop.committing else { return false }
            loop.committing = true
            return true
        }
        guard leader else { return }
        while let (batch, retryAt) = nextOutcomes() {
            if let retryAt, case let wait = now().milliseconds(to: retryAt), wait > 0 {
                try? await Task.sleep(for: .milliseconds(wait))
            }
            let time = now()
            do {
                let refused = try await store.write(at: time) { transaction in
                    var refused: [(Outcome, StoreError)] = []
                    for outcome in batch {
                        do {
                            try transaction.transitionOutboxEntry(id: outcome.id, from: outcome.from, outcome.update)
                        } catch let error as StoreError
                            where [.conflict, .illegalTransition, .notFound].contains(error.code)
                        {
                            // Refused before anything of it was written: the others still go in.
                            refused.append((outcome, error))
                        }
                    }
                    return refused
                }
                storeAccepted()
                for (outcome, error) in refused {
                    logger.warning(
                        "report \(outcome.id): its outcome (\(outcome.update.event.name)) was not recorded: \(error.message)",
                        metadata: ["REPORT_ID": "\(outcome.id)"])
                }
            } catch {
                storeRefused(error, doing: "record the outcome of reports \(batch.map(\.id))", at: time)
                let stopping = state.withLock { loop -> Bool in
                    guard !loop.stopping, !Task.isCancelled else {
                        loop.committing = false
                        return true
                    }
                    loop.outcomes.insert(contentsOf: batch, at: 0)
                    return false
                }
                // Stopping (or cancelled): the store settles them when it is next opened (sending
                // → unknown for a POST, even one the API accepted; a PUT waits again and is
                // resent, which is safe).
                if stopping { return }
                continue
            }
            state.withLock { loop in
                for outcome in batch { loop.unsettled[outcome.id] = nil }
            }
            doorbell.ring()
        }
    }

    /// The outcomes waiting to be written, and when the store may be tried again; nil (and the
    /// leader steps down) when none waits.
    private func nextOutcomes() -> (batch: [Outcome], retryAt: Timestamp?)? {
        state.withLock { loop in
            guard !loop.outcomes.isEmpty else {
                loop.committing = false
                return nil
            }
            defer { loop.outcomes = [] }
            return (loop.outcomes, loop.storeRetryAt)
        }
    }

    private func deliver(_ entry: OutboxEntry, facts: ReportFacts) async {
        let fields: Logger.Metadata = [
            "MOVEMENT_ID": "\(entry.movementID)", "REPORT_ID": "\(entry.id)", "ATTEMPT": "\(entry.attempts + 1)",
        ]
        let outcome = await sender.send(OutgoingReport(entry), facts: facts)
        let attemptTime = now()
        var generator = SystemRandomNumberGenerator()
        let step = DeliveryRules.nextStep(
            after: outcome.verdict, attempts: entry.attempts, now: attemptTime, backoff: settings.backoff,
            using: &generator)
        let warnings = outcome.warnings.isEmpty ? nil : outcome.warnings.joined(separator: "\n")
        // The request is off the wire: its slot goes to the next entry while this outcome is
        // written (the entry itself stays unsettled, and is not taken again, until it is).
        releaseSlot(after: outcome.verdict, step: step, at: attemptTime)
        await record(
            entry.id, from: entry.state,
            OutboxUpdate(
                event: .answered(outcome.verdict), attempts: step.attempts, nextAttemptAt: step.nextAttemptAt,
                lastError: step.lastError, serverID: step.serverID, warnings: warnings, sentBody: outcome.sentBody))
        log(entry, outcome: outcome, step: step, fields: fields)
        if let expiry = outcome.serviceChargeExpiry { warnAboutServiceCharge(expiry, at: attemptTime) }
    }

    /// Frees a request's slot, the pace following what the API answered, and wakes the loop to
    /// fill it.
    private func releaseSlot(after verdict: DeliveryVerdict, step: OutboxStep, at time: Timestamp) {
        var generator = SystemRandomNumberGenerator()
        let pausedUntil = state.withLock { loop in
            loop.attempts[verdict.result, default: 0] += 1
            return loop.pacer.attemptFinished(
                verdict, nextAttemptAt: step.nextAttemptAt, at: time, using: &generator)
        }
        if let pausedUntil, case .unknown(let reason, _) = verdict { logPause(until: pausedUntil, because: reason) }
        doorbell.ring()
    }

    private func logPause(until: Timestamp, because reason: String) {
        logger.warning("reports paused until \(until): \(reason)")
    }

    private func log(_ entry: OutboxEntry, outcome: SendOutcome, step: OutboxStep, fields: Logger.Metadata) {
        var fields = fields
        if let status = outcome.status { fields["HTTP_STATUS"] = "\(status)" }
        let what = "\(entry.kind.rawValue) for \(entry.movementID) (report \(entry.id))"
        switch outcome.verdict {
        case .delivered(let serverID):
            let id = serverID.map { ", tracking id \($0)" } ?? ""
            logger.info("\(what) accepted\(id)", metadata: fields)
            for warning in outcome.warnings {
                logger.notice("\(what): the API warns: \(warning)", metadata: fields)
            }
        case .retry(let reason, _, _), .paymentRequired(let reason):
            let level: Logger.Level = outcome.status == 402 ? .error : .warning
            logger.log(
                level: level, "\(what) not delivered (\(reason)); next attempt \(step.nextAttemptAt)", metadata: fields)
        case .refreshToken:
            logger.warning("\(what): token refused twice", metadata: fields)
        case .park(let reason):
            logger.error("\(what) parked: \(reason); an operator must look", metadata: fields)
        case .unknown(let reason, _):
            logger.error(
                """
                \(what) outcome unknown (\(reason)): check the Defra service, then `weighbridgectl resolve \
                \(entry.id) --tracking-id ID` or `--resend`
                """, metadata: fields)
        }
    }

    private func warnAboutServiceCharge(_ expiry: Timestamp, at time: Timestamp) {
        if let alert = state.withLock({ $0.alerts.serviceCharge(expiresAt: expiry, at: time) }) { log(alert) }
    }

    // MARK: Deadlines

    /// Once a minute: the legal deadline of every load received and not yet accepted by the API
    /// (notice a day before, error hourly once missed): those whose report waits in the outbox in
    /// any state, and those with none yet (held for any reason, a local Discrepancy, waiting for
    /// its second weighing). Local Discrepancies left unresolved for a working day are named too.
    private func sweepIfDue(at time: Timestamp) async {
        guard settings.tracksReceiptDeadline else { return }
        guard state.withLock({ $0.alerts.sweepDue(at: time) }) else { return }
        let waiting: [OutboxEntry]
        let unreported: [StoredMovement]
        do {
            (waiting, unreported) = try await store.read { transaction in
                // A correction changes a receipt already accepted: it has no deadline of its own.
                let waiting = try OutboxState.allCases.filter { $0 != .done }.flatMap {
                    try transaction.outboxEntries(state: $0)
                }.filter { $0.kind != .correction }
                let queued = Set(waiting.map(\.movementID))
                let unreported = try [MovementState.held, .discrepancy, .weighing].flatMap {
                    try transaction.movements(state: $0)
                }.filter { !queued.contains($0.lifecycle.movement.id) }
                return (waiting, unreported)
            }
        } catch {
            logger.error("deadline check: cannot read the store: \(error)")
            return
        }
        let receipts =
            waiting.map { entry in
                UnacceptedReceipt(
                    movementID: entry.movementID, receivedAt: entry.report.net.firstWeighedAt,
                    why: "report \(entry.id) is \(entry.state.rawValue)", reportID: entry.id)
            }
            + unreported.compactMap { movement in
                movement.lifecycle.receivedAt.map { receivedAt in
                    let why =
                        movement.lifecycle.hold.map { "held: \($0)" }
                        ?? "the movement is \(movement.lifecycle.state.rawValue)"
                    return UnacceptedReceipt(
                        movementID: movement.lifecycle.movement.id, receivedAt: receivedAt,
                        why: "nothing sent yet, \(why)")
                }
            }
        let discrepancies = unreported.filter { $0.lifecycle.state == .discrepancy }.map {
            (movementID: $0.lifecycle.movement.id, raisedAt: $0.updatedAt)
        }
        let alerts = state.withLock { loop in
            let (deadlines, alerts) = loop.alerts.sweep(receipts, discrepancies: discrepancies, at: time)
            loop.deadlines = deadlines
            return alerts
        }
        for alert in alerts { log(alert) }
    }

    /// An alert, as its journal line.
    private func log(_ alert: ReceiptAlert) {
        switch alert {
        case .dueSoon(let receipt, let deadline):
            logger.notice(
                "receipt of \(receipt.movementID) is due by \(deadline) (\(receipt.why))",
                metadata: receipt.journalFields)
        case .missed(let receipt, let deadline):
            logger.error(
                "receipt of \(receipt.movementID) missed its legal deadline \(deadline) (\(receipt.why))",
                metadata: receipt.journalFields)
        case .discrepancyUnresolved(let id):
            logger.error(
                """
                Discrepancy on \(id) unresolved for a working day: confirm or reject it, the legal \
                deadline is running
                """, metadata: ["MOVEMENT_ID": "\(id)"])
        case .serviceChargeExpiring(let expiry):
            logger.warning("the Defra service charge expires at \(expiry): renew it before reports are refused")
        }
    }
}

extension UnacceptedReceipt {
    fileprivate var journalFields: Logger.Metadata {
        var fields: Logger.Metadata = ["MOVEMENT_ID": "\(movementID)"]
        if let reportID { fields["REPORT_ID"] = "\(reportID)" }
        return fields
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

extension OutgoingReport {
    /// The report an outbox entry holds, as the API is to receive it.
    init(_ entry: OutboxEntry) {
        self.init(
            report: entry.report, kind: entry.kind, idempotencyKey: entry.idempotencyKey, idempotent: entry.idempotent,
            serverID: entry.serverID)
    }
}
