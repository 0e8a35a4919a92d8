import PropertyBased
import Testing
import WeighbridgeCore

/// Drives a capture machine with readings 200 ms apart, the default poll interval.
private struct Driver {
    var machine: CaptureStateMachine
    var time: Duration = .zero
    var captures: [CertifiedCapture] = []
    var printRequests = 0

    init(settings: CaptureSettings = CaptureSettings(division: Mass(20, .kilograms))) {
        machine = CaptureStateMachine(settings: settings)
    }

    /// Feeds `count` readings of `kilograms` with `status`, returning nothing.
    mutating func feed(_ kilograms: Int64, _ status: IndicatorStatus = .stable, count: Int = 1, counter: UInt32? = nil)
    {
        feedGrams(kilograms * 1_000, status, count: count, counter: counter)
    }

    mutating func feedGrams(_ grams: Int64, _ status: IndicatorStatus = .stable, count: Int = 1, counter: UInt32? = nil)
    {
        for _ in 0..<count {
            switch machine.receive(
                IndicatorSample(
                    weight: Mass(grams: grams), status: status, legalCounter: counter,
                    time: time))
            {
            case .capture(let capture): captures.append(capture)
            case .requestPrint: printRequests += 1
            case .none: break
            }
            time += .milliseconds(200)
        }
    }
}

@Suite("Certified capture state machine")
struct CaptureTests {
    @Test("a capture the indicator did not store is refused: armed again, the standing load taken at its next window")
    func refusedCaptureIsTakenAgain() {
        var driver = Driver()
        driver.feed(0, [.stable, .centreOfZero], count: 3)
        driver.feed(18_420, count: 11)
        #expect(driver.captures.count == 1)
        #expect(driver.machine.phase == .waitingForZero)
        driver.machine.captureRefused()
        #expect(driver.machine.phase == .armed)
        driver.feed(18_420, count: 10)
        #expect(driver.captures.count == 1, "a new window of the whole settle time first")
        driver.feed(18_420, count: 1)
        #expect(driver.captures.map(\.sample.weight) == [Mass(18_420, .kilograms), Mass(18_420, .kilograms)])
        // Refusing when nothing was captured changes nothing.
        driver.feed(0, [.stable, .centreOfZero], count: 1)
        driver.machine.captureRefused()
        #expect(driver.machine.phase == .waitingForZero)
    }

    @Test("a load settles for two seconds after the deck was at zero: exactly one capture, weight unaltered")
    func capturesOnceAfterSettling() {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(12_340, [], count: 3)  // motion
        driver.feed(12_340, count: 10)  // 1.8 s of stable readings: not yet
        #expect(driver.captures.isEmpty)
        driver.feed(12_340, count: 1)  // the 11th stable reading is 2.0 s after the first
        #expect(driver.captures.map(\.sample.weight) == [Mass(12_340, .kilograms)])
        driver.feed(12_340, count: 50)  // standing on the deck: no second capture
        #expect(driver.captures.count == 1)
        #expect(driver.machine.phase == .waitingForZero)
    }

    @Test(
        "the settle time is real: a reply later than two poll intervals starts the window again",
        arguments: [
            // Reply times (ms) of stable readings after zero at 0; the settle time is 600 ms, the
            // longest gap 400 ms; the index of the reading captured, if any.
            (replies: [200, 400, 600, 800], captured: 3),  // on time: 600 ms between first and last
            (replies: [200, 400, 800], captured: 2),  // a 400 ms gap is still watched
            (replies: [200, 400, 801, 1_001, 1_201, 1_401], captured: 5),  // 401 ms: it starts again at 801
            (replies: [200, 801, 1_001, 1_201, 1_400], captured: nil),  // from 801, 599 ms: not yet
            (replies: [200, 300, 1_200, 1_300, 1_400], captured: nil),  // a stall inside the window
            (replies: [200, 400, 600, 799], captured: nil),  // 599 ms of replies: not yet
        ] as [(replies: [Int], captured: Int?)])
    func settleTimeIsReal(replies: [Int], captured: Int?) {
        var machine = CaptureStateMachine(
            settings: CaptureSettings(
                division: Mass(20, .kilograms), settle: .milliseconds(600), maximumGap: .milliseconds(400)))
        for zero in [-400, -200, 0] {  // armed: zero for the dwell, three readings
            _ = machine.receive(IndicatorSample(weight: .zero, status: .stable, time: .milliseconds(zero)))
        }
        var capturedAt: Int?
        for (index, reply) in replies.enumerated() {
            let sample = IndicatorSample(
                weight: Mass(12_340, .kilograms), status: .stable, time: .milliseconds(reply))
            if case .capture = machine.receive(sample) {
                #expect(capturedAt == nil)
                capturedAt = index
            }
        }
        #expect(capturedAt == captured)
    }

