import Testing
import WeighbridgeCore

private func day(_ text: String) -> CivilDate {
    let parts = text.split(separator: "-").map { Int64($0)! }
    return CivilDate(year: parts[0], month: parts[1], day: parts[2])
}

@Suite("Working days in England and Wales, and Defra's two-working-day deadline")
struct WorkingCalendarTests {
    let calendar = WorkingCalendar()

    @Test("bank holidays as published for 2025–2027, substitutes and proclaimed changes included")
    func publishedHolidays() {
        #expect(
            calendar.bankHolidays(year: 2026)
                == Set(
                    [
                        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
                        "2026-12-25",
                        "2026-12-28",
                    ].map(day)))
        #expect(
            calendar.bankHolidays(year: 2027)
                == Set(
                    [
                        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
                        "2027-12-27",
                        "2027-12-28",
                    ].map(day)))
        #expect(calendar.bankHolidays(year: 2025).contains(day("2025-04-18")))
        #expect(calendar.bankHolidays(year: 2022).contains(day("2022-09-19")))
        #expect(!calendar.bankHolidays(year: 2022).contains(day("2022-05-30")))
        #expect(calendar.bankHolidays(year: 2020).contains(day("2020-05-08")))
    }

    @Test("received Thursday → due by the end of Monday; over Christmas the holidays are skipped")
    func deadlines() {
        // Thursday 26 November 2026, 15:00 GMT: Friday and Monday are the two working days.
        let thursday = Timestamp(rfc3339: "2026-11-26T15:00:00Z")!
        #expect(calendar.receiptDeadline(receivedAt: thursday) == Timestamp(rfc3339: "2026-12-01T00:00:00Z")!)
        // Thursday 24 December 2026: 25th and 28th are holidays → Tuesday 29th and Wednesday 30th.
        let christmasEve = Timestamp(rfc3339: "2026-12-24T10:00:00Z")!
        #expect(calendar.receiptDeadline(receivedAt: christmasEve) == Timestamp(rfc3339: "2026-12-31T00:00:00Z")!)
    }

    @Test("the day of receipt is the UK's date: 23:30 UTC in summer is already tomorrow in London")
    func summerTime() {
        let lateInJune = Timestamp(rfc3339: "2026-06-25T23:30:00Z")!  // Friday 00:30 BST
        #expect(UKCivilTime.date(at: lateInJune) == day("2026-06-26"))
        // Friday's receipt: Monday and Tuesday → ends at midnight BST, 23:00 UTC on Tuesday.
        #expect(calendar.receiptDeadline(receivedAt: lateInJune) == Timestamp(rfc3339: "2026-06-30T23:00:00Z")!)
        #expect(UKCivilTime.offsetSeconds(at: Timestamp(rfc3339: "2026-03-29T00:59:59Z")!) == 0)
        #expect(UKCivilTime.offsetSeconds(at: Timestamp(rfc3339: "2026-03-29T01:00:00Z")!) == 3600)
        #expect(UKCivilTime.offsetSeconds(at: Timestamp(rfc3339: "2026-10-25T01:00:00Z")!) == 0)
    }

    @Test("working days elapsed ignore weekends")
    func elapsed() {
        let friday = Timestamp(rfc3339: "2026-11-27T16:00:00Z")!
        #expect(calendar.workingDaysElapsed(from: friday, to: Timestamp(rfc3339: "2026-11-29T12:00:00Z")!) == 0)
        #expect(calendar.workingDaysElapsed(from: friday, to: Timestamp(rfc3339: "2026-11-30T09:00:00Z")!) == 1)
    }
}

