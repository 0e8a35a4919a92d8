import Foundation
import Synchronization

/// The thread a simulator speaks on: `start` runs its loop and returns once the loop says it is
/// ready (or why it cannot be); `stop` asks the loop to end and returns once it has.
final class SimulatorThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let boundPort = Atomic<Int>(0)
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let failure = Mutex<String?>(nil)

    /// Runs `serve` on a thread named `name`; `serve` calls `listening` or `failed` once.
    func start(name: String, _ serve: @escaping @Sendable () -> Void) throws {
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = name
        thread.start()
        ready.wait()
        if let message = failure.withLock({ $0 }) { throw SimulatorError(message: message) }
    }

    /// Ends the loop and waits for it; a second call does nothing.
    func stop() {
        guard !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        finished.wait()
    }

    /// Whether the loop should end: for it to look at each turn.
    var isStopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// The TCP port the simulator listens on (0 on a tty).
    var port: Int { boundPort.load(ordering: .sequentiallyConsistent) }

    /// The loop is ready: `start` returns.
    func listening(port: Int = 0) {
        boundPort.store(port, ordering: .sequentiallyConsistent)
        ready.signal()
    }

    /// The loop cannot start: `start` throws `message`.
    func failed(_ message: String) {
        failure.withLock { $0 = message }
        ready.signal()
    }
}
