import PropertyBased
import Testing
import WeighbridgeCore
import WeighbridgeTesting

private func frames(_ text: String, _ format: GenericFrameFormat) -> [FrameScan<GenericFrame>] {
    var reader = GenericFrameReader(format: format, unit: .kilograms)
    return reader.receive(Array(text.utf8))
}

private func reading(_ text: String, _ format: GenericFrameFormat) -> IndicatorReading? {
    guard case .frame(let frame)? = frames(text, format).last else { return nil }
    return frame.reading
}

@Suite("A generic frame: a format the configuration describes")
struct GenericFrameTests {
    @Test("SMA and Toledo described generically read as their own readers read them")
    func describedFormats() throws {
        let gross = try #require(reading("\n 1G      1234.5kg \r", smaDescribed))
        #expect(
            gross
                == IndicatorReading(
                    gross: Mass(grams: 1_234_500), net: nil, tare: nil, status: .stable, legalCounter: nil))
        #expect(reading("\n 1NM     -12.34kg \r", smaDescribed)?.net == Mass(grams: -12_340))
        #expect(reading("\n 1NM     -12.34kg \r", smaDescribed)?.status == [])
        #expect(reading("\nZ1G       0.000kg \r", smaDescribed)?.status == [.stable, .centreOfZero])
        #expect(reading("\nO1G     99999.0kg \r", smaDescribed)?.status == [.stable, .overload])

        #expect(reading("\u{02}*0   1234     0\r", toledoDescribed)?.gross == Mass(1_234, .kilograms))
        #expect(reading("\u{02}*2   1234     0\r", toledoDescribed)?.gross == Mass(-1_234, .kilograms))
        #expect(reading("\u{02}*8   1234     0\r", toledoDescribed)?.status == [])
        #expect(reading("\u{02}*1   1234   500\r", toledoDescribed)?.net == Mass(1_234, .kilograms))
    }

    @Test("implied decimals place the point; leading zeros and a plus sign are read")
    func impliedDecimals() {
        var twoPlaces = toledoDescribed
        twoPlaces.impliedDecimals = 2
        #expect(reading("\u{02}*0 123456     0\r", twoPlaces)?.gross == Mass(grams: 1_234_560))
        #expect(reading("\u{02}*0 000005     0\r", twoPlaces)?.gross == Mass(grams: 50))
        #expect(reading("ST,GS,+0012340,kg\r\n", lineDescribed)?.gross == Mass(12_340, .kilograms))
    }

    @Test("frames with no start marker follow one another; a frame comes in pieces")
    func noStartMarker() {
        var reader = GenericFrameReader(format: lineDescribed, unit: .kilograms)
        #expect(reader.receive(Array("ST,GS,   12".utf8)).isEmpty)
        let scans = reader.receive(Array("340,kg\r\nUS,GS,   12360,kg\r\n".utf8))
        let readings = scans.map { scan -> IndicatorReading? in
            if case .frame(let frame) = scan { frame.reading } else { nil }
        }
        #expect(readings.map { $0?.gross } == [Mass(12_340, .kilograms), Mass(12_360, .kilograms)])
        #expect(readings.map { $0?.status } == [.stable, []])
    }

    @Test("a frame cut short, the wrong length, a malformed weight, pounds and the eighth bit are faults")
    func faults() {
        #expect(frames("\u{02}*0   12\u{02}*0   1234     0\r", toledoDescribed).first == .fault(.cutShort(received: 8)))
        #expect(frames("\u{02}*0  1234     0\r", toledoDescribed) == [.fault(.wrongLength(expected: 17, received: 16))])
        guard case .fault(.malformedField("weight", _, _))? = frames("\u{02}*0   1A34     0\r", toledoDescribed).first
        else {
            Issue.record("letters in the weight are malformed")
            return
        }
        #expect(frames("\n 1G      1234.5lb \r", smaDescribed) == [.fault(.unsupportedUnit("lb"))])
        guard case .fault(.eighthBitSet)? = frames("ST,GS,   12\u{B3}0,kg\r\n", lineDescribed).first else {
            Issue.record("a byte with its eighth bit set is a fault")
            return
        }
        #expect(
            frames("xx\u{02}*0   1234     0\r", toledoDescribed).count == 1,
            "noise before the first start is not a fault")
    }

    @Test("a description that cannot be read says why")
    func problems() {
        var both = toledoDescribed
        both.stable = .init(offset: 3, test: .mask(1))
        #expect(both.problems().map(\.key) == ["stable"])
        var short = smaDescribed
        short.length = 12
        #expect(short.problems().map(\.key) == ["length"])
        #expect(
            smaDescribed.problems().isEmpty && toledoDescribed.problems().isEmpty && lineDescribed.problems().isEmpty)
    }

    @Test("property: any bytes in any pieces are frames or faults, never a trap; a good frame after them is read")
    func anyBytes() async {
        // Fewer runs than the other readers' (each runs three formats): the fuzz target covers more.
        await propertyCheck(count: 300, input: Gen.uint8(in: 0...255).array(of: 0...200), Gen.int(in: 1...20)) {
            noise, piece in
            for format in [smaDescribed, toledoDescribed, lineDescribed] {
                var reader = GenericFrameReader(format: format, unit: .kilograms)
                var index = 0
                while index < noise.count {
                    _ = reader.receive(noise[index..<min(noise.count, index + piece)])
                    index += piece
                }
                let good =
                    format == lineDescribed
                    ? "ST,GS,   12340,kg\r\n"
                    : format == smaDescribed ? "\n 1G      1234.5kg \r" : "\u{02}*0   1234     0\r"
                // Without a start marker a line end must first close whatever the noise began.
                let results = reader.receive(Array(((format.start.isEmpty ? "\r\n" : "") + good + good).utf8))
                #expect(results.last.map { if case .frame = $0 { true } else { false } } == true, "\(noise)")
            }
        }
    }
}
