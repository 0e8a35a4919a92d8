import PropertyBased
import Testing
import WeighbridgeCore

// Frames written from Mettler Toledo's WILDCAT Scale Technical Manual (E15609900A, 2000),
// chapter 6, appendix 2: table 6-8 (p. 6-4) for the layout and checksum, tables 6-9 to 6-11
// (p. 6-5) for status bytes A, B and C. Status A 0x2A is whole numbers in steps of 1 (bits 0–2
// 010, bits 3–4 "X1"); 0x2C two decimal places; 0x3C two places in steps of 5; 0x3D three
// places in steps of 5. Status B 0x30 is gross in kg; bit 0 net, bit 1 negative, bit 2 out of
// range, bit 3 motion. Status C 0x20 is kg or lb as B says; 0x22 tonnes.
private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func frames(_ text: String, checksum: Bool = false) -> [FrameScan<ToledoContinuousFrame>] {
    var stream = ToledoContinuousStream(checksum: checksum)
    return stream.receive(bytes(text))
}

private func frame(_ text: String, checksum: Bool = false) -> ToledoContinuousFrame? {
    guard case .frame(let frame)? = frames(text, checksum: checksum).last else { return nil }
    return frame
}

@Suite("Toledo continuous output: frames as Mettler Toledo describes them")
struct ToledoContinuousTests {
    @Test("gross, net, negative, tonnes, decimal places, leading spaces")
    func decodedFrames() throws {
        let gross = try #require(frame("\u{02}*0   1234     0\r"))
        #expect(gross.displayed == Mass(1234, .kilograms) && !gross.isNet && !gross.inMotion)
        #expect(gross.reading.gross == Mass(1234, .kilograms) && gross.reading.status == [.stable])

        let net = try #require(frame("\u{02},1   1234   500\r"))
        #expect(net.displayed == Mass(grams: 12_340) && net.tare == Mass(grams: 5_000) && net.isNet)
        #expect(net.reading.gross == nil && net.reading.net == Mass(grams: 12_340))

        let negative = try #require(frame("\u{02}<3    050   100\r"))
        #expect(negative.displayed == Mass(grams: -500) && negative.tare == Mass(grams: 1_000))

        let tonnes = try #require(frame("\u{02}=(\" 12345     0\r"))
        #expect(tonnes.unit == .tonnes && tonnes.displayed == Mass(grams: 12_345_000) && tonnes.inMotion)
        #expect(tonnes.reading.status == [])
    }

    @Test("over capacity and under zero are flagged, never a usable weight")
    func outOfRange() throws {
        let over = try #require(frame("\u{02}*4   5010     0\r"))
        #expect(over.reading.status.contains(.overload))
        let under = try #require(frame("\u{02}*6    120     0\r"))
        #expect(under.displayed == Mass(-120, .kilograms) && under.reading.status.contains(.underload))
        #expect(!over.reading.status.isDisjoint(with: .faults) && !under.reading.status.isDisjoint(with: .faults))
    }

    @Test("the checksum covers STX to CR; a wrong one is a fault")
    func checksum() {
        // 0x1D: the two's complement of the 7-bit sum of the 17 bytes before it.
        #expect(frame("\u{02}*0   1234     0\r\u{1D}", checksum: true)?.displayed == Mass(1234, .kilograms))
        #expect(
            frames("\u{02}*0   1234     0\r\u{1E}", checksum: true) == [
                .fault(.badChecksum(expected: 0x1D, received: 0x1E))
            ])
        // A checksum that happens to be STX or CR is still a checksum.
        #expect(frame("\u{02}*0   1234    29\r\u{02}", checksum: true)?.tare == Mass(29, .kilograms))
    }

    @Test("malformed frames are faults with their reason: a cut frame, noise, a misplaced end, eighth bits, pounds")
    func faults() {
        #expect(
            frames("\u{02}*0   12\u{02}*0   1234     0\r") == [
                .fault(.cutShort(received: 8)), .frame(frame("\u{02}*0   1234     0\r")!),
            ])
        #expect(
            frames("\u{02}*0   1234     0\r" + "xyz" + "\u{02}*0   1234     0\r").contains(.fault(.noise(bytes: 3))))
        #expect(frames("\u{02}*0   1234     0X") == [.fault(.misplacedEnd(position: 17, byte: 0x58))])
        #expect(
            frames("\u{02}*0   12 4     0\r") == [
                .fault(.malformedField("weight", text: "  12 4", expected: "six right-aligned digits"))
            ])
        #expect(
            frames("\u{02}*0 " + "      " + "     0\r") == [
                .fault(.malformedField("weight", text: "      ", expected: "six right-aligned digits"))
            ])
        #expect(frames("\u{02}*    1234     0\r") == [.fault(.unsupportedUnit("lb"))])
        var stream = ToledoContinuousStream(checksum: false)
        #expect(
            stream.receive([0x02, 0xAA, 0x30, 0x20] + bytes("  1234     0\r")) == [
                .fault(.eighthBitSet(position: 2, byte: 0xAA))
            ])
    }

    @Test("noise before the first STX is the tail of a frame the connection began in, not a fault")
    func joiningMidFrame() {
        #expect(frames("34     0\r" + "\u{02}*0   1234     0\r").count == 1)
    }

    @Test("a frame in pieces waits for the rest")
    func inPieces() {
        var stream = ToledoContinuousStream(checksum: false)
        #expect(stream.receive(bytes("\u{02}*0   12")).isEmpty)
        #expect(stream.receive(bytes("34     0\r")).count == 1)
    }

    @Test("property: any bytes in any pieces are frames or faults, never a trap; a good frame after them is read")
    func anyBytes() async {
        await propertyCheck(
            count: 2_000, input: Gen.uint8(in: 0...255).array(of: 0...80), Gen.int(in: 1...20), Gen.bool
        ) { noise, piece, checksum in
            var stream = ToledoContinuousStream(checksum: checksum)
            var index = 0
            while index < noise.count {
                _ = stream.receive(noise[index..<min(noise.count, index + piece)])
                index += piece
            }
            let good = bytes("\u{02}*0   1234     0\r") + (checksum ? [0x1D] : [])
            // Noise can swallow at most the frame it cuts short: the second good frame is read.
            let results = stream.receive(good + good)
            #expect(
                results.last == .frame(frame(String(decoding: good, as: UTF8.self), checksum: checksum)!), "\(noise)")
        }
    }
}
