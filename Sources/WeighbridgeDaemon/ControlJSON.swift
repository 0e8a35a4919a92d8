import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON
import WeighbridgeStore

// The daemon's records as the control protocol's views: the protocol module builds its views from
// Core's values itself, but cannot see the store's and the desk's types.

extension MovementLifecycle {
    var json: JSONValue { MovementView(self).json }
}

extension MovementUpdate {
    var json: JSONValue { MovementChange(movement: MovementView(lifecycle), queuedReports: queued.map(\.view)).json }
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
}

extension AuditEntry {
    var view: AuditEntryView {
        AuditEntryView(
            sequence: sequence, at: at, kind: event.kind, actor: event.actor, subject: event.subject,
            detail: event.detail)
    }
}
