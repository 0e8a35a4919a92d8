import Foundation
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeDaemon
import WeighbridgeModbus
import WeighbridgeTesting

/// Every preset's map, with the status bits pavone-jbx8 leaves to the site filled in.
private let presetMaps: [(IndicatorPreset, RegisterMap)] = IndicatorPreset.allCases.compactMap { preset in
    guard var map = preset.registerMap else { return nil }
    if preset == .pavoneJBX8 { map.status?.stableMask = 1 }
    return (preset, map)
}

/// A reading a preset can show: gross on the division grid, net and tare where it has them.
private func reading(for map: RegisterMap, grossKg: Int64 = 32_140) -> IndicatorReading {
    IndicatorReading(
        gross: Mass(grossKg, .kilograms), net: map.net == nil ? nil : Mass(grossKg - 12_000, .kilograms),
        tare: map.tare == nil ? nil : Mass(12_000, .kilograms), status: .stable,
        legalCounter: map.legalCounter == nil ? nil : 1_041)
}

@Suite("Modbus over the wire: libmodbus client against the libmodbus simulator", .serialized)
struct WireTests {
    @Test("every preset decodes exactly over Modbus TCP", arguments: presetMaps.indices)
    func presetsOverTCP(index: Int) async throws {
        let (preset, map) = presetMaps[index]
        let simulator = IndicatorSimulator(map: map, division: Mass(20, .kilograms), endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        simulator.show(reading(for: map))
        let link = ModbusLink(
            settings: .init(
                transport: .tcp(host: "127.0.0.1", port: simulator.port),
                responseTimeout: .seconds(1), byteTimeout: nil, gap: .zero))
        let registers = try await link.readBlock(unit: 1, map: map)
        #expect(try map.decode(registers, division: Mass(20, .kilograms)) == reading(for: map), "\(preset)")
    }

    @Test("every preset decodes exactly over Modbus RTU through a pty pair", arguments: presetMaps.indices)
    func presetsOverRTU(index: Int) async throws {
        let (preset, map) = presetMaps[index]
        let pty = try await PtyPair()
        let simulator = IndicatorSimulator(
            map: map, division: Mass(20, .kilograms),
            endpoint: .rtu(device: pty.simulatorSide, unit: 7))
        try simulator.start()
        defer { simulator.stop() }
        simulator.show(reading(for: map))
        let link = ModbusLink(
            settings: .init(
                transport: serialTransport(pty.daemonSide), responseTimeout: .seconds(1),
                byteTimeout: nil, gap: .milliseconds(2)))
        let registers = try await link.readBlock(unit: 7, map: map)
        #expect(try map.decode(registers, division: Mass(20, .kilograms)) == reading(for: map), "\(preset)")
    }

    @Test(
        "generic maps: every type × word order × sign convention over TCP",
        arguments: RegisterCodecTests.layouts.indices)
    func genericMapsOverTCP(layout: Int) async throws {
        let (type, sign) = RegisterCodecTests.layouts[layout]
        for order in WordOrder.allCases {
            let map = genericMap(type: type, order: order, sign: sign)
            let simulator = IndicatorSimulator(map: map, division: Mass(20, .kilograms), endpoint: .tcp(port: 0))
            try simulator.start()
            defer { simulator.stop() }
            // Negative where the layout can carry a sign; unsigned magnitudes without a sign bit cannot.
            let unsigned = (type == .uint16 || type == .uint32) && sign == .twosComplement
            let grams: Int64 = unsigned ? 60_000_000 : (type == .int16 ? -20_000_000 : -1_240_000)
            let shown = IndicatorReading(
                gross: Mass(grams: grams), net: nil, tare: nil, status: .stable, legalCounter: nil)
            simulator.show(shown)
            let link = ModbusLink(
                settings: .init(
                    transport: .tcp(host: "127.0.0.1", port: simulator.port),
                    responseTimeout: .seconds(1), byteTimeout: nil, gap: .zero))
            let decoded = try map.decode(try await link.readBlock(unit: 1, map: map), division: Mass(20, .kilograms))
            #expect(decoded.gross == shown.gross, "\(type) \(order) \(sign)")
        }
    }

    @Test("a wrong address base gets exception 2 with a hint about 0-based addresses")
    func exceptionTwoHint() async throws {
        let map = presetMaps[0].1
        let simulator = IndicatorSimulator(map: map, division: Mass(20, .kilograms), endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        var shifted = map
        shifted.address += 40_000
        let link = ModbusLink(
            settings: .init(
                transport: .tcp(host: "127.0.0.1", port: simulator.port),
                responseTimeout: .seconds(1), byteTimeout: nil, gap: .zero))
        await #expect {
            _ = try await link.readBlock(unit: 1, map: shifted)
        } throws: { error in
            guard let error = error as? ModbusError else { return false }
            return error.kind == .exception(2) && error.description.contains("0-based")
        }
    }
}

@Suite("Acquisition: captures and faults against the simulator", .serialized)
struct AcquisitionTests {
    private let division = Mass(20, .kilograms)

