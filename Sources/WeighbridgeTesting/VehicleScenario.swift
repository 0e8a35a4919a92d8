public import WeighbridgeCore

/// A vehicle driving over a simulated bridge: on (the weight ramps up with jitter and the motion
/// bit), standing still (stable at its weight), then off again to an empty deck. The jitter is
/// drawn from a seeded generator, so a scenario plays the same way every time.
public struct VehicleScenario: Sendable, Hashable {
    /// The weight shown while the vehicle stands still.
    public var weight: Mass
    /// How long driving on (and off) takes.
    public var ramp: Duration
    /// How long the vehicle stands still, stable.
    public var hold: Duration
    /// Jitter while moving, in divisions either way.
    public var jitterDivisions: Int64
    private var random: SplitMix64
    private var start: ContinuousClock.Instant?
    /// Whether the deck is empty again.
    public private(set) var isFinished = false
    /// When the vehicle came to rest (the end of driving on), once it has.
    public private(set) var settledAt: ContinuousClock.Instant?
    /// When the indicator answered a poll while the vehicle stood still, after `settledAt`: what
    /// the daemon could build a settle window from.
    public private(set) var answersAtRest: [Duration] = []

    /// A vehicle of `weight`; `seed` makes the jitter repeatable.
    public init(
        weight: Mass, ramp: Duration = .milliseconds(500), hold: Duration = .seconds(3),
        jitterDivisions: Int64 = 3, seed: UInt64 = 1
    ) {
        self.weight = weight
        self.ramp = ramp
        self.hold = hold
        self.jitterDivisions = jitterDivisions
        self.random = SplitMix64(seed: seed)
    }

    /// Notes a poll answered at `now` with what the deck shows, if the vehicle stands still then.
    mutating func noteAnswer(now: ContinuousClock.Instant) {
        guard let settledAt, let start, now < start + ramp + hold else { return }
        answersAtRest.append(settledAt.duration(to: now))
    }

    /// The reading at `now`, or nil once finished (the deck stays as it is).
    mutating func step(now: ContinuousClock.Instant, division: Mass, previous: IndicatorReading) -> IndicatorReading? {
        guard !isFinished else { return nil }
        let start = self.start ?? now
        self.start = start
        let elapsed = start.duration(to: now)
        var reading = previous
        func moving(fraction: Double) -> Mass {
            let divisions = Int64((Double(weight.grams / division.grams) * fraction).rounded())
            let jitter =
                jitterDivisions == 0 ? 0 : Int64(random.next() % UInt64(2 * jitterDivisions + 1)) - jitterDivisions
            return division * max(0, divisions + jitter)
        }
        if elapsed < ramp {
            reading.gross = moving(fraction: elapsed / ramp)
            reading.status = []
        } else if elapsed < ramp + hold {
            reading.gross = weight
            reading.status = .stable
            if settledAt == nil { settledAt = start + ramp }
        } else if elapsed < ramp * 2 + hold {
            reading.gross = moving(fraction: 1 - (elapsed - ramp - hold) / ramp)
            reading.status = []
        } else {
            reading.gross = .zero
            reading.status = [.stable, .centreOfZero]
            isFinished = true
        }
        if reading.gross == .zero { reading.status.insert(.centreOfZero) }
        reading.net = previous.net == nil ? nil : reading.gross
        return reading
    }
}

/// SplitMix64: a tiny, seedable generator (Steele, Lea and Flood 2014).
struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
