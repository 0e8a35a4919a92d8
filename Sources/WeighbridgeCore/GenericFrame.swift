/// A frame format the configuration describes (`format = "generic"`), for an indicator whose
/// ASCII protocol has no reader of its own: where a frame starts and ends, where its weight and
/// unit stand, and which bytes say stable, in motion, over or under capacity and at zero
/// (docs/indicators.md, "A generic frame"). Offsets count from the frame's first byte (its start
/// marker, when it has one), from 0.
public struct GenericFrameFormat: Sendable, Hashable {
    /// Bytes `[offset, offset + length)` of a frame.
    public struct Field: Sendable, Hashable {
        /// Where the field begins, from the frame's first byte.
        public var offset: Int
        /// How many bytes it has.
        public var length: Int

        public init(offset: Int, length: Int) {
            self.offset = offset
            self.length = length
        }

        var end: Int { offset + length }
    }

    /// A status indication: the bytes at `offset` equal `value`, or, with `mask`, the byte at
    /// `offset` has a bit of `mask` set.
    public struct Indication: Sendable, Hashable {
        /// How the indication is read.
        public enum Test: Sendable, Hashable {
            /// The bytes at the offset are these.
            case equals([UInt8])
            /// The byte at the offset has a bit of this mask set.
            case mask(UInt8)
        }

        /// Where the indication stands, from the frame's first byte.
        public var offset: Int
        public var test: Test

        public init(offset: Int, test: Test) {
            self.offset = offset
            self.test = test
        }

        var end: Int {
            switch test {
            case .equals(let value): offset + value.count
            case .mask: offset + 1
            }
        }

        func holds(in frame: [UInt8]) -> Bool {
            switch test {
            case .equals(let value): Array(frame[offset..<end]) == value
            case .mask(let mask): frame[offset] & mask != 0
            }
        }
    }

    /// What the daemon sends for each reading; nil when the indicator sends frames unasked.
    public var request: [UInt8]?
    /// The bytes a frame begins with; empty when frames follow one another with nothing between.
    public var start: [UInt8]
    /// The bytes a frame ends with (never empty).
    public var end: [UInt8]
    /// The whole frame's length, start and end included, when it is fixed.
    public var length: Int?
    /// The weight: spaces or zeros, then digits with a sign and a decimal point where the
    /// indicator sends them.
    public var weight: Field
    /// Decimal places implied when the weight field carries no point (nil: the field's own).
    public var impliedDecimals: Int?
    /// The unit's letters; nil when the frame carries none (the bridge's weight_unit is meant).
    public var unit: Field?
    /// The indicator's sign of a negative weight, when it stands apart from the weight field.
    public var negative: Indication?
    /// Exactly one of these two says whether the weight is still.
    public var stable: Indication?
    public var motion: Indication?
    public var overload: Indication?
    public var underload: Indication?
    public var zero: Indication?
    /// The frame says the weight is net (otherwise gross).
    public var net: Indication?

    public init(
        request: [UInt8]?, start: [UInt8], end: [UInt8], length: Int?, weight: Field, impliedDecimals: Int?,
        unit: Field?, negative: Indication? = nil, stable: Indication?, motion: Indication?,
        overload: Indication? = nil, underload: Indication? = nil, zero: Indication? = nil, net: Indication? = nil
    ) {
        self.request = request
        self.start = start
        self.end = end
        self.length = length
        self.weight = weight
        self.impliedDecimals = impliedDecimals
        self.unit = unit
        self.negative = negative
        self.stable = stable
        self.motion = motion
        self.overload = overload
        self.underload = underload
        self.zero = zero
        self.net = net
    }

    /// Every indication, by the name the configuration gives it.
    var indications: [(String, Indication)] {
        [
            ("negative", negative), ("stable", stable), ("motion", motion), ("overload", overload),
            ("underload", underload), ("zero", zero), ("net", net),
        ].compactMap { name, indication in indication.map { (name, $0) } }
    }

