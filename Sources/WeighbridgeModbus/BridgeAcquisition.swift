public import WeighbridgeCore

/// What one bridge's loop is told: its indicator's unit and register map, how often to poll, and
/// the figures of its capture rules.
public struct AcquisitionSettings: Sendable, Hashable {
    public var name: String
    /// The Modbus unit (slave) id.
    public var unit: Int
    public var registers: RegisterMap
    public var pollMilliseconds: Int
    public var division: Mass
    public var maximum: Mass
    public var settleMilliseconds: Int

    public init(
        name: String, unit: Int, registers: RegisterMap, pollMilliseconds: Int, division: Mass, maximum: Mass,
        settleMilliseconds: Int
    ) {
        self.name = name
        self.unit = unit
        self.registers = registers
        self.pollMilliseconds = pollMilliseconds
        self.division = division
        self.maximum = maximum
        self.settleMilliseconds = settleMilliseconds
    }
}

/// The acquisition loop's time: what it reads as now, and how it waits for its next poll.
public protocol AcquisitionClock: Sendable {
    associatedtype Instant: InstantProtocol where Instant.Duration == Duration

    var now: Instant { get }

    /// Waits until `deadline`, isolated to `link` and woken there: waiting (and waking) on the
    /// shared concurrency pool, a poll would run late whenever other work holds it, and a late
    /// poll makes a gap that starts a settle window again.
    func sleep(until deadline: Instant, on link: isolated ModbusLink) async throws
}

extension ContinuousClock: AcquisitionClock {
    public func sleep(until deadline: Instant, on link: isolated ModbusLink) async throws {
        try await link.sleep(until: deadline)
    }
}

/// Polls one bridge's indicator, feeds the certified-capture rules, and reports what happens.
///
/// One block read per poll at the configured interval (deadline-scheduled, never a busy loop).
/// Any failed poll discards the stability window; the link is retried with exponential backoff
/// and full jitter from 100 ms to 10 s. Runs until its task is cancelled.
public struct BridgeAcquisition<C: AcquisitionClock>: Sendable {
    public let bridge: AcquisitionSettings
    public let link: ModbusLink
    private let clock: C
    private let wallClock: @Sendable () -> Timestamp
    private let reconnectBackoff = Backoff(base: .milliseconds(100), cap: .seconds(10))

    /// A loop for `bridge` over `link` (which other bridges on the same serial line may share).
    public init(bridge: AcquisitionSettings, link: ModbusLink, clock: C, wallClock: @escaping @Sendable () -> Timestamp)
    {
        self.bridge = bridge
        self.link = link
        self.clock = clock
        self.wallClock = wallClock
    }

    /// The capture rules this bridge is configured for.
    public var captureSettings: CaptureSettings {
        let transaction: TransactionMode =
            bridge.registers.legalCounter == nil
            ? .none : (bridge.registers.printCommand == nil ? .counter : .printCommand)
        return CaptureSettings(
            division: bridge.division, settle: .milliseconds(bridge.settleMilliseconds),
            maximumGap: .milliseconds(2 * bridge.pollMilliseconds), transaction: transaction, maximum: bridge.maximum,
            zeroDwell: .milliseconds(2 * bridge.pollMilliseconds))
    }

    /// Polls until cancelled, passing every event to `handle`. An error thrown by `handle` (a
    /// capture that could not be recorded) ends the loop with that error: polling on would
    /// capture weighings that cannot be kept.
    ///
    /// The loop runs isolated to its link, so each poll is a plain call rather than two thread
    /// hops; `handle` runs there too (it is `nonisolated(nonsending)`), and should hand work on.
    /// The link's executor is also the loop's preferred task executor, and it sleeps on the link's
    /// own timer, so nothing the loop does waits for the shared concurrency pool: measured in the
    /// full test suite, waking through the pool ran polls up to 1.5 s late, which restarts every
    /// settle window it crosses.
    public func run(_ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void) async throws {
        link.pollers.add(1, ordering: .relaxed)
        defer { link.pollers.subtract(1, ordering: .relaxed) }
        try await withTaskExecutorPreference(link.taskExecutor) { try await poll(on: link, handle) }
    }

    private func poll(
        on link: isolated ModbusLink,
        _ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void
    ) async throws {
        var machine = CaptureStateMachine(settings: captureSettings)
        var random = SystemRandomNumberGenerator()
        let interval = Duration.milliseconds(bridge.pollMilliseconds)
        let origin = clock.now
        var failures = 0
        var instrumentID: String?
        var deadline = clock.now

        while !Task.isCancelled {
            do {
                let reconnecting = !link.isConnected
                let registers = try link.readBlock(unit: bridge.unit, map: bridge.registers)
                // A sample is timed when its reply came back, the latest moment the indicator can
                // have shown it: timed when its poll was due, a poll delayed by a loaded machine
                // would stretch the window back over time nobody watched the weight.
                let time = clock.now
                if reconnecting || failures > 0 {
                    instrumentID = try? link.identify(unit: bridge.unit)
                    try await handle(.connected(instrumentID: instrumentID))
                }
                failures = 0
                try await consume(
                    registers, at: origin.duration(to: time), machine: &machine, link: link,
                    instrumentID: instrumentID, handle)
                deadline = deadline.advanced(by: interval)
                let now = clock.now
                if deadline <= now {
                    // Behind schedule: poll again at once, but let the other bridges on a shared
                    // line have their turn first (a dedicated link has nobody to wait for).
                    deadline = now
                    if link.pollers.load(ordering: .relaxed) > 1 { await Task.yield() }
                } else {
                    try await clock.sleep(until: deadline, on: link)
                }
            } catch let error as ModbusError {
                machine.communicationLost()
                failures += 1
                try await handle(.pollFailed(error, consecutive: failures))
                do {
                    let backoff = reconnectBackoff.delay(attempt: failures - 1, using: &random)
                    try await clock.sleep(until: clock.now.advanced(by: backoff), on: link)
                } catch is CancellationError {
                    return  // shutting down during an outage is a normal end, not a failure
                }
                deadline = clock.now
            } catch is CancellationError {
                return
            }
        }
    }

    private func consume(
        _ registers: [UInt16], at time: Duration, machine: inout CaptureStateMachine,
        link: isolated ModbusLink, instrumentID: String?,
        _ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void
    ) async throws {
        let reading: IndicatorReading
        do {
            reading = try bridge.registers.decode(registers, division: bridge.division)
        } catch {
            machine.communicationLost()
            try await handle(.badReading(error))
            return
        }
        guard let weight = reading.weight else { return }
        let sample = IndicatorSample(
            weight: weight, status: reading.status, legalCounter: reading.legalCounter, time: time)
        let action = machine.receive(sample)
        let at = wallClock()
        try await handle(.reading(reading, phase: machine.phase, at: at))
        if machine.settings.isOverload(weight), let limit = machine.settings.overloadLimit {
            try await handle(.badReading(ReadingError.aboveMaximum(limit: limit)))
        }
        switch action {
        case .none:
            break
        case .requestPrint:
            if let print = bridge.registers.printCommand {
                try link.writeRegister(unit: bridge.unit, address: print.address, value: print.value)
            }
        case .capture(let capture):
            try await handle(
                .captured(
                    CapturedWeighing(
                        bridge: bridge.name, capture: capture, reading: reading, raw: .registers(registers),
                        instrumentID: instrumentID, at: at)))
        }
    }
}
