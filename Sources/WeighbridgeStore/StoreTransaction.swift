import Foundation
public import WeighbridgeCore

/// The named operations of one write transaction. Everything done through one value commits
/// together or not at all; callers never see SQL, so another backend can stand behind it.
public struct StoreTransaction {
    let connection: SQLiteConnection
    let heads: Heads
    /// The time the caller stamps this transaction's records with.
    public let now: Timestamp

    /// The next ticket number and the audit chain's head, remembered between transactions so a
    /// capture does not read them back each time. The store forgets them when a transaction
    /// rolls back.
    final class Heads {
        var nextTicket: Int64?
        var audit: (sequence: Int64, hash: [UInt8])?

        func forget() {
            nextTicket = nil
            audit = nil
        }
    }

    // MARK: Weighings

    /// Records a certified weighing with the next consecutive ticket number, and audits it.
    public func recordWeighing(_ evidence: WeighingEvidence) throws(StoreError) -> RecordedWeighing {
        let ticket: Int64
        if let next = heads.nextTicket {
            ticket = next
        } else {
            ticket = try connection.rows(
                "SELECT COALESCE(MAX(ticket), 0) + 1 FROM weighings",
                operation: "number weighing"
            ) { $0.integer(0) }[0]
        }
        let (route, detail) = evidence.route.stored
        try connection.run(
            """
            INSERT INTO weighings (ticket, bridge, weight_g, division_g, weighed_at_ms, status_flags, legal_id,
                instrument_id, raw_registers, route, route_detail, recorded_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(ticket), .text(evidence.bridge), .integer(evidence.weight.grams),
                .integer(evidence.division.grams), .integer(evidence.weighedAt.millisecondsSinceEpoch),
                .integer(Int64(evidence.status.rawValue)), .optional(evidence.legalID.map { Int64($0) }),
                .optional(evidence.instrumentID), .blob(evidence.rawRegisters.bigEndianBytes), .text(route),
                .optional(detail), .integer(now.millisecondsSinceEpoch),
            ],
            operation: "record weighing")
        heads.nextTicket = ticket + 1
        let recorded = RecordedWeighing(ticket: ticket, evidence: evidence, recordedAt: now)
        try appendAudit(
            AuditEvent(
                kind: .weighingRecorded, actor: "auto", subject: "ticket:\(ticket)",
                detail: [
                    "bridge": evidence.bridge, "weight_g": String(evidence.weight.grams),
                    "weighed_at": evidence.weighedAt.rfc3339, "route": route,
                    "legal_id": evidence.legalID.map { String($0) } ?? "",
                ]))
        return recorded
    }

    /// A weighing by ticket.
    public func weighing(ticket: Int64) throws(StoreError) -> RecordedWeighing? {
        try weighings(where: "w.ticket = ?", [.integer(ticket)]).first
    }

    /// The weighings bound to a movement, oldest first.
    public func weighings(ofMovement id: String) throws(StoreError) -> [RecordedWeighing] {
        try weighings(where: "w.ticket IN (SELECT ticket FROM weighing_bindings WHERE movement_id = ?)", [.text(id)])
    }

    /// Weighings bound to no movement: held for an operator to attach.
    public func unattributedWeighings() throws(StoreError) -> [RecordedWeighing] {
        try weighings(where: "w.ticket NOT IN (SELECT ticket FROM weighing_bindings)", [])
    }

    /// How many weighings belong to no visit, and the tickets of the newest `limit` of them,
    /// oldest first.
    public func unattributedTickets(newest limit: Int) throws(StoreError) -> (count: Int, tickets: [Int64]) {
        let unbound = "FROM weighings WHERE ticket NOT IN (SELECT ticket FROM weighing_bindings)"
        let tickets = try connection.rows(
            "SELECT ticket \(unbound) ORDER BY ticket DESC LIMIT ?", [.integer(Int64(limit))],
            operation: "read unattributed tickets"
        ) { $0.integer(0) }
        return (try count("SELECT count(*) \(unbound)", [], what: "unattributed weighings"), tickets.reversed())
    }

    /// Binds a weighing to a movement's visit. A weighing is bound once: binding it again fails
    /// with `.constraint`.
    public func bind(ticket: Int64, toMovement id: String, by actor: String) throws(StoreError) {
        try connection.run(
            "INSERT INTO weighing_bindings (ticket, movement_id, bound_by, bound_at_ms) VALUES (?, ?, ?, ?)",
            [.integer(ticket), .text(id), .text(actor), .integer(now.millisecondsSinceEpoch)],
            operation: "bind weighing \(ticket) to \(id)")
    }

    private func weighings(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [RecordedWeighing] {
        try connection.rows(
            """
            SELECT w.ticket, w.bridge, w.weight_g, w.division_g, w.weighed_at_ms, w.status_flags, w.legal_id,
                w.instrument_id, w.raw_registers, w.route, w.route_detail, w.recorded_at_ms
            FROM weighings w WHERE \(condition) ORDER BY w.ticket
            """, values, operation: "read weighings"
        ) { row throws(StoreError) in
            let route = try WeighingRoute(stored: row.text(9), detail: row.optionalText(10))
            let evidence = WeighingEvidence(
                bridge: row.text(1), weight: Mass(grams: row.integer(2)), division: Mass(grams: row.integer(3)),
                weighedAt: Timestamp(millisecondsSinceEpoch: row.integer(4)),
                status: IndicatorStatus(rawValue: UInt16(truncatingIfNeeded: row.integer(5))),
                legalID: row.optionalInteger(6).map { UInt32(truncatingIfNeeded: $0) },
                instrumentID: row.optionalText(7), rawRegisters: row.blob(8).registersFromBigEndian, route: route)
            return RecordedWeighing(
                ticket: row.integer(0), evidence: evidence,
                recordedAt: Timestamp(millisecondsSinceEpoch: row.integer(11)))
        }
    }

    // MARK: Movements

    /// Inserts or replaces a movement's stored state.
    public func saveMovement(_ lifecycle: MovementLifecycle, receipt: String?) throws(StoreError) {
        let json = try StoredJSON.encode(lifecycle, what: "movement \(lifecycle.movement.id)")
        try connection.run(
            """
            INSERT INTO movements (id, state, vehicle, lifecycle, receipt, created_at_ms, updated_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, vehicle = excluded.vehicle,
                lifecycle = excluded.lifecycle, receipt = excluded.receipt, updated_at_ms = excluded.updated_at_ms
            """,
            [
                .text(lifecycle.movement.id), .text(lifecycle.state.rawValue),
                .optional(lifecycle.movement.vehicle?.normalised), .text(json), .optional(receipt),
                .integer(now.millisecondsSinceEpoch), .integer(now.millisecondsSinceEpoch),
            ],
            operation: "save movement \(lifecycle.movement.id)")
    }

    /// A movement by id.
    public func movement(id: String) throws(StoreError) -> StoredMovement? {
        try movements(where: "id = ?", [.text(id)]).first
    }

    /// A movement's declared facts and its `receipt` object, without the rest of its lifecycle:
    /// what a report's request needs, at a fraction of the cost of reading the whole movement.
    public func declaredMovement(id: String) throws(StoreError) -> (movement: Movement, receipt: String?)? {
        try connection.rows(
            "SELECT json_extract(lifecycle, '$.movement'), receipt FROM movements WHERE id = ?", [.text(id)],
            operation: "read movement \(id)"
        ) { row throws(StoreError) in
            (try StoredJSON.decode(Movement.self, from: row.text(0), what: "movement \(id)"), row.optionalText(1))
        }.first
    }

    /// Movements, optionally only those in `state`, oldest first.
    public func movements(state: MovementState? = nil) throws(StoreError) -> [StoredMovement] {
        guard let state else { return try movements(where: "1", []) }
        return try movements(where: "state = ?", [.text(state.rawValue)])
    }

    /// One page of movements, optionally only in `state`, newest first: at most `limit`, all
    /// registered before the one whose cursor is `before` (the newest when nil).
    public func movements(state: MovementState?, before: Int64?, limit: Int) throws(StoreError)
        -> ListedPage<StoredMovement>
    {
        var condition = "rowid < ?"
        var values: [SQLValue] = [.integer(before ?? Int64.max)]
        if let state {
            condition += " AND state = ?"
            values.append(.text(state.rawValue))
        }
        values.append(.integer(Int64(limit) + 1))
        let rows = try movementRows(where: condition, values, then: "ORDER BY rowid DESC LIMIT ?")
        return ListedPage(rows: rows.map { ($0.cursor, $0.movement) }, limit: limit)
    }

    /// How many movements are in `state`, without reading them.
    public func movementCount(state: MovementState) throws(StoreError) -> Int {
        try count("SELECT count(*) FROM movements WHERE state = ?", [.text(state.rawValue)], what: "movements")
    }

    /// Movements still waiting for a vehicle or a weighing: the candidates for `arrive --vehicle`.
    public func openMovements(vehicle: VehicleRegistration) throws(StoreError) -> [Movement] {
        try movements(
            where: "vehicle = ? AND state IN ('expected', 'arrived', 'weighing')", [.text(vehicle.normalised)]
        )
        .map(\.lifecycle.movement)
    }

    private func movements(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [StoredMovement] {
        try movementRows(where: condition, values, then: "ORDER BY created_at_ms, id").map(\.movement)
    }

    /// Movements with their rowids (a listing's cursor), `then` ordering and limiting them.
    private func movementRows(where condition: String, _ values: [SQLValue], then ordering: String)
        throws(StoreError) -> [(cursor: Int64, movement: StoredMovement)]
    {
        try connection.rows(
            "SELECT id, lifecycle, receipt, created_at_ms, updated_at_ms, rowid FROM movements WHERE \(condition) "
                + ordering, values, operation: "read movements"
        ) { row throws(StoreError) in
            (
                cursor: row.integer(5),
                movement: StoredMovement(
                    lifecycle: try StoredJSON.decode(
                        MovementLifecycle.self, from: row.text(1), what: "movement \(row.text(0))"),
                    receipt: row.optionalText(2), createdAt: Timestamp(millisecondsSinceEpoch: row.integer(3)),
                    updatedAt: Timestamp(millisecondsSinceEpoch: row.integer(4)))
            )
        }
    }

    // MARK: Decisions

    /// Records a decision or override.
    public func recordDecision(_ record: DecisionRecord) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO decisions (movement_id, outcome, reason, net_g, declared_g, deviation_percent, high_risk,
                actor, note, decided_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(record.movementID), .text(record.outcome.rawValue), .optional(record.reason),
                .optional(record.net?.grams),
                .integer(record.declared.grams), .optional(record.deviationPercent), .integer(record.highRisk ? 1 : 0),
                .text(record.actor.description), .text(record.note), .integer(record.decidedAt.millisecondsSinceEpoch),
            ],
            operation: "record decision for \(record.movementID)")
        try appendAudit(
            AuditEvent(
                kind: .decision, actor: record.actor.description, subject: record.movementID,
                detail: [
                    "outcome": record.outcome.rawValue, "reason": record.reason ?? "",
                    "net_g": record.net.map { String($0.grams) } ?? "",
                    "declared_g": String(record.declared.grams), "deviation_percent": record.deviationPercent ?? "",
                    "high_risk": String(record.highRisk), "note": record.note,
                ]))
    }

    /// The decisions of a movement, oldest first.
    public func decisions(ofMovement id: String) throws(StoreError) -> [DecisionRecord] {
        try connection.rows(
            """
            SELECT outcome, reason, net_g, declared_g, deviation_percent, high_risk, actor, note, decided_at_ms
            FROM decisions WHERE movement_id = ? ORDER BY id
            """, [.text(id)], operation: "read decisions"
        ) { row throws(StoreError) in
            guard let outcome = DecisionOutcome(rawValue: row.text(0)), let actor = Actor(recorded: row.text(6)) else {
                throw StoreError(
                    code: .newerSchema, operation: "read decisions",
                    message: "a decision of \(id) reads \(row.text(0).debugDescription) by "
                        + "\(row.text(6).debugDescription), which this version does not know")
            }
            return DecisionRecord(
                movementID: id, outcome: outcome, reason: row.optionalText(1),
                net: row.optionalInteger(2).map(Mass.init(grams:)), declared: Mass(grams: row.integer(3)),
                deviationPercent: row.optionalText(4), highRisk: row.integer(5) != 0, actor: actor, note: row.text(7),
                decidedAt: Timestamp(millisecondsSinceEpoch: row.integer(8)))
        }
    }

    // MARK: Outbox

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
                kind: .reportQueued, actor: report.by.description, subject: report.movementID,
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
        id: Int64, from expected: OutboxState, _ update: OutboxUpdate, actor: String = "auto"
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
                kind: .reportAttempt, actor: actor, subject: "outbox:\(id)",
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
                kind: .reportRetargeted, actor: "auto", subject: "outbox:\(id)", detail: ["server_id": serverID]))
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

    private func count(_ sql: String, _ values: [SQLValue], what: String) throws(StoreError) -> Int {
        Int(try connection.rows(sql, values, operation: "count \(what)") { $0.integer(0) }.first ?? 0)
    }

    /// Counts for monitoring: weighings, decisions by outcome, outbox entries by state, and when
    /// the oldest entry not yet done was queued.
    public func counts() throws(StoreError) -> StoreCounts {
        let weighings = try connection.rows("SELECT COUNT(*) FROM weighings", [], operation: "count") { $0.integer(0) }
        let decisions = try connection.rows(
            "SELECT outcome, COUNT(*) FROM decisions GROUP BY outcome", [], operation: "count"
        ) { ($0.text(0), $0.integer(1)) }
        let outbox = try connection.rows(
            "SELECT state, COUNT(*), MIN(created_at_ms) FROM outbox GROUP BY state", [], operation: "count"
        ) { ($0.text(0), $0.integer(1), $0.integer(2)) }
        let waiting = outbox.filter { $0.0 != OutboxState.done.rawValue }.map(\.2).min()
        return StoreCounts(
            weighings: weighings.first ?? 0, decisionsByOutcome: Dictionary(uniqueKeysWithValues: decisions),
            outboxByState: Dictionary(uniqueKeysWithValues: outbox.map { ($0.0, $0.1) }),
            oldestWaitingSince: waiting.map(Timestamp.init(millisecondsSinceEpoch:)))
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
        for state in [OutboxState.pending, .retryWait] {
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

    // MARK: Stored tares

    /// Sets (or replaces) a vehicle's stored tare.
    public func setStoredTare(_ tare: StoredTare, by actor: String) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO stored_tares (vehicle, tare_g, set_at_ms, expires_at_ms, set_by) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (vehicle) DO UPDATE SET tare_g = excluded.tare_g, set_at_ms = excluded.set_at_ms,
                expires_at_ms = excluded.expires_at_ms, set_by = excluded.set_by
            """,
            [
                .text(tare.vehicle.normalised), .integer(tare.tare.grams), .integer(tare.setAt.millisecondsSinceEpoch),
                .integer(tare.expiresAt.millisecondsSinceEpoch), .text(actor),
            ],
            operation: "set stored tare of \(tare.vehicle)")
        try appendAudit(
            AuditEvent(
                kind: .tareSet, actor: actor, subject: tare.vehicle.normalised,
                detail: [
                    "tare_g": String(tare.tare.grams), "expires_at": tare.expiresAt.rfc3339,
                ]))
    }

    /// Ends a stored tare's validity now.
    public func expireStoredTare(vehicle: VehicleRegistration, by actor: String) throws(StoreError) {
        try connection.run(
            "UPDATE stored_tares SET expires_at_ms = MIN(expires_at_ms, ?) WHERE vehicle = ?",
            [.integer(now.millisecondsSinceEpoch), .text(vehicle.normalised)],
            operation: "expire stored tare of \(vehicle)")
        try appendAudit(AuditEvent(kind: .tareExpired, actor: actor, subject: vehicle.normalised))
    }

    /// A vehicle's stored tare, valid or not.
    public func storedTare(vehicle: VehicleRegistration) throws(StoreError) -> StoredTare? {
        try storedTares(where: "vehicle = ?", [.text(vehicle.normalised)]).first
    }

    /// Every stored tare.
    public func storedTares() throws(StoreError) -> [StoredTare] {
        try storedTares(where: "1", [])
    }

    private func storedTares(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [StoredTare] {
        try connection.rows(
            "SELECT vehicle, tare_g, set_at_ms, expires_at_ms FROM stored_tares WHERE \(condition) ORDER BY vehicle",
            values, operation: "read stored tares"
        ) { row throws(StoreError) in
            guard let vehicle = VehicleRegistration(row.text(0)) else {
                throw StoreError(code: .corrupt, operation: "read stored tares", message: "bad registration")
            }
            return StoredTare(
                vehicle: vehicle, tare: Mass(grams: row.integer(1)),
                setAt: Timestamp(millisecondsSinceEpoch: row.integer(2)),
                expiresAt: Timestamp(millisecondsSinceEpoch: row.integer(3)))
        }
    }

    // MARK: Arrivals

    /// The vehicles announced and not yet weighed.
    public func arrivalBoard() throws(StoreError) -> ArrivalBoard {
        let arrivals = try connection.rows("SELECT arrival FROM arrivals", operation: "read arrivals") {
            row throws(StoreError) in try StoredJSON.decode(Arrival.self, from: row.text(0), what: "arrival")
        }
        var pending: [String: [Arrival]] = [:]
        for arrival in arrivals.sorted(by: { $0.at < $1.at }) { pending[arrival.bridge, default: []].append(arrival) }
        return ArrivalBoard(pending: pending)
    }

    /// Replaces the stored arrivals with `board`.
    public func saveArrivalBoard(_ board: ArrivalBoard) throws(StoreError) {
        try connection.run("DELETE FROM arrivals", operation: "save arrivals")
        for arrival in board.pending.values.joined() {
            let subject: String
            switch arrival.subject {
            case .movement(let id): subject = "movement:\(id)"
            case .unidentifiedVehicle(let vehicle): subject = "vehicle:\(vehicle.normalised)"
            }
            try connection.run(
                "INSERT INTO arrivals (subject, bridge, arrival) VALUES (?, ?, ?)",
                [.text(subject), .text(arrival.bridge), .text(try StoredJSON.encode(arrival, what: "arrival"))],
                operation: "save arrivals")
        }
    }

    // MARK: Reference data

    /// A cached reference list (Defra's EWC codes, container types, …) and when it was fetched.
    public func referenceData(list: String) throws(StoreError) -> (body: String, fetchedAt: Timestamp)? {
        try connection.rows(
            "SELECT body, fetched_at_ms FROM reference_data WHERE list = ?", [.text(list)],
            operation: "read reference data"
        ) {
            ($0.text(0), Timestamp(millisecondsSinceEpoch: $0.integer(1)))
        }.first
    }

    /// Caches a reference list.
    public func saveReferenceData(list: String, body: String) throws(StoreError) {
        try connection.run(
            """
            INSERT INTO reference_data (list, body, fetched_at_ms) VALUES (?, ?, ?)
            ON CONFLICT (list) DO UPDATE SET body = excluded.body, fetched_at_ms = excluded.fetched_at_ms
            """, [.text(list), .text(body), .integer(now.millisecondsSinceEpoch)], operation: "cache reference data")
    }

    // MARK: Audit

    /// Appends an entry to the hash-chained audit log.
    @discardableResult
    public func appendAudit(_ event: AuditEvent) throws(StoreError) -> AuditEntry {
        var last = heads.audit
        if last == nil {
            last = try connection.rows(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                operation: "read audit head"
            ) { (sequence: $0.integer(0), hash: $0.blob(1)) }.first
        }
        let sequence = (last?.sequence ?? 0) + 1
        let previous = last?.hash ?? AuditChain.genesis
        let detail = AuditChain.canonicalDetail(event.detail)
        let hash = AuditChain.hash(
            previous: previous, sequence: sequence, at: now, kind: event.kind.rawValue,
            actor: event.actor, subject: event.subject, detail: detail)
        try connection.run(
            "INSERT INTO audit (seq, at_ms, kind, actor, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .integer(sequence), .integer(now.millisecondsSinceEpoch), .text(event.kind.rawValue),
                .text(event.actor),
                .text(event.subject), .text(detail), .blob(previous), .blob(hash),
            ],
            operation: "append audit")
        heads.audit = (sequence, hash)
        return AuditEntry(sequence: sequence, at: now, event: event)
    }

    /// The sequence number of the newest audit entry (0 when the log is empty).
    public func auditHeadSequence() throws(StoreError) -> Int64 {
        try connection.rows("SELECT COALESCE(MAX(seq), 0) FROM audit", operation: "read audit head") { $0.integer(0) }[
            0]
    }

    /// Whether a weighing already belongs to a visit.
    public func isBound(ticket: Int64) throws(StoreError) -> Bool {
        try !connection.rows(
            "SELECT 1 FROM weighing_bindings WHERE ticket = ?", [.integer(ticket)],
            operation: "read binding"
        ) { _ in true }.isEmpty
    }

    /// Audit entries after `sequence`, oldest first (for `audit` listings and `tail`).
    public func auditEntries(after sequence: Int64 = 0, limit: Int = 1_000) throws(StoreError) -> [AuditEntry] {
        try connection.rows(
            "SELECT seq, at_ms, kind, actor, subject, detail FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            [.integer(sequence), .integer(Int64(limit))], operation: "read audit"
        ) { row throws(StoreError) in
            let detail = (try? JSONDecoder().decode([String: String].self, from: Data(row.text(5).utf8))) ?? [:]
            guard let kind = AuditKind(rawValue: row.text(2)) else {
                throw StoreError(
                    code: .newerSchema, operation: "read audit",
                    message:
                        "entry \(row.integer(0)) is a \(row.text(2).debugDescription), which this version does not know"
                )
            }
            return AuditEntry(
                sequence: row.integer(0), at: Timestamp(millisecondsSinceEpoch: row.integer(1)),
                event: AuditEvent(kind: kind, actor: row.text(3), subject: row.text(4), detail: detail))
        }
    }
}

@available(*, unavailable)
extension StoreTransaction: Sendable {}

/// JSON for the few columns that hold a domain value whole (a lifecycle, a report).
enum StoredJSON {
    /// One of each, made once: making a coder costs about as much as using it on a small value.
    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    static func encode(_ value: some Encodable, what: String) throws(StoreError) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError(code: .other, operation: "encode \(what)", message: "\(error)")
        }
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from text: String, what: String) throws(StoreError)
        -> Value
    {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError(code: .corrupt, operation: "decode \(what)", message: "\(error)")
        }
    }
}

