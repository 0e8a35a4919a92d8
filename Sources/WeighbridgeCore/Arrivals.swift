/// Whom an announced arrival is for.
public enum ArrivalSubject: Sendable, Hashable, Codable {
    /// A known movement (`arrive --movement ID`).
    case movement(String)
    /// A vehicle whose movement is not known locally (`arrive --vehicle REG` matched none).
    case unidentifiedVehicle(VehicleRegistration)

    /// "movement M-1" or "unidentified vehicle AB12CDE", for operators.
    public var label: String {
        switch self {
        case .movement(let id): "movement \(id)"
        case .unidentifiedVehicle(let vehicle): "unidentified vehicle \(vehicle)"
        }
    }
}

/// A vehicle announced on a bridge; the next certified weighing there belongs to it.
public struct Arrival: Sendable, Hashable, Codable {
    public var bridge: String
    public var subject: ArrivalSubject
    public var at: Timestamp

    public init(bridge: String, subject: ArrivalSubject, at: Timestamp) {
        self.bridge = bridge
        self.subject = subject
        self.at = at
    }
}

/// Where a certified weighing goes.
public enum WeighingRoute: Sendable, Hashable {
    /// To this movement's lifecycle.
    case movement(String)
    /// Recorded as unattributed and held: the vehicle was announced but its movement is unknown.
    case unidentifiedVehicle(VehicleRegistration)
    /// Recorded as unattributed and held: nobody announced a vehicle on this bridge.
    case unannounced
    /// Recorded as unattributed and held: several vehicles were announced; the daemon never guesses.
    case ambiguous([Arrival])
    /// Recorded as unattributed and held: the only announcements on the bridge had expired (the
    /// vehicle was turned away, or left without weighing), so the weight may be anyone's.
    case expired([Arrival])
}

/// The vehicles announced on each bridge and not yet weighed.
///
/// One announcement, one weighing: the next capture on a bridge takes the single pending arrival.
/// With none it is unannounced, with several it is ambiguous, with only stale ones it is expired;
/// all three are held for an operator.
public struct ArrivalBoard: Sendable, Hashable, Codable {
    /// Pending arrivals by bridge, oldest first.
    public private(set) var pending: [String: [Arrival]]

    /// A board with these pending arrivals.
    public init(pending: [String: [Arrival]] = [:]) {
        self.pending = pending
    }

    /// Announces a vehicle. The same subject announced again on the same bridge replaces its
    /// earlier announcement rather than queueing twice.
    public mutating func announce(_ arrival: Arrival) {
        var queue = pending[arrival.bridge, default: []]
        queue.removeAll { $0.subject == arrival.subject }
        queue.append(arrival)
        pending[arrival.bridge] = queue
        // A subject is on one bridge at a time: an announcement elsewhere supersedes.
        for bridge in pending.keys where bridge != arrival.bridge {
            pending[bridge]?.removeAll { $0.subject == arrival.subject }
        }
    }

    /// Withdraws any announcement of `subject`.
    public mutating func withdraw(_ subject: ArrivalSubject) {
        for bridge in pending.keys { pending[bridge]?.removeAll { $0.subject == subject } }
    }

    /// Routes a capture on `bridge` at `time`, consuming the arrival it belongs to. An
    /// announcement older than `expiry` no longer claims a weighing: it is taken off the board,
    /// and if nothing fresher is announced the weighing is held as `expired`. An ambiguous capture
    /// consumes nothing: the candidates stay announced until an operator decides.
    public mutating func route(captureOn bridge: String, at time: Timestamp, expiry: Duration) -> WeighingRoute {
        // An announcement made after the weighing is for a vehicle still to come: it stays.
        let later = pending[bridge, default: []].filter { $0.at > time }
        let queue = pending[bridge, default: []].filter { $0.at <= time }
        let expired = queue.filter { $0.at.milliseconds(to: time) > expiry.wholeMilliseconds }
        let fresh = queue.filter { !expired.contains($0) }
        pending[bridge] = fresh + later
        switch fresh.count {
        case 0:
            return expired.isEmpty ? .unannounced : .expired(expired)
        case 1:
            pending[bridge] = later
            switch fresh[0].subject {
            case .movement(let id): return .movement(id)
            case .unidentifiedVehicle(let vehicle): return .unidentifiedVehicle(vehicle)
            }
        default:
            return .ambiguous(fresh)
        }
    }

    /// Takes off the board what routing a capture on `bridge` as `route` consumed, when the route
    /// was decided earlier (from the board as it stood when the vehicle was weighed): the
    /// announcement it went to, if it is still there, and the expired ones it passed over.
    public mutating func consume(_ route: WeighingRoute, on bridge: String) {
        let consumed: [ArrivalSubject]
        switch route {
        case .movement(let id): consumed = [.movement(id)]
        case .unidentifiedVehicle(let vehicle): consumed = [.unidentifiedVehicle(vehicle)]
        case .expired(let arrivals): consumed = arrivals.map(\.subject)
        case .unannounced, .ambiguous: consumed = []
        }
        pending[bridge]?.removeAll { consumed.contains($0.subject) }
    }
}

/// How `arrive --vehicle REG` resolves to a movement among those not yet decided.
public enum VehicleMatch: Sendable, Hashable {
    case movement(String)
    case none
    case ambiguous([String])

    /// Matches `vehicle` against open movements; exactly one match is a movement, several are ambiguous.
    public init(vehicle: VehicleRegistration, openMovements: [Movement]) {
        let ids = openMovements.filter { $0.vehicle == vehicle }.map(\.id).sorted()
        switch ids.count {
        case 0: self = .none
        case 1: self = .movement(ids[0])
        default: self = .ambiguous(ids)
        }
    }
}
