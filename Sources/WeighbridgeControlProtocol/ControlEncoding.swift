public import WeighbridgeCore
internal import WeighbridgeJSON

// The client's side of the wire: a typed command as the request line `ControlRequest.decode`
// reads back, field for field. weighbridgectl builds commands, never dictionaries.

extension ControlRequest {
    /// The request as one line of JSON, newline included.
    public var line: String {
        var fields = command.fields
        fields["v"] = .integer(Int64(ControlProtocol.version))
        fields["cmd"] = .string(command.name.rawValue)
        if let id { fields["id"] = id }
        return JSONValue.object(fields).serialized + "\n"
    }
}

extension ControlCommand {
    /// The command's name on the wire.
    public var name: CommandName {
        switch self {
        case .status: .status
        case .bridges: .bridges
        case .weight: .weight
        case .expect: .expect
        case .arrive: .arrive
        case .depart: .depart
        case .movements: .movements
        case .show: .show
        case .confirm: .confirm
        case .discrepancy: .discrepancy
        case .reject: .reject
        case .hold: .hold
        case .release: .release
        case .attach: .attach
        case .correct: .correct
        case .tareSet: .tareSet
        case .tareList: .tareList
        case .tareExpire: .tareExpire
        case .outbox: .outbox
        case .retry: .retry
        case .park: .park
        case .resolve: .resolve
        case .auditVerify: .auditVerify
        case .tail: .tail
        }
    }

    /// The arguments, as the daemon reads them.
    var fields: [String: JSONValue] {
        switch self {
        case .status, .bridges, .tareList, .auditVerify, .tail:
            return [:]
        case .weight(let bridge):
            return bridge.map { ["bridge": .string($0)] } ?? [:]
        case .expect(let arguments):
            return arguments.fields
        case .arrive(let bridge, let target, let trackingID):
            var fields = target.fields
            fields["bridge"] = .string(bridge)
            if let trackingID { fields["tracking_id"] = .string(trackingID) }
            return fields
        case .depart(let target):
            return target.fields
        case .movements(let state, let page):
            var fields = page.fields
            if let state { fields["state"] = .string(state.rawValue) }
            return fields
        case .show(let movement):
            return ["movement": .string(movement)]
        case .confirm(let movement, let reason), .discrepancy(let movement, let reason),
            .reject(let movement, let reason), .hold(let movement, let reason), .release(let movement, let reason):
            return ["movement": .string(movement), "reason": .string(reason)]
        case .attach(let ticket, let movement, let reason):
            return ["ticket": .integer(ticket), "movement": .string(movement), "reason": .string(reason)]
        case .correct(let movement, let receipt, let reason):
            return ["movement": .string(movement), "receipt": .embedded(receipt), "reason": .string(reason)]
        case .tareSet(let vehicle, let tare, let expiresAt, let reason):
            return [
                "vehicle": .string(vehicle.normalised), "tare_kg": .mass(tare),
                "expires_at": .string(expiresAt.rfc3339), "reason": .string(reason),
            ]
        case .tareExpire(let vehicle, let reason):
            return ["vehicle": .string(vehicle.normalised), "reason": .string(reason)]
        case .outbox(let state, let page):
            var fields = page.fields
            if let state { fields["state"] = .string(state.rawValue) }
            return fields
        case .retry(.all, let reason):
            return ["all": .bool(true), "reason": .string(reason)]
        case .retry(.entry(let entry), let reason), .park(let entry, let reason):
            return ["entry": .integer(entry), "reason": .string(reason)]
        case .resolve(let entry, let trackingID, let reason):
            var fields: [String: JSONValue] = ["entry": .integer(entry), "reason": .string(reason)]
            if let trackingID { fields["tracking_id"] = .string(trackingID) } else { fields["resend"] = .bool(true) }
            return fields
        }
    }
}

extension ExpectArguments {
    /// A movement registered by hand (`expect --movement`), with no receipt data.
    public init(_ movement: Movement) {
        self.init(movement: movement, receipt: nil)
    }

    /// The brief's movement representation, plus the receipt data.
    var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "movement_id": .string(movement.id),
            "declared_weight_kg": .mass(movement.declared),
            "ewc_codes": .array(movement.ewcCodes.map { .string($0.description) }),
        ]
        if let vehicle = movement.vehicle { fields["vehicle_registration"] = .string(vehicle.normalised) }
        if let carrier = movement.carrier { fields["carrier"] = .string(carrier) }
        if let prenotifiedAt = movement.prenotifiedAt { fields["prenotified_at"] = .string(prenotifiedAt.rfc3339) }
        if let trackingID = movement.wasteTrackingID { fields["waste_tracking_id"] = .string(trackingID) }
        if let receipt { fields["receipt"] = .embedded(receipt) }
        return fields
    }
}

extension ArrivalTargetArgument {
    fileprivate var fields: [String: JSONValue] {
        switch self {
        case .movement(let id): ["movement": .string(id)]
        case .vehicle(let vehicle): ["vehicle": .string(vehicle.normalised)]
        }
    }
}

extension ListPage {
    fileprivate var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = ["limit": .integer(Int64(limit))]
        if let before { fields["before"] = .integer(before) }
        return fields
    }
}
