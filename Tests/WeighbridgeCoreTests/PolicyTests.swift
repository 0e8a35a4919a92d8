import Testing
import WeighbridgeCore

private let arrival = Timestamp(rfc3339: "2026-11-25T08:00:00Z")!
private let batteries = [try! EWCCode(parsing: "16 06 05")]

@Suite("High-risk pre-notification rule")
struct HighRiskTests {
    private let policy = HighRiskPolicy.standard

    @Test("exactly 50 kg needs no notice; 50.001 kg does")
    func thresholdIsStrict() {
        #expect(
            policy.assess(codes: batteries, net: Mass(50, .kilograms), arrivedAt: arrival, prenotifiedAt: nil)
                == .highRisk(codes: batteries, notice: .notRequired))
        let over = policy.assess(codes: batteries, net: Mass(grams: 50_001), arrivedAt: arrival, prenotifiedAt: nil)
        #expect(over == .highRisk(codes: batteries, notice: .missing))
        #expect(over.blocksAutoConfirmation)
    }

    @Test("notice exactly 24 h before arrival is in time; one second less is late by that second")
    func noticePeriodIsInclusive() {
        let net = Mass(1_000, .kilograms)
        let inTime = policy.assess(
            codes: batteries, net: net, arrivedAt: arrival, prenotifiedAt: arrival.adding(seconds: -86_400))
        #expect(inTime == .highRisk(codes: batteries, notice: .given))
        #expect(!inTime.blocksAutoConfirmation)
        let late = policy.assess(
            codes: batteries, net: net, arrivedAt: arrival, prenotifiedAt: arrival.adding(seconds: -86_399))
        #expect(late == .highRisk(codes: batteries, notice: .late(shortByMilliseconds: 1_000)))
        #expect(late.blocksAutoConfirmation)
        let afterArrival = policy.assess(
            codes: batteries, net: net, arrivedAt: arrival, prenotifiedAt: arrival.adding(seconds: 60))
        #expect(afterArrival.blocksAutoConfirmation)
    }

    @Test("20 01 33 in any written form matches; other codes are not high-risk")
    func codesMatchByDigits() throws {
        let mixed = [try EWCCode(parsing: "200133*"), try EWCCode(parsing: "20 01 01")]
        let assessment = policy.assess(codes: mixed, net: Mass(60, .kilograms), arrivedAt: arrival, prenotifiedAt: nil)
        #expect(assessment == .highRisk(codes: [try EWCCode(parsing: "20 01 33")], notice: .missing))
        #expect(
            policy.assess(
                codes: [try EWCCode(parsing: "20 01 01")], net: Mass(9_000, .kilograms), arrivedAt: arrival,
                prenotifiedAt: nil) == .notHighRisk)
    }

    @Test("the minimum weight is 20 divisions by default")
    func minimumWeight() {
        #expect(DecisionPolicy.standard.minimumWeight(division: Mass(20, .kilograms)) == Mass(400, .kilograms))
        #expect(DecisionPolicy.standard.minimumWeight(division: Mass(grams: 500)) == Mass(10, .kilograms))
    }
}

@Suite("Two-pass net and stored tares")
struct NetWeighingTests {
    private func weighing(_ ticket: Int64, _ kilograms: Int64, at seconds: Int64) -> Weighing {
        Weighing(
            ticket: ticket, bridge: "in", weight: Mass(kilograms, .kilograms), division: Mass(20, .kilograms),
            time: arrival.adding(seconds: seconds))
    }

    @Test("the heavier weighing is the gross whichever comes first; net is exact")
    func pairsInEitherOrder() {
        let loaded = weighing(1, 32_140, at: 0)
        let empty = weighing(2, 12_060, at: 900)
        for net in [NetWeighing(pairing: loaded, with: empty), NetWeighing(pairing: empty, with: loaded)] {
            #expect(net.gross == loaded)
            #expect(net.tareWeighing == empty)
            #expect(net.net == Mass(20_080, .kilograms))
            #expect(net.tareKind == .measured)
            #expect(net.firstWeighedAt == loaded.time)
            #expect(net.secondWeighedAt == empty.time)
        }
        // A vehicle that arrives empty and leaves loaded (a collection) pairs the same way.
        let collection = NetWeighing(pairing: weighing(3, 12_000, at: 0), with: weighing(4, 14_000, at: 600))
        #expect(collection.net == Mass(2_000, .kilograms))
    }

    @Test("a stored tare is used until it expires, and never after")
    func storedTareExpiry() throws {
        let vehicle = VehicleRegistration("ab12 cde")!
        let tare = StoredTare(
            vehicle: vehicle, tare: Mass(12_000, .kilograms), setAt: arrival.adding(seconds: -3_600),
            expiresAt: arrival.adding(seconds: 3_600))
        let net = try NetWeighing(gross: weighing(1, 30_000, at: 3_599), storedTare: tare)
        #expect(net.net == Mass(18_000, .kilograms))
        #expect(net.tareKind == .preset)
        #expect(throws: NetWeighingError.storedTareNotValid(vehicle, expiresAt: tare.expiresAt)) {
            try NetWeighing(gross: weighing(1, 30_000, at: 3_600), storedTare: tare)
        }
        #expect(throws: NetWeighingError.tareExceedsGross(tare: tare.tare, gross: Mass(11_000, .kilograms))) {
            try NetWeighing(gross: weighing(1, 11_000, at: 0), storedTare: tare)
        }
    }

    @Test("registrations normalise spaces and case; junk is refused")
    func registrations() {
        #expect(VehicleRegistration("ab12 cde") == VehicleRegistration("AB12CDE"))
        #expect(VehicleRegistration("AB12-CDE")?.normalised == "AB12CDE")
        #expect(VehicleRegistration("") == nil)
        #expect(VehicleRegistration("AB12;DROP") == nil)
        #expect(VehicleRegistration("ABCDEFGHIJK") == nil)
    }
}

@Suite("Backoff with full jitter")
struct BackoffTests {
    /// SplitMix64: a small seeded generator, so the draws are the same on every run.
    private struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("ceilings double from the base and stop at the cap")
    func ceilings() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(300))
        #expect(
            (0...10).map { backoff.ceiling(attempt: $0) }
                == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300].map { Duration.seconds($0) })
        #expect(backoff.ceiling(attempt: 10_000) == .seconds(300))
    }

    @Test("delays are spread over the whole of [0, ceiling] and never under Retry-After")
    func delays() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
        var random = SplitMix(state: 42)
        let draws = (0..<2_000).map { _ in backoff.delay(attempt: 3, using: &random) }
        #expect(draws.allSatisfy { $0 >= .zero && $0 <= .milliseconds(800) })
        // Full jitter: the draws cover the range, not just its top (equal jitter) or one point.
        #expect(draws.contains { $0 < .milliseconds(80) })
        #expect(draws.contains { $0 > .milliseconds(720) })
        for attempt in 0..<20 {
            #expect(backoff.delay(attempt: attempt, retryAfter: .seconds(30), using: &random) >= .seconds(30))
        }
    }
}
