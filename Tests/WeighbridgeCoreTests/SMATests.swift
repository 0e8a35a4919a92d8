import PropertyBased
import Testing
import WeighbridgeCore

// Replies written from the ZM400 Series Indicators Service Manual (Avery Weigh-Tronix,
// AWT35-501334 issue AA), §7.1.2, pp. 80–81: <LF>, status, range, G/T/N, M or space, a space,
// ten characters of weight with its decimal point, three of unit, <CR>. `?` and `!` answers are
// SMA SCP-0499's "unrecognised command" and "communication error".
private func replies(_ text: String) -> [FrameScan<SMAWeightReply>] {
    var reader = SMAReplyReader()
    return reader.receive(Array(text.utf8))
}

private func reply(_ text: String) -> SMAWeightReply? {
    guard case .frame(let reply)? = replies(text).last else { return nil }
    return reply
}

@Suite("SMA: weight replies as Avery Weigh-Tronix ZM indicators give them")
struct SMATests {
    @Test("the request, gross, net in motion below zero, centre of zero, tonnes")
    func decodedReplies() throws {
        #expect(SMA.weightRequest == [0x0A, 0x57, 0x0D])
        let gross = try #require(reply("\n 1G      1234.5kg \r"))
        #expect(gross.weight == Mass(grams: 1_234_500) && !gross.isNet && gross.reading.status == [.stable])
        #expect(gross.reading.gross == Mass(grams: 1_234_500))

        let net = try #require(reply("\n 1NM     -12.34kg \r"))
        #expect(net.weight == Mass(grams: -12_340) && net.isNet && net.inMotion && net.reading.status == [])
        #expect(net.reading.net == Mass(grams: -12_340) && net.reading.gross == nil)

        let zero = try #require(reply("\nZ1G       0.000kg \r"))
        #expect(zero.weight == Mass(grams: 0) && zero.reading.status == [.stable, .centreOfZero])

        let tonnes = try #require(reply("\n 1G      12.340t  \r"))
        #expect(tonnes.unit == .tonnes && tonnes.weight == Mass(12_340, .kilograms))
    }

    @Test("over capacity and the error states are flagged; dashes are no weight")
    func faultsFlagged() throws {
        let over = try #require(reply("\nO1G     10050.0kg \r"))
        #expect(over.reading.status.contains(.overload))
        let error = try #require(reply("\nE1G  ----------kg \r"))
        #expect(error.weight == nil && error.reading.weight == nil && error.reading.status.contains(.error))
    }

    @Test("what is not a weight for trade is a fault: pounds, the tare shown, high resolution, refusals")
    func faults() {
        #expect(replies("\n 1G      1234.5lb \r") == [.fault(.unsupportedUnit("lb"))])
        #expect(replies("\n 1T      1234.5kg \r") == [.fault(.notAWeight("the indicator shows the tare"))])
        #expect(
            replies("\n 1g      1234.5kg \r") == [
                .fault(.notAWeight("a high-resolution display is not a weight for trade"))
            ])
        #expect(replies("\n?\r") == [.fault(.refusedByIndicator("does not know the command"))])
        #expect(replies("\n 1G      1234.5kg\r") == [.fault(.wrongLength(expected: 20, received: 19))])
        #expect(replies("\nX1G      1234.5kg \r") == [.fault(.unknownCharacter("status", byte: 0x58))])
        #expect(
            replies("\n 1G     12 34.5kg \r").first.map { if case .fault(.malformedField) = $0 { true } else { false } }
                == true)
        #expect(
            replies("\n 1G  ----------kg \r").first.map { if case .fault(.malformedField) = $0 { true } else { false } }
                == true)
        #expect(replies("\n 1G      1.2345kg \r") == [.fault(.finerThanAGram("1.2345 kg"))])
    }

    @Test("a reply cut short, noise, and a reply without its CR are faults; the next reply is read")
    func resynchronising() {
        let good = "\n 1G      1234.5kg \r"
        #expect(replies("\n 1G   " + good) == [.fault(.cutShort(received: 7)), .frame(reply(good)!)])
        #expect(replies("xy" + good) == [.fault(.noise(bytes: 2)), .frame(reply(good)!)])
        #expect(replies("\n 1G      1234.5kg  " + good).first == .fault(.misplacedEnd(position: 20, byte: 0x20)))
    }

    @Test("a reply in pieces waits for the rest")
    func inPieces() {
        var reader = SMAReplyReader()
        #expect(reader.receive(Array("\n 1G    ".utf8)).isEmpty)
        #expect(reader.receive(Array("  1234.5kg \r".utf8)).count == 1)
    }

    @Test("property: any bytes in any pieces are replies or faults, never a trap; a good reply after them is read")
    func anyBytes() async {
        await propertyCheck(count: 2_000, input: Gen.uint8(in: 0...255).array(of: 0...80), Gen.int(in: 1...20)) {
            noise, piece in
            var reader = SMAReplyReader()
            var index = 0
            while index < noise.count {
                _ = reader.receive(noise[index..<min(noise.count, index + piece)])
                index += piece
            }
            let good = Array("\n 1G      1234.5kg \r".utf8)
            #expect(reader.receive(good + good).last == .frame(reply("\n 1G      1234.5kg \r")!), "\(noise)")
        }
    }
}
