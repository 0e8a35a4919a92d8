/// Register maps of indicators we know, taken from their manufacturers' Modbus manuals
/// (docs/indicators.md, "Presets", tables them with their wire addresses). Manuals number
/// registers from 40001/30001; these are 0-based wire addresses. Every preset must be verified on
/// site with a known load before the bridge is used for trade: firmware versions move registers.
public enum IndicatorPreset: String, Sendable, Hashable, CaseIterable {
    /// Nothing filled in: the whole map comes from `[bridge.registers]`.
    case generic
    /// Laumas W-series (e.g. W100/WDESK), Modbus manual: status 40007, gross 40008–9, net 40010–11.
    /// Status: bit 0 load cell error, 1 A/D converter fault, 2 Max + 9e exceeded, 3 gross above
    /// 110 % of full scale, 4–5 gross or net beyond ±999 999 (the last four are overloads).
    case laumas
    /// Dini Argeo DGT series: input registers, magnitudes with sign bits in the status word;
    /// status bit 3 underload, bit 4 overload (DGT4X/DGT1S manuals).
    case diniDGT = "dini-dgt"
    /// Flintec FT-1x: net 40001–2, status 40003, tare 40004–5, gross 40006–7; print = 4 → 40009.
    /// Overrange and underrange are error codes in bits 13–15, shown by "data OK" (bit 1) clearing.
    case flintecFT1x = "flintec-ft1x"
    /// Flintec FT-11x: net, tare, gross, 32-bit status with decimals in bits 27–31, ticket number.
    /// Its A/D over- and underrange bits are in a second word (40009–10) this map does not read:
    /// the Max + 9e rule still refuses an overload.
    case flintecFT11x = "flintec-ft11x"
    /// Rinstrum C500 series: input registers, status 30008 (bit 0 underload, bit 1 overload).
    case rinstrumC500 = "rinstrum-c500"
    /// Siemens SIWAREX WP251: float32 process values from 43009, status 43005; bit 1 "out of
    /// weighing range" (above Max + 9e or below the range) is taken as overload.
    case siwarexWP251 = "siwarex-wp251"
    /// Pavone JBX8: status 40002, gross 40003–4, net 40005–6. The manual does not document the
    /// status bits: set `stable_mask` or `motion_mask` on site.
    case pavoneJBX8 = "pavone-jbx8"

    /// The preset's map, or nil for `generic` (which has none).
    public var registerMap: RegisterMap? {
        switch self {
        case .generic:
            return nil
        case .laumas:
            var status = StatusField(offset: 0)
            status.stableMask = 1 << 11
            status.zeroMask = 1 << 12
            status.errorMask = 1 << 0 | 1 << 1
            status.overloadMask = 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5
            return RegisterMap(
                function: .holdingRegisters, address: 6, count: 5,
                gross: WeightField(offset: 1, type: .int32), net: WeightField(offset: 3, type: .int32),
                status: status)
        case .diniDGT:
            var status = StatusField(offset: 4)
            status.stableMask = 1 << 2
            status.underloadMask = 1 << 3
            status.overloadMask = 1 << 4
            status.presetTareMask = 1 << 6
            return RegisterMap(
                function: .inputRegisters, address: 0, count: 5,
                gross: WeightField(offset: 0, type: .uint32, sign: .statusBit(mask: 1 << 0)),
                net: WeightField(offset: 2, type: .uint32, sign: .statusBit(mask: 1 << 1)),
                status: status)
        case .flintecFT1x:
            var status = StatusField(offset: 2)
            status.motionMask = 1 << 2
            status.dataOKMask = 1 << 1
            return RegisterMap(
                function: .holdingRegisters, address: 0, count: 7,
                gross: WeightField(offset: 5, type: .int32), net: WeightField(offset: 0, type: .int32),
                tare: WeightField(offset: 3, type: .int32), status: status)
        case .flintecFT11x:
            var status = StatusField(offset: 6, type: .uint32)
            status.motionMask = 1 << 2
            status.zeroMask = 1 << 12
            let decimals = DecimalsSource.statusBits(mask: 0b11111 << 27)
            return RegisterMap(
                function: .holdingRegisters, address: 0, count: 16,
                gross: WeightField(offset: 4, type: .int32, decimals: decimals),
                net: WeightField(offset: 0, type: .int32, decimals: decimals),
                tare: WeightField(offset: 2, type: .int32, decimals: decimals), status: status,
                legalCounter: LegalCounterField(offset: 14))
        case .rinstrumC500:
            var status = StatusField(offset: 7)
            status.motionMask = 1 << 2
            status.zeroMask = 1 << 6
            status.underloadMask = 1 << 0
            status.overloadMask = 1 << 1
            return RegisterMap(
                function: .inputRegisters, address: 0, count: 8,
                gross: WeightField(offset: 1, type: .int32), net: WeightField(offset: 3, type: .int32),
                status: status)
        case .siwarexWP251:
            var status = StatusField(offset: 0)
            status.stableMask = 1 << 6
            status.overloadMask = 1 << 1
            status.presetTareMask = 1 << 3
            return RegisterMap(
                function: .holdingRegisters, address: 3004, count: 10,
                gross: WeightField(offset: 4, type: .float32), net: WeightField(offset: 6, type: .float32),
                tare: WeightField(offset: 8, type: .float32), status: status)
        case .pavoneJBX8:
            return RegisterMap(
                function: .holdingRegisters, address: 1, count: 5,
                gross: WeightField(offset: 1, type: .int32), net: WeightField(offset: 3, type: .int32),
                status: StatusField(offset: 0))
        }
    }
}