@Suite("Delivery classification (docs/reporting.md)")
struct DeliveryRulesTests {
    @Test("a non-idempotent POST is never resent automatically after an answer that may follow processing")
    func ambiguity() {
        let cases: [DeliveryAttempt] = [
            .noAnswer("read timeout"), .answered(DeliveryAttempt.Answer(status: 500)),
            .answered(DeliveryAttempt.Answer(status: 502)), .answered(DeliveryAttempt.Answer(status: 503)),
            .answered(DeliveryAttempt.Answer(status: 504)),
        ]
        for attempt in cases {
            guard case .unknown = DeliveryRules.classify(attempt, idempotent: false, tokenRefreshed: false) else {
                Issue.record("\(attempt) on a POST must be unknown")
                continue
            }
            guard case .retry = DeliveryRules.classify(attempt, idempotent: true, tokenRefreshed: false) else {
                Issue.record("\(attempt) on a PUT must be retried")
                continue
            }
        }
        guard
            case .retry(_, _, pause: true) = DeliveryRules.classify(
                .notSent("refused"), idempotent: false, tokenRefreshed: false)
        else { Issue.record("a request never sent is safe to retry, and pauses everything"); return }
    }

    @Test("each status as the spec classifies it")
    func statuses() {
        func verdict(_ status: Int, idempotent: Bool = true, refreshed: Bool = false, matches: Bool = false)
            -> DeliveryVerdict
        {
            DeliveryRules.classify(
                .answered(DeliveryAttempt.Answer(status: status, conflictMatchesOurs: matches)), idempotent: idempotent,
                tokenRefreshed: refreshed)
        }
        #expect(verdict(201) == .delivered(serverID: nil))
        #expect(verdict(401) == .refreshToken)
        guard case .retry(_, _, pause: true) = verdict(401, refreshed: true) else {
            Issue.record("a second 401 must back off, not loop"); return
        }
        for status in [400, 404, 422, 409] {
            guard case .park = verdict(status) else { Issue.record("\(status) must park"); return }
        }
        #expect(verdict(409, matches: true) == .delivered(serverID: nil))
        guard case .park = verdict(409, idempotent: false, matches: true) else {
            Issue.record("a 409 on a POST is never taken as done"); return
        }
        for status in [429, 502, 503, 504] {
            guard case .retry(_, _, pause: true) = verdict(status) else { Issue.record("\(status) must retry"); return }
        }
        // Only what guarantees nothing was stored may send a POST again.
        guard case .retry(_, _, pause: true) = verdict(429, idempotent: false) else {
            Issue.record("a 429 is refused before processing: a POST may retry"); return
        }
        for status in [502, 503, 504] {
            guard case .unknown(_, pause: true) = verdict(status, idempotent: false) else {
                Issue.record("\(status) on a POST must be unknown, and pause the others"); return
            }
        }
        for status in [501, 505, 507, 520, 599] {
            guard case .unknown = verdict(status, idempotent: false) else {
                Issue.record("any server error on a POST may follow processing: \(status) must be unknown"); return
            }
        }
        guard case .paymentRequired = verdict(402) else { Issue.record("402 must hold everything"); return }
        guard case .park = verdict(418) else { Issue.record("an unexpected status is kept for an operator"); return }
    }

    @Test("Retry-After is a floor under the jittered backoff; 402 waits an hour")
    func nextStep() {
        var generator = SystemRandomNumberGenerator()
        let now = Timestamp(millisecondsSinceEpoch: 1_000_000)
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        for _ in 0..<200 {
            let step = DeliveryRules.nextStep(
                after: .retry(reason: "429", retryAfter: .seconds(30), pause: true), attempts: 0, now: now,
                backoff: backoff, using: &generator)
            #expect(now.milliseconds(to: step.nextAttemptAt) >= 30_000)
            #expect(step.state == .retryWait && step.attempts == 1)
        }
        let payment = DeliveryRules.nextStep(
            after: .paymentRequired("402"), attempts: 4, now: now, backoff: backoff, using: &generator)
        #expect(now.milliseconds(to: payment.nextAttemptAt) == 3_600_000)
        #expect(payment.attempts == 5)
        let unknown = DeliveryRules.nextStep(
            after: .unknown("reset", pause: false), attempts: 0, now: now, backoff: backoff, using: &generator)
        #expect(unknown.state == .unknown)
    }