    @Test("nothing above Max is certified: above Max + 9e no capture, whatever the indicator's flags say")
    func nothingAboveMaximumIsCertified() {
        let settings = CaptureSettings(division: Mass(20, .kilograms), maximum: Mass(60_000, .kilograms))
        #expect(settings.overloadLimit == Mass(60_180, .kilograms))
        var driver = Driver(settings: settings)
        driver.feed(0, count: 3)
        driver.feed(61_000, count: 30)  // stable, no overload flag: a 62 t lorry on a 60 t bridge
        #expect(driver.captures.isEmpty)
        driver.feed(60_200, count: 30)  // one division above the limit
        #expect(driver.captures.isEmpty)
        driver.feed(60_180, count: 11)  // Max + 9e exactly: still a weight the indicator shows
        #expect(driver.captures.map(\.sample.weight) == [Mass(60_180, .kilograms)])
    }

    @Test("jitter within ±1 division keeps the window; the recorded weight is the reading at capture")
    func jitterInsideOneDivision() {
        var driver = Driver()
        driver.feed(0, count: 3)
        for weight: Int64 in [12_340, 12_360, 12_320, 12_340, 12_360, 12_340, 12_320, 12_340, 12_360, 12_340, 12_360] {
            driver.feed(weight)
        }
        #expect(driver.captures.map(\.sample.weight) == [Mass(12_360, .kilograms)])
    }

    @Test("a step larger than one division restarts the window")
    func jitterOutsideOneDivision() {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(12_340, count: 10)
        driver.feed(12_380)  // two divisions away: new window starts here
        driver.feed(12_380, count: 9)
        #expect(driver.captures.isEmpty)
        driver.feed(12_380)
        #expect(driver.captures.map(\.sample.weight) == [Mass(12_380, .kilograms)])
    }

    @Test("the motion bit flapping inside the window restarts it every time")
    func motionFlapping() {
        var driver = Driver()
        driver.feed(0, count: 3)
        for _ in 0..<20 {
            driver.feed(12_340, count: 5)
            driver.feed(12_340, [])
        }
        #expect(driver.captures.isEmpty)
        driver.feed(12_340, count: 11)
        #expect(driver.captures.count == 1)
    }

    @Test(
        "overload, underload or error mid-window: no capture from that window",
        arguments: [
            IndicatorStatus.overload, .underload, .error,
        ])
    func faultMidWindow(fault: IndicatorStatus) {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(12_340, count: 6)
        driver.feed(12_340, [.stable, fault])
        driver.feed(12_340, count: 10)
        #expect(driver.captures.isEmpty)
        driver.feed(12_340)
        #expect(driver.captures.count == 1)
    }

    @Test("communication loss mid-window discards it")
    func communicationLoss() {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(12_340, count: 8)
        driver.machine.communicationLost()
        driver.feed(12_340, count: 10)
        #expect(driver.captures.isEmpty)
        driver.feed(12_340)
        #expect(driver.captures.count == 1)
    }

    @Test("a weight that never returns to zero yields no second capture; zero re-arms")
    func noSecondCaptureWithoutZero() {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(12_340, count: 11)
        driver.feed(400, count: 20)  // partly off, still above ¼ division
        driver.feed(8_000, count: 20)  // another vehicle drives on without the deck emptying
        #expect(driver.captures.count == 1)
        driver.feedGrams(5_000, count: 3)  // within ¼ division (5 kg) of zero
        driver.feed(8_000, count: 11)
        #expect(driver.captures.map(\.sample.weight) == [Mass(12_340, .kilograms), Mass(8_000, .kilograms)])
    }

    @Test("re-arming needs the deck at zero for the dwell time: one zero reading under a vehicle is not enough")
    func reArmingNeedsZeroDwell() {
        var driver = Driver()
        driver.feed(0, count: 3)  // 400 ms at zero: armed
        driver.feed(12_340, count: 11)
        #expect(driver.captures.count == 1)
        // A gateway answers one all-zero block (no flags) while the vehicle stands, then two.
        driver.feed(0, [], count: 1)
        driver.feed(12_340, count: 11)
        driver.feed(0, [], count: 2)
        driver.feed(12_340, count: 11)
        #expect(driver.captures.count == 1, "re-armed by a glitch")
        // Two zero readings a whole dwell apart (a delayed poll) are still only two.
        driver.feed(0, count: 1)
        driver.time += .milliseconds(200)
        driver.feed(0, count: 1)
        driver.feed(12_340, count: 11)
        #expect(driver.captures.count == 1, "armed on two readings")
        // Zero readings with a gap longer than two poll intervals do not make a dwell either.
        driver.feed(0, count: 2)
        driver.time += .milliseconds(400)
        driver.feed(0, count: 1)
        driver.feed(12_340, count: 11)
        #expect(driver.captures.count == 1)
        // The vehicle really leaves: three zero readings (400 ms), and the next one is captured.
        driver.feed(0, count: 3)
        driver.feed(15_000, count: 11)
        #expect(driver.captures.map(\.sample.weight.grams) == [12_340_000, 15_000_000])
    }

