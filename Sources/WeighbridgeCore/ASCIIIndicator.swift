/// The ASCII protocols an indicator may speak instead of Modbus (docs/indicators.md, "ASCII
/// indicators").
public enum ASCIIFormat: Sendable, Hashable {
    /// SMA SCP-0499 level 1: the daemon asks for the weight and reads the reply (polled).
    case sma
    /// Mettler Toledo's continuous output: the indicator sends frames by itself many times a
    /// second (listened), with a checksum byte after CR when the terminal is set to send one.
    case toledoContinuous(checksum: Bool)
    /// Dini Argeo's commands: READ for the weight (polled), and at each capture PID, which stores
    /// the weighing in the indicator's alibi memory and gives its id.
    case dini
    /// A frame format the configuration describes: polled when it has a request, else listened.
    case generic(GenericFrameFormat)

    /// The request the daemon sends for each reading; nil for a format the indicator sends unasked.
    public var request: [UInt8]? {
        switch self {
        case .sma: SMA.weightRequest
        case .toledoContinuous: nil
        case .dini: Dini.readRequest
        case .generic(let format): format.request
        }
    }

    /// The request that stores a captured weighing in the indicator's alibi memory and answers
    /// its legal id; nil for a format without one.
    public var storeRequest: [UInt8]? {
        switch self {
        case .dini: Dini.storeRequest
        case .sma, .toledoContinuous, .generic: nil
        }
    }

    /// The name the configuration gives the format.
    public var name: String {
        switch self {
        case .sma: "sma"
        case .toledoContinuous(let checksum): checksum ? "toledo-continuous (checksum)" : "toledo-continuous"
        case .dini: "dini"
        case .generic(let format): format.request == nil ? "generic (listened)" : "generic (polled)"
        }
    }
}

/// One frame an ASCII indicator sent, as the capture rules take it, with its bytes as received.
public struct ASCIIFrame: Sendable, Hashable {
    /// What a frame is.
    public enum Kind: Sendable, Hashable {
        /// A reading, for the capture rules.
        case reading
        /// The indicator's answer to storing a weighing in its alibi memory: the id it gave, or
        /// nil when it stored nothing.
        case stored(DiniAlibiID?)
    }

    public var kind: Kind
    /// What the frame says the indicator shows.
    public var reading: IndicatorReading
    /// The frame from its first byte to its last: the evidence kept with a capture.
    public var bytes: [UInt8]

    public init(kind: Kind = .reading, reading: IndicatorReading, bytes: [UInt8]) {
        self.kind = kind
        self.reading = reading
        self.bytes = bytes
    }
}

/// Reads one bridge's ASCII indicator: the format's own reader finds and decodes the frames, and
/// each frame is then held to the bridge's configuration, its unit and its division, so a frame
/// from an indicator set otherwise than the bridge is configured is a fault, never a weight.
public struct ASCIIFrameReader: Sendable {
    private enum Format: Sendable {
        case sma(SMAReplyReader)
        case toledoContinuous(ToledoContinuousStream)
        case dini(DiniReplyReader)
        case generic(GenericFrameReader)
    }

    private var format: Format
    /// The unit the bridge's indicator is configured to weigh in.
    public let unit: MassUnit
    /// The bridge's verification interval e: every weight shown is a multiple of it.
    public let division: Mass

    public init(format: ASCIIFormat, unit: MassUnit, division: Mass) {
        switch format {
        case .sma: self.format = .sma(SMAReplyReader())
        case .toledoContinuous(let checksum):
            self.format = .toledoContinuous(ToledoContinuousStream(checksum: checksum))
        case .dini: self.format = .dini(DiniReplyReader())
        case .generic(let description): self.format = .generic(GenericFrameReader(format: description, unit: unit))
        }
        self.unit = unit
        self.division = division
    }

    /// Takes the bytes received and returns every frame and fault they complete, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [FrameScan<ASCIIFrame>] {
        switch format {
        case .sma(var reader):
            let scans = reader.receive(bytes)
            format = .sma(reader)
            return checked(scans)
        case .toledoContinuous(var stream):
            let scans = stream.receive(bytes)
            format = .toledoContinuous(stream)
            return checked(scans)
        case .dini(var reader):
            let scans = reader.receive(bytes)
            format = .dini(reader)
            return checked(scans)
        case .generic(var reader):
            let scans = reader.receive(bytes)
            format = .generic(reader)
            return checked(scans)
        }
    }

    /// The heaviest weight a frame may give: far above any weighbridge's, and far inside the
    /// arithmetic the capture rules do with it.
    static let heaviest = Mass(1_000_000, .tonnes)

    private func checked<Frame: IndicatorFrame>(_ scans: [FrameScan<Frame>]) -> [FrameScan<ASCIIFrame>] {
        scans.map { scan in scan.flatMap { check(unit: $0.unit, $0.frame) } }
    }

    private func check(unit sent: MassUnit, _ frame: ASCIIFrame) -> FrameScan<ASCIIFrame> {
        guard sent == unit else { return .fault(.wrongUnit(sent: sent, configured: unit)) }
        let weights = [frame.reading.gross, frame.reading.net, frame.reading.tare].compactMap { $0 }
        if let huge = weights.first(where: { $0.grams.magnitude > Self.heaviest.grams.magnitude }) {
            return .fault(.notAWeight("\(huge) is beyond any weighbridge"))
        }
        if let off = weights.first(where: { !$0.isMultiple(of: division) }) {
            return .fault(.offDivisionGrid(weight: off, division: division))
        }
        return .frame(frame)
    }
}

extension FrameScan {
    /// A frame passed through `transform`, which may find it a fault; a fault as it is.
    func flatMap<Other>(_ transform: (Frame) -> FrameScan<Other>) -> FrameScan<Other> {
        switch self {
        case .frame(let frame): transform(frame)
        case .fault(let fault): .fault(fault)
        }
    }
}

/// What each format's reader decodes a frame to: its unit, and the frame as the bridge's checks
/// take it.
protocol IndicatorFrame: Sendable, Hashable {
    var unit: MassUnit { get }
    var frame: ASCIIFrame { get }
}

extension SMAWeightReply: IndicatorFrame {
    var frame: ASCIIFrame { ASCIIFrame(reading: reading, bytes: bytes) }
}

extension ToledoContinuousFrame: IndicatorFrame {
    var frame: ASCIIFrame { ASCIIFrame(reading: reading, bytes: bytes) }
}

extension DiniAnswer: IndicatorFrame {
    var frame: ASCIIFrame { ASCIIFrame(kind: kind, reading: reading, bytes: bytes) }
}

extension GenericFrame: IndicatorFrame {
    var frame: ASCIIFrame { ASCIIFrame(reading: reading, bytes: bytes) }
}
