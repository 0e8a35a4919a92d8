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
        var weighed: MovementView.Net?
        switch stage {
        case .arrived(let bridge, let at, let identifiedVehicle):
            arrival = .init(bridge: bridge, at: at, vehicleIdentified: identifiedVehicle != nil)
        case .weighing(let first, _):
            firstWeighing = first.ticket
        case .decided(let net, let assessment, _), .confirmed(let net, let assessment, _),
            .discrepancy(let net, let assessment, _, _):
            weighed = .init(
                gross: net.gross.weight, tare: net.tare, tareKind: net.tareKind.rawValue, net: net.net,
                deviationPercent: assessment.deviation.percentText(), highRisk: assessment.highRisk.isHighRisk)
        case .expected, .rejected:
            break
        }
        let outcome: MovementView.Outcome? =
            switch stage {
            case .confirmed(_, _, let by): .confirmed(by: by.description)
            case .discrepancy(_, _, let reason, let by): .discrepancy(reason: reason.rawValue, raisedBy: by.description)
            case .rejected(let by, let reason): .rejected(by: Actor.operator(by).description, reason: reason)
            default: nil
            }
        return MovementView(
            movementID: movement.id, state: state, declared: movement.declared,
            ewcCodes: movement.ewcCodes.map(\.description), vehicle: movement.vehicle?.normalised,
            carrier: movement.carrier, prenotifiedAt: movement.prenotifiedAt, wasteTrackingID: movement.wasteTrackingID,
            hold: hold.map { .init(code: $0.code, reason: $0.description) }, arrival: arrival,
            firstWeighing: firstWeighing, net: weighed, outcome: outcome)
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
            outcome: outcome.rawValue, reason: reason, net: net, declared: declared, deviationPercent: deviationPercent,
            highRisk: highRisk, by: actor.description, note: note, at: decidedAt)
    }
}

extension OutboxEntry {
    var view: ReportView {
        ReportView(
            id: id, movementID: movementID, kind: kind.rawValue, state: state, attempts: attempts,
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
    var json: JSONValue {
        .object([
            "seq": .integer(sequence), "at": .string(at.rfc3339), "kind": .string(event.kind.rawValue),
            "actor": .string(event.actor), "subject": .string(event.subject),
            "detail": .object(event.detail.mapValues(JSONValue.string)),
        ])
    }
}
