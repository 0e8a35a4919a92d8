import Synchronization
public import WeighbridgeCore

/// Collects acquisition events from a loop running in a child task.
///
/// Not an actor: the loop appends from its own thread without waiting for the test's
/// concurrency pool, which other tests may be holding, so a busy test runner cannot stall the
/// polls (and stretch or restart settle windows) the way it would stall an actor hop.
public final class EventLog: Sendable {
    private let recorded = Mutex<[AcquisitionEvent]>([])

    public init() {}

    public var events: [AcquisitionEvent] { recorded.withLock { $0 } }

    public func append(_ event: AcquisitionEvent) { recorded.withLock { $0.append(event) } }

    public var captures: [CapturedWeighing] {
        events.compactMap { if case .captured(let capture) = $0 { capture } else { nil } }
    }

    public var failures: Int { events.filter { if case .pollFailed = $0 { true } else { false } }.count }
    public var connections: Int { events.filter { if case .connected = $0 { true } else { false } }.count }
    public var readings: Int { events.filter { if case .reading = $0 { true } else { false } }.count }
}

/// Waits (with a deadline) for `condition` on the log.
public func waitFor(
    _ what: String, in log: EventLog, timeout: Duration = .seconds(10),
    _ condition: (EventLog) -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition(log) {
        guard ContinuousClock.now < deadline else { throw Timeout(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}
