import Testing
import WeighbridgeCore

private let t0 = Timestamp(rfc3339: "2026-12-01T09:00:00Z")!
private func t(_ seconds: Int64) -> Timestamp { t0.adding(seconds: seconds) }

/// Jitter at its least: every pause is as short as the backoff allows (none). A constant draw of
/// 2⁴⁰ gives 0 for any range under 2²⁴ ms and is never rejected by the standard library's
/// sampling (a constant 0 would be, for ever).
private struct LeastJitter: RandomNumberGenerator {
    mutating func next() -> UInt64 { 1 << 40 }
}

/// Jitter at its most: every pause is the backoff's ceiling.
private struct MostJitter: RandomNumberGenerator {
    mutating func next() -> UInt64 { .max }
}

@Suite("Delivery pacing: pauses, probing and the check before an unsafe request, with time as an input")
struct DeliveryPacerTests {
    @Test("a paused API holds every report; after the pause one goes at a time until one is accepted")
    func pauseThenProbe() {
        var pacer = DeliveryPacer(maxInFlight: 4, backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var jitter = LeastJitter()
        #expect(pacer.next(at: t0) == .take(4))
        pacer.dispatched(3)
        #expect(pacer.next(at: t0) == .take(1))
        let rateLimited = DeliveryVerdict.retry(reason: "HTTP 429", retryAfter: .seconds(30), pause: true)
        #expect(pacer.attemptFinished(rateLimited, nextAttemptAt: t(30), at: t0, using: &jitter) == nil)
        #expect(pacer.next(at: t(1)) == .wait(until: t(30)))
        #expect(pacer.holdsBack(at: t(29)))
        let timeout = DeliveryVerdict.retry(reason: "timeout", retryAfter: nil, pause: false)
        for _ in 0..<2 { _ = pacer.attemptFinished(timeout, nextAttemptAt: t(2), at: t(1), using: &jitter) }
        #expect(pacer.next(at: t(30)) == .take(1), "probing: one at a time")
        #expect(!pacer.holdsBack(at: t(30)))
        pacer.dispatched(1)
        #expect(pacer.next(at: t(30)) == .take(0))
        _ = pacer.attemptFinished(.delivered(serverID: nil), nextAttemptAt: t(31), at: t(31), using: &jitter)
        #expect(pacer.next(at: t(31)) == .take(4), "an accepted report restores the pace")
        #expect(pacer.inFlight == 0)
    }

    @Test("a 402 holds every report until its next attempt, however many answers come meanwhile")
    func paymentRequired() {
        var pacer = DeliveryPacer(maxInFlight: 2, backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var jitter = LeastJitter()
        pacer.dispatched(2)
        let lapsed = DeliveryVerdict.paymentRequired("HTTP 402")
        _ = pacer.attemptFinished(lapsed, nextAttemptAt: t(3600), at: t0, using: &jitter)
        _ = pacer.attemptFinished(lapsed, nextAttemptAt: t(1800), at: t0, using: &jitter)
        #expect(pacer.next(at: t(3599)) == .wait(until: t(3600)), "the later of the two stands")
        #expect(pacer.next(at: t(3600)) == .take(1))
    }

    @Test("after an ambiguous POST answer, a safe request must succeed before the next unsafe one")
    func checkBeforeSending() {
        var pacer = DeliveryPacer(maxInFlight: 4, backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var jitter = LeastJitter()
        pacer.dispatched(1)
        let gateway = DeliveryVerdict.unknown("HTTP 502", pause: true)
        #expect(pacer.attemptFinished(gateway, nextAttemptAt: t(5), at: t(5), using: &jitter) == t(5))
        #expect(pacer.holdsBack(at: t(5)))
        #expect(pacer.next(at: t(5)) == .checkAPI)
        #expect(pacer.apiChecked(succeeded: false, at: t(6), using: &jitter) == t(6))
        #expect(pacer.next(at: t(6)) == .checkAPI, "asked again until it answers")
        #expect(pacer.apiChecked(succeeded: true, at: t(7), using: &jitter) == nil)
        #expect(!pacer.holdsBack(at: t(7)))
        #expect(pacer.next(at: t(7)) == .take(1), "then one at a time until one is accepted")
        let plain = DeliveryVerdict.unknown("timeout", pause: false)
        pacer.dispatched(1)
        #expect(pacer.attemptFinished(plain, nextAttemptAt: t(8), at: t(8), using: &jitter) == nil)
        #expect(pacer.next(at: t(8)) == .take(1), "an unknown that pauses nothing changes nothing")
    }

    @Test("pauses in a row grow with the backoff up to its cap; an accepted report resets them")
    func pausesGrow() {
        var pacer = DeliveryPacer(maxInFlight: 1, backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var jitter = MostJitter()
        var now = t0
        for expected: Int64 in [1, 2, 4, 8, 8] {
            #expect(pacer.apiChecked(succeeded: false, at: now, using: &jitter) == now.adding(seconds: expected))
            now = now.adding(seconds: expected)
        }
        pacer.dispatched(1)
        _ = pacer.attemptFinished(.delivered(serverID: "W-1"), nextAttemptAt: now, at: now, using: &jitter)
        #expect(pacer.apiChecked(succeeded: false, at: now, using: &jitter) == now.adding(seconds: 1))
    }

    @Test("a step back of the wall clock moves the pause back as far")
    func clockStep() {
        var pacer = DeliveryPacer(maxInFlight: 1, backoff: Backoff(base: .seconds(1), cap: .seconds(8)))
        var jitter = LeastJitter()
        pacer.dispatched(1)
        _ = pacer.attemptFinished(
            .retry(reason: "HTTP 503", retryAfter: nil, pause: true), nextAttemptAt: t(60), at: t0, using: &jitter)
        pacer.clockStepped(byMilliseconds: -30_000)
        #expect(pacer.next(at: t0) == .wait(until: t(30)))
    }
}
