import Testing
import WeighbridgeConfiguration
import WeighbridgeCore

private let head = """
    [site]
    id = "SITE-1"

    [api]
    profile = "brief"

    """

private let serialBridge = """
    [[bridge]]
    name = "bay"
    transport = "ascii"
    format = "toledo-continuous"
    checksum = true
    device = "/dev/ttyS1"
    parity = "E"
    data_bits = 7
    dtr = "off"
    rts = "on"
    flow_control = "xon-xoff"
    weight_unit = "t"
    division_kg = 20
    max_kg = 60000

    """

private func problemKeys(_ bridges: String) -> Set<String> {
    do {
        _ = try Configuration.parse(head + bridges, fileName: "test.toml")
        return []
    } catch {
        return Set(error.problems.compactMap(\.key))
    }
}

@Suite("Configuration: ASCII bridges")
struct ASCIIBridgeTests {
    @Test("a serial ASCII bridge reads to its line, format and unit, with every control line as written")
    func readsASerialBridge() throws {
        let configuration = try Configuration.parse(head + serialBridge, fileName: "test.toml")
        let bridge = try #require(configuration.bridges.first)
        #expect(
            bridge.indicator
                == .ascii(
                    ASCIIIndicator(
                        line: .serial(
                            SerialLine(
                                settings: SerialSettings(
                                    device: "/dev/ttyS1", baud: 9_600, parity: .even, dataBits: 7, stopBits: 1),
                                dtr: .off, rts: .on, flowControl: .xonXoff)),
                        format: .toledoContinuous(checksum: true), weightUnit: .tonnes, staleMilliseconds: 2_000)))
        #expect(bridge.responseTimeoutMilliseconds == 1_000)
        let rendered = try Configuration.parse(configuration.rendered(), fileName: "rendered.toml")
        #expect(rendered.bridges == configuration.bridges)
    }

    @Test("DTR, RTS and flow control have no default on a serial line; a Toledo checksum must be said")
    func controlLinesAreExplicit() {
        let bare = serialBridge.replacingOccurrences(
            of: "dtr = \"off\"\nrts = \"on\"\nflow_control = \"xon-xoff\"\n", with: ""
        )
        .replacingOccurrences(of: "checksum = true\n", with: "")
        #expect(
            problemKeys(bare) == ["bridge[0].dtr", "bridge[0].rts", "bridge[0].flow_control", "bridge[0].checksum"])
    }

    @Test("Modbus keys, a device server's keys beside a device, and a short stale time are refused by name")
    func wrongKeys() {
        let mixed = serialBridge.replacingOccurrences(
            of: "weight_unit = \"t\"\n",
            with: "weight_unit = \"t\"\nunit = 3\nprofile = \"laumas\"\nport = 4001\nstale_ms = 300\n")
        #expect(problemKeys(mixed) == ["bridge[0].unit", "bridge[0].profile", "bridge[0].port", "bridge[0].stale_ms"])
    }

    @Test("a device server needs its port, and takes no serial line settings")
    func deviceServer() throws {
        let server = """
            [[bridge]]
            name = "bay"
            transport = "ascii"
            format = "sma"
            host = "192.0.2.20"
            baud = 9600
            division_kg = 20
            max_kg = 60000
            """
        #expect(problemKeys(server) == ["bridge[0].port", "bridge[0].baud"])
        let good = server.replacingOccurrences(of: "baud = 9600", with: "port = 4001")
        let bridge = try #require(try Configuration.parse(head + good, fileName: "t").bridges.first)
        #expect(
            bridge.indicator
                == .ascii(
                    ASCIIIndicator(
                        line: .tcp(host: "192.0.2.20", port: 4001), format: .sma, weightUnit: .kilograms,
                        staleMilliseconds: 2_000)))
    }

    @Test("two ASCII bridges on one line, or an ASCII and a Modbus bridge, are refused: a frame carries no address")
    func oneBridgePerLine() {
        let second = serialBridge.replacingOccurrences(of: "name = \"bay\"", with: "name = \"bay2\"")
        #expect(problemKeys(serialBridge + second) == ["bridge[1].device"])
        let modbus = """
            [[bridge]]
            name = "rtu"
            transport = "rtu"
            device = "/dev/ttyS1"
            profile = "laumas"
            division_kg = 20
            max_kg = 60000

            """
        #expect(problemKeys(serialBridge + modbus) == ["bridge[1].device"])
        #expect(problemKeys(modbus + serialBridge) == ["bridge[1].device"])
    }

    @Test("each key only where it does something: RTS under RTS/CTS, stale_ms when asked, a response timeout when not")
    func keysWhereTheyAct() throws {
        let rtsCts = serialBridge.replacingOccurrences(
            of: "flow_control = \"xon-xoff\"", with: "flow_control = \"rts-cts\"")
        #expect(problemKeys(rtsCts) == ["bridge[0].rts"])
        let driven = rtsCts.replacingOccurrences(of: "rts = \"on\"\n", with: "")
        let line = try #require(try Configuration.parse(head + driven, fileName: "t").bridges.first?.indicator)
        guard case .ascii(let ascii) = line, case .serial(let serial) = ascii.line else {
            Issue.record("a serial ASCII bridge")
            return
        }
        #expect(serial.rts == nil && serial.flowControl == .rtsCts)

        let asked = serialBridge.replacingOccurrences(
            of: "format = \"toledo-continuous\"\nchecksum = true", with: "format = \"sma\"")
        #expect(problemKeys(asked + "stale_ms = 5000\n").contains("bridge[0].stale_ms"))
        #expect(
            problemKeys(
                serialBridge.replacingOccurrences(
                    of: "max_kg = 60000", with: "max_kg = 60000\nresponse_timeout_ms = 500"))
                == ["bridge[0].response_timeout_ms"])
    }
}

