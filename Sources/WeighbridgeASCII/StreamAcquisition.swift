public import WeighbridgeCore

/// What one ASCII bridge's loop is told: the format its indicator speaks, the unit and division
/// it is set to, how often to ask (or how often it sends), and the figures of its capture rules.
public struct StreamAcquisitionSettings: Sendable, Hashable {
    public var name: String
    public var format: ASCIIFormat
    /// The unit the indicator is set to weigh in: a frame in another is a fault.
    public var unit: MassUnit
    /// For a polled format, how often to ask; for one the indicator sends unasked, the longest
    /// interval it sends frames at (a longer gap between readings starts a settle window again).
    public var pollMilliseconds: Int
    /// How long a polled indicator has to answer.
    public var responseTimeoutMilliseconds: Int
    /// How long without a complete frame before the indicator is reported silent.
    public var staleMilliseconds: Int
    public var division: Mass
    public var maximum: Mass
    public var settleMilliseconds: Int

    public init(
        name: String, format: ASCIIFormat, unit: MassUnit, pollMilliseconds: Int, responseTimeoutMilliseconds: Int,
        staleMilliseconds: Int, division: Mass, maximum: Mass, settleMilliseconds: Int
    ) {
        self.name = name
        self.format = format
        self.unit = unit
        self.pollMilliseconds = pollMilliseconds
        self.responseTimeoutMilliseconds = responseTimeoutMilliseconds
        self.staleMilliseconds = staleMilliseconds
        self.division = division
        self.maximum = maximum
        self.settleMilliseconds = settleMilliseconds
    }

    /// The capture rules this bridge is configured for: these formats carry no legal counter.
    public var captureSettings: CaptureSettings {
        CaptureSettings(
            division: division, settle: .milliseconds(settleMilliseconds),
            maximumGap: .milliseconds(2 * pollMilliseconds),
            transaction: .none, maximum: maximum, zeroDwell: .milliseconds(2 * pollMilliseconds))
    }
}

/// Reads one ASCII indicator, feeds the certified-capture rules, and reports what happens, as
/// `BridgeAcquisition` does for Modbus.
///
/// A polled format (SMA) is asked every `pollMilliseconds` and must answer within the response
/// timeout. A format the indicator sends unasked (Toledo continuous) is read as it comes, and of
/// the frames one read brings only the newest is taken. A fault (a malformed or cut frame, noise,
/// the wrong unit, a weight off the division) is reported and discards the stability window; so
/// does silence past the stale time. A line that is gone is opened again with exponential backoff
/// and full jitter from 100 ms to 10 s. Runs until its task is cancelled.
public struct StreamAcquisition: Sendable {
    public let bridge: StreamAcquisitionSettings
    public let stream: IndicatorStream
    private let wallClock: @Sendable () -> Timestamp
    private let reconnectBackoff = Backoff(base: .milliseconds(100), cap: .seconds(10))

    public init(
        bridge: StreamAcquisitionSettings, stream: IndicatorStream, wallClock: @escaping @Sendable () -> Timestamp
    ) {
        self.bridge = bridge
        self.stream = stream
        self.wallClock = wallClock
    }

    /// Reads until cancelled, passing every event to `handle`. An error thrown by `handle` (a
    /// capture that could not be recorded) ends the loop with that error.
    ///
    /// The loop runs isolated to its stream, on the stream's own thread, so its blocking waits
    /// hold nothing of the shared concurrency pool and a loaded pool cannot delay a reading.
    public func run(_ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void) async throws {
        try await withTaskExecutorPreference(stream.taskExecutor) { try await read(on: stream, handle) }
    }

