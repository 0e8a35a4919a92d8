public import WeighbridgeCore

// The outbox table: reports waiting for, or gone through, the API.
extension StoreTransaction {
    /// Puts a report in the outbox, due now. The idempotency key is unique: enqueueing the same
    /// key twice fails with `.constraint` rather than sending twice. `serverID` is the API's id of
    /// the record it changes (a correction's `wasteTrackingId`).
    public func enqueue(
        _ report: Report, kind: OutboxKind, idempotent: Bool, idempotencyKey: String, serverID: String? = nil
    ) throws(StoreError) -> OutboxEntry {
        let json = try StoredJSON.encode(report, what: "report for \(report.movementID)")
        try connection.run(
            """
            INSERT INTO outbox (movement_id, kind, idempotent, idempotency_key, report, state, attempts,
                next_attempt_ms, server_id, created_at_ms, updated_at_ms)
            VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)
            """,
            [
                .text(report.movementID), .text(kind.rawValue), .integer(idempotent ? 1 : 0), .text(idempotencyKey),
                .text(json), .integer(now.millisecondsSinceEpoch), .optional(serverID),
                .integer(now.millisecondsSinceEpoch), .integer(now.millisecondsSinceEpoch),
            ],
            operation: "enqueue report for \(report.movementID)")
        let id = connection.lastInsertRowID
        try appendAudit(
            AuditEvent(
                kind: .reportQueued, by: report.by, subject: report.movementID,
                detail: ["outbox_id": String(id), "kind": kind.rawValue, "key": idempotencyKey]))
        return OutboxEntry(
            id: id, movementID: report.movementID, kind: kind, idempotent: idempotent,
            idempotencyKey: idempotencyKey, report: report, state: .pending, attempts: 0,
            nextAttemptAt: now, lastError: nil, serverID: serverID, warnings: nil, sentBody: nil, createdAt: now,
            updatedAt: now)
    }

