/// What an indicator sent with a captured weight, exactly as received: the evidence kept with it.
public enum RawEvidence: Sendable, Hashable {
    /// A Modbus register block.
    case registers([UInt16])
    /// An ASCII frame, from its first byte to its last.
    case frame([UInt8])
}

/// A certified capture with its evidence, as a bridge's acquisition loop hands it over.
public struct CapturedWeighing: Sendable, Hashable {
    public var bridge: String
    public var capture: CertifiedCapture
    public var reading: IndicatorReading
    /// What the indicator sent with the captured weight.
    public var raw: RawEvidence
    /// The instrument's identification as read after the last (re)connect.
    public var instrumentID: String?
    /// Wall-clock time of the reading.
    public var at: Timestamp

    public init(
        bridge: String, capture: CertifiedCapture, reading: IndicatorReading, raw: RawEvidence, instrumentID: String?,
        at: Timestamp
    ) {
        self.bridge = bridge
        self.capture = capture
        self.reading = reading
        self.raw = raw
        self.instrumentID = instrumentID
        self.at = at
    }
}

/// What a bridge's acquisition loop reports, in order, whatever its indicator speaks.
public enum AcquisitionEvent: Sendable {
    /// The link answers (again); the identity was re-read where the indicator gives one.
    case connected(instrumentID: String?)
    /// A poll failed, or the link is gone; `consecutive` counts failures since the last good reading.
    case pollFailed(any Error & CustomStringConvertible, consecutive: Int)
    /// The indicator sent something that is not a reading (NaN, off the division grid, a
    /// malformed frame, the wrong unit).
    case badReading(any Error & CustomStringConvertible)
    /// Something about the link an engineer should know that stops nothing (a line with no modem
    /// control lines to hold DTR or RTS at the configured level).
    case notice(String)
    /// A good reading, for live `weight` queries; `phase` is the capture machine's.
    case reading(IndicatorReading, phase: CaptureStateMachine.Phase, at: Timestamp)
    /// A certified capture. The loop waits for the handler before reading on: the handler
    /// records it durably first.
    case captured(CapturedWeighing)
}
