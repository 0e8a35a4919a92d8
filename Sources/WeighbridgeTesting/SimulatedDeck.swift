import Foundation
import Synchronization
public import WeighbridgeCore

/// What a simulated indicator's deck shows, and the vehicle scenario driving it: shared by the
/// Modbus and the ASCII simulators, which differ only in how they tell it.
public final class SimulatedDeck: Sendable {
    private struct State: Sendable {
        var reading: IndicatorReading
        var scenario: VehicleScenario?
        /// Readings told without a fault at an empty deck since the latest vehicle left...
        var answersAtZero = 0
        /// ...and before the latest vehicle drove on: what the daemon could arm the bridge from.
        var answersAtZeroBeforeVehicle = 0
    }

    public let division: Mass
    private let state: Mutex<State>
    /// Whether the indicator shows a net beside the gross (its register map has one).
    private let showsNet: Bool

    /// An empty deck at zero, stable.
    public init(division: Mass, showsNet: Bool, showsTare: Bool, legalCounter: Bool) {
        self.division = division
        self.showsNet = showsNet
        state = Mutex(
            State(
                reading: IndicatorReading(
                    gross: .zero, net: showsNet ? .zero : nil, tare: showsTare ? .zero : nil,
                    status: [.stable, .centreOfZero], legalCounter: legalCounter ? 1 : nil)))
    }

    /// Shows `reading` from now on (cancels any scenario).
    public func show(_ reading: IndicatorReading) {
        state.withLock {
            $0.reading = reading
            $0.scenario = nil
        }
    }

    /// Shows a gross weight with these flags (cancels any scenario).
    public func show(gross: Mass, status: IndicatorStatus = .stable) {
        state.withLock {
            $0.reading.gross = gross
            $0.reading.net = showsNet ? gross - ($0.reading.tare ?? .zero) : nil
            $0.reading.status = gross.grams == 0 ? status.union(.centreOfZero) : status.subtracting(.centreOfZero)
            $0.scenario = nil
        }
    }

    /// Advances the legal counter, as pressing print does.
    public func print() {
        state.withLock { $0.reading.legalCounter = ($0.reading.legalCounter ?? 0) &+ 1 }
    }

    /// Runs a vehicle scenario on the deck from now on: its clock starts now, not at the next
    /// reading, so where a vehicle comes to rest between two readings is as random as on a real deck.
    public func run(_ scenario: VehicleScenario) {
        state.withLock {
            $0.scenario = scenario
            $0.answersAtZeroBeforeVehicle = $0.answersAtZero
            $0.answersAtZero = 0
            advance(&$0)
        }
    }

    /// What the deck shows now.
    public var reading: IndicatorReading { state.withLock { $0.reading } }

    /// What the deck shows now, told to the daemon: `faulty` when the telling is spoilt (it is
    /// then not counted as an answer the daemon could use).
    func tell(faulty: Bool) -> IndicatorReading {
        state.withLock {
            advance(&$0)
            if !faulty {
                $0.scenario?.noteAnswer(now: .now)
                if $0.reading.gross == .zero, $0.scenario?.isFinished ?? true { $0.answersAtZero += 1 }
            }
            return $0.reading
        }
    }

    /// Steps the running scenario, if any, to now.
    func advance() {
        state.withLock { advance(&$0) }
    }

    /// Whether the running scenario has finished (or none runs).
    public var scenarioFinished: Bool { state.withLock { $0.scenario?.isFinished ?? true } }

    /// How many readings were told without a fault at an empty deck between the vehicle before
    /// the latest one and the latest.
    public var answersAtZeroBeforeVehicle: Int { state.withLock { $0.answersAtZeroBeforeVehicle } }

    /// When readings were told without a fault while the latest vehicle stood still, counted
    /// from when it came to rest (empty until one has).
    public var answersAtRest: [Duration] { state.withLock { $0.scenario?.answersAtRest ?? [] } }

    /// When the latest vehicle came to rest on the deck, in microseconds since the Unix epoch
    /// (nil until one has): where a weigh-to-report latency starts.
    public var lastSettledMicroseconds: Int64? {
        guard let settled = state.withLock({ $0.scenario?.settledAt }) else { return nil }
        let ago = settled.duration(to: .now)
        let wall = Date().timeIntervalSince1970
        return Int64(wall * 1_000_000) - ago.components.seconds * 1_000_000 - ago.components.attoseconds
            / 1_000_000_000_000
    }

    private func advance(_ state: inout State) {
        guard var scenario = state.scenario else { return }
        if let reading = scenario.step(now: .now, division: division, previous: state.reading) {
            state.reading = reading
        }
        state.scenario = scenario
    }
}
