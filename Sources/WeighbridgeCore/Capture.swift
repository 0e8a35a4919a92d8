/// The status flags an indicator reports with each reading, already decoded from its register map
/// (a "motion" bit arrives here inverted, as `stable`).
public struct IndicatorStatus: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The indicator's own standstill detection says the weight is stable.
    public static let stable = IndicatorStatus(rawValue: 1 << 0)
    /// Load above maximum capacity (plus 9 e).
    public static let overload = IndicatorStatus(rawValue: 1 << 1)
    /// Load below the negative display limit.
    public static let underload = IndicatorStatus(rawValue: 1 << 2)
    /// The weight is within ±¼ division of zero (the indicator's centre-of-zero lamp).
    public static let centreOfZero = IndicatorStatus(rawValue: 1 << 3)
    /// The indicator reports an error or "data not OK".
    public static let error = IndicatorStatus(rawValue: 1 << 4)
    /// A preset tare (PT) is active on the indicator.
    public static let presetTare = IndicatorStatus(rawValue: 1 << 5)

    /// Any flag that makes a reading unusable for trade.
    public static let faults: IndicatorStatus = [.overload, .underload, .error]
}

/// One decoded reading from an indicator.
public struct IndicatorSample: Sendable, Hashable {
    /// The gross weight shown, exactly as decoded.
    public var weight: Mass
    /// The decoded status flags.
    public var status: IndicatorStatus
    /// The indicator's consecutive print/alibi counter, when its profile has one.
    public var legalCounter: UInt32?
    /// When the reading's reply arrived, on a monotonic clock with any origin: the latest moment the
    /// indicator can have shown it, so a window measured by these times is never longer than the
    /// time the weight was really seen.
    public var time: Duration

    public init(weight: Mass, status: IndicatorStatus, legalCounter: UInt32? = nil, time: Duration) {
        self.weight = weight
        self.status = status
        self.legalCounter = legalCounter
        self.time = time
    }
}

/// How a bridge's certified captures are taken.
public struct CaptureSettings: Sendable, Hashable {
    /// The indicator's verification scale interval `e`.
    public var division: Mass
    /// The weight must reach this many divisions to be captured (default 20, the legal minimum).
    public var armingDivisions: Int64
    /// How long every sample must stay within ±1 division before a capture (default 2 s), measured
    /// between the replies of the window's first and last readings.
    public var settle: Duration
    /// The longest time between two readings of one window (two poll intervals: default 400 ms). A
    /// longer gap (a stalled poll, a loaded machine) is time nobody watched the weight, so the
    /// window starts again: a capture is delayed, never taken on a window shorter than `settle`.
    public var maximumGap: Duration
    /// Whether captures are tied to the indicator's legal print/alibi counter.
    public var transaction: TransactionMode
    /// The instrument's maximum capacity, Max: a reading above Max + 9e is an overload, whatever
    /// the indicator's own flags say (OIML R 76-1, 4.2.3: an indicator blanks above Max + 9e).
    public var maximum: Mass?
    /// How long the deck must read zero, between the replies of the first and last zero reading
    /// with no gap longer than `maximumGap`, before the bridge is armed (default 400 ms, two poll
    /// intervals), and never on fewer than three readings. One reading at zero is not the deck emptying: a
    /// gateway that answers one all-zero block under a standing vehicle would re-arm it.
    public var zeroDwell: Duration

    public init(
        division: Mass, armingDivisions: Int64 = 20, settle: Duration = .seconds(2),
        maximumGap: Duration = .milliseconds(400), transaction: TransactionMode = .none, maximum: Mass? = nil,
        zeroDwell: Duration = .milliseconds(400)
    ) {
        self.division = division
        self.armingDivisions = armingDivisions
        self.settle = settle
        self.maximumGap = maximumGap
        self.transaction = transaction
        self.maximum = maximum
        self.zeroDwell = zeroDwell
    }

    /// The heaviest reading that can be certified: Max + 9e.
    public var overloadLimit: Mass? { maximum.map { $0 + division * 9 } }

    /// Whether `weight` is above what can be certified (above Max + 9e).
    public func isOverload(_ weight: Mass) -> Bool {
        guard let overloadLimit else { return false }
        return weight > overloadLimit
    }
}

/// Whether and how a capture waits for the indicator to store the weighing in its legal memory.
public enum TransactionMode: Sendable, Hashable {
    /// No counter: the settled weight is the capture.
    case none
    /// Capture only once the counter has advanced (someone pressed print on the indicator).
    case counter
    /// As `counter`, but ask the adapter to write the indicator's print command once settled.
    case printCommand
}

/// A weight the daemon has certified: the indicator was at zero before, the load reached the
/// minimum, and both the indicator and the daemon saw it stable for the settle time.
public struct CertifiedCapture: Sendable, Hashable {
    /// The sample whose weight is recorded, unaltered.
    public var sample: IndicatorSample
    /// The legal counter read together with the weight (transaction mode).
    public var legalCounter: UInt32? { sample.legalCounter }
}

/// The certified-capture rules of a bridge as a state machine (docs/indicators.md, "Certified capture").
///
/// Feed every sample and every communication loss; it answers with what to do. At most one
/// capture per vehicle presence: after a capture nothing more is captured until the deck has read
/// zero for the zero dwell. It starts disarmed, so a vehicle already standing on the deck when the daemon starts is
/// not captured: the daemon did not see the deck empty first.
public struct CaptureStateMachine: Sendable {
    /// What to do after an input.
    public enum Action: Sendable, Hashable {
        case none
        /// Write the indicator's print command (transaction mode `.printCommand`), then keep polling.
        case requestPrint
        /// Record this capture.
        case capture(CertifiedCapture)
    }