    /// The least length a frame must have for every field and indication to lie within it.
    public var shortestFrame: Int {
        ([weight.end, unit?.end ?? 0, start.count + end.count] + indications.map(\.1.end)).max() ?? 0
    }

    /// What is wrong with the description, one sentence per key (an empty list: it can be read).
    public func problems() -> [(key: String, message: String)] {
        var problems: [(key: String, message: String)] = []
        if end.isEmpty { problems.append(("end", "must be at least one byte")) }
        if request?.isEmpty == true {
            problems.append(("request", "must be at least one byte (or left out: listened)"))
        }
        if weight.offset < 0 { problems.append(("weight", "its offset must be 0 or more")) }
        if let unit, unit.offset < 0 || unit.length < 1 {
            problems.append(("unit", "its offset must be 0 or more and its length 1 or more"))
        }
        for (name, indication) in indications {
            let empty: Bool = if case .equals(let value) = indication.test { value.isEmpty } else { false }
            let noBits: Bool = if case .mask(let mask) = indication.test { mask == 0 } else { false }
            if indication.offset < 0 || empty || noBits {
                problems.append(
                    (name, "its offset must be 0 or more, its value a byte or more, its mask a bit or more"))
            }
        }
        if (stable == nil) == (motion == nil) { problems.append(("stable", "set exactly one of stable and motion")) }
        if weight.length < 1 || weight.length > 16 { problems.append(("weight", "its length must be 1 to 16")) }
        if let length, length < shortestFrame {
            problems.append(("length", "\(length) is shorter than the fields it holds (\(shortestFrame) bytes)"))
        }
        if let impliedDecimals, !(0...6).contains(impliedDecimals) {
            problems.append(("decimals", "\(impliedDecimals) is not 0 to 6"))
        }
        return problems
    }

    /// The longest frame read before bytes are given up as noise.
    var longestFrame: Int { length ?? max(128, shortestFrame) }
}

/// One frame of a generic format, decoded.
public struct GenericFrame: Sendable, Hashable {
    /// What the frame says the indicator shows.
    public var reading: IndicatorReading
    /// The unit the frame gives, or the bridge's when it gives none.
    public var unit: MassUnit
    /// The frame as received, start marker to end marker.
    public var bytes: [UInt8]
}

/// Reads frames of a `GenericFrameFormat`: each from its start marker (or the end of the one
/// before) to its end marker, checked against the described length and decoded; bytes not yet a
/// whole frame wait for the next call, and nothing in any byte string traps.
public struct GenericFrameReader: Sendable {
    public let format: GenericFrameFormat
    /// The unit meant when the frame carries none.
    public let unit: MassUnit
    private var pending: [UInt8] = []
    /// Noise before the first start marker is the tail of a frame the connection began in.
    private var synchronised = false

    public init(format: GenericFrameFormat, unit: MassUnit) {
        self.format = format
        self.unit = unit
    }

