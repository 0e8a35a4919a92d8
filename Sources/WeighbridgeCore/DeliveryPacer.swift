/// How fast reports go to the API (docs/reporting.md, "Pacing"): up to `maxInFlight` at once;
/// nothing while the API asked for a pause (429 or 503 with `Retry-After`, Defra's 402) or an
/// answer said its gateway is failing; after a pause, one request at a time ("probing") until one
/// is accepted; and after an answer that left a report ambiguous, a request that is safe to repeat
/// must succeed before the next report that is not. Time and randomness are inputs: the delivery
/// service carries out what it says.
public struct DeliveryPacer: Sendable {
    /// What the delivery loop may do now.
    public enum Next: Sendable, Hashable {
        /// Nothing goes before then.
        case wait(until: Timestamp)
        /// Ask the API something safe to repeat first (`apiChecked`).
        case checkAPI
        /// Send up to this many reports (zero: every slot is busy).
        case take(Int)
    }

    public let maxInFlight: Int
    /// The pause after a failing API, by how many pauses came in a row.
    public let backoff: Backoff
    /// Requests on the wire.
    public private(set) var inFlight = 0
    /// Nothing goes before then.
    public private(set) var pausedUntil: Timestamp?
    /// One request at a time, until one is accepted.
    public private(set) var probing = false
    /// A request safe to repeat must succeed before the next that is not.
    public private(set) var checksBeforeSending = false
    /// Pauses in a row without an accepted report.
    private var pauses = 0

    public init(maxInFlight: Int, backoff: Backoff) {
        self.maxInFlight = maxInFlight
        self.backoff = backoff
    }

    /// What the loop may do at `time`.
    public mutating func next(at time: Timestamp) -> Next {
        if let pausedUntil, pausedUntil > time { return .wait(until: pausedUntil) }
        pausedUntil = nil
        if checksBeforeSending { return .checkAPI }
        return .take(max(0, (probing ? 1 : maxInFlight) - inFlight))
    }

    /// Whether reports read for sending at `time` must stay where they are: an answer that came
    /// meanwhile paused delivery, or asked for a check first.
    public func holdsBack(at time: Timestamp) -> Bool {
        checksBeforeSending || (pausedUntil.map { $0 > time } ?? false)
    }

    /// `count` requests went on the wire.
    public mutating func dispatched(_ count: Int) {
        inFlight += count
    }

    /// A request came off the wire with `verdict` (its report's next attempt due `nextAttemptAt`):
    /// its slot is free, and the pace follows the answer. Returns when delivery is paused until,
    /// if the answer paused it for a failing gateway (the pause grows with each in a row).
    public mutating func attemptFinished(
        _ verdict: DeliveryVerdict, nextAttemptAt: Timestamp, at time: Timestamp,
        using generator: inout some RandomNumberGenerator
    ) -> Timestamp? {
        inFlight -= 1
        switch verdict {
        case .delivered:
            probing = false
            pauses = 0
        case .retry(_, _, pause: true), .paymentRequired:
            pausedUntil = max(pausedUntil ?? nextAttemptAt, nextAttemptAt)
            probing = true
        case .unknown(_, pause: true):
            checksBeforeSending = true
            probing = true
            return pause(at: time, using: &generator)
        case .retry, .refreshToken, .park, .unknown:
            break
        }
        return nil
    }

    /// The check `.checkAPI` asked for came back: it succeeded, or delivery pauses (the returned
    /// time) and checks again after.
    public mutating func apiChecked(
        succeeded: Bool, at time: Timestamp, using generator: inout some RandomNumberGenerator
    )
        -> Timestamp?
    {
        if succeeded {
            checksBeforeSending = false
            return nil
        }
        return pause(at: time, using: &generator)
    }

    /// The wall clock stepped by `milliseconds`: the pause moves with it.
    public mutating func clockStepped(byMilliseconds milliseconds: Int64) {
        pausedUntil = pausedUntil?.adding(milliseconds: milliseconds)
    }

    private mutating func pause(at time: Timestamp, using generator: inout some RandomNumberGenerator) -> Timestamp {
        let wait = backoff.delay(attempt: pauses, using: &generator)
        pauses += 1
        let until = max(pausedUntil ?? time, time.adding(milliseconds: wait.wholeMilliseconds))
        pausedUntil = until
        return until
    }
}
