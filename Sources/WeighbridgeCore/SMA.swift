/// The Scale Manufacturers Association's serial protocol (SMA SCP-0499, level 1), as Avery
/// Weigh-Tronix ZM-series indicators answer it: the host asks `<LF>W<CR>` and the indicator
/// answers `<LF><s><r><n><m><f><weight><unit><CR>`, 20 bytes. The fields are as the ZM400 Series
/// Indicators Service Manual (Avery Weigh-Tronix, AWT35-501334 issue AA) gives them in §7.1.2,
/// pp. 80–81: s the scale's status (Z centre of zero, O over capacity, U under capacity, E zero
/// error, I initial zero error, T tare error, space none), r the range, n gross, tare or net (G,
/// T, N; g and n the high-resolution display), m M in motion or space, f a space, then the weight
/// in ten characters with its decimal point and the unit in three.
public enum SMA {
    /// The request for the weight displayed.
    public static let weightRequest: [UInt8] = [lineFeed, 0x57, carriageReturn]

    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let replyLength = 20
}

/// An SMA weight reply, decoded.
public struct SMAWeightReply: Sendable, Hashable {
    /// The scale's status character.
    public enum Status: UInt8, Sendable, Hashable {
        case none = 0x20
        case centreOfZero = 0x5A  // Z
        case overCapacity = 0x4F  // O
        case underCapacity = 0x55  // U
        case zeroError = 0x45  // E
        case initialZeroError = 0x49  // I
        case tareError = 0x54  // T
    }

    public var status: Status
    public var isNet: Bool
    public var inMotion: Bool
    /// The weight shown; nil when the indicator sends dashes instead (a zero or tare error).
    public var weight: Mass?
    public var unit: MassUnit
    /// The reply as received, LF to CR.
    public var bytes: [UInt8]

    /// The reply as a reading the capture rules take, like a Modbus one.
    public var reading: IndicatorReading {
        var flags: IndicatorStatus = inMotion ? [] : [.stable]
        switch status {
        case .none: break
        case .centreOfZero: flags.insert(.centreOfZero)
        case .overCapacity: flags.insert(.overload)
        case .underCapacity: flags.insert(.underload)
        case .zeroError, .initialZeroError, .tareError: flags.insert(.error)
        }
        return IndicatorReading(
            gross: isNet ? nil : weight, net: isNet ? weight : nil, tare: nil, status: flags, legalCounter: nil)
    }

    /// One reply, LF to CR, decoded or refused.
    static func decode(_ reply: [UInt8]) throws(FrameFault) -> SMAWeightReply {
        if reply == [SMA.lineFeed, 0x3F, SMA.carriageReturn] { throw .refusedByIndicator("does not know the command") }
        if reply == [SMA.lineFeed, 0x21, SMA.carriageReturn] {
            throw .refusedByIndicator("received the command garbled (a parity or framing error)")
        }
        guard reply.count == SMA.replyLength else {
            throw .wrongLength(expected: SMA.replyLength, received: reply.count)
        }
        try FrameFault.requireSevenBits(reply)
        guard let status = Status(rawValue: reply[1]) else { throw .unknownCharacter("status", byte: reply[1]) }
        guard (0x30...0x39).contains(reply[2]) else { throw .unknownCharacter("range", byte: reply[2]) }
        let isNet: Bool
        switch reply[3] {
        case 0x47: isNet = false  // G
        case 0x4E: isNet = true  // N
        case 0x54: throw .notAWeight("the indicator shows the tare")  // T
        case 0x67, 0x6E: throw .notAWeight("a high-resolution display is not a weight for trade")  // g, n
        default: throw .unknownCharacter("gross, tare or net", byte: reply[3])
        }
        guard reply[4] == 0x4D || reply[4] == 0x20 else { throw .unknownCharacter("motion", byte: reply[4]) }
        guard reply[5] == 0x20 else { throw .unknownCharacter("reserved", byte: reply[5]) }

        let unitText = String(decoding: reply[16..<19], as: UTF8.self).trimmingWhitespace
        guard let unit = MassUnit(rawValue: unitText) else {
            throw .unsupportedUnit(unitText.isEmpty ? "no unit" : unitText)
        }
        let weightText = String(decoding: reply[6..<16], as: UTF8.self)
        let weight: Mass?
        let shown = weightText.trimmingWhitespace
        if !shown.isEmpty, shown.allSatisfy({ $0 == "-" }) {
            // Dashes are what an indicator shows in place of a weight it cannot give.
            guard [.zeroError, .initialZeroError, .tareError].contains(status) else {
                throw .malformedField("weight", text: weightText, expected: "a number")
            }
            weight = nil
        } else {
            weight = try Self.weight(weightText, unit: unit)
        }
        return SMAWeightReply(
            status: status, isNet: isNet, inMotion: reply[4] == 0x4D, weight: weight, unit: unit, bytes: reply)
    }

    /// Ten characters, right-aligned: spaces, then the number with its sign and decimal point
    /// (the number itself read as every reading is, by `Mass(parsingSigned:)`).
    private static func weight(_ text: String, unit: MassUnit) throws(FrameFault) -> Mass {
        let number = text.drop { $0 == " " }
        let malformed = FrameFault.malformedField(
            "weight", text: text, expected: "spaces, then a number with its sign and decimal point")
        // Digits, a point and a minus only: no unit, no space inside or after.
        guard number.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "-" }) else { throw malformed }
        do {
            return try Mass(parsingSigned: String(number), defaultUnit: unit)
        } catch .tooPrecise {
            throw .finerThanAGram("\(number) \(unit.rawValue)")
        } catch {
            throw malformed
        }
    }
}

/// Reads the replies an SMA indicator sends, each from its LF to its CR; bytes that are not yet a
/// whole reply wait for the next call, and nothing in any byte string traps.
public struct SMAReplyReader: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Takes the bytes received and returns every reply and fault they complete, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [FrameScan<SMAWeightReply>] {
        pending.append(contentsOf: bytes)
        var results: [FrameScan<SMAWeightReply>] = []
        var start = 0
        while start < pending.count {
            guard let replyStart = pending[start...].firstIndex(of: SMA.lineFeed) else {
                results.append(.fault(.noise(bytes: pending.count - start)))
                start = pending.count
                break
            }
            if replyStart > start { results.append(.fault(.noise(bytes: replyStart - start))) }
            let window = pending[(replyStart + 1)..<min(pending.count, replyStart + SMA.replyLength)]
            if let end = window.firstIndex(where: { $0 == SMA.carriageReturn || $0 == SMA.lineFeed }) {
                if pending[end] == SMA.lineFeed {
                    results.append(.fault(.cutShort(received: end - replyStart)))
                    start = end
                    continue
                }
                do {
                    results.append(.frame(try SMAWeightReply.decode(Array(pending[replyStart...end]))))
                } catch {
                    results.append(.fault(error))
                }
                start = end + 1
                continue
            }
            guard pending.count - replyStart >= SMA.replyLength else {
                start = replyStart
                break
            }
            // Twenty bytes with no CR (and no LF, or it would be a reply cut short): not a reply.
            let last = replyStart + SMA.replyLength - 1
            results.append(.fault(.misplacedEnd(position: SMA.replyLength, byte: pending[last])))
            start = last + 1
        }
        pending.removeFirst(start)
        return results
    }
}