    private func read(
        on stream: isolated IndicatorStream,
        _ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void
    ) async throws {
        var state = LoopState(
            machine: CaptureStateMachine(settings: bridge.captureSettings),
            reader: ASCIIFrameReader(format: bridge.format, unit: bridge.unit, division: bridge.division))
        var random = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            do {
                if !stream.isOpen {
                    let notes = try stream.open()
                    state.reader = ASCIIFrameReader(format: bridge.format, unit: bridge.unit, division: bridge.division)
                    state.lastFrame = .now
                    state.nextRequest = .now
                    state.answering = false
                    for note in notes { try await handle(.notice(note)) }
                }
                let scans =
                    if let request = bridge.format.request {
                        try ask(request, stream: stream, state: &state)
                    } else {
                        try listen(stream: stream, state: &state)
                    }
                try await consume(scans, stream: stream, state: &state, handle)
            } catch is CancellationError {
                return  // shutting down (a wait ended by it, as in the Modbus loop) is a normal end
            } catch let error as StreamError {
                state.machine.communicationLost()
                state.failures += 1
                try await handle(.pollFailed(error, consecutive: state.failures))
                if error.kind == .silent {
                    state.lastFrame = .now  // reported once per stale time, not at every read
                } else {
                    let backoff = reconnectBackoff.delay(attempt: state.failures - 1, using: &random)
                    do { try await Task.sleep(for: backoff) } catch { return }
                }
            }
        }
    }

    /// One poll of a polled format: waits for its time (what arrives meanwhile is read too: an
    /// indicator that talks unasked is noise), sends the request, and reads until the reply (or
    /// a fault) is complete or the response timeout passes.
    private func ask(_ request: [UInt8], stream: isolated IndicatorStream, state: inout LoopState) throws(StreamError)
        -> [Timed]
    {
        var scans: [Timed] = []
        while ContinuousClock.now < state.nextRequest, !Task.isCancelled {
            let bytes = try stream.read(until: state.nextRequest)
            scans += state.reader.receive(bytes).map { Timed(scan: $0, at: .now) }
        }
        state.nextRequest = max(state.nextRequest + .milliseconds(bridge.pollMilliseconds), .now)
        try stream.write(request, timeout: .milliseconds(bridge.responseTimeoutMilliseconds))
        let deadline = ContinuousClock.now + .milliseconds(bridge.responseTimeoutMilliseconds)
        var answered = false
        while !answered, !Task.isCancelled {
            let bytes = try stream.read(until: deadline)
            let arrived = ContinuousClock.now
            let received = state.reader.receive(bytes)
            // The reply, or a fault in its place; noise, or a late answer to storing a weighing, is not.
            answered = received.contains { scan in
                switch scan {
                case .fault(.noise): false
                case .fault: true
                case .frame(let frame): frame.kind == .reading
                }
            }
            scans += received.map { Timed(scan: $0, at: arrived) }
            if !answered, arrived >= deadline {
                throw StreamError(
                    kind: .timeout, operation: "ask \(stream.name) for the weight",
                    message: "no reply within \(bridge.responseTimeoutMilliseconds) ms")
            }
        }
        return scans
    }

    /// One read of a format the indicator sends unasked: whatever arrives next, or silence past
    /// the stale time.
    private func listen(stream: isolated IndicatorStream, state: inout LoopState) throws(StreamError) -> [Timed] {
        let staleAt = state.lastFrame + .milliseconds(bridge.staleMilliseconds)
        let bytes = try stream.read(until: staleAt)
        let arrived = ContinuousClock.now
        let scans = state.reader.receive(bytes).map { Timed(scan: $0, at: arrived) }
        if !scans.contains(where: \.isFrame), arrived >= staleAt, !Task.isCancelled {
            throw StreamError(
                kind: .silent, operation: "listen to \(stream.name)",
                message: "no complete frame for \(bridge.staleMilliseconds) ms")
        }
        return scans
    }

    /// Reports every fault, then feeds the newest reading (if any) to the capture rules; a
    /// capture is stored in the indicator's alibi memory first where the format has one.
    private func consume(
        _ scans: [Timed], stream: isolated IndicatorStream, state: inout LoopState,
        _ handle: nonisolated(nonsending) @Sendable (AcquisitionEvent) async throws -> Void
    ) async throws {
        for timed in scans {
            guard case .fault(let fault) = timed.scan else { continue }
            state.machine.communicationLost()
            try await handle(.badReading(fault))
        }
        guard let newest = scans.last(where: \.isReading), case .frame(let frame) = newest.scan else { return }
        state.lastFrame = newest.at
        if !state.answering || state.failures > 0 {
            // The indicator is heard (again): as a Modbus link is after its first good reply.
            state.answering = true
            try await handle(.connected(instrumentID: nil))
        }
        state.failures = 0
        guard let weight = frame.reading.weight else {
            // Dashes in place of a weight: the indicator reports an error, and nothing is seen.
            state.machine.communicationLost()
            try await handle(.badReading(FrameFault.notAWeight("the indicator shows no weight (an error state)")))
            return
        }
        let sample = IndicatorSample(
            weight: weight, status: frame.reading.status, legalCounter: nil,
            time: state.origin.duration(to: newest.at))
        let action = state.machine.receive(sample)
        let at = wallClock()
        try await handle(.reading(frame.reading, phase: state.machine.phase, at: at))
        if state.machine.settings.isOverload(weight), let limit = state.machine.settings.overloadLimit {
            try await handle(.badReading(ReadingError.aboveMaximum(limit: limit)))
        }
        guard case .capture(var capture) = action else { return }
        var evidence = frame.bytes
        if let request = bridge.format.storeRequest {
            let stored: ASCIIFrame
            do {
                stored = try store(capture, of: frame.reading, request: request, stream: stream, state: &state)
            } catch let refusal as FrameFault {
                try await handle(.badReading(refusal))
                return
            }
            capture.sample.legalCounter = stored.reading.legalCounter
            evidence = stored.bytes
        }
        try await handle(
            .captured(
                CapturedWeighing(
                    bridge: bridge.name, capture: capture, reading: frame.reading, raw: .frame(evidence),
                    instrumentID: nil, at: at)))
    }

    /// Asks the indicator to store `capture` in its alibi memory and returns its answer, which
    /// holds the legal id. Unless the indicator answers that it stored the captured weight, the
    /// capture is refused (a `FrameFault`, or the line's error) and the bridge armed again, so
    /// the load is taken at its next settled window: never lost, never taken without its id. The
    /// exchange runs to its answer or its timeout even when the daemon is shutting down.
    private func store(
        _ capture: CertifiedCapture, of reading: IndicatorReading, request: [UInt8], stream: isolated IndicatorStream,
        state: inout LoopState
    ) throws -> ASCIIFrame {
        do {
            try stream.write(request, timeout: .milliseconds(bridge.responseTimeoutMilliseconds))
            let deadline = ContinuousClock.now + .milliseconds(bridge.responseTimeoutMilliseconds)
            // Not ended by a shutdown: the indicator may store the weighing, which is then taken.
            while true {
                let bytes = try stream.read(until: deadline, cancellable: false)
                for scan in state.reader.receive(bytes) {
                    switch scan {
                    case .frame(let answer):
                        guard case .stored(let id) = answer.kind else { continue }
                        guard id != nil else { throw FrameFault.notStored("it answered NO: the load moved") }
                        // What the capture saw: the gross, or for a net display the gross less the tare.
                        let tare = reading.gross == nil ? answer.reading.tare ?? .zero : .zero
                        let stored = answer.reading.gross.map { $0 - tare }
                        guard stored == capture.sample.weight else {
                            throw FrameFault.notStored(
                                "it stored \(answer.reading.gross.map { "\($0)" } ?? "no weight")")
                        }
                        return answer
                    case .fault(let fault):
                        throw FrameFault.notStored("it answered: \(fault)")
                    }
                }
                if ContinuousClock.now >= deadline {
                    throw StreamError(
                        kind: .timeout, operation: "store the weighing on \(stream.name)",
                        message: "no answer within \(bridge.responseTimeoutMilliseconds) ms")
                }
            }
        } catch {
            state.machine.captureRefused()
            throw error
        }
    }
}

/// What the loop carries from one read to the next.
private struct LoopState {
    var machine: CaptureStateMachine
    var reader: ASCIIFrameReader
    let origin = ContinuousClock.now
    var failures = 0
    /// Whether a frame has arrived since the line was opened.
    var answering = false
    /// When the newest frame arrived (or the line was opened): where silence is measured from.
    var lastFrame = ContinuousClock.now
    /// When a polled indicator is next asked.
    var nextRequest = ContinuousClock.now
}

/// A frame or fault with the time its last byte arrived.
private struct Timed {
    var scan: FrameScan<ASCIIFrame>
    var at: ContinuousClock.Instant

    var isFrame: Bool { if case .frame = scan { true } else { false } }

    /// Whether this is a reading for the capture rules (not an answer to storing a weighing).
    var isReading: Bool { if case .frame(let frame) = scan { frame.kind == .reading } else { false } }
}
