/// Something that happens to an outbox entry: the delivery loop's steps, a restart, an operator.
public enum OutboxEvent: Sendable, Hashable {
    /// A request that is not safe to repeat is about to go out (recorded before it does).
    case dispatch
    /// The attempt came to a verdict (a request safe to repeat goes out without `dispatch`).
    case answered(DeliveryVerdict)
    /// The entry could not be sent at all: its row or movement is unreadable, or the request could
    /// not be built. Nothing went out.
    case refusedLocally(String)
    /// The daemon stopped while the request was in flight.
    case interrupted
    /// An operator asks for another attempt now.
    case operatorRetry
    /// An operator sets the entry aside.
    case operatorPark
    /// An operator found the record the API holds (its identifier): nothing more to send.
    case operatorResolve
    /// An operator checked that the API holds nothing, and asks for the report to be sent again.
    case operatorResend

    /// The name an operator or the audit log sees.
    public var name: String {
        switch self {
        case .dispatch: "dispatch"
        case .answered: "answered"
        case .refusedLocally: "refused_locally"
        case .interrupted: "interrupted"
        case .operatorRetry: "retry"
        case .operatorPark: "park"
        case .operatorResolve: "resolve"
        case .operatorResend: "resend"
        }
    }
}

/// A transition the outbox lifecycle does not allow. Nothing changes when one is refused.
public struct OutboxTransitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let event: String
    public let state: OutboxState
    /// What the operator can do instead, if anything.
    public let hint: String

    public var description: String {
        "cannot \(event) a report that is \(state.rawValue)" + (hint.isEmpty ? "" : "; \(hint)")
    }
}

/// An outbox entry's life, as one table: which event each state allows and where it leads
/// (docs/reporting.md, "The outbox").
///
/// The rule that matters most: a request that is not safe to repeat (Defra's POST) and may have
/// reached the server is `unknown`, and only a person who has looked (`resolve`, `resend`) takes it
/// out of that state. Nothing automatic and no bulk action resends it. `park` does not accept an
/// `unknown` entry, so a parked entry is never ambiguous, and `retry` of a parked one is safe.
public enum OutboxLifecycle {
    /// The state `event` leads to from `state`, for an entry whose request is (`idempotent`) or is
    /// not safe to repeat.
    public static func next(from state: OutboxState, on event: OutboxEvent, idempotent: Bool)
        throws(OutboxTransitionError) -> OutboxState
    {
        switch (event, state) {
        case (.dispatch, .pending), (.dispatch, .retryWait):
            return .sending
        case (.answered(let verdict), .sending):
            return verdict.outboxState
        case (.answered(let verdict), .pending), (.answered(let verdict), .retryWait):
            // A request safe to repeat is sent straight from where it waited.
            guard idempotent else { break }
            return verdict.outboxState
        case (.refusedLocally, .pending), (.refusedLocally, .retryWait):
            return .parked
        case (.interrupted, .sending):
            return idempotent ? .pending : .unknown
        case (.operatorRetry, .retryWait), (.operatorRetry, .parked):
            return .pending
        case (.operatorPark, .pending), (.operatorPark, .retryWait):
            return .parked
        case (.operatorResolve, .unknown), (.operatorResolve, .parked):
            return .done
        case (.operatorResend, .unknown), (.operatorResend, .parked):
            return .pending
        default:
            break
        }
        throw OutboxTransitionError(event: event.name, state: state, hint: hint(for: event, in: state))
    }

    /// The operator's actions an entry in `state` allows.
    public static func operatorActions(in state: OutboxState) -> [OutboxEvent] {
        [.operatorRetry, .operatorPark, .operatorResolve, .operatorResend].filter {
            (try? next(from: state, on: $0, idempotent: false)) != nil
        }
    }

    private static func hint(for event: OutboxEvent, in state: OutboxState) -> String {
        switch (event, state) {
        case (.operatorRetry, .unknown), (.operatorPark, .unknown):
            "it may already be stored: check the API, then `resolve --tracking-id ID` or `resolve --resend`"
        case (_, .sending):
            "its request is in flight"
        case (_, .done):
            "the API has accepted it"
        default:
            ""
        }
    }
}

extension DeliveryVerdict {
    /// Where an entry goes after this verdict.
    public var outboxState: OutboxState {
        switch self {
        case .delivered: .done
        case .retry, .refreshToken, .paymentRequired: .retryWait
        case .park: .parked
        case .unknown: .unknown
        }
    }
}

/// What kind of request an outbox entry becomes.
public enum OutboxKind: String, Sendable, Hashable, CaseIterable {
    /// `brief`: PUT /confirmations/{id} (idempotent).
    case confirmation
    /// `brief`: PUT /discrepancies/{id} (idempotent).
    case discrepancy
    /// `defra-receipt`: POST /movements/receive (not idempotent).
    case receipt
    /// `defra-receipt`: PUT /movements/{wasteTrackingId}/receive (idempotent).
    case correction
    /// `defra-receipt`: PUT /movements/{the carrier's wasteTrackingId}/receive (idempotent): the
    /// receipt of a movement the carrier already created in Defra's service.
    case carrierReceipt = "carrier_receipt"
}