    /// Where the machine stands, for `status` and `weight` queries.
    public enum Phase: String, Sendable, Hashable {
        /// Waiting for the deck to return to zero (at start, and after every capture).
        case waitingForZero = "waiting_for_zero"
        /// The deck was at zero; waiting for a load at or above the arming threshold.
        case armed
        /// A stable load is being watched for the settle time.
        case settling
    }

    private struct Window: Sendable {
        var start: Duration
        var latest: Duration
        var reference: Mass
        var counterAtStart: UInt32?
        var printRequested = false
    }

    /// Zero readings in a row: the first's and the latest's reply times, and how many.
    private struct ZeroRun: Sendable {
        var start: Duration
        var latest: Duration
        var readings = 1
    }

    private enum State: Sendable {
        /// `zero` holds the zero readings seen so far, if the latest one was at zero.
        case waitingForZero(zero: ZeroRun?)
        case armed
        case settling(Window)
    }

    /// The least number of zero readings in a row that arm the bridge, however slow the polls.
    static let zeroReadings = 3

    /// The rules this bridge captures by.
    public let settings: CaptureSettings
    private var state: State = .waitingForZero(zero: nil)
    /// Whether the last input gave a capture (which `captureRefused` may still take back).
    private var justCaptured = false

    /// A machine that starts disarmed.
    public init(settings: CaptureSettings) {
        self.settings = settings
    }

    /// The current phase.
    public var phase: Phase {
        switch state {
        case .waitingForZero: .waitingForZero
        case .armed: .armed
        case .settling: .settling
        }
    }

    /// The connection to the indicator failed: a window that spans a gap is not evidence of
    /// stability, so it is discarded, and so is a run of zero readings not yet long enough.
    /// Arming survives, since no capture happened meanwhile.
    public mutating func communicationLost() {
        justCaptured = false
        switch state {
        case .settling: state = .armed
        case .waitingForZero: state = .waitingForZero(zero: nil)
        case .armed: break
        }
    }

    /// The capture just given could not be completed (the indicator did not store it in its
    /// alibi memory, or its answer was lost): nothing was captured, so the bridge is armed again
    /// and the next settled window is taken, without the deck returning to zero first.
    /// Only the capture just given can be refused: once another input has come, it stands.
    public mutating func captureRefused() {
        guard justCaptured else { return }
        justCaptured = false
        state = .armed
    }

    /// Takes the next sample.
    public mutating func receive(_ sample: IndicatorSample) -> Action {
        let action = take(sample)
        if case .capture = action { justCaptured = true } else { justCaptured = false }
        return action
    }

    private mutating func take(_ sample: IndicatorSample) -> Action {
        let division = settings.division
        var sample = sample
        if settings.isOverload(sample.weight) { sample.status.insert(.overload) }

        if sample.status.contains(.centreOfZero) || 4 * sample.weight.grams.magnitude <= division.grams.magnitude {
            let faultFree = sample.status.isDisjoint(with: IndicatorStatus.faults)
            switch state {
            case .waitingForZero(let zero):
                // A faulty reading at zero does not count towards arming a disarmed bridge.
                guard faultFree else {
                    state = .waitingForZero(zero: nil)
                    return .none
                }
                var run = ZeroRun(start: sample.time, latest: sample.time)
                if let zero, sample.time - zero.latest <= settings.maximumGap {
                    run.start = zero.start
                    run.readings = zero.readings + 1
                }
                let dwelt = sample.time - run.start >= settings.zeroDwell && run.readings >= Self.zeroReadings
                state = dwelt ? .armed : .waitingForZero(zero: run)
            case .settling:
                // The vehicle left before it settled: nothing was captured since the last zero.
                state = .armed
            case .armed:
                break
            }
            return .none
        }

        switch state {
        case .waitingForZero:
            state = .waitingForZero(zero: nil)
            return .none

        case .armed, .settling:
            let usable =
                sample.status.isDisjoint(with: IndicatorStatus.faults)
                && sample.status.contains(.stable)
                && sample.weight >= division * settings.armingDivisions
                && (settings.transaction == .none || sample.legalCounter != nil)
            guard usable else {
                state = .armed
                return .none
            }
            guard case .settling(var window) = state, window.reference.distance(to: sample.weight) <= division,
                sample.time - window.latest <= settings.maximumGap
            else {
                state = .settling(
                    Window(
                        start: sample.time, latest: sample.time, reference: sample.weight,
                        counterAtStart: sample.legalCounter))
                return .none
            }
            window.latest = sample.time
            guard sample.time - window.start >= settings.settle else {
                state = .settling(window)
                return .none
            }
            switch settings.transaction {
            case .none:
                break
            case .counter, .printCommand:
                guard sample.legalCounter == window.counterAtStart else { break }
                if settings.transaction == .printCommand, !window.printRequested {
                    window.printRequested = true
                    state = .settling(window)
                    return .requestPrint
                }
                state = .settling(window)
                return .none
            }
            state = .waitingForZero(zero: nil)
            return .capture(CertifiedCapture(sample: sample))
        }
    }
}
