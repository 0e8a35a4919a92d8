internal import WeighbridgeCore

extension MovementNotice {
    /// The notice as a sentence for the journal.
    var sentence: String {
        switch self {
        case .confirmed(let actor): "confirmed (\(actor))"
        case .discrepancyRaised(let reason): "Discrepancy raised: \(reason.rawValue)"
        case .discrepancyHeldLocally(let reason):
            "Discrepancy \(reason.rawValue) held for the operator (the receipt API has no Discrepancy)"
        case .held(let reason): "held: \(reason)"
        case .released: "released"
        case .rejected: "rejected"
        case .highRiskReceived(let status): "high-risk load received (pre-notification \(status))"
        }
    }
}

extension WeighingRoute {
    /// Why a weighing went where it went, for the journal.
    var sentence: String {
        switch self {
        case .movement(let id): "movement \(id)"
        case .unidentifiedVehicle(let vehicle): "vehicle \(vehicle) announced, but no movement expected for it"
        case .unannounced: "no vehicle announced on the bridge"
        case .ambiguous(let arrivals): "\(arrivals.count) vehicles announced on the bridge"
        case .expired(let arrivals):
            "the announcement of \(arrivals.map { $0.subject.label }.joined(separator: ", ")) had expired"
        }
    }
}
