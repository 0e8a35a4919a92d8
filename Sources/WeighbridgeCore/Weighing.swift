/// One certified weighing as the rest of the rules see it. The full evidence (raw registers,
/// instrument identity, flags) is kept by the store; the rules need only this.
public struct Weighing: Sendable, Hashable, Codable {
    /// The consecutive ticket number the store gave it.
    public var ticket: Int64
    /// The bridge it was taken on.
    public var bridge: String
    /// The weight, unaltered from the indicator.
    public var weight: Mass
    /// The bridge's division when it was taken (its minimum weight follows from it).
    public var division: Mass
    /// When it was taken.
    public var time: Timestamp

    public init(ticket: Int64, bridge: String, weight: Mass, division: Mass, time: Timestamp) {
        self.ticket = ticket
        self.bridge = bridge
        self.weight = weight
        self.division = division
        self.time = time
    }
}

/// A tare stored for a vehicle (preset tare, "PT" on the ticket), valid until it expires.
public struct StoredTare: Sendable, Hashable, Codable {
    /// The normalised vehicle registration.
    public var vehicle: VehicleRegistration
    /// The vehicle's empty weight.
    public var tare: Mass
    /// When it was set.
    public var setAt: Timestamp
    /// From this instant on, it is no longer valid.
    public var expiresAt: Timestamp

    public init(vehicle: VehicleRegistration, tare: Mass, setAt: Timestamp, expiresAt: Timestamp) {
        self.vehicle = vehicle
        self.tare = tare
        self.setAt = setAt
        self.expiresAt = expiresAt
    }

    /// Whether it may be used for a weighing taken at `time`.
    public func isValid(at time: Timestamp) -> Bool { setAt <= time && time < expiresAt }
}

/// How the tare of a net weight was obtained.
public enum TareKind: String, Sendable, Hashable, Codable {
    /// Weighed empty on a bridge, in the same visit.
    case measured
    /// A stored (preset) tare.
    case preset
}

/// A net weight and the weighings it came from: net = gross − tare, exactly.
public struct NetWeighing: Sendable, Hashable, Codable {
    /// The loaded weighing.
    public let gross: Weighing
    /// The empty weighing; nil when the tare was stored.
    public let tareWeighing: Weighing?
    /// The tare subtracted.
    public let tare: Mass
    /// Where the tare came from.
    public let tareKind: TareKind

    /// gross − tare.
    public var net: Mass { gross.weight - tare }

    /// The first of the weighings in time (the movement's received time).
    public var firstWeighedAt: Timestamp { min(gross.time, tareWeighing?.time ?? gross.time) }
    /// The second weighing's time, or the gross's when the tare was stored.
    public var secondWeighedAt: Timestamp { max(gross.time, tareWeighing?.time ?? gross.time) }

    /// Pairs two weighings of one visit in either order: the heavier is the gross.
    public init(pairing first: Weighing, with second: Weighing) {
        let (gross, tare) = first.weight >= second.weight ? (first, second) : (second, first)
        self.gross = gross
        self.tareWeighing = tare
        self.tare = tare.weight
        self.tareKind = .measured
    }

    /// A one-pass net with a stored tare. Throws when the tare has expired (or is not yet valid) at
    /// the weighing's time, or when it is heavier than the load.
    public init(gross: Weighing, storedTare: StoredTare) throws(NetWeighingError) {
        guard storedTare.isValid(at: gross.time) else {
            throw .storedTareNotValid(storedTare.vehicle, expiresAt: storedTare.expiresAt)
        }
        guard storedTare.tare <= gross.weight else {
            throw .tareExceedsGross(tare: storedTare.tare, gross: gross.weight)
        }
        self.gross = gross
        self.tareWeighing = nil
        self.tare = storedTare.tare
        self.tareKind = .preset
    }
}

/// Why a net weight could not be formed.
public enum NetWeighingError: Error, Sendable, Equatable, CustomStringConvertible {
    case storedTareNotValid(VehicleRegistration, expiresAt: Timestamp)
    case tareExceedsGross(tare: Mass, gross: Mass)

    public var description: String {
        switch self {
        case .storedTareNotValid(let vehicle, let expiresAt):
            "the stored tare of \(vehicle) is not valid at the time of weighing (it expires \(expiresAt))"
        case .tareExceedsGross(let tare, let gross):
            "stored tare \(tare) is heavier than the weighing \(gross)"
        }
    }
}

/// A vehicle registration mark, normalised so that "ab12 cde" and "AB12CDE" are the same vehicle.
public struct VehicleRegistration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Upper case, letters and digits only.
    public let normalised: String

    /// Normalises `text`; nil if it holds no letter or digit or is implausibly long (> 10).
    public init?(_ text: String) {
        let kept = text.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        let dropped = text.filter { !($0.isASCII && ($0.isLetter || $0.isNumber)) && $0 != " " && $0 != "-" }
        guard !kept.isEmpty, kept.count <= 10, dropped.isEmpty else { return nil }
        self.normalised = kept
    }

    public var description: String { normalised }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.normalised < rhs.normalised }
}

extension VehicleRegistration: Codable {
    /// Encoded as the normalised registration, and validated again when read back.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let registration = VehicleRegistration(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a registration: \(text)")
        }
        self = registration
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(normalised)
    }
}
