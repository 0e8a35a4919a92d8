public import WeighbridgeCore

/// The simulator's side of a register map: a reading written into registers exactly as an
/// indicator configured with that map would present it. The mirror of `RegisterMap.decode`.
extension RegisterMap {
    /// The register block for `reading`. Weights are written with each field's type, order,
    /// sign convention, unit and (fixed or status-bit) decimals; status bits from the flags.
    public func encode(_ reading: IndicatorReading) -> [UInt16] {
        var registers = [UInt16](repeating: 0, count: count)
        var statusWord: UInt32 = 0
        if let status {
            if reading.status.contains(.stable) {
                statusWord |= status.stableMask
            } else {
                statusWord |= status.motionMask
            }
            if reading.status.contains(.overload) { statusWord |= status.overloadMask }
            if reading.status.contains(.underload) { statusWord |= status.underloadMask }
            if reading.status.contains(.centreOfZero) { statusWord |= status.zeroMask }
            if reading.status.contains(.error) { statusWord |= status.errorMask }
            if !reading.status.contains(.error) { statusWord |= status.dataOKMask }
            if reading.status.contains(.presetTare) { statusWord |= status.presetTareMask }
        }
        for (field, mass) in [(gross, reading.gross), (net, reading.net), (tare, reading.tare)] {
            guard let field, let mass else { continue }
            if case .statusBit(let mask) = field.sign, mass.grams < 0 { statusWord |= mask }
            if case .statusBits(let mask) = field.decimals {
                statusWord |= (UInt32(field.encodedDecimals) << UInt32(mask.trailingZeroBitCount)) & mask
            }
            write(field.bits(for: mass), type: field.type, order: field.order, at: field.offset, into: &registers)
            // Weights are written with no decimals when the device supplies them: 0 in that register.
            if case .register(let offset) = field.decimals { registers[offset] = 0 }
        }
        if let status { write(statusWord, type: status.type, order: status.order, at: status.offset, into: &registers) }
        if let legalCounter, let counter = reading.legalCounter {
            write(
                counter, type: legalCounter.type, order: legalCounter.order, at: legalCounter.offset, into: &registers)
        }
        return registers
    }

    private func write(
        _ bits: UInt32, type: RegisterValueType, order: WordOrder, at offset: Int,
        into registers: inout [UInt16]
    ) {
        let swapBytes = order == .badc || order == .dcba
        func word(_ value: UInt32) -> UInt16 {
            let word = UInt16(truncatingIfNeeded: value)
            return swapBytes ? word.byteSwapped : word
        }
        guard type.registerCount == 2 else {
            registers[offset] = word(bits)
            return
        }
        let (high, low) = (word(bits >> 16), word(bits))
        let lowWordFirst = order == .cdab || order == .dcba
        registers[offset] = lowWordFirst ? low : high
        registers[offset + 1] = lowWordFirst ? high : low
    }
}

extension WeightField {
    /// The decimals this field is written with: fixed ones, or 0 when they come from the device.
    var encodedDecimals: Int {
        if case .fixed(let places) = decimals { return places }
        return 0
    }

    /// The raw bits an indicator would send for `mass` (which must be representable).
    func bits(for mass: Mass) -> UInt32 {
        let scale = (0..<encodedDecimals).reduce(Int64(1)) { value, _ in value * 10 }
        let grams = mass.grams
        if type == .float32 {
            let value = Float(Double(grams) * Double(scale) / Double(unit.grams))
            return value.bitPattern
        }
        var counts = grams * scale / unit.grams
        if case .statusBit = sign { counts = abs(counts) }
        switch type {
        case .int16: return UInt32(UInt16(bitPattern: Int16(truncatingIfNeeded: counts)))
        case .int32: return UInt32(bitPattern: Int32(truncatingIfNeeded: counts))
        default: return UInt32(truncatingIfNeeded: counts)
        }
    }
}
