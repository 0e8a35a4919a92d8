/// Exponential backoff with full jitter: the n-th retry waits a uniformly random time between zero
/// and `min(cap, base × 2ⁿ)`. Full jitter spreads a fleet of boxes that lost the API at the same
/// moment, so they do not return in lockstep.
public struct Backoff: Sendable, Hashable {
    /// The first ceiling.
    public var base: Duration
    /// The largest ceiling.
    public var cap: Duration

    /// A backoff with the given base and cap; `cap` is raised to `base` if lower.
    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = max(base, cap)
    }

    /// The ceiling for retry number `attempt` (0 for the first retry): `min(cap, base × 2^attempt)`.
    public func ceiling(attempt: Int) -> Duration {
        var ceiling = base
        for _ in 0..<max(0, attempt) {
            guard ceiling < cap else { break }
            ceiling = ceiling * 2
        }
        return min(ceiling, cap)
    }

    /// The wait before retry `attempt`, drawn from `generator`; `retryAfter` (a server's
    /// `Retry-After`) is a floor the wait never goes under.
    public func delay(attempt: Int, retryAfter: Duration? = nil, using generator: inout some RandomNumberGenerator)
        -> Duration
    {
        let ceilingMilliseconds = ceiling(attempt: attempt).wholeMilliseconds
        let drawn = Duration.milliseconds(Int64.random(in: 0...ceilingMilliseconds, using: &generator))
        guard let retryAfter else { return drawn }
        return max(drawn, retryAfter)
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down, and held to what an `Int64` can count
    /// (about 292 million years) rather than trapping.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !overflowAgain else { return seconds < 0 ? .min : .max }
        return total
    }
}