    /// Takes the bytes received and returns every frame and fault they complete, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [FrameScan<GenericFrame>] {
        pending.append(contentsOf: bytes)
        var results: [FrameScan<GenericFrame>] = []
        var position = 0
        while position < pending.count {
            var frameStart = position
            if !format.start.isEmpty {
                guard let found = Self.find(format.start, in: pending, from: position, before: pending.count) else {
                    // Keep what could still be the beginning of a start marker.
                    let keep = min(pending.count - position, format.start.count - 1)
                    if synchronised, pending.count - keep > position {
                        results.append(.fault(.noise(bytes: pending.count - keep - position)))
                    }
                    position = pending.count - keep
                    break
                }
                if found > position, synchronised { results.append(.fault(.noise(bytes: found - position))) }
                synchronised = true
                frameStart = found
            }
            let searchFrom = frameStart + format.start.count
            let limit = min(pending.count, frameStart + format.longestFrame)
            let nextStart =
                format.start.isEmpty ? nil : Self.find(format.start, in: pending, from: searchFrom, before: limit)
            guard let endAt = Self.find(format.end, in: pending, from: searchFrom, before: limit) else {
                if let nextStart {
                    results.append(.fault(.cutShort(received: nextStart - frameStart)))
                    position = nextStart
                    continue
                }
                guard limit - frameStart >= format.longestFrame else {
                    position = frameStart
                    break
                }
                results.append(.fault(.noise(bytes: format.longestFrame)))
                position = frameStart + format.longestFrame
                continue
            }
            if let nextStart, nextStart < endAt {
                results.append(.fault(.cutShort(received: nextStart - frameStart)))
                position = nextStart
                continue
            }
            let frameEnd = endAt + format.end.count
            let frame = Array(pending[frameStart..<frameEnd])
            do {
                results.append(.frame(try decode(frame)))
            } catch {
                results.append(.fault(error))
            }
            position = frameEnd
        }
        pending.removeFirst(position)
        return results
    }

    private func decode(_ frame: [UInt8]) throws(FrameFault) -> GenericFrame {
        if let length = format.length, frame.count != length {
            throw .wrongLength(expected: length, received: frame.count)
        }
        guard frame.count >= format.shortestFrame else {
            throw .wrongLength(expected: format.shortestFrame, received: frame.count)
        }
        try FrameFault.requireSevenBits(frame)
        var unit = self.unit
        if let field = format.unit {
            let text = String(decoding: frame[field.offset..<field.end], as: UTF8.self).trimmingWhitespace
            guard let sent = MassUnit(rawValue: text.lowercased()) else {
                throw .unsupportedUnit(text.isEmpty ? "no unit" : text)
            }
            unit = sent
        }
        var weight = try Self.weight(frame[format.weight.offset..<format.weight.end], unit: unit, format: format)
        if format.negative?.holds(in: frame) == true {
            // A sign in both places says two things at once: not a weight.
            guard weight.grams >= 0, !frame[format.weight.offset..<format.weight.end].contains(UInt8(ascii: "-")) else {
                throw .malformedField("weight", text: String(decoding: frame, as: UTF8.self), expected: "one sign")
            }
            weight = -weight
        }
        var status: IndicatorStatus = []
        if let stable = format.stable, stable.holds(in: frame) { status.insert(.stable) }
        if let motion = format.motion, !motion.holds(in: frame) { status.insert(.stable) }
        if format.overload?.holds(in: frame) == true { status.insert(.overload) }
        if format.underload?.holds(in: frame) == true { status.insert(.underload) }
        if format.zero?.holds(in: frame) == true { status.insert(.centreOfZero) }
        let isNet = format.net?.holds(in: frame) == true
        return GenericFrame(
            reading: IndicatorReading(
                gross: isNet ? nil : weight, net: isNet ? weight : nil, tare: nil, status: status, legalCounter: nil),
            unit: unit, bytes: frame)
    }

    /// Spaces (or zeros), then digits with a sign and a point where the indicator sends them.
    private static func weight(_ field: ArraySlice<UInt8>, unit: MassUnit, format: GenericFrameFormat)
        throws(FrameFault) -> Mass
    {
        let text = String(decoding: field, as: UTF8.self)
        let number = text.trimmingWhitespace
        let malformed = FrameFault.malformedField(
            "weight", text: text, expected: "spaces, then digits with their sign and decimal point")
        guard !number.isEmpty, number.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "-" || $0 == "+" }) else {
            throw malformed
        }
        var written = number
        if let places = format.impliedDecimals, places > 0, !number.contains(".") {
            let sign = number.first == "-" || number.first == "+" ? String(number.first!) : ""
            var digits = String(number.dropFirst(sign.count))
            if digits.count <= places { digits = String(repeating: "0", count: places - digits.count + 1) + digits }
            written = sign + digits.dropLast(places) + "." + digits.suffix(places)
        }
        do {
            return try Mass(parsingSigned: written, defaultUnit: unit)
        } catch .tooPrecise {
            throw .finerThanAGram("\(number) \(unit.rawValue)")
        } catch {
            throw malformed
        }
    }

    /// Where `needle` first occurs wholly within `haystack[from..<before]`.
    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, before: Int) -> Int? {
        guard !needle.isEmpty else { return nil }
        var index = from
        while index + needle.count <= before {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
