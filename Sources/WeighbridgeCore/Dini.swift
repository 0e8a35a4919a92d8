/// Dini Argeo indicators' serial commands (3590 and DGT series), as the manufacturer's manuals
/// give them. The host asks `READ<CR><LF>` and the indicator answers the standard string
/// `HH,KK,PPPPPPPP,UM<CR><LF>`: HH ST (stable), US (unstable), OL (over), UL (under); KK GS
/// (gross) or NT (net); the weight in eight characters with its sign and decimal point; the unit
/// (3590 EBOX Series Technical Manual, E-AF03_05.01_14.07_EN_T, §5.4 p. 65, and READ p. 69), or,
/// from a port set to the alibi protocol, the extended string `SS,B,LLLLLLLLLLUM,YYTTTTTTTTTTUM`.
/// `PID<CR><LF>` stores the weighing in the alibi memory, if the gross is stable and not below
/// zero, and answers `PIDSS,B,LLLLLLLLLLUU,YYTTTTTTTTTTUU,ID<CR><LF>`: the status, the channel,
/// the gross and the tare in ten characters each with their unit (YY is PT for a preset tare),
/// and the id `XXXXX-YYYYYY` (the rewrite number, 0 to 255, and the weighing's progressive
/// number) or `NO` when nothing was stored (3590EKR/EXP/EXT User Manual, E-AF08_02_13.07_EN_U,
/// §16.2.1–16.2.3 p. 44). A refused command is answered `ERR01` to `ERR07`. The indicator's
/// 485 address prefix is not supported: a Dini bridge has its line to itself.
public enum Dini {
    /// The request for the weight displayed.
    public static let readRequest: [UInt8] = Array("READ\r\n".utf8)
    /// The request to store the weighing in the alibi memory and return its id.
    public static let storeRequest: [UInt8] = Array("PID\r\n".utf8)

    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    /// The longest answer read: a PID string is about 50 bytes.
    static let longestLine = 80
}

/// The id a Dini indicator gives a weighing it stored in its alibi memory: `XXXXX-YYYYYY`.
public struct DiniAlibiID: Sendable, Hashable, CustomStringConvertible {
    /// How many times the alibi memory has been rewritten (0 to 255).
    public let rewrite: Int
    /// The weighing's progressive number within the memory (0 to 999 999).
    public let progressive: Int

    /// The id written `XXXXX-YYYYYY` (five digits, 0 to 255; a hyphen; six digits); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 5, parts[1].count == 6,
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }), let rewrite = Int(parts[0]),
            let progressive = Int(parts[1]), rewrite <= 255
        else { return nil }
        self.rewrite = rewrite
        self.progressive = progressive
    }

    /// The id as one number, the legal id stored with the weighing: rewrite × 1 000 000 +
    /// progressive, so that `00003-000158` is 3 000 158 and ids keep their order.
    public var legalCounter: UInt32 { UInt32(rewrite * 1_000_000 + progressive) }

    /// As the indicator writes it: `00003-000158`.
    public var description: String {
        let rewriteText = String(rewrite)
        let progressiveText = String(progressive)
        return String(repeating: "0", count: 5 - rewriteText.count) + rewriteText + "-"
            + String(repeating: "0", count: 6 - progressiveText.count) + progressiveText
    }
}

/// One answer of a Dini indicator, decoded.
public struct DiniAnswer: Sendable, Hashable {
    /// A reading (READ), or the weighing stored in the alibi memory with its id (PID; nil when
    /// the indicator answered NO and stored nothing).
    public var kind: ASCIIFrame.Kind
    /// What the answer says the indicator shows (for PID, the weighing it stored).
    public var reading: IndicatorReading
    /// The unit the answer's weights are in.
    public var unit: MassUnit
    /// The answer as received, up to and including its line end.
    public var bytes: [UInt8]

    /// One answer, without its line end, decoded or refused.
    static func decode(_ line: [UInt8], bytes: [UInt8]) throws(FrameFault) -> DiniAnswer {
        try FrameFault.requireSevenBits(line)
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("ERR") { throw .refusedByIndicator(Self.refusal(text)) }
        if text == "OK" { throw .notAWeight("the indicator answered OK, not a weight") }
        if text.hasPrefix("PID") { return try stored(String(text.dropFirst(3)), bytes: bytes) }
        let fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4 else {
            throw .malformedField("answer", text: text, expected: "HH,KK,weight,unit (the standard string)")
        }
        if fields[1].count == 1, fields[1].allSatisfy(\.isASCIIDigit) {
            // The extended string, SS,B,gross,tare, which a port set to the alibi protocol sends
            // (3590 EBOX manual, §5.4 "AF string", p. 65).
            let (reading, unit) = try grossAndTare(fields)
            return DiniAnswer(kind: .reading, reading: reading, unit: unit, bytes: bytes)
        }
        var status = try Self.status(fields[0])
        let isNet: Bool
        switch fields[1] {
        case "GS": isNet = false
        case "NT": isNet = true
        default: throw .malformedField("gross or net", text: fields[1], expected: "GS or NT")
        }
        let (weight, unit) = try Self.weight(fields[2] + fields[3], field: "weight")
        if weight.grams == 0 { status.insert(.centreOfZero) }
        return DiniAnswer(
            kind: .reading,
            reading: IndicatorReading(
                gross: isNet ? nil : weight, net: isNet ? weight : nil, tare: nil, status: status, legalCounter: nil),
            unit: unit, bytes: bytes)
    }

