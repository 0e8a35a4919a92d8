internal import WeighbridgeCore

// The decisions table: every rule decision and operator override.
extension StoreTransaction {
    /// Records a decision or override.
    public func recordDecision(_ record: DecisionRecord) throws(StoreError) {
        let identity: OperatorIdentity? = if case .operator(let who) = record.actor { who } else { nil }
        try connection.run(
            """
            INSERT INTO decisions (movement_id, outcome, reason, net_g, declared_g, deviation_percent, high_risk,
                actor, operator_name, operator_uid, note, decided_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(record.movementID), .text(record.outcome.rawValue), .optional(record.reason),
                .optional(record.net?.grams),
                .integer(record.declared.grams), .optional(record.deviationPercent), .integer(record.highRisk ? 1 : 0),
                .text(record.actor.description), .optional(identity?.name),
                .optional(identity?.uid.map(Int64.init)), .text(record.note),
                .integer(record.decidedAt.millisecondsSinceEpoch),
            ],
            operation: "record decision for \(record.movementID)")
        try appendAudit(
            AuditEvent(
                kind: .decision, by: record.actor, subject: record.movementID,
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
            SELECT outcome, reason, net_g, declared_g, deviation_percent, high_risk, operator_name, operator_uid, note,
                decided_at_ms, actor
            FROM decisions WHERE movement_id = ? ORDER BY id
            """, [.text(id)], operation: "read decisions"
        ) { row throws(StoreError) in
            // An operator is in their columns; any other decision must be the rules'.
            guard let outcome = DecisionOutcome(rawValue: row.text(0)),
                row.optionalText(6) != nil || row.text(10) == Actor.automatic.description
            else {
                throw StoreError(
                    code: .newerSchema, operation: "read decisions",
                    message: "a decision of \(id) reads \(row.text(0).debugDescription) by "
                        + "\(row.text(10).debugDescription), which this version does not know")
            }
            let actor: Actor =
                row.optionalText(6).map {
                    .operator(OperatorIdentity(uid: row.optionalInteger(7).map(UInt32.init), name: $0))
                }
                ?? .automatic
            return DecisionRecord(
                movementID: id, outcome: outcome, reason: row.optionalText(1),
                net: row.optionalInteger(2).map(Mass.init(grams:)), declared: Mass(grams: row.integer(3)),
                deviationPercent: row.optionalText(4), highRisk: row.integer(5) != 0, actor: actor, note: row.text(8),
                decidedAt: Timestamp(millisecondsSinceEpoch: row.integer(9)))
        }
    }
}
