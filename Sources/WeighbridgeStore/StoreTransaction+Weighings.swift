public import WeighbridgeCore

// The weighings table: certified weighings with gap-free ticket numbers.
extension StoreTransaction {
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
                instrument_id, raw_registers, raw_frame, route, route_detail, recorded_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(ticket), .text(evidence.bridge), .integer(evidence.weight.grams),
                .integer(evidence.division.grams), .integer(evidence.weighedAt.millisecondsSinceEpoch),
                .integer(Int64(evidence.status.rawValue)), .optional(evidence.legalID.map { Int64($0) }),
                .optional(evidence.instrumentID), .blob(evidence.raw.storedRegisters),
                .optional(evidence.raw.storedFrame),
                .text(route),
                .optional(detail), .integer(now.millisecondsSinceEpoch),
            ],
            operation: "record weighing")
        heads.nextTicket = ticket + 1
        let recorded = RecordedWeighing(ticket: ticket, evidence: evidence, recordedAt: now)
        try appendAudit(
            AuditEvent(
                kind: .weighingRecorded, by: .automatic, subject: "ticket:\(ticket)",
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
    public func bind(ticket: Int64, toMovement id: String, by actor: Actor) throws(StoreError) {
        try connection.run(
            "INSERT INTO weighing_bindings (ticket, movement_id, bound_by, bound_at_ms) VALUES (?, ?, ?, ?)",
            [.integer(ticket), .text(id), .text(actor.description), .integer(now.millisecondsSinceEpoch)],
            operation: "bind weighing \(ticket) to \(id)")
    }

    private func weighings(where condition: String, _ values: [SQLValue]) throws(StoreError) -> [RecordedWeighing] {
        try connection.rows(
            """
            SELECT w.ticket, w.bridge, w.weight_g, w.division_g, w.weighed_at_ms, w.status_flags, w.legal_id,
                w.instrument_id, w.raw_registers, w.route, w.route_detail, w.recorded_at_ms, w.raw_frame
            FROM weighings w WHERE \(condition) ORDER BY w.ticket
            """, values, operation: "read weighings"
        ) { row throws(StoreError) in
            let route = try WeighingRoute(stored: row.text(9), detail: row.optionalText(10))
            let evidence = WeighingEvidence(
                bridge: row.text(1), weight: Mass(grams: row.integer(2)), division: Mass(grams: row.integer(3)),
                weighedAt: Timestamp(millisecondsSinceEpoch: row.integer(4)),
                status: IndicatorStatus(rawValue: UInt16(truncatingIfNeeded: row.integer(5))),
                legalID: row.optionalInteger(6).map { UInt32(truncatingIfNeeded: $0) },
                instrumentID: row.optionalText(7),
                raw: row.optionalBlob(12).map(RawEvidence.frame) ?? .registers(row.blob(8).registersFromBigEndian),
                route: route)
            return RecordedWeighing(
                ticket: row.integer(0), evidence: evidence,
                recordedAt: Timestamp(millisecondsSinceEpoch: row.integer(11)))
        }
    }
}

extension RawEvidence {
    /// The `raw_registers` column: the registers big-endian, empty for a frame.
    fileprivate var storedRegisters: [UInt8] {
        if case .registers(let registers) = self { registers.bigEndianBytes } else { [] }
    }

    /// The `raw_frame` column: the frame's bytes, nil for registers.
    fileprivate var storedFrame: [UInt8]? {
        if case .frame(let bytes) = self { bytes } else { nil }
    }
}
