import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON
import WeighbridgeStore

// How domain values appear in control replies: weights in kg as exact decimal numbers, times in
// RFC 3339, states by their stable names.

extension MovementLifecycle {
    var view: MovementView {
        var arrival: MovementView.Arrival?
        var firstWeighing: Int64?
        var weights: MovementView.Weights?
        switch stage {
        case .arrived(let bridge, let at, let identifiedVehicle):
            arrival = .init(bridge: bridge, at: at, vehicleIdentified: identifiedVehicle != nil)
        case .weighing(let first, _):
            firstWeighing = first.ticket
        case .decided(let net, let assessment, _), .confirmed(let net, let assessment, _),
            .discrepancy(let net, let assessment, _, _):
            weights = .init(
                gross: net.gross.weight, tare: net.tare, tareKind: net.tareKind, net: net.net,
                deviationPercent: assessment.deviation.percentText(), highRisk: assessment.highRisk.isHighRisk)
        case .expected, .rejected:
            break
        }
        let outcome: MovementView.Outcome? =
            switch stage {
            case .confirmed(_, _, let by): .confirmed(by: by.description)
            case .discrepancy(_, _, let reason, let by): .discrepancy(reason, raisedBy: by.description)
            case .rejected(let by, let reason): .rejected(reason: reason, by: Actor.operator(by).description)
            default: nil
            }
        return MovementView(
            movementID: movement.id, state: state, declared: movement.declared,
            ewcCodes: movement.ewcCodes.map(\.description), vehicle: movement.vehicle?.normalised,
            carrier: movement.carrier, prenotifiedAt: movement.prenotifiedAt, wasteTrackingID: movement.wasteTrackingID,
            hold: hold.map { .init(code: $0.code, reason: $0.description) }, arrival: arrival,
            firstWeighing: firstWeighing, weights: weights, outcome: outcome)
    }

    var json: JSONValue { view.json }
}

extension MovementUpdate {
    var json: JSONValue {
        guard case .object(var fields) = lifecycle.json else { return lifecycle.json }
        fields["queued_reports"] = .array(queued.map(\.json))
        return .object(fields)
    }
}

extension RecordedWeighing {
    var view: WeighingView {
        WeighingView(
            ticket: ticket, bridge: evidence.bridge, weight: evidence.weight, weighedAt: evidence.weighedAt,
            legalID: evidence.legalID, instrument: evidence.instrumentID)
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
