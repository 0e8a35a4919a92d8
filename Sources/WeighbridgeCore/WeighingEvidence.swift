/// Everything known about a certified weighing when it is captured: the evidence a trading
/// standards officer or a disputing customer may ask for.
public struct WeighingEvidence: Sendable, Hashable {
    public var bridge: String
    /// The weight, unaltered from the indicator.
    public var weight: Mass
    public var division: Mass
    public var weighedAt: Timestamp
    /// The decoded status flags at capture.
    public var status: IndicatorStatus
    /// The indicator's print/alibi counter read with the weight, when it has one.
    public var legalID: UInt32?
    /// The instrument's identity (make, serial, firmware) as read after the last reconnect.
    public var instrumentID: String?
    /// What the indicator sent with the weight, exactly as received.
    public var raw: RawEvidence
    /// Where the weighing was routed at capture.
    public var route: WeighingRoute

    public init(
        bridge: String, weight: Mass, division: Mass, weighedAt: Timestamp, status: IndicatorStatus,
        legalID: UInt32?, instrumentID: String?, raw: RawEvidence, route: WeighingRoute
    ) {
        self.bridge = bridge
        self.weight = weight
        self.division = division
        self.weighedAt = weighedAt
        self.status = status
        self.legalID = legalID
        self.instrumentID = instrumentID
        self.raw = raw
        self.route = route
    }
}

/// A weighing as stored, with the consecutive ticket number it was given.
public struct RecordedWeighing: Sendable, Hashable {
    public var ticket: Int64
    public var evidence: WeighingEvidence
    public var recordedAt: Timestamp

    public init(ticket: Int64, evidence: WeighingEvidence, recordedAt: Timestamp) {
        self.ticket = ticket
        self.evidence = evidence
        self.recordedAt = recordedAt
    }

    /// The weighing as the rules see it.
    public var weighing: Weighing {
        Weighing(
            ticket: ticket, bridge: evidence.bridge, weight: evidence.weight, division: evidence.division,
            time: evidence.weighedAt)
    }
}
