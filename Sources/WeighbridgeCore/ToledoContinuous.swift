/// One frame of Mettler Toledo's continuous output, which terminals send many times a second:
/// STX, status bytes A, B and C, six digits of the displayed weight, six of the tare, CR, and,
/// when the terminal is set to send one, a checksum. The layout and every bit are as Mettler
/// Toledo's WILDCAT Scale Technical Manual (E15609900A, 2000) gives them in chapter 6, appendix 2
/// "Continuous Mode Output": table 6-8 (the frame, p. 6-4) and tables 6-9 to 6-11 (status bytes
/// A, B and C, p. 6-5). The decimal point is not sent: status A says where it goes.
public struct ToledoContinuousFrame: Sendable, Hashable {
    /// The weight displayed: gross, or net when `isNet`; below zero when the terminal says so.
    public var displayed: Mass
    public var tare: Mass
    public var isNet: Bool
    public var inMotion: Bool
    /// Over capacity, or under zero when `displayed` is negative (status B bit 2).
    public var outOfRange: Bool
    /// The terminal has not zeroed since power-up (status B bit 6).
    public var notZeroedSincePowerUp: Bool
    public var unit: MassUnit
    /// The frame as received, STX to CR (and the checksum, when sent).
    public var bytes: [UInt8]

    /// The frame as a reading the capture rules take, like a Modbus one.
    public var reading: IndicatorReading {
        var status: IndicatorStatus = inMotion ? [] : [.stable]
        if outOfRange { status.insert(displayed.grams < 0 ? .underload : .overload) }
        if notZeroedSincePowerUp { status.insert(.error) }
        return IndicatorReading(
            gross: isNet ? nil : displayed, net: isNet ? displayed : nil, tare: tare, status: status,
            legalCounter: nil)
    }
}

/// Reads a stream of Toledo continuous output: it finds each frame by its STX (resynchronising
/// after noise or a frame cut short), checks it and decodes it. Bytes that are not yet a whole
/// frame wait for the next call; nothing in any byte string traps.
public struct ToledoContinuousStream: Sendable {
    /// Whether the terminal sends the checksum byte after CR.
    public let checksum: Bool
    private var pending: [UInt8] = []
    /// Noise before the first STX is the tail of a frame the connection began in, not a fault.
    private var synchronised = false

    private static let startOfText: UInt8 = 0x02
    private static let carriageReturn: UInt8 = 0x0D

    public init(checksum: Bool) {
        self.checksum = checksum
    }

    /// How long a frame is: 17 bytes, 18 with the checksum.
    public var frameLength: Int { checksum ? 18 : 17 }

    /// Takes the bytes received and returns every frame and fault they complete, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [FrameScan<ToledoContinuousFrame>] {
        pending.append(contentsOf: bytes)
        var results: [FrameScan<ToledoContinuousFrame>] = []
        var start = 0
        while start < pending.count {
            guard let frameStart = pending[start...].firstIndex(of: Self.startOfText) else {
                if synchronised { results.append(.fault(.noise(bytes: pending.count - start))) }
                start = pending.count
                break
            }
            if frameStart > start, synchronised { results.append(.fault(.noise(bytes: frameStart - start))) }
            synchronised = true
            // A frame's status and weight bytes are never STX; its checksum may be.
            let body = pending[(frameStart + 1)..<min(pending.count, frameStart + 17)]
            if let restart = body.firstIndex(of: Self.startOfText) {
                results.append(.fault(.cutShort(received: restart - frameStart)))
                start = restart
                continue
            }
            guard pending.count - frameStart >= frameLength else {
                start = frameStart
                break
            }
            let frame = Array(pending[frameStart..<(frameStart + frameLength)])
            do {
                results.append(.frame(try Self.decode(frame, checksum: checksum)))
            } catch {
                results.append(.fault(error))
            }
            start = frameStart + frameLength
        }
        pending.removeFirst(start)
        return results
    }

    /// One whole frame, STX first, decoded or refused.
    static func decode(_ frame: [UInt8], checksum: Bool) throws(FrameFault) -> ToledoContinuousFrame {
        try FrameFault.requireSevenBits(frame)
        guard frame[16] == carriageReturn else { throw .misplacedEnd(position: 17, byte: frame[16]) }
        if checksum {
            // The two's complement of the 7-bit sum of every byte before it, STX and CR included.
            let sum = frame[0..<17].reduce(0) { ($0 + Int($1)) & 0x7F }
            let expected = UInt8((128 - sum) & 0x7F)
            guard frame[17] == expected else { throw .badChecksum(expected: expected, received: frame[17]) }
        }
        let (a, b, c) = (frame[1], frame[2], frame[3])
        // Bit 5 of every status byte is 1, bit 6 of A and C is 0 (tables 6-9 to 6-11).
        guard a & 0x60 == 0x20 else { throw .badStatusByte("A", byte: a) }
        guard b & 0x20 == 0x20 else { throw .badStatusByte("B", byte: b) }
        guard c & 0x60 == 0x20 else { throw .badStatusByte("C", byte: c) }

        let unit: MassUnit
        switch c & 0x07 {
        case 0b000:
            guard b & 0x10 != 0 else { throw .unsupportedUnit("lb") }
            unit = .kilograms
        case 0b001: unit = .grams
        case 0b010: unit = .tonnes
        case 0b011: throw .unsupportedUnit("oz")
        case 0b110: throw .unsupportedUnit("short tons")
        case 0b111: throw .unsupportedUnit("N")
        default: throw .badStatusByte("C", byte: c)
        }
        // Status A bits 0–2: where the decimal point goes, or the zeros the display adds.
        let format = Int(a & 0x07)
        let negative = b & 0x02 != 0
        let displayed = try mass(frame[4..<10], field: "weight", format: format, unit: unit)
        return ToledoContinuousFrame(
            displayed: negative ? -displayed : displayed,
            tare: try mass(frame[10..<16], field: "tare", format: format, unit: unit),
            isNet: b & 0x01 != 0, inMotion: b & 0x08 != 0, outOfRange: b & 0x04 != 0,
            notZeroedSincePowerUp: b & 0x40 != 0, unit: unit, bytes: frame)
    }

    /// Six characters, right-aligned digits after any leading spaces, placed by `format`:
    /// 0 and 1 add two or one zeros, 2 is whole, 3 to 7 have 1 to 5 decimal places.
    private static func mass(_ field: ArraySlice<UInt8>, field name: String, format: Int, unit: MassUnit)
        throws(FrameFault) -> Mass
    {
        let text = String(decoding: field, as: UTF8.self)
        let digits = field.drop { $0 == 0x20 }
        guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .malformedField(name, text: text, expected: "six right-aligned digits")
        }
        let value = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        let scaled = value * unit.grams * (format == 0 ? 100 : format == 1 ? 10 : 1)
        let places = max(0, format - 2)
        var divisor: Int64 = 1
        for _ in 0..<places { divisor *= 10 }
        guard scaled % divisor == 0 else { throw .finerThanAGram("\(text) \(unit.rawValue) at \(places) places") }
        return Mass(grams: scaled / divisor)
    }
}
