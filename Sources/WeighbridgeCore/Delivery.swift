/// What one attempt to send a report came to, in terms the rules can judge.
public enum DeliveryAttempt: Sendable, Hashable {
    /// Nothing reached the server: connection refused, DNS, TLS handshake, connect timeout.
    case notSent(String)
    /// The request went out but no answer came back: a timeout or a reset after sending.
    case noAnswer(String)
    /// The server answered with a status.
    case answered(Answer)

    /// An HTTP answer, reduced to what classification needs.
    public struct Answer: Sendable, Hashable {
        public var status: Int
        /// The `Retry-After` the server asked for, if any.
        public var retryAfter: Duration?
        /// The server's error list or message, for the operator.
        public var detail: String
        /// The identifier the server gave the record (Defra's `wasteTrackingId`).
        public var serverID: String?
        /// For a 409: whether the record the server holds is the one we sent.
        public var conflictMatchesOurs: Bool

        public init(
            status: Int, retryAfter: Duration? = nil, detail: String = "", serverID: String? = nil,
            conflictMatchesOurs: Bool = false
        ) {
            self.status = status
            self.retryAfter = retryAfter
            self.detail = detail
            self.serverID = serverID
            self.conflictMatchesOurs = conflictMatchesOurs
        }
    }
}

/// What to do about an attempt (docs/reporting.md, "What each answer means").
public enum DeliveryVerdict: Sendable, Hashable {
    /// Accepted.
    case delivered(serverID: String?)
    /// Try again later; `pause` holds every report back, not just this one.
    case retry(reason: String, retryAfter: Duration?, pause: Bool)
    /// The bearer token was refused: refresh it and try once more at once.
    case refreshToken
    /// Permanently rejected: an operator must look at the server's errors.
    case park(String)
    /// A non-idempotent request may or may not have arrived: never resend blindly. `pause` holds
    /// every other report back too (the API's gateway is failing).
    case unknown(String, pause: Bool)
    /// The organisation's service charge has lapsed (Defra 402): hold everything, retry hourly.
    case paymentRequired(String)
}

/// The classification rules shared by both profiles.
public enum DeliveryRules {
    /// How long every report waits after a 402 before the next try.
    public static let paymentRetryInterval: Duration = .seconds(3600)
    /// The longest a server's `Retry-After` can make a report wait: a larger value (or one that is
    /// malformed into a huge number) is taken as this, so no answer can stop delivery for long.
    public static let maximumRetryAfter: Duration = .seconds(3600)

    /// Judges one attempt. `idempotent` says whether resending the request is safe; a 401 gets
    /// one token refresh (`tokenRefreshed` false), and after that is retried with backoff.
    public static func classify(_ attempt: DeliveryAttempt, idempotent: Bool, tokenRefreshed: Bool) -> DeliveryVerdict {
        switch attempt {
        case .notSent(let reason):
            return .retry(reason: "not sent: \(reason)", retryAfter: nil, pause: true)
        case .noAnswer(let reason):
            return idempotent
                ? .retry(reason: "no answer: \(reason)", retryAfter: nil, pause: false)
                : .unknown("sent, no answer: \(reason)", pause: false)
        case .answered(let answer):
            return classify(answer, idempotent: idempotent, tokenRefreshed: tokenRefreshed)
        }
    }

    private static func classify(_ answer: DeliveryAttempt.Answer, idempotent: Bool, tokenRefreshed: Bool)
        -> DeliveryVerdict
    {
        let summary = answer.detail.isEmpty ? "HTTP \(answer.status)" : "HTTP \(answer.status): \(answer.detail)"
        switch answer.status {
        case 200..<300:
            return .delivered(serverID: answer.serverID)
        case 401:
            return tokenRefreshed
                ? .retry(reason: "\(summary) (still refused after a fresh token)", retryAfter: nil, pause: true)
                : .refreshToken
        case 402:
            return .paymentRequired(summary)
        case 409 where idempotent && answer.conflictMatchesOurs:
            return .delivered(serverID: answer.serverID)
        case 400, 404, 409, 422:
            return .park(summary)
        case 429:
            return .retry(reason: summary, retryAfter: answer.retryAfter, pause: true)
        case 502, 503, 504:
            // A gateway's 502 or 504 can come after the backend stored the request, and Defra does
            // not document that its 503 comes before processing: for a POST, each is ambiguous.
            return idempotent
                ? .retry(reason: summary, retryAfter: answer.retryAfter, pause: true)
                : .unknown(summary, pause: true)
        case 500:
            return idempotent
                ? .retry(reason: summary, retryAfter: answer.retryAfter, pause: false)
                : .unknown(summary, pause: false)
        case 500..<600 where !idempotent:
            // Any other server error may follow processing too: for a POST, ambiguous.
            return .unknown("unexpected \(summary)", pause: false)
        default:
            // Anything else the contract does not name: keep it, and let an operator look.
            return .park("unexpected \(summary)")
        }
    }

    /// Where an outbox entry goes after a verdict: the state, the attempt count and the next
    /// attempt time. Retries back off with full jitter from `backoff`, never sooner than the
    /// server's `Retry-After`, which is held to `maximumRetryAfter`.
    public static func nextStep(
        after verdict: DeliveryVerdict, attempts: Int, now: Timestamp, backoff: Backoff,
        using generator: inout some RandomNumberGenerator
    ) -> OutboxStep {
        let attempt = attempts + 1
        switch verdict {
        case .delivered(let serverID):
            return OutboxStep(
                state: verdict.outboxState, attempts: attempt, nextAttemptAt: now, lastError: nil, serverID: serverID)
        case .retry(let reason, let retryAfter, _):
            let delay = backoff.delay(
                attempt: attempt, retryAfter: retryAfter.map { min(max($0, .zero), maximumRetryAfter) },
                using: &generator)
            return OutboxStep(
                state: .retryWait, attempts: attempt, nextAttemptAt: now.adding(milliseconds: delay.wholeMilliseconds),
                lastError: reason, serverID: nil)
        case .refreshToken:
            return OutboxStep(state: .retryWait, attempts: attempt, nextAttemptAt: now, lastError: "token refused")
        case .park(let reason):
            return OutboxStep(state: .parked, attempts: attempt, nextAttemptAt: now, lastError: reason)
        case .unknown(let reason, _):
            return OutboxStep(state: .unknown, attempts: attempt, nextAttemptAt: now, lastError: reason)
        case .paymentRequired(let reason):
            return OutboxStep(
                state: .retryWait, attempts: attempt,
                nextAttemptAt: now.adding(milliseconds: paymentRetryInterval.wholeMilliseconds), lastError: reason)
        }
    }
}

/// An outbox entry's next state after an attempt.
public struct OutboxStep: Sendable, Hashable {
    public var state: OutboxState
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var lastError: String?
    public var serverID: String?

    public init(
        state: OutboxState, attempts: Int, nextAttemptAt: Timestamp, lastError: String?, serverID: String? = nil
    ) {
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.serverID = serverID
    }
}