extension WeighingRoute {
    /// The route column and its detail.
    var stored: (String, String?) {
        switch self {
        case .movement(let id): ("movement", id)
        case .unidentifiedVehicle(let vehicle): ("unidentified_vehicle", vehicle.normalised)
        case .unannounced: ("unannounced", nil)
        case .ambiguous(let arrivals): ("ambiguous", try? StoredJSON.encode(arrivals, what: "candidates"))
        case .expired(let arrivals): ("expired", try? StoredJSON.encode(arrivals, what: "expired arrivals"))
        }
    }

    init(stored route: String, detail: String?) throws(StoreError) {
        switch (route, detail) {
        case ("movement", let id?): self = .movement(id)
        case ("unidentified_vehicle", let text?):
            guard let vehicle = VehicleRegistration(text) else { fallthrough }
            self = .unidentifiedVehicle(vehicle)
        case ("unannounced", _): self = .unannounced
        case ("ambiguous", let json?):
            self = .ambiguous(try StoredJSON.decode([Arrival].self, from: json, what: "candidates"))
        case ("expired", let json?):
            self = .expired(try StoredJSON.decode([Arrival].self, from: json, what: "expired arrivals"))
        default:
            throw StoreError(code: .corrupt, operation: "read weighing", message: "unknown route \(route)")
        }
    }
}

extension Array where Element == UInt16 {
    /// Registers as Modbus puts them on the wire: each big-endian.
    var bigEndianBytes: [UInt8] { flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
}

extension Array where Element == UInt8 {
    var registersFromBigEndian: [UInt16] {
        stride(from: 0, to: count - 1, by: 2).map { UInt16(self[$0]) << 8 | UInt16(self[$0 + 1]) }
    }
}
