/// One consistent snapshot of an indicator, decoded from one block read.
public struct IndicatorReading: Sendable, Hashable {
    public var gross: Mass?
    public var net: Mass?
    public var tare: Mass?
    public var status: IndicatorStatus
    public var legalCounter: UInt32?

    public init(gross: Mass?, net: Mass?, tare: Mass?, status: IndicatorStatus, legalCounter: UInt32?) {
        self.gross = gross
        self.net = net
        self.tare = tare
        self.status = status
        self.legalCounter = legalCounter
    }

    /// The weight certified captures use: the gross when the map has one, else the net (an
    /// indicator that shows only net, with no tare active, shows the gross).
    public var weight: Mass? { gross ?? net }
}

/// Why a register block is not a reading. A read error is never a weight.
public enum ReadingError: Error, Sendable, Hashable, CustomStringConvertible {
    case wrongLength(expected: Int, received: Int)
    case notFinite(field: String)
    case offDivisionGrid(field: String, value: String, division: Mass)
    case finerThanAGram(field: String)
    case decimalsOutOfRange(field: String, decimals: Int)
    /// The weight is above Max + 9e: an overload, whatever the indicator's flags say.
    case aboveMaximum(limit: Mass)

    public var description: String {
        switch self {
        case .wrongLength(let expected, let received):
            "expected \(expected) registers, received \(received)"
        case .notFinite(let field):
            "\(field) is NaN or infinite"
        case .offDivisionGrid(let field, let value, let division):
            "\(field) \(value) is not a multiple of the division \(division)"
        case .finerThanAGram(let field):
            "\(field) has more decimals than a gram can hold; check the decimals setting"
        case .decimalsOutOfRange(let field, let decimals):
            "\(field) decimals \(decimals) from the device are outside 0–6"
        case .aboveMaximum(let limit):
            "the weight is above Max + 9e (\(limit)): an overload, never certified; check max_kg and the register map"
        }
    }
}

extension RegisterMap {
    /// Decodes one block (`count` registers, as read from `address`). Weights become whole grams
    /// here, once; a float32 value must lie on the `division` grid (within its own rounding),
    /// and is then held as an exact multiple of the division.
    public func decode(_ registers: [UInt16], division: Mass) throws(ReadingError) -> IndicatorReading {
        guard registers.count == count else { throw .wrongLength(expected: count, received: registers.count) }
        let statusWord = status.map { raw(registers, offset: $0.offset, type: $0.type, order: $0.order) } ?? 0
        var flags: IndicatorStatus = []
        if let status {
            let stableBit = status.stableMask == 0 || statusWord & status.stableMask != 0
            let noMotion = status.motionMask == 0 || statusWord & status.motionMask == 0
            if stableBit && noMotion { flags.insert(.stable) }
            if statusWord & status.overloadMask != 0 { flags.insert(.overload) }
            if statusWord & status.underloadMask != 0 { flags.insert(.underload) }
            if statusWord & status.zeroMask != 0 { flags.insert(.centreOfZero) }
            if statusWord & status.errorMask != 0 { flags.insert(.error) }
            if status.dataOKMask != 0 && statusWord & status.dataOKMask == 0 { flags.insert(.error) }
            if statusWord & status.presetTareMask != 0 { flags.insert(.presetTare) }
        }
        func decoded(_ field: WeightField?, _ name: String) throws(ReadingError) -> Mass? {
            guard let field else { return nil }
            return try weight(field, name, registers, statusWord, division)
        }
        return IndicatorReading(
            gross: try decoded(gross, "gross"), net: try decoded(net, "net"), tare: try decoded(tare, "tare"),
            status: flags,
            legalCounter: legalCounter.map { raw(registers, offset: $0.offset, type: $0.type, order: $0.order) })
    }

    private func weight(
        _ field: WeightField, _ name: String, _ registers: [UInt16], _ statusWord: UInt32,
        _ division: Mass
    ) throws(ReadingError) -> Mass {
        let bits = raw(registers, offset: field.offset, type: field.type, order: field.order)
        let decimals: Int
        switch field.decimals {
        case .fixed(let places): decimals = places
        case .statusBits(let mask): decimals = Int((statusWord & mask) >> UInt32(mask.trailingZeroBitCount))
        case .register(let offset): decimals = Int(registers[offset])
        }
        guard (0...6).contains(decimals) else { throw .decimalsOutOfRange(field: name, decimals: decimals) }
        var negative = false
        if case .statusBit(let mask) = field.sign { negative = statusWord & mask != 0 }
        let scale = (0..<decimals).reduce(Int64(1)) { value, _ in value * 10 }

        if field.type == .float32 {
            return try floatWeight(Float(bitPattern: bits), name, field.unit, scale, division)
        }
        var value: Int64
        switch field.type {
        case .int16: value = Int64(Int16(truncatingIfNeeded: bits))
        case .int32: value = Int64(Int32(bitPattern: bits))
        default: value = Int64(bits)
        }
        if negative { value = -value }
        let scaled = value * field.unit.grams
        guard scaled % scale == 0 else { throw .finerThanAGram(field: name) }
        return Mass(grams: scaled / scale)
    }

    /// A float32 becomes a whole number of divisions once. It must sit on the grid within its
    /// own precision (half a unit in the last place): anything further off is a misconfigured
    /// unit, decimals or division, and reading it as a weight would be a guess.
    private func floatWeight(_ value: Float, _ name: String, _ unit: MassUnit, _ scale: Int64, _ division: Mass)
        throws(ReadingError) -> Mass
    {
        guard value.isFinite else { throw .notFinite(field: name) }
        let gramsPerUnit = Double(unit.grams) / Double(scale)
        let grams = Double(value) * gramsPerUnit
        let divisions = (grams / Double(division.grams)).rounded()
        let allowed = Double(value.ulp) * gramsPerUnit / 2
        // Beyond 10¹⁵ g (a million tonnes) no bridge weighs: a bound that also keeps the integer
        // arithmetic below from overflowing on a garbage register.
        guard abs(grams) < 1e15 else { throw .notFinite(field: name) }
        guard abs(grams - divisions * Double(division.grams)) <= allowed else {
            throw .offDivisionGrid(field: name, value: "\(value)", division: division)
        }
        return division * Int64(divisions)
    }

    /// The raw bits of a 16- or 32-bit field, words and bytes put in ABCD order.
    private func raw(_ registers: [UInt16], offset: Int, type: RegisterValueType, order: WordOrder) -> UInt32 {
        let swapBytes = order == .badc || order == .dcba
        func word(_ index: Int) -> UInt32 {
            let value = registers[offset + index]
            return UInt32(swapBytes ? value.byteSwapped : value)
        }
        guard type.registerCount == 2 else { return word(0) }
        let lowWordFirst = order == .cdab || order == .dcba
        return lowWordFirst ? word(1) << 16 | word(0) : word(0) << 16 | word(1)
    }
}