@Suite("Configuration: a generic ASCII frame")
struct GenericFrameConfigurationTests {
    private let generic = """
        [[bridge]]
        name = "bay"
        transport = "ascii"
        format = "generic"
        host = "192.0.2.20"
        port = 4001
        division_kg = 20
        max_kg = 60000

        [bridge.frame]
        start = "\\u0002"
        end = "\\r"
        length = 17
        weight = { offset = 4, length = 6 }
        decimals = 0
        motion = { offset = 2, mask = 0x08 }
        negative = { offset = 2, mask = 0x02 }
        zero = { offset = 1, value = "Z" }
        """

    @Test("a described frame reads to its format, and renders back to the same")
    func readsAndRenders() throws {
        let configuration = try Configuration.parse(head + generic, fileName: "test.toml")
        guard case .ascii(let ascii)? = configuration.bridges.first?.indicator, case .generic(let frame) = ascii.format
        else {
            Issue.record("a generic ASCII bridge")
            return
        }
        #expect(
            frame
                == GenericFrameFormat(
                    request: nil, start: [0x02], end: [0x0D], length: 17, weight: .init(offset: 4, length: 6),
                    impliedDecimals: 0, unit: nil, negative: .init(offset: 2, test: .mask(0x08 >> 2)),
                    stable: nil, motion: .init(offset: 2, test: .mask(0x08)),
                    zero: .init(offset: 1, test: .equals([0x5A]))))
        let rendered = try Configuration.parse(configuration.rendered(), fileName: "rendered.toml")
        #expect(rendered.bridges == configuration.bridges)
    }

    @Test("a frame without its end or weight, with both stable and motion, or too short is refused by key")
    func refusals() {
        let broken = generic.replacingOccurrences(of: "end = \"\\r\"\n", with: "")
            .replacingOccurrences(of: "weight = { offset = 4, length = 6 }\n", with: "")
        #expect(problemKeys(broken) == ["bridge[0].frame.end", "bridge[0].frame.weight"])
        let both = generic + "\nstable = { offset = 3, value = \"S\" }\n"
        #expect(problemKeys(both) == ["bridge[0].frame.stable"])
        let short = generic.replacingOccurrences(of: "length = 17", with: "length = 8")
        #expect(problemKeys(short) == ["bridge[0].frame.length"])
        let missing = generic.components(separatedBy: "[bridge.frame]").first ?? ""
        #expect(problemKeys(missing) == ["bridge[0].frame"])
        let elsewhere = serialBridge + "\n[bridge.frame]\nend = \"\\r\"\n"
        #expect(problemKeys(elsewhere) == ["bridge[0].frame"])
    }
}
