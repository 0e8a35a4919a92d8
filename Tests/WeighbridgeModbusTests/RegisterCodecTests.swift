import PropertyBased
import Testing
import WeighbridgeCore
import WeighbridgeTesting

/// A generic map with one weight field of the given layout, at offset 1, status at 0.
func genericMap(
    type: RegisterValueType, order: WordOrder, sign: SignConvention = .twosComplement,
    decimals: DecimalsSource = .fixed(0), unit: MassUnit = .kilograms
) -> RegisterMap {
    var status = StatusField(offset: 0)
    status.stableMask = 1 << 0
    status.overloadMask = 1 << 1
    status.zeroMask = 1 << 2
    return RegisterMap(
        function: .holdingRegisters, address: 100, count: 4,
        gross: WeightField(offset: 1, type: type, order: order, sign: sign, decimals: decimals, unit: unit),
        status: status)
}

@Suite("Register decoding: every type, word order and sign convention")
struct RegisterCodecTests {
    static let layouts: [(RegisterValueType, SignConvention)] = [
        (.int16, .twosComplement), (.uint16, .twosComplement), (.int32, .twosComplement), (.uint32, .twosComplement),
        (.uint16, .statusBit(mask: 1 << 8)), (.uint32, .statusBit(mask: 1 << 8)), (.float32, .twosComplement),
    ]

    @Test(
        "every preset maps its indicator's overload and underload status where the manual documents one",
        arguments: [
            // A status word as the manual describes it, and the flags it must decode to.
            (IndicatorPreset.laumas, UInt16(1 << 2), IndicatorStatus.overload),  // Max + 9e
            (.laumas, 1 << 3, .overload),  // gross above 110 % of full scale
            (.laumas, 1 << 0, .error),  // load cell error
            (.laumas, 1 << 1, .error),  // A/D converter fault
            (.diniDGT, 1 << 4, .overload),
            (.diniDGT, 1 << 3, .underload),
            (.flintecFT1x, 2 << 13, .error),  // data OK clear, error code 2: A/D overrange
            (.rinstrumC500, 1 << 1, .overload),
            (.rinstrumC500, 1 << 0, .underload),
            (.siwarexWP251, 1 << 1, .overload),  // out of weighing range
        ] as [(IndicatorPreset, UInt16, IndicatorStatus)])
    func presetFaultBits(preset: IndicatorPreset, word: UInt16, expected: IndicatorStatus) throws {
        let map = try #require(preset.registerMap)
        let status = try #require(map.status)
        var registers = [UInt16](repeating: 0, count: map.count)
        registers[status.offset] = word
        let reading = try map.decode(registers, division: Mass(20, .kilograms))
        #expect(reading.status.isSuperset(of: expected), "\(preset): \(reading.status)")
        #expect(!reading.status.isDisjoint(with: IndicatorStatus.faults))
    }

    @Test(
        "known register images decode to the exact weight",
        arguments: [
            // 12 340 kg as int32 in each order: 0x00003034.
            (WordOrder.abcd, [0x0001, 0x0000, 0x3034, 0], Int64(12_340_000)),
            (.cdab, [0x0001, 0x3034, 0x0000, 0], 12_340_000),
            (.badc, [0x0001, 0x0000, 0x3430, 0], 12_340_000),
            (.dcba, [0x0001, 0x3430, 0x0000, 0], 12_340_000),
            // −20 kg two's complement: 0xFFFFFFEC.
            (.abcd, [0x0001, 0xFFFF, 0xFFEC, 0], -20_000),
        ] as [(WordOrder, [UInt16], Int64)])
    func knownImages(order: WordOrder, registers: [UInt16], grams: Int64) throws {
        let reading = try genericMap(type: .int32, order: order).decode(registers, division: Mass(20, .kilograms))
        #expect(reading.gross == Mass(grams: grams))
        #expect(reading.status == .stable)
    }