    @Test("Retry-After cannot stop or crash delivery: any value is held to the documented ceiling")
    func retryAfterIsClamped() {
        var generator = SystemRandomNumberGenerator()
        let now = Timestamp(millisecondsSinceEpoch: 1_000_000)
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        let ceiling = DeliveryRules.maximumRetryAfter.wholeMilliseconds
        for retryAfter in [Duration.seconds(Int64.max), .seconds(99_999_999_999_999_999), .seconds(-5), .zero] {
            let step = DeliveryRules.nextStep(
                after: .retry(reason: "503", retryAfter: retryAfter, pause: true), attempts: 3, now: now,
                backoff: backoff, using: &generator)
            #expect(now.milliseconds(to: step.nextAttemptAt) <= ceiling, "Retry-After \(retryAfter)")
            #expect(now.milliseconds(to: step.nextAttemptAt) >= 0)
        }
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeMilliseconds == .min)
        #expect(now.adding(seconds: .max) == Timestamp(millisecondsSinceEpoch: .max))
    }
}

@Suite("The outbox lifecycle")
struct OutboxLifecycleTests {
    @Test("an ambiguous report stays ambiguous until a person resolves it")
    func unknownNeedsResolve() throws {
        for event in [OutboxEvent.operatorRetry, .operatorPark, .dispatch, .interrupted, .refusedLocally("x")] {
            #expect(throws: OutboxTransitionError.self, "\(event)") {
                try OutboxLifecycle.next(from: .unknown, on: event, idempotent: false)
            }
        }
        #expect(try OutboxLifecycle.next(from: .unknown, on: .operatorResolve, idempotent: false) == .done)
        #expect(try OutboxLifecycle.next(from: .unknown, on: .operatorResend, idempotent: false) == .pending)
        #expect(OutboxLifecycle.operatorActions(in: .unknown) == [.operatorResolve, .operatorResend])
        // A parked entry is never ambiguous (park refuses unknown), so retrying it is safe.
        #expect(OutboxLifecycle.operatorActions(in: .parked) == [.operatorRetry, .operatorResolve, .operatorResend])
        #expect(OutboxLifecycle.operatorActions(in: .sending).isEmpty)
        #expect(OutboxLifecycle.operatorActions(in: .done).isEmpty)
    }

    @Test("a send cut off by a stop waits again if safe to repeat, and is unknown if not")
    func interrupted() throws {
        #expect(try OutboxLifecycle.next(from: .sending, on: .interrupted, idempotent: true) == .pending)
        #expect(try OutboxLifecycle.next(from: .sending, on: .interrupted, idempotent: false) == .unknown)
        #expect(throws: OutboxTransitionError.self) {
            try OutboxLifecycle.next(from: .pending, on: .interrupted, idempotent: false)
        }
    }

    @Test("a POST's verdict is recorded only after it was marked as sent; a PUT's from where it waited")
    func answeredNeedsDispatchForPost() throws {
        let accepted = OutboxEvent.answered(.delivered(serverID: "W1"))
        #expect(throws: OutboxTransitionError.self) {
            try OutboxLifecycle.next(from: .pending, on: accepted, idempotent: false)
        }
        #expect(try OutboxLifecycle.next(from: .pending, on: accepted, idempotent: true) == .done)
        #expect(try OutboxLifecycle.next(from: .sending, on: accepted, idempotent: false) == .done)
        let ambiguous = OutboxEvent.answered(.unknown("HTTP 504", pause: true))
        #expect(try OutboxLifecycle.next(from: .sending, on: ambiguous, idempotent: false) == .unknown)
        for state in [OutboxState.done, .parked, .unknown] {
            #expect(throws: OutboxTransitionError.self, "\(state)") {
                try OutboxLifecycle.next(from: state, on: accepted, idempotent: true)
            }
        }
    }
}