    /// Entries due at `time` (pending, or retry_wait whose time has come), oldest first, leaving
    /// out `excluded` (those a sender already holds) and every entry of `busyMovements` (those
    /// with a request in flight). Reading them changes nothing. A due row that cannot be read
    /// whole (its report does not decode) comes back apart, so that one bad row never stands in
    /// the way of the others.
    public func dueOutboxEntries(
        at time: Timestamp, limit: Int, excluding excluded: Set<Int64> = [], busyMovements: Set<String> = []
    ) throws(StoreError) -> (entries: [OutboxEntry], unreadable: [UnreadableOutboxEntry]) {
        // Only the chosen entries are read whole (their reports decoded).
        let chosen = try waiting(dueBy: time, count: limit, excluding: excluded, busyMovements: busyMovements).map(
            \.id)
        guard !chosen.isEmpty else { return ([], []) }
        let rows = try outboxRows(
            where: "id IN (\(chosen.map { _ in "?" }.joined(separator: ",")))", chosen.map { .integer($0) })
        let order = Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ($1, $0) })
        var entries: [OutboxEntry] = []
        var unreadable: [UnreadableOutboxEntry] = []
        for row in rows {
            switch row {
            case .success(let entry): entries.append(entry)
            case .failure(let bad): unreadable.append(bad)
            }
        }
        return (entries.sorted { order[$0.id, default: 0] < order[$1.id, default: 0] }, unreadable)
    }

    /// Moves entry `id` through its lifecycle (`OutboxLifecycle`) and audits the step. The store
    /// refuses, before writing anything, a step the lifecycle does not allow, or one made from a
    /// state other than `expected` (what the caller read): someone else changed the entry
    /// meanwhile, and the caller's decision no longer applies.
    public func transitionOutboxEntry(
        id: Int64, from expected: OutboxState, _ update: OutboxUpdate, by actor: Actor = .automatic
    ) throws(StoreError) {
        let operation = "\(update.event.name) report \(id)"
        guard
            let (current, idempotent) = try connection.rows(
                "SELECT state, idempotent FROM outbox WHERE id = ?", [.integer(id)], operation: operation,
                { (OutboxState(rawValue: $0.text(0)), $0.integer(1) != 0) }
            ).first
        else { throw StoreError(code: .notFound, operation: operation, message: "no such outbox entry") }
        guard let current else {
            throw StoreError(code: .corrupt, operation: operation, message: "the entry's state is unreadable")
        }
        guard current == expected else {
            throw StoreError(
                code: .conflict, operation: operation,
                message: "the entry is \(current.rawValue), no longer \(expected.rawValue): it was changed meanwhile")
        }
        let next: OutboxState
        do {
            next = try OutboxLifecycle.next(from: current, on: update.event, idempotent: idempotent)
        } catch {
            throw StoreError(code: .illegalTransition, operation: operation, message: error.description)
        }
        try connection.run(
            """
            UPDATE outbox SET state = ?, attempts = ?, next_attempt_ms = ?, last_error = ?,
                server_id = COALESCE(?, server_id), warnings = COALESCE(?, warnings),
                sent_body = COALESCE(?, sent_body), updated_at_ms = ?
            WHERE id = ? AND state = ?
            """,
            [
                .text(next.rawValue), .integer(Int64(update.attempts)),
                .integer(update.nextAttemptAt.millisecondsSinceEpoch), .optional(update.lastError),
                .optional(update.serverID), .optional(update.warnings), .optional(update.sentBody),
                .integer(now.millisecondsSinceEpoch),
                .integer(id), .text(current.rawValue),
            ],
            operation: operation)
        // `dispatch` is not audited on its own: the attempt's outcome is, with its count.
        guard update.event != .dispatch else { return }
        try appendAudit(
            AuditEvent(
                kind: .reportAttempt, by: actor, subject: "outbox:\(id)",
                detail: [
                    "event": update.event.name, "state": next.rawValue, "attempts": String(update.attempts),
                    "error": update.lastError ?? "",
                    "server_id": update.serverID ?? "", "warnings": update.warnings ?? "",
                ]))
    }

    /// Points a parked entry at another record of the API (a carrier's `wasteTrackingId` put
    /// right after Defra answered 404 for the old one), and audits it. Only a parked entry moves:
    /// one that may be on its way keeps the record it was queued for.
    public func retargetParkedEntry(id: Int64, serverID: String) throws(StoreError) {
        let operation = "retarget report \(id)"
        try connection.run(
            "UPDATE outbox SET server_id = ?, updated_at_ms = ? WHERE id = ? AND state = 'parked'",
            [.text(serverID), .integer(now.millisecondsSinceEpoch), .integer(id)], operation: operation)
        guard connection.changes == 1 else {
            throw StoreError(code: .conflict, operation: operation, message: "the entry is no longer parked")
        }
        try appendAudit(
            AuditEvent(
                kind: .reportRetargeted, by: .automatic, subject: "outbox:\(id)", detail: ["server_id": serverID]))
    }

    /// Moves the next attempt of every waiting entry (pending or retry_wait) last written after
    /// `time` by `milliseconds`: after the wall clock stepped back, the entries scheduled on the
    /// old clock (whose writes are "in the future" now) are moved as far, so that the step delays
    /// none; those scheduled since keep their time. Returns how many moved.
    public func shiftWaitingAttempts(byMilliseconds milliseconds: Int64, writtenAfter time: Timestamp)
        throws(StoreError) -> Int
    {
        try connection.run(
            "UPDATE outbox SET next_attempt_ms = next_attempt_ms + ? "
                + "WHERE state IN ('pending', 'retry_wait') AND updated_at_ms > ?",
            [.integer(milliseconds), .integer(time.millisecondsSinceEpoch)], operation: "reschedule waiting reports")
        return connection.changes
    }

    /// Settles entries a stopped daemon left in flight (`sending`), as the lifecycle's
    /// `interrupted` event says: a request safe to repeat waits again, one that is not becomes
    /// `unknown`. Returns how many there were.
    @discardableResult
    public func settleInterruptedSends() throws(StoreError) -> Int {
        let interrupted = try connection.rows(
            "SELECT id, attempts, next_attempt_ms FROM outbox WHERE state = 'sending' ORDER BY id", [],
            operation: "read interrupted reports"
        ) { ($0.integer(0), Int($0.integer(1)), Timestamp(millisecondsSinceEpoch: $0.integer(2))) }
        for (id, attempts, nextAttemptAt) in interrupted {
            try transitionOutboxEntry(
                id: id, from: .sending,
                OutboxUpdate(
                    event: .interrupted, attempts: attempts, nextAttemptAt: nextAttemptAt,
                    lastError: "interrupted while sending (daemon stopped)"))
        }
        return interrupted.count
    }

    /// When the earliest waiting entry (pending or retry_wait) falls due, leaving out `excluded`
    /// (those a sender holds: pending in the store, but in flight) and the entries of
    /// `busyMovements` (their turn comes when their movement's request settles); nil when none waits.
    public func nextOutboxAttempt(excluding excluded: Set<Int64> = [], busyMovements: Set<String> = [])
        throws(StoreError) -> Timestamp?
    {
        try waiting(dueBy: nil, count: 1, excluding: excluded, busyMovements: busyMovements).first.map {
            Timestamp(millisecondsSinceEpoch: $0.due)
        }
    }

    /// The first `count` waiting entries (pending or retry_wait) by due time, due by `time` if
    /// given, leaving out `excluded`. One query per state, each walking the (state,
    /// next_attempt_ms) index in order: a single query over both states would sort the whole
    /// backlog on every call.
    private func waiting(
        dueBy time: Timestamp?, count: Int, excluding excluded: Set<Int64>, busyMovements: Set<String>
    ) throws(StoreError) -> [(due: Int64, id: Int64)] {
        let busy = busyMovements.sorted()
        let notBusy = busy.isEmpty ? "" : "AND movement_id NOT IN (\(busy.map { _ in "?" }.joined(separator: ", "))) "
        var candidates: [(due: Int64, id: Int64)] = []
        for state in OutboxState.awaitingAttempt {
            candidates += try connection.rows(
                "SELECT next_attempt_ms, id FROM outbox WHERE state = ? AND next_attempt_ms <= ? \(notBusy)"
                    + "ORDER BY next_attempt_ms, id LIMIT ?",
                [.text(state.rawValue), .integer(time?.millisecondsSinceEpoch ?? .max)] + busy.map { .text($0) }
                    + [.integer(Int64(count + excluded.count))],
                operation: "read outbox"
            ) { ($0.integer(0), $0.integer(1)) }
        }
        return Array(
            candidates.sorted { ($0.due, $0.id) < ($1.due, $1.id) }.filter { !excluded.contains($0.id) }.prefix(count))
    }

    /// An entry by id.
    public func outboxEntry(id: Int64) throws(StoreError) -> OutboxEntry? {
        try outboxEntries(where: "id = ?", [.integer(id)]).first
    }

    /// Entries, optionally only in `state`, oldest first.
    public func outboxEntries(state: OutboxState? = nil) throws(StoreError) -> [OutboxEntry] {
        guard let state else { return try outboxEntries(where: "1 ORDER BY id", []) }
        return try outboxEntries(where: "state = ? ORDER BY id", [.text(state.rawValue)])
    }

    /// One page of entries, optionally only in `state`, newest first: at most `limit`, all with
    /// an id below `before` (the newest when nil).
    public func outboxEntries(state: OutboxState?, before: Int64?, limit: Int) throws(StoreError)
        -> ListedPage<OutboxEntry>
    {
        var condition = "id < ?"
        var values: [SQLValue] = [.integer(before ?? Int64.max)]
        if let state {
            condition += " AND state = ?"
            values.append(.text(state.rawValue))
        }
        values.append(.integer(Int64(limit) + 1))
        let entries = try outboxEntries(where: condition + " ORDER BY id DESC LIMIT ?", values)
        return ListedPage(rows: entries.map { ($0.id, $0) }, limit: limit)
    }

    /// How many entries are in any of `states`, without reading them.
    public func outboxCount(states: [OutboxState]) throws(StoreError) -> Int {
        try count(
            "SELECT count(*) FROM outbox WHERE state IN (\(states.map { _ in "?" }.joined(separator: ", ")))",
            states.map { .text($0.rawValue) }, what: "outbox entries")
    }

    /// The entries of one movement, oldest first.
    public func outboxEntries(ofMovement id: String) throws(StoreError) -> [OutboxEntry] {
        try outboxEntries(where: "movement_id = ? ORDER BY id", [.text(id)])
    }

    private func outboxEntries(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [OutboxEntry] {
        try outboxRows(where: condition, values).map { row throws(StoreError) in
            switch row {
            case .success(let entry): return entry
            case .failure(let bad):
                throw StoreError(code: .corrupt, operation: "read outbox", message: "entry \(bad.id): \(bad.reason)")
            }
        }
    }

    private func outboxRows(where condition: String, _ values: [SQLValue]) throws(StoreError)
        -> [Result<OutboxEntry, UnreadableOutboxEntry>]
    {
        try connection.rows(
            """
            SELECT id, movement_id, kind, idempotent, idempotency_key, report, state, attempts, next_attempt_ms,
                last_error, server_id, created_at_ms, updated_at_ms, warnings, sent_body
            FROM outbox WHERE \(condition)
            """, values, operation: "read outbox"
        ) { row in
            let id = row.integer(0)
            let state = OutboxState(rawValue: row.text(6))
            let unreadable = { (reason: String) in
                Result<OutboxEntry, UnreadableOutboxEntry>.failure(
                    UnreadableOutboxEntry(
                        id: id, state: state, attempts: Int(row.integer(7)), movementID: row.text(1), reason: reason))
            }
            guard let kind = OutboxKind(rawValue: row.text(2)) else { return unreadable("unknown kind \(row.text(2))") }
            guard let state else { return unreadable("unknown state \(row.text(6))") }
            let report: Report
            do {
                report = try StoredJSON.decode(Report.self, from: row.text(5), what: "report")
            } catch {
                return unreadable("undecodable report: \(error)")
            }
            return .success(
                OutboxEntry(
                    id: id, movementID: row.text(1), kind: kind, idempotent: row.integer(3) != 0,
                    idempotencyKey: row.text(4), report: report, state: state, attempts: Int(row.integer(7)),
                    nextAttemptAt: Timestamp(millisecondsSinceEpoch: row.integer(8)), lastError: row.optionalText(9),
                    serverID: row.optionalText(10), warnings: row.optionalText(13), sentBody: row.optionalText(14),
                    createdAt: Timestamp(millisecondsSinceEpoch: row.integer(11)),
                    updatedAt: Timestamp(millisecondsSinceEpoch: row.integer(12))))
        }
    }
}