    @Test(
        "property: what the simulator writes, the daemon reads back exactly",
        arguments: RegisterCodecTests.layouts.indices)
    func roundTrip(layout: Int) async {
        let (type, sign) = Self.layouts[layout]
        let division = Mass(20, .kilograms)
        // The widest range each layout holds exactly, in divisions of 20 kg.
        let limit: Int64 =
            switch type {
            case .int16: 1_638
            case .uint16: 3_276
            case .float32: 800_000
            default: 100_000_000
            }
        let signed = type == .int16 || type == .int32 || type == .float32 || sign != .twosComplement
        await propertyCheck(
            count: 300, input: Gen.int64(in: (signed ? -limit : 0)...limit),
            Gen<WordOrder>.case
        ) { divisions, order in
            let map = genericMap(type: type, order: order, sign: sign)
            let reading = IndicatorReading(
                gross: division * divisions, net: nil, tare: nil, status: .stable,
                legalCounter: nil)
            #expect((try? map.decode(map.encode(reading), division: division))?.gross == division * divisions)
        }
    }

    @Test("decimals: fixed, from status bits, and grams/tonnes units give exact grams")
    func decimalsAndUnits() throws {
        let division = Mass(grams: 500)
        let fixed = genericMap(type: .int32, order: .abcd, decimals: .fixed(1))
        #expect(try fixed.decode([1, 0x0001, 0xE23F, 0], division: division).gross == Mass(grams: 12_345_500))
        let tonnes = genericMap(type: .int32, order: .abcd, decimals: .fixed(3), unit: .tonnes)
        #expect(try tonnes.decode([1, 0, 12_345, 0], division: division).gross == Mass(grams: 12_345_000))
        var fromStatus = genericMap(type: .int32, order: .abcd, decimals: .statusBits(mask: 0b111 << 12))
        fromStatus.status?.type = .uint16
        #expect(
            try fromStatus.decode([1 | 2 << 12, 0, 1_234, 0], division: Mass(grams: 10)).gross == Mass(grams: 12_340))
        let grams = genericMap(type: .int32, order: .abcd, unit: .grams)
        #expect(try grams.decode([1, 0, 750, 0], division: Mass(grams: 5)).gross == Mass(grams: 750))
    }

    @Test("NaN, infinity and floats off the division grid are read errors, never weights")
    func badFloats() throws {
        let map = genericMap(type: .float32, order: .abcd)
        let division = Mass(20, .kilograms)
        func registers(_ value: Float) -> [UInt16] {
            [1, UInt16(value.bitPattern >> 16), UInt16(value.bitPattern & 0xFFFF), 0]
        }
        #expect(throws: ReadingError.notFinite(field: "gross")) { try map.decode(registers(.nan), division: division) }
        #expect(throws: ReadingError.notFinite(field: "gross")) {
            try map.decode(registers(.infinity), division: division)
        }
        #expect(throws: ReadingError.offDivisionGrid(field: "gross", value: "12345.0", division: division)) {
            try map.decode(registers(12_345), division: division)
        }
        #expect(try map.decode(registers(12_340), division: division).gross == Mass(12_340, .kilograms))
        // 0.1 t is not exactly representable in binary; it still lands on a 20 kg grid exactly.
        let tonnes = genericMap(type: .float32, order: .abcd, unit: .tonnes)
        #expect(try tonnes.decode(registers(12.34), division: division).gross == Mass(12_340, .kilograms))
    }

    @Test("status flags: stable and motion, overload, data-not-OK, preset tare")
    func statusFlags() throws {
        var map = genericMap(type: .int32, order: .abcd)
        map.status?.motionMask = 1 << 3
        map.status?.dataOKMask = 1 << 4
        map.status?.presetTareMask = 1 << 5
        let division = Mass(20, .kilograms)
        #expect(try map.decode([0b1_0001, 0, 0, 0], division: division).status == [.stable])
        #expect(try map.decode([0b1_1001, 0, 0, 0], division: division).status == [])  // motion overrides
        #expect(try map.decode([0b0_0001, 0, 0, 0], division: division).status == [.stable, .error])  // not OK
        #expect(try map.decode([0b11_0011, 0, 0, 0], division: division).status == [.stable, .overload, .presetTare])
        #expect(throws: ReadingError.wrongLength(expected: 4, received: 3)) {
            try map.decode([0, 0, 0], division: division)
        }
    }
}