    private func laumas() -> RegisterMap { IndicatorPreset.laumas.registerMap! }

    /// Runs the loop for `bridge` in a child task while `body` drives the simulator.
    private func withAcquisition(
        _ bridge: BridgeConfiguration, clock: some AcquisitionClock = ContinuousClock(),
        _ body: (EventLog) async throws -> Void
    ) async throws {
        let log = EventLog()
        let modbus = try #require(bridge.modbus)
        let link = ModbusLink(settings: ModbusLink.Settings(bridge: bridge, modbus: modbus))
        let acquisition = BridgeAcquisition(
            bridge: AcquisitionSettings(bridge: bridge, modbus: modbus), link: link, clock: clock, wallClock: wallClock)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await acquisition.run { log.append($0) } }
            defer { group.cancelAll() }
            try await body(log)
        }
    }

    @Test("a vehicle drives on, settles and drives off: exactly one capture of its weight, with evidence")
    func oneVehicleOneCapture() async throws {
        let simulator = IndicatorSimulator(map: laumas(), division: division, endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        let bridge = bridge(map: laumas(), transport: .tcp(host: "127.0.0.1", port: simulator.port))
        try await withAcquisition(bridge) { log in
            try await waitFor("the bridge is polled", in: log) { $0.readings > 3 }
            simulator.run(VehicleScenario(weight: Mass(32_140, .kilograms), hold: .seconds(2), seed: 7))
            try await waitFor("the vehicle has left", in: log) { _ in simulator.scenarioFinished }
            try await waitFor("a reading after it left", in: log) { $0.readings > 3 }
            let captures = log.captures
            #expect(captures.map(\.capture.sample.weight) == [Mass(32_140, .kilograms)])
            let registers = captures.first.map { if case .registers(let block) = $0.raw { block.count } else { 0 } }
            #expect(registers == laumas().count)
            #expect(captures.first?.bridge == "test")
        }
    }

    @Test("the settle time is real: a poll that stalls longer than two intervals starts the window again")
    func settleTimeIsReal() async throws {
        let simulator = IndicatorSimulator(map: laumas(), division: division, endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        let bridge = bridge(
            map: laumas(), transport: .tcp(host: "127.0.0.1", port: simulator.port), settleMilliseconds: 600,
            pollMilliseconds: 50)
        let clock = ManualClock()
        try await withAcquisition(bridge, clock: clock) { log in
            /// Moves the clock on once the loop sleeps, and waits for the `polls` it then makes.
            func advance(_ milliseconds: Int, polls: Int = 1) async throws {
                try await waitFor("the loop sleeps", in: log) { _ in clock.sleepers == 1 }
                let before = log.readings
                clock.advance(by: .milliseconds(milliseconds))
                try await waitFor("\(polls) polls", in: log) { $0.readings >= before + polls }
            }
            try await waitFor("the first poll, at zero", in: log) { $0.readings == 1 }
            try await advance(50)
            try await advance(50)  // 100 ms at zero, two poll intervals: armed
            simulator.show(gross: Mass(24_000, .kilograms))
            try await advance(50)  // the window opens at 150 ms
            // The machine stalls: the poll due at 200 ms runs at 650 ms, and one more at once to
            // catch up. Nobody watched the weight for 500 ms: the window starts again at 650 ms.
            try await advance(500, polls: 2)
            var elapsed = 650
            while log.captures.isEmpty, elapsed < 2_100 {
                try await advance(50)
                elapsed += 50
            }
            #expect(log.captures.count == 1)
            #expect(elapsed >= 1_250, "captured \(elapsed - 650) ms after the stall, with 600 ms to settle")
        }
    }

    @Test("overload or the error bit while standing still: no capture")
    func faultFlagsPreventCapture() async throws {
        var map = laumas()
        map.status?.overloadMask = 1 << 0
        map.status?.errorMask = 1 << 1
        let faulty = IndicatorSimulator(map: map, division: division, endpoint: .tcp(port: 0))
        try faulty.start()
        defer { faulty.stop() }
        let bridge = bridge(map: map, transport: .tcp(host: "127.0.0.1", port: faulty.port))
        try await withAcquisition(bridge) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 3 }
            for flags: IndicatorStatus in [[.stable, .overload], [.stable, .error]] {
                faulty.show(
                    IndicatorReading(
                        gross: Mass(32_140, .kilograms), net: nil, tare: nil, status: flags,
                        legalCounter: nil))
                let before = log.readings
                try await waitFor("well past the settle time", in: log) { $0.readings > before + 30 }
            }
            #expect(log.captures.isEmpty)
        }
    }

    @Test("nothing above Max is certified: 61 t standing still on a 60 t laumas bridge, no overload bit mapped")
    func aboveMaximumIsNeverCaptured() async throws {
        let simulator = IndicatorSimulator(map: laumas(), division: division, endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        let bridge = bridge(map: laumas(), transport: .tcp(host: "127.0.0.1", port: simulator.port))
        #expect(bridge.maximum == Mass(60_000, .kilograms))
        try await withAcquisition(bridge) { log in
            try await waitFor("armed at zero", in: log) { $0.readings > 3 }
            simulator.show(gross: Mass(61_000, .kilograms))
            let before = log.readings
            try await waitFor("well past the settle time", in: log) { $0.readings > before + 30 }
            #expect(log.captures.isEmpty)
            let reasons = log.events.compactMap { event -> String? in
                if case .badReading(let error) = event { error.description } else { nil }
            }
            #expect(reasons.first?.contains("above Max + 9e (60180 kg)") == true, "\(reasons.first ?? "none")")
        }
    }

    @Test("transaction mode: the loop writes the print command and records the counter read with the weight")
    func printCommandTransaction() async throws {
        var map = IndicatorPreset.flintecFT11x.registerMap!
        map.printCommand = PrintCommand(address: 30, value: 4)
        let simulator = IndicatorSimulator(map: map, division: division, endpoint: .tcp(port: 0))
        try simulator.start()
        defer { simulator.stop() }
        let before = try #require(simulator.reading.legalCounter)
        let bridge = bridge(map: map, transport: .tcp(host: "127.0.0.1", port: simulator.port))
        try await withAcquisition(bridge) { log in
            try await waitFor("armed", in: log) { $0.readings > 3 }
            simulator.show(gross: Mass(18_420, .kilograms))
            try await waitFor("the capture", in: log) { $0.captures.count == 1 }
            let capture = try #require(log.captures.first)
            #expect(capture.capture.legalCounter == before + 1)
            #expect(capture.capture.sample.weight == Mass(18_420, .kilograms))
            #expect(simulator.reading.legalCounter == before + 1, "printed exactly once")
        }
    }

    @Test("the simulator stops and comes back: reads resume within 2 s, no capture from a broken window")
    func simulatorRestart() async throws {
        let first = IndicatorSimulator(map: laumas(), division: division, endpoint: .tcp(port: 0))
        try first.start()
        let port = first.port
        // The indicator goes away two reads into a settle window of 3 s: inside it, however slowly
        // this test is scheduled beside the others (with 1 s, a busy CI machine let it complete).
        let settle = 3_000
        let bridge = bridge(
            map: laumas(), transport: .tcp(host: "127.0.0.1", port: port), settleMilliseconds: settle)
        try await withAcquisition(bridge) { log in
            try await waitFor("armed", in: log) { $0.readings > 3 }
            first.show(gross: Mass(32_140, .kilograms))
            let before = log.readings
            try await waitFor("a window begun", in: log) { $0.readings > before + 2 }
            first.stop()
            try #require(log.captures.isEmpty, "the indicator went away after a whole window, not inside one")
            try await waitFor("the loss is noticed", in: log) { $0.failures >= 2 }
            let connections = log.connections
            // Taken before the indicator returns: no fresh window can begin earlier.
            let returned = ContinuousClock.now
            let returnedWall = wallClock()
            let second = IndicatorSimulator(map: laumas(), division: division, endpoint: .tcp(port: port))
            second.show(gross: Mass(32_140, .kilograms))
            try second.start()
            defer { second.stop() }
            try await waitFor("reads resume", in: log, timeout: .seconds(2)) { $0.connections > connections }
            #expect(ContinuousClock.now - returned < .seconds(2))
            // The bridge stayed armed and the vehicle still stands there, never captured: one
            // capture is due, but only from a whole window after the return, never from the
            // window the outage broke.
            try await waitFor("the capture from a fresh window", in: log) { $0.captures.count == 1 }
            let capture = try #require(log.captures.first)
            #expect(capture.at >= returnedWall.adding(milliseconds: Int64(settle)))
            #expect(capture.capture.sample.weight == Mass(32_140, .kilograms))
        }
    }

    @Test(
        "RTU garbage, bad CRC and silence: counted as failures, no crash, no capture, then recovery",
        arguments: [SimulatorFault.garbage, .badCRC, .noReply])
    func rtuFaults(fault: SimulatorFault) async throws {
        let pty = try await PtyPair()
        let simulator = IndicatorSimulator(
            map: laumas(), division: division,
            endpoint: .rtu(device: pty.simulatorSide, unit: 1))
        try simulator.start()
        defer { simulator.stop() }
        let bridge = bridge(map: laumas(), transport: serialTransport(pty.daemonSide))
        try await withAcquisition(bridge) { log in
            try await waitFor("armed", in: log) { $0.readings > 3 }
            simulator.inject(fault)
            simulator.show(gross: Mass(32_140, .kilograms))
            try await waitFor("failures are counted", in: log) { $0.failures >= 3 }
            #expect(log.captures.isEmpty)
            simulator.inject(.none)
            simulator.show(gross: .zero)
            let readings = log.readings
            try await waitFor("reads resume", in: log) { $0.readings > readings + 3 }
        }
    }

    @Test("the serial adapter is unplugged and plugged back at the same path: reopened without a restart")
    func ptyRecreated() async throws {
        let pty = try await PtyPair()
        let simulator = IndicatorSimulator(
            map: laumas(), division: division,
            endpoint: .rtu(device: pty.simulatorSide, unit: 1))
        try simulator.start()
        let bridge = bridge(map: laumas(), transport: serialTransport(pty.daemonSide))
        try await withAcquisition(bridge) { log in
            try await waitFor("polling", in: log) { $0.readings > 3 }
            simulator.stop()
            try await pty.unplug()
            try await waitFor("the loss is noticed", in: log) { $0.failures >= 1 }
            try await pty.start()
            let replugged = IndicatorSimulator(
                map: laumas(), division: division,
                endpoint: .rtu(device: pty.simulatorSide, unit: 1))
            try replugged.start()
            defer { replugged.stop() }
            let connections = log.connections
            try await waitFor("reopened", in: log, timeout: .seconds(15)) { $0.connections > connections }
            let readings = log.readings
            try await waitFor("reads resume", in: log) { $0.readings > readings + 3 }
        }
    }
}
