import PropertyBased
import Testing
import WeighbridgeCore

// Answers written from Dini Argeo's descriptions: the standard string HH,KK,PPPPPPPP,UM (eight
// characters of weight with sign and point, padded with spaces) and the extended (AF) string
// SS,B,LLLLLLLLLLUM,YYTTTTTTTTTTUM from the 3590 EBOX Series Technical Manual
// (E-AF03_05.01_14.07_EN_T), §5.4 p. 65; the PID string
// PIDSS,B,LLLLLLLLLLUU,YYTTTTTTTTTTUU,ID with its id XXXXX-YYYYYY (rewrite number, progressive
// number) or NO from the 3590EKR/EXP/EXT User Manual (E-AF08_02_13.07_EN_U), §16.2.2 p. 44;
// ERR01–ERR04 from the 3590ET/EGT Serial Commands manual, p. 7.
private func answers(_ text: String) -> [FrameScan<DiniAnswer>] {
    var reader = DiniReplyReader()
    return reader.receive(Array(text.utf8))
}

private func answer(_ text: String) -> DiniAnswer? {
    guard case .frame(let answer)? = answers(text).last else { return nil }
    return answer
}

@Suite("Dini: READ's standard string and PID's alibi record, as Dini Argeo describes them")
struct DiniTests {
    @Test("the requests; gross stable, net in motion below zero, decimals, Kg, tonnes")
    func readings() throws {
        #expect(Dini.readRequest == Array("READ\r\n".utf8) && Dini.storeRequest == Array("PID\r\n".utf8))
        let gross = try #require(answer("ST,GS,   12340,kg\r\n"))
        #expect(gross.kind == .reading && gross.unit == .kilograms)
        #expect(
            gross.reading
                == IndicatorReading(
                    gross: Mass(12_340, .kilograms), net: nil, tare: nil, status: .stable, legalCounter: nil))
        #expect(gross.bytes == Array("ST,GS,   12340,kg\r\n".utf8))

        let net = try #require(answer("US,NT,  -12.50,kg\r\n"))
        #expect(net.reading.net == Mass(grams: -12_500) && net.reading.gross == nil && net.reading.status == [])

        #expect(answer("ST,GS,  1234.5,Kg\r\n")?.reading.gross == Mass(grams: 1_234_500))
        #expect(answer("ST,GS,  12.340, t\r\n")?.reading.gross == Mass(12_340, .kilograms))
        #expect(answer("ST,GS,       0,kg\r\n")?.reading.status == [.stable, .centreOfZero])
        #expect(answer("OL,GS,   99999,kg\r\n")?.reading.status == [.overload])
        #expect(answer("UL,GS,  -99999,kg\r\n")?.reading.status == [.underload])