    @Test("the centre-of-zero bit arms even when the reading is just outside ¼ division")
    func centreOfZeroBit() {
        var driver = Driver()
        driver.feedGrams(5_001)
        #expect(driver.machine.phase == .waitingForZero)
        driver.feedGrams(5_001, [.stable, .centreOfZero], count: 3)
        #expect(driver.machine.phase == .armed)
    }

    @Test("a vehicle already on the deck at start-up is not captured")
    func startsDisarmed() {
        var driver = Driver()
        driver.feed(12_340, count: 30)
        #expect(driver.captures.isEmpty)
    }

    @Test("below the arming threshold (20 divisions) nothing is captured; at it, a capture")
    func armingThreshold() {
        var driver = Driver()
        driver.feed(0, count: 3)
        driver.feed(380, count: 30)
        #expect(driver.captures.isEmpty)
        driver.feed(400, count: 11)
        #expect(driver.captures.count == 1)
    }

    @Test("a faulty reading at zero does not arm")
    func faultAtZeroDoesNotArm() {
        var driver = Driver()
        driver.feed(0, [.stable, .error])
        #expect(driver.machine.phase == .waitingForZero)
    }

    @Test("transaction mode: the counter must advance; the weight read with it is recorded")
    func transactionCounter() {
        var driver = Driver(settings: CaptureSettings(division: Mass(20, .kilograms), transaction: .counter))
        driver.feed(0, count: 3, counter: 41)
        driver.feed(12_340, count: 30, counter: 41)
        #expect(driver.captures.isEmpty)
        driver.feed(12_360, counter: 42)
        #expect(driver.captures.map(\.sample.weight) == [Mass(12_360, .kilograms)])
        #expect(driver.captures.first?.legalCounter == 42)
    }

    @Test("transaction mode with a print command asks once, then captures when the counter moves")
    func transactionPrintCommand() {
        var driver = Driver(settings: CaptureSettings(division: Mass(20, .kilograms), transaction: .printCommand))
        driver.feed(0, count: 3, counter: 7)
        driver.feed(12_340, count: 15, counter: 7)
        #expect(driver.printRequests == 1)
        driver.feed(12_340, counter: 8)
        #expect(driver.captures.first?.legalCounter == 8)
    }

    @Test("transaction mode: a reading without its counter is a read error that ends the window")
    func transactionMissingCounter() {
        var driver = Driver(settings: CaptureSettings(division: Mass(20, .kilograms), transaction: .counter))
        driver.feed(0, count: 3, counter: 1)
        driver.feed(12_340, count: 11, counter: 1)
        driver.feed(12_340)
        driver.feed(12_340, counter: 2)
        #expect(driver.captures.isEmpty)
    }

    @Test("property: with random readings, never two captures without a zero between them")
    func atMostOneCapturePerPresence() async {
        let reading = Gen.int64(in: -2...60).map { $0 * 500 }
        await propertyCheck(
            count: 300, input: reading.array(of: 1...300),
            Gen.uint16(in: 0...63).array(of: 300...300)
        ) { weights, flags in
            var machine = CaptureStateMachine(
                settings: CaptureSettings(
                    division: Mass(1, .kilograms),
                    settle: .milliseconds(600)))
            var capturedSinceZero = false
            for (index, grams) in weights.enumerated() {
                let sample = IndicatorSample(
                    weight: Mass(grams: grams),
                    status: IndicatorStatus(rawValue: flags[index]),
                    time: .milliseconds(200 * index))
                let zero =
                    (sample.weight == .zero || sample.status.contains(.centreOfZero))
                    && sample.status.isDisjoint(with: IndicatorStatus.faults)
                if zero { capturedSinceZero = false }
                if case .capture(let capture) = machine.receive(sample) {
                    #expect(!capturedSinceZero)
                    #expect(capture.sample.status.contains(.stable))
                    #expect(capture.sample.status.isDisjoint(with: IndicatorStatus.faults))
                    capturedSinceZero = true
                }
            }
        }
    }
}