    /// `SS,B,gross,tare,ID` after PID.
    private static func stored(_ text: String, bytes: [UInt8]) throws(FrameFault) -> DiniAnswer {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5 else {
            throw .malformedField("PID answer", text: text, expected: "SS,B,gross,tare,id")
        }
        var (reading, unit) = try grossAndTare(Array(fields.prefix(4)))
        let id: DiniAlibiID?
        if fields[4] == "NO" {
            id = nil
        } else {
            guard let stored = DiniAlibiID(fields[4]) else {
                throw .malformedField("alibi id", text: fields[4], expected: "XXXXX-YYYYYY or NO")
            }
            id = stored
        }
        reading.legalCounter = id?.legalCounter
        return DiniAnswer(kind: .stored(id), reading: reading, unit: unit, bytes: bytes)
    }

    /// `SS,B,LLLLLLLLLLUU,YYTTTTTTTTTTUU`: the status, the channel, the gross and the tare (YY is
    /// PT for a preset tare), as the extended string and the PID string both begin.
    private static func grossAndTare(_ fields: [String]) throws(FrameFault) -> (IndicatorReading, MassUnit) {
        var status = try Self.status(fields[0])
        guard fields[1].count == 1, fields[1].allSatisfy(\.isASCIIDigit) else {
            throw .malformedField("channel", text: fields[1], expected: "one digit")
        }
        let (gross, unit) = try Self.weight(fields[2], field: "gross")
        var tareText = fields[3]
        if tareText.hasPrefix("PT") {
            tareText.removeFirst(2)
            status.insert(.presetTare)
        }
        let (tare, tareUnit) = try Self.weight(tareText, field: "tare")
        guard tareUnit == unit else { throw .malformedField("tare", text: fields[3], expected: "in \(unit.rawValue)") }
        if gross.grams == 0 { status.insert(.centreOfZero) }
        return (IndicatorReading(gross: gross, net: nil, tare: tare, status: status, legalCounter: nil), unit)
    }

    private static func status(_ text: String) throws(FrameFault) -> IndicatorStatus {
        switch text {
        case "ST": [.stable]
        case "US": []
        case "OL": [.overload]
        case "UL": [.underload]
        case "ER": [.error]
        default: throw .malformedField("status", text: text, expected: "ST, US, OL, UL or ER")
        }
    }

    /// A weight with its sign and decimal point, padded with spaces, then its unit's letters
    /// (read as every weight is, by `Mass(parsingSigned:)`).
    private static func weight(_ text: String, field: String) throws(FrameFault) -> (Mass, MassUnit) {
        var number = Substring(text)
        var unitText = ""
        while let last = number.last, last.isLetter {
            unitText = String(last) + unitText
            number = number.dropLast()
        }
        let trimmed = String(number).trimmingWhitespace
        guard let unit = MassUnit(rawValue: unitText.lowercased()) else {
            throw .unsupportedUnit(unitText.isEmpty ? "no unit" : unitText)
        }
        // Digits, a point and a minus only, after the padding.
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "-" }) else {
            throw .malformedField(
                field, text: text, expected: "a number with its sign and decimal point, then the unit")
        }
        do {
            return (try Mass(parsingSigned: trimmed, defaultUnit: unit), unit)
        } catch .tooPrecise {
            throw .finerThanAGram("\(trimmed) \(unit.rawValue)")
        } catch {
            throw .malformedField(field, text: text, expected: "a number with its sign and decimal point")
        }
    }

    /// What an `ERRnn` answer means (the 3590ET/EGT Serial Commands manual, p. 7).
    private static func refusal(_ text: String) -> String {
        switch text {
        case "ERR01": "refused the command: its format is wrong (ERR01)"
        case "ERR02": "refused the command's parameters (ERR02)"
        case "ERR03": "refused the command in its present state (ERR03): set it to answer on demand"
        case "ERR04": "does not know the command (ERR04)"
        default: "answered \(text)"
        }
    }
}

/// Reads a Dini indicator's answers, each up to its CR (an LF after it is part of it); bytes that
/// are not yet a whole answer wait for the next call, and nothing in any byte string traps.
public struct DiniReplyReader: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Takes the bytes received and returns every answer and fault they complete, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [FrameScan<DiniAnswer>] {
        pending.append(contentsOf: bytes)
        var results: [FrameScan<DiniAnswer>] = []
        var start = 0
        while start < pending.count {
            // A line feed left over from the last answer's CR LF, or one alone, starts nothing.
            if pending[start] == Dini.lineFeed {
                start += 1
                continue
            }
            let window = pending[start..<min(pending.count, start + Dini.longestLine)]
            guard let end = window.firstIndex(of: Dini.carriageReturn) else {
                guard window.count == Dini.longestLine else { break }
                results.append(.fault(.noise(bytes: Dini.longestLine)))
                start += Dini.longestLine
                continue
            }
            let line = Array(pending[start..<end])
            let through = end + 1 < pending.count && pending[end + 1] == Dini.lineFeed ? end + 1 : end
            do {
                results.append(.frame(try DiniAnswer.decode(line, bytes: Array(pending[start...through]))))
            } catch {
                results.append(.fault(error))
            }
            start = end + 1
        }
        pending.removeFirst(start)
        return results
    }
}
