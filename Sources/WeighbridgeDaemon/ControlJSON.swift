import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON
import WeighbridgeStore

// How domain values appear in control replies: weights in kg as exact decimal numbers, times in
// RFC 3339, states by their stable names.

extension MovementLifecycle {
    var json: JSONValue { MovementView(self).json }
}

extension MovementUpdate {
    var json: JSONValue {
        guard case .object(var fields) = lifecycle.json else { return lifecycle.json }
        fields["queued_reports"] = .array(queued.map(\.json))
        return .object(fields)
    }
}

extension DecisionRecord {
    var view: DecisionView {
        DecisionView(
            outcome: outcome, reason: reason, net: net, declared: declared, deviationPercent: deviationPercent,
            highRisk: highRisk, by: actor.description, note: note, at: decidedAt)
    }
}

extension OutboxEntry {
    var view: ReportView {
        ReportView(
            id: id, movementID: movementID, kind: kind, state: state, attempts: attempts,
            nextAttemptAt: nextAttemptAt, lastError: lastError, serverID: serverID, idempotencyKey: idempotencyKey,
            createdAt: createdAt)
    }

    var json: JSONValue { view.json }
}

extension StoredTare {
    func json(at now: Timestamp) -> JSONValue {
        .object([
            "vehicle": .string(vehicle.normalised), "tare_kg": .mass(tare), "set_at": .string(setAt.rfc3339),
            "expires_at": .string(expiresAt.rfc3339), "valid": .bool(isValid(at: now)),
        ])
    }
}

extension AuditEntry {
    var view: AuditEntryView {
        AuditEntryView(
            sequence: sequence, at: at, kind: event.kind, actor: event.actor, subject: event.subject,
            detail: event.detail)
    }
}
