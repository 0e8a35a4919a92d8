import Synchronization
import WeighbridgeModbus

/// A clock that moves only when the test says so: the acquisition loop sleeping on it wakes when
/// `advance(by:)` carries `now` to its deadline, however long that takes in real time, so a test
/// can make a poll late by exactly as much as it likes.
final class ManualClock: AcquisitionClock {
    /// An instant: the time advanced since the clock was made.
    struct Instant: InstantProtocol {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextKey = 0
        var sleepers: [Int: Sleeper] = [:]
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }

    /// How many loops are asleep on this clock.
    var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock forward by `duration`, waking every sleeper whose deadline it reaches.
    func advance(by duration: Duration) {
        let woken = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for key in due.keys { state.sleepers[key] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    func sleep(until deadline: Instant, on link: isolated ModbusLink) async throws {
        let key = state.withLock { state in
            state.nextKey += 1
            return state.nextKey
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let asleep = state.withLock { state in
                    guard !Task.isCancelled, state.now < deadline else { return false }
                    state.sleepers[key] = Sleeper(deadline: deadline, continuation: continuation)
                    return true
                }
                if !asleep {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: key) }?.continuation.resume(throwing: CancellationError())
        }
    }
}
