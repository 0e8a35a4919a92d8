/// Why a rule refused an event or an operator's command, one stable word each: the same word the
/// control protocol's error replies carry, so a script can act on it (docs/operators-guide.md).
public enum RefusalCode: String, Sendable, Hashable, CaseIterable, Codable {
    /// No movement, weighing, visit or announcement by that name.
    case notFound = "not_found"
    /// The movement's state does not allow it.
    case illegalTransition = "illegal_transition"
    /// A value given is not acceptable (a movement that fails its checks, a tracking id in `brief`).
    case invalidArgument = "invalid_argument"
    /// A registration matches more than one open movement.
    case ambiguousVehicle = "ambiguous_vehicle"
    /// The weighing already belongs to a movement or a visit.
    case alreadyAttached = "already_attached"
    /// The movement waits for a person's decision first.
    case decisionRequired = "decision_required"
    /// An override needs a reason.
    case reasonRequired = "reason_required"
    /// The legal receipt cannot be sent as it stands: its data must be supplied first.
    case receiptDataMissing = "receipt_data_missing"
    /// It would contradict what has happened (a report on its way, an id already used).
    case conflict
}

/// Why a rule refused an event or an operator's command: its code, and what was wrong in words
/// for the operator. Nothing changes when something is refused.
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: RefusalCode
    public let message: String

    public init(code: RefusalCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The same refusal, saying which movement it was for.
    public func about(movement id: String) -> Refusal {
        Refusal(code: code, message: "movement \(id): \(message)")
    }
}