        // The extended (AF) string a port set to the alibi protocol answers READ with (p. 65).
        let extended = try #require(answer("ST,1,     12340kg,PT      2800kg\r\n"))
        #expect(extended.kind == .reading && extended.reading.gross == Mass(12_340, .kilograms))
        #expect(extended.reading.tare == Mass(2_800, .kilograms) && extended.reading.status == [.stable, .presetTare])
    }

    @Test("PID: the stored weighing with its id as the legal counter, a preset tare, and NO")
    func storedWeighings() throws {
        let stored = try #require(answer("PIDST,1,     18420kg,          0kg,00003-000158\r\n"))
        let id = try #require(DiniAlibiID("00003-000158"))
        #expect(stored.kind == .stored(id) && id.rewrite == 3 && id.progressive == 158)
        #expect(id.legalCounter == 3_000_158 && id.description == "00003-000158")
        #expect(stored.reading.gross == Mass(18_420, .kilograms) && stored.reading.tare == .zero)
        #expect(stored.reading.legalCounter == 3_000_158 && stored.reading.status == [.stable])

        let refused = try #require(answer("PIDUS,1,     18420kg,PT      2800kg,NO\r\n"))
        #expect(refused.kind == .stored(nil) && refused.reading.legalCounter == nil)
        #expect(refused.reading.tare == Mass(2_800, .kilograms) && refused.reading.status == [.presetTare])

        #expect(DiniAlibiID("00256-000001") == nil, "the rewrite number goes to 255")
        #expect(DiniAlibiID("3-158") == nil && DiniAlibiID("00003-00015x") == nil)
    }

    @Test("refusals, pounds, a cut answer, a bad id and the eighth bit are faults, never weights")
    func faults() {
        #expect(answers("ERR04\r\n") == [.fault(.refusedByIndicator("does not know the command (ERR04)"))])
        #expect(answers("ERR03\r\n").first.map { "\($0)".contains("set it to answer on demand") } == true)
        #expect(answers("ST,GS,   12340,lb\r\n") == [.fault(.unsupportedUnit("lb"))])
        guard case .fault(.malformedField("answer", _, _))? = answers("ST,GS,  ST,GS,   12340,kg\r\n").first else {
            Issue.record("a cut answer merged with the next is malformed")
            return
        }
        guard case .fault(.malformedField("alibi id", _, _))? = answers("PIDST,1, 18420kg, 0kg,3-158\r\n").first
        else {
            Issue.record("an id not written XXXXX-YYYYYY is refused")
            return
        }
        let eighthBit = answers("ST,GS,   12\u{B3}40,kg\r\n").first
        #expect(eighthBit.map { if case .fault(.eighthBitSet) = $0 { true } else { false } } == true)
        #expect(answers("ST,GS,   12,340,kg\r\n").allSatisfy { if case .fault = $0 { true } else { false } })
        #expect(answers("ST,GS,  12.3456,kg\r\n") == [.fault(.finerThanAGram("12.3456 kg"))])
    }

    @Test("a weight beyond any weighbridge is a fault for the bridge, never arithmetic that traps")
    func beyondAnyWeighbridge() {
        var reader = ASCIIFrameReader(format: .dini, unit: .kilograms, division: Mass(20, .kilograms))
        let scans = reader.receive(Array("ST,GS,4611686018427400,kg\r\nST,GS,   12340,kg\r\n".utf8))
        guard case .fault(.notAWeight(let why))? = scans.first else {
            Issue.record("a weight of 2^62 g is refused: \(scans)")
            return
        }
        #expect(why.contains("beyond any weighbridge"))
        guard case .frame(let after)? = scans.last else {
            Issue.record("the answer after it is read")
            return
        }
        #expect(after.reading.gross == Mass(12_340, .kilograms))
    }

    @Test("in pieces: an answer waits for its CR; its LF may come with the next read")
    func inPieces() {
        var reader = DiniReplyReader()
        #expect(reader.receive(Array("ST,GS,   1".utf8)).isEmpty)
        #expect(reader.receive(Array("2340,kg\r".utf8)).count == 1)
        #expect(reader.receive(Array("\nST,GS,   12340,kg\r\n".utf8)).count == 1)
        #expect(reader.receive(Array(repeating: UInt8(ascii: "x"), count: 81)) == [.fault(.noise(bytes: 80))])
    }

    @Test(
        "property: any bytes in any pieces are answers or faults, never a trap; a good answer after a line end is read")
    func anyBytes() async {
        await propertyCheck(count: 600, input: Gen.uint8(in: 0...255).array(of: 0...120), Gen.int(in: 1...20)) {
            noise, piece in
            var reader = DiniReplyReader()
            var index = 0
            while index < noise.count {
                _ = reader.receive(noise[index..<min(noise.count, index + piece)])
                index += piece
            }
            let good = Array("ST,GS,   12340,kg\r\n".utf8)
            let results = reader.receive(Array("\r\n".utf8) + good + good)
            #expect(results.last == .frame(answer("ST,GS,   12340,kg\r\n")!), "\(noise)")
        }
    }
}
