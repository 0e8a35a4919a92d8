import WeighbridgeControlProtocol
import WeighbridgeCore
import WeighbridgeJSON
import WeighbridgeStore

// How domain values appear in control replies: weights in kg as exact decimal numbers, times in
// RFC 3339, states by their stable names.

extension MovementLifecycle {
    var json: JSONValue {
        var fields: [String: JSONValue] = [
            "movement_id": .string(movement.id), "state": .string(state.rawValue),
            "declared_kg": .mass(movement.declared),
            "ewc_codes": .array(movement.ewcCodes.map { .string($0.description) }),
            "vehicle": movement.vehicle.map { .string($0.normalised) } ?? .null,
            "carrier": movement.carrier.map(JSONValue.string) ?? .null,
            "prenotified_at": movement.prenotifiedAt.map { .string($0.rfc3339) } ?? .null,
            "waste_tracking_id": movement.wasteTrackingID.map(JSONValue.string) ?? .null,
            "hold": hold.map { .object(["code": .string($0.code), "reason": .string($0.description)]) } ?? .null,
        ]
        switch stage {
        case .arrived(let bridge, let at, let identifiedVehicle):
            fields["bridge"] = .string(bridge)
            fields["arrived_at"] = .string(at.rfc3339)
            fields["vehicle_identified"] = .bool(identifiedVehicle != nil)
        case .weighing(let first, _):
            fields["first_weighing"] = .integer(first.ticket)
        case .decided(let net, let assessment, _), .confirmed(let net, let assessment, _),
            .discrepancy(let net, let assessment, _, _):
            fields["gross_kg"] = .mass(net.gross.weight)
            fields["tare_kg"] = .mass(net.tare)
            fields["tare_kind"] = .string(net.tareKind.rawValue)
            fields["net_kg"] = .mass(net.net)
            fields["deviation_percent"] = .string(assessment.deviation.percentText())
            fields["high_risk"] = .bool(assessment.highRisk.isHighRisk)
        case .expected, .rejected:
            break
        }
        switch stage {
        case .confirmed(_, _, let by): fields["confirmed_by"] = .string(by.description)
        case .discrepancy(_, _, let reason, let by):
            fields["discrepancy"] = .object(["reason": .string(reason.rawValue), "raised_by": .string(by.description)])
        case .rejected(let by, let reason):
            fields["rejected"] = .object(["by": .string(Actor.operator(by).description), "reason": .string(reason)])
        default: break
        }
        return .object(fields)
    }
}

extension MovementUpdate {
    var json: JSONValue {
        guard case .object(var fields) = lifecycle.json else { return lifecycle.json }
        fields["queued_reports"] = .array(queued.map(\.json))
        return .object(fields)
    }
}

extension RecordedWeighing {
    var json: JSONValue {
        .object([
            "ticket": .integer(ticket), "bridge": .string(evidence.bridge), "weight_kg": .mass(evidence.weight),
            "weighed_at": .string(evidence.weighedAt.rfc3339),
            "legal_id": evidence.legalID.map { .integer($0) } ?? .null,
            "instrument": evidence.instrumentID.map(JSONValue.string) ?? .null,
        ])
    }
}

extension DecisionRecord {
    var json: JSONValue {
        .object([
            "outcome": .string(outcome.rawValue), "reason": reason.map(JSONValue.string) ?? .null,
            "net_kg": net.map(JSONValue.mass) ?? .null, "declared_kg": .mass(declared),
            "deviation_percent": deviationPercent.map(JSONValue.string) ?? .null, "high_risk": .bool(highRisk),
            "by": .string(actor.description), "note": .string(note), "at": .string(decidedAt.rfc3339),
        ])
    }
}

extension OutboxEntry {
    var json: JSONValue {
        .object([
            "id": .integer(id), "movement_id": .string(movementID), "kind": .string(kind.rawValue),
            "state": .string(state.rawValue), "attempts": .integer(attempts),
            "next_attempt_at": .string(nextAttemptAt.rfc3339), "last_error": lastError.map(JSONValue.string) ?? .null,
            "server_id": serverID.map(JSONValue.string) ?? .null, "idempotency_key": .string(idempotencyKey),
            "created_at": .string(createdAt.rfc3339),
        ])
    }
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
